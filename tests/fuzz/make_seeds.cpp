// cmclip-fuzz-seeds DIR: writes the seed corpus of the fuzz targets under DIR/<target>/
// (tests/fuzz/corpus/ holds the committed copy; run it again after a format change).
// The HDF5 seeds come from the toolkit's own writers, so mutations start from files as
// the tools write them; the others are small hand-written examples of each input.
#include <ATen/ATen.h>
#include <sys/stat.h>

#include <opencv2/imgcodecs.hpp>

#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "cmclip/h5/checkpoint.hpp"
#include "cmclip/h5/samples.hpp"
#include "cmclip/h5/scores.hpp"
#include "cmclip/model/options.hpp"

using namespace cmclip;

namespace {
std::string g_root;

std::string dir(const std::string& target) {
  std::string d = g_root + "/" + target;
  ::mkdir(g_root.c_str(), 0755);
  ::mkdir(d.c_str(), 0755);
  return d;
}

void text(const std::string& target, const std::string& name, const std::string& content) {
  std::ofstream(dir(target) + "/" + name, std::ios::binary) << content;
}

void samples(const std::string& name, int channels) {
  SampleWriter w(dir("h5_samples") + "/" + name, 4, 4, channels);
  std::vector<uint8_t> img(static_cast<size_t>(4 * 4 * channels));
  for (int i = 0; i < 3; ++i) {
    for (size_t k = 0; k < img.size(); ++k) img[k] = static_cast<uint8_t>(k * 7 + i * 31);
    SampleMeta m;
    m.label = i == 0 ? kLive : kAttack;
    m.attack = w.attack_code(i == 0 ? "" : i == 1 ? "print" : "replay");
    m.modality = i == 2 ? Modality::depth : Modality::rgb;
    m.subject = 3 + i;
    m.video = "v" + std::to_string(i);
    m.frame = i;
    m.source = "img/f" + std::to_string(i) + ".png";
    m.bbox = {1, 2, 3, 4};
    m.record = i / 2;
    w.append(img.data(), m);
  }
  w.set_attr("split", std::string("train"));
  w.commit();
}

void scores(const std::string& name, int64_t dim, bool with_score) {
  ScoreWriter w(dir("h5_scores") + "/" + name, dim, with_score);
  w.set_attack_names({"bona fide", "print"});
  std::vector<float> f(static_cast<size_t>(dim > 0 ? dim : 1), 0.25f);
  for (int i = 0; i < 4; ++i) {
    ScoreRow r{i,
               0.125f * float(i + 1),
               static_cast<int8_t>(i % 2 ? kAttack : kLive),
               static_cast<int16_t>(i % 2),
               0,
               i,
               "v" + std::to_string(i / 2),
               "f" + std::to_string(i)};
    w.append(r, f.data());
  }
  w.set_attr("samples_total", int64_t(4));
  w.commit();
}

void checkpoint() {
  Checkpoint c;
  c.parent = "0123456789abcdef";
  model::ModelOptions().to_config(c.config);
  c.config["clip_vocabulary"] = std::string("byte");
  c.config["clip_embed_dim"] = int64_t(8);
  c.params.emplace_back("prompt.ctx", at::arange(8, at::kFloat).reshape({2, 4}));
  c.params.emplace_back("head.weight", at::ones({2, 4}, at::kHalf));
  // Large enough (16 KiB) to be stored with Fletcher-32 checksums.
  c.params.emplace_back("visual.proj", at::linspace(-1, 1, 4096, at::kFloat));
  c.trainable = {"prompt.ctx", "head.weight"};
  c.optimizer.emplace_back("step", at::scalar_tensor(7, at::kLong));
  c.optimizer.emplace_back("adamw/exp_avg/prompt.ctx", at::zeros({2, 4}));
  c.state["epoch"] = int64_t(2);
  c.state["best_metric"] = 0.5;
  c.state_tensors.emplace_back("rng", at::zeros({4}, at::kByte));
  write_checkpoint(dir("h5_checkpoint") + "/seed.h5", c);
}

void images() {
  std::string d = dir("image");
  cv::Mat rgb(6, 5, CV_8UC3), grey(5, 7, CV_8UC1), wide(4, 4, CV_16UC1), rgba(3, 3, CV_8UC4);
  cv::randu(rgb, 0, 255);
  cv::randu(grey, 0, 255);
  cv::randu(wide, 0, 65535);
  cv::randu(rgba, 0, 255);
  cv::imwrite(d + "/rgb.png", rgb);
  cv::imwrite(d + "/grey.png", grey);
  cv::imwrite(d + "/depth16.png", wide);
  cv::imwrite(d + "/rgba.png", rgba);
  cv::imwrite(d + "/rgb.jpg", rgb);
  cv::imwrite(d + "/grey.bmp", grey);
  cv::imwrite(d + "/rgb.ppm", rgb);
  cv::imwrite(d + "/depth16.tiff", wide);
}

void lists() {
  // First byte: the format (0 casia-surf, 1 casia-fas, 2 cefa, 3 wmca, 4 tsv) plus 5 x
  // the polarity (0 the format's, 1 live=1, 2 live=0).
  auto list = [](const std::string& name, char format, const std::string& lines) {
    text("list_reader", name, std::string(1, format) + lines);
  };
  list("casia-surf", '\0',
       "Training/real_part/CLKJ_AS0005/real.rssdk/color/0015.jpg Training/real_part/CLKJ_AS0005/real.rssdk/"
       "depth/0015.jpg Training/real_part/CLKJ_AS0005/real.rssdk/ir/0015.jpg 1\r\n\n# a comment\n"
       "Val/0003/000123-ir.jpg Val/0003/000123-color.jpg Val/0003/000123-depth.jpg 0\n");
  list("casia-fas", '\1',
       "CASIA_SURF/Data/Training/real_part/CLKJ_BS0831/real.rssdk/color/0015.jpg 0\n"
       "CASIA_SURF/Data/Val/fake_part/CLKJ_AS0010/01_e_s.rssdk/color 1\n"
       "CASIA_CeFA/Ethnicity/AF/AF-120/1_120_3_1_4 1\nOULU_NPU/Dev_files/5_2_29_4 1\n");
  list("cefa", '\2', "train/1_000_1_1_1/profile/0001.jpg 1\ndev/003000 0\ntest/2_017_1_2_3\n");
  list("wmca", '\3', "12.02.18/005_03_000_0_01.hdf5\n12.02.18/100_03_015_3_08.hdf5 1\nother/custom.h5 0\n");
  list("tsv", '\4',
       "path\tlabel\tmodality\tattack_type\tsubject\tvideo\tframe\n"
       "a/f0_rgb.png\tlive\trgb\t\t3\tv1\t0\nb/print0.png\tattack\trgb\tprint\t4\tv2\t0\n"
       "a/f0_depth.png\tlive\tdepth\t\t3\tv1\t0\nc/lonely.png\tattack\tnir\t\t\t\t\n");
  list("casia-surf-live0", '\12', "a/real_part/x/color/1.jpg a/real_part/x/depth/1.jpg a/real_part/x/ir/1.jpg 0\n");
}

void prompts() {
  text("tokenizer", "plain", "a photo of a real face");
  text("tokenizer", "html", "A &amp; B &lt;3 caf\xc3\xa9 &#x27;quoted&#39; &nbsp;x");
  text("tokenizer", "mojibake", "caf\xc3\x83\xc2\xa9 au lait \xe2\x80\x9cquoted\xe2\x80\x9d");
  text("tokenizer", "unicode",
       "\xef\xbc\xa6\xef\xbd\x95\xef\xbd\x8c\xef\xbd\x8c width \xef\xac\x81 ligature \xe6\x97\xa5\xe6\x9c\xac 123's");
}

void score_tsv() {
  text("score_tsv", "two-types",
       "source\tvideo\tattack_type\tlabel\tscore\n"
       "frames/a.png\tv001\t\tlive\t0.9731\nframes/b.png\tv002\tprint\tattack\t0.0412\n"
       "frames/c\\tx.png\tv002\treplay\tattack\t1e-07\r\n");
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: cmclip-fuzz-seeds DIR\n";
    return 2;
  }
  g_root = argv[1];
  samples("rgb.h5", 3);
  samples("grey.h5", 1);
  scores("scores.h5", 0, true);
  scores("features.h5", 3, true);
  scores("features-only.h5", 2, false);
  checkpoint();
  images();
  lists();
  prompts();
  score_tsv();
  std::cout << "seeds written under " << g_root << "\n";
  return 0;
}
