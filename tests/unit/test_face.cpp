// face/: the list readers (every format, polarity traps, malformed lines), frames
// (16-bit rules, folders, videos encoded here, WMCA containers built here), the face
// detector on a generated face, box geometry, and fas-preprocess end to end with its
// error paths, determinism across thread counts and no partial output.
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "cmclip/core/error.hpp"
#include "cmclip/synth/render.hpp"
#include "cmclip/face/detector.hpp"
#include "cmclip/face/frames.hpp"
#include "cmclip/datasets/list_reader.hpp"
#include "cmclip/face/preprocess.hpp"
#include "cmclip/jobs/preprocess.hpp"
#include "cmclip/h5/h5.hpp"
#include "cmclip/h5/samples.hpp"
#include "test_support.hpp"

using namespace cmclip;
using namespace cmclip::datasets;
using namespace cmclip::face;
using namespace cmclip::jobs;
using cmclip::test::expect_error;
using cmclip::test::ScratchDir;

namespace {

ParsedList parse(const std::string& text, ListFormat f, LabelPolarity p = LabelPolarity::reader_default) {
  std::istringstream in(text);
  return datasets::read_list(in, "list.txt", f, p);
}

void expect_list_error(const std::string& text, ListFormat f, const std::vector<std::string>& needles,
                       LabelPolarity p = LabelPolarity::reader_default) {
  expect_error([&] { parse(text, f, p); }, ExitCode::bad_input, needles);
}

const std::string& path_of(const ListRecord& r, Modality m) { return r.path[static_cast<size_t>(m)]; }

// The path of each listed modality in a record (the other modalities are not checked).
void expect_paths(const ListRecord& r, const std::vector<std::pair<Modality, std::string>>& paths) {
  for (const auto& [m, path] : paths) BOOST_TEST(path_of(r, m) == path, "the " << modality_name(m) << " path");
}

void mkdirs(const std::string& dir) { std::filesystem::create_directories(dir); }

void write_image(const std::string& path, const cv::Mat& m) {
  mkdirs(std::filesystem::path(path).parent_path().string());
  BOOST_REQUIRE_MESSAGE(cv::imwrite(path, m), "cannot write " << path);
}

// A generated live capture (fas-synth's renderer): BGR face, grey depth and NIR.
struct Capture {
  cv::Mat bgr, depth, nir;
};
Capture generated(int subject, int size, synth::Kind kind = synth::Kind::live) {
  auto c = synth::render_capture(2024, subject, kind, 0, size, {});
  Capture out;
  cv::cvtColor(cv::Mat(size, size, CV_8UC3, c.rgb.data()), out.bgr, cv::COLOR_RGB2BGR);
  out.depth = cv::Mat(size, size, CV_8UC1, c.depth.data()).clone();
  out.nir = cv::Mat(size, size, CV_8UC1, c.nir.data()).clone();
  return out;
}

PreprocessOptions options(const std::string& format, const std::string& list, const std::string& out) {
  PreprocessOptions o;
  o.input.format = format;
  o.input.list = list;
  o.store.output = out;
  o.crop.detect = "haar";  // these cases were written for the cascade (MTCNN: test_faces_real_media.sh)
  return o;
}

CommonOptions threads(int n) {
  CommonOptions c;
  c.threads = n;
  return c;
}

template <class T>
std::vector<T> read_all(const std::string& file, const std::string& name) {
  return h5::File::open(file).read<T>(name);
}

std::vector<uint8_t> pixels(const SampleStore& s, int64_t i) {
  std::vector<uint8_t> out(s.image_bytes());
  s.read_images(i, 1, out.data());
  return out;
}

double mean_of(const std::vector<uint8_t>& v) {
  double sum = 0;
  for (uint8_t x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

bool no_temp_files(const std::string& dir) { return test::count_files(dir, ".") == 0; }

}  // namespace

// ======================================================================= readers

BOOST_AUTO_TEST_SUITE(list_readers)

BOOST_AUTO_TEST_CASE(casia_surf_finds_modalities_by_name_not_column) {
  // Column 2 and 3 swapped on the second line (bob's order); 1 = live.
  auto list = parse(
      "Training/real_part/CLKJ_AS0005/real.rssdk/color/0015.jpg "
      "Training/real_part/CLKJ_AS0005/real.rssdk/depth/0015.jpg "
      "Training/real_part/CLKJ_AS0005/real.rssdk/ir/0015.jpg 1\r\n"
      "\n# a comment\n"
      "Training/fake_part/CLKJ_AS0005/04_en_b.rssdk/color/101.jpg "
      "Training/fake_part/CLKJ_AS0005/04_en_b.rssdk/ir/101.jpg "
      "Training/fake_part/CLKJ_AS0005/04_en_b.rssdk/depth/101.jpg 0\n",
      ListFormat::casia_surf);
  BOOST_REQUIRE_EQUAL(list.records.size(), 2u);
  const auto& live = list.records[0];
  BOOST_TEST(live.line == 1);
  BOOST_TEST(live.label == kLive);
  BOOST_TEST(live.attack_type == "");
  BOOST_TEST(live.subject == "CLKJ_AS0005");
  BOOST_TEST(live.video == "Training/real_part/CLKJ_AS0005/real.rssdk");
  BOOST_TEST(live.frame == 15);
  const auto& fake = list.records[1];
  BOOST_TEST(fake.line == 4);
  BOOST_TEST(fake.label == kAttack);
  BOOST_TEST(fake.attack_type == "print:04_en_b");
  expect_paths(fake, {{Modality::depth, "Training/fake_part/CLKJ_AS0005/04_en_b.rssdk/depth/101.jpg"},
                      {Modality::nir, "Training/fake_part/CLKJ_AS0005/04_en_b.rssdk/ir/101.jpg"}});
  BOOST_TEST((list.provided == std::vector<Modality>{Modality::rgb, Modality::depth, Modality::nir}));
}

BOOST_AUTO_TEST_CASE(casia_surf_flat_val_layout_uses_file_name_suffixes) {
  auto list =
      parse("Val/0003/000123-ir.jpg Val/0003/000123-color.jpg Val/0003/000123-depth.jpg 0\n", ListFormat::casia_surf);
  const auto& r = list.records.at(0);
  expect_paths(r, {{Modality::rgb, "Val/0003/000123-color.jpg"}, {Modality::nir, "Val/0003/000123-ir.jpg"}});
  BOOST_TEST(r.video == "Val/0003");
  BOOST_TEST(r.frame == 123);
  BOOST_TEST(r.label == kAttack);
  BOOST_TEST(r.attack_type == "print");
}

BOOST_AUTO_TEST_CASE(casia_surf_polarity_trap_is_caught) {
  // A casia-fas style label (0 = live) on a real_part path read as casia-surf.
  const std::string line =
      "Training/real_part/CLKJ_BS0001/real.rssdk/color/1.jpg Training/real_part/CLKJ_BS0001/real.rssdk/depth/1.jpg "
      "Training/real_part/CLKJ_BS0001/real.rssdk/ir/1.jpg 0\n";
  expect_list_error(line, ListFormat::casia_surf,
                    {"list.txt", "line 1", "label '0' means attack under live=1", "real_part", "--label-polarity"});
  // The user's copy really is 0 = live: the override makes it read right.
  auto list = parse(line, ListFormat::casia_surf, LabelPolarity::live_is_0);
  BOOST_TEST(list.records.at(0).label == kLive);
}

BOOST_AUTO_TEST_CASE(casia_surf_malformed_lines) {
  const std::string a = "Val/0/1-color.jpg Val/0/1-depth.jpg Val/0/1-ir.jpg";
  expect_list_error("# header\n" + a + "\n", ListFormat::casia_surf, {"line 2", "no label", "val_public_list"});
  expect_list_error(a + " 1 extra\n", ListFormat::casia_surf, {"line 1", "expected 4", "found 5"});
  expect_list_error(a + " 2\n", ListFormat::casia_surf, {"line 1", "label '2' is not 0 or 1"});
  expect_list_error("Val/0/1-color.jpg Val/0/1-depth.jpg Val/0/1.jpg 1\n", ListFormat::casia_surf,
                    {"line 1", "cannot tell the modality of 'Val/0/1.jpg'", "field 3"});
  expect_list_error("a/color/1.jpg b/color/1.jpg c/ir/1.jpg 1\n", ListFormat::casia_surf, {"line 1", "two rgb paths"});
  expect_list_error("\n\n", ListFormat::casia_surf, {"list.txt", "no records"});
}

// Found by fuzzing: a modality folder at the root of the list gave an empty video id,
// which K-shot sampling and video aggregation cannot group by.
BOOST_AUTO_TEST_CASE(modality_folder_at_the_root_gives_the_root_as_video) {
  auto fas = parse("color/0015.jpg 0\n/ir/0016.jpg 0\n", ListFormat::casia_fas);
  BOOST_REQUIRE_EQUAL(fas.records.size(), 2u);
  BOOST_TEST(fas.records[0].video == ".");
  BOOST_TEST(fas.records[1].video == "/");
  auto surf = parse("color/1.jpg depth/1.jpg ir/1.jpg 1\n", ListFormat::casia_surf);
  BOOST_REQUIRE_EQUAL(surf.records.size(), 1u);
  BOOST_TEST(surf.records[0].video == ".");
  auto bare = parse("/0001.jpg 0\n", ListFormat::casia_fas);
  BOOST_REQUIRE_EQUAL(bare.records.size(), 1u);
  BOOST_TEST(bare.records[0].video == "/");
}

BOOST_AUTO_TEST_CASE(casia_fas_frames_and_video_folders_with_0_live) {
  auto list = parse(
      "CASIA_SURF/Data/Training/real_part/CLKJ_BS0831/real.rssdk/color/0015.jpg 0\n"
      "CASIA_SURF/Data/Val/fake_part/CLKJ_AS0010/01_e_s.rssdk/color 1\n"
      "CASIA_CeFA/Ethnicity/AF/AF-120/1_120_3_1_4 1\n"
      "OULU/some_video_folder 0\n",
      ListFormat::casia_fas);
  BOOST_REQUIRE_EQUAL(list.records.size(), 4u);
  const auto& a = list.records[0];
  BOOST_TEST(a.label == kLive);
  expect_paths(a, {{Modality::depth, "CASIA_SURF/Data/Training/real_part/CLKJ_BS0831/real.rssdk/depth/0015.jpg"},
                   {Modality::nir, "CASIA_SURF/Data/Training/real_part/CLKJ_BS0831/real.rssdk/ir/0015.jpg"}});
  BOOST_TEST(a.video == "CASIA_SURF/Data/Training/real_part/CLKJ_BS0831/real.rssdk");
  BOOST_TEST(a.frame == 15);
  const auto& b = list.records[1];
  BOOST_TEST(b.label == kAttack);
  expect_paths(b, {{Modality::rgb, "CASIA_SURF/Data/Val/fake_part/CLKJ_AS0010/01_e_s.rssdk/color"},
                   {Modality::depth, "CASIA_SURF/Data/Val/fake_part/CLKJ_AS0010/01_e_s.rssdk/depth"}});
  BOOST_TEST(b.video == "CASIA_SURF/Data/Val/fake_part/CLKJ_AS0010/01_e_s.rssdk");
  BOOST_TEST(b.frame == -1);
  const auto& c = list.records[2];  // re-packaged CeFA: Race_ID_Device_Session_PAI
  expect_paths(c, {{Modality::rgb, "CASIA_CeFA/Ethnicity/AF/AF-120/1_120_3_1_4/color"},
                   {Modality::nir, "CASIA_CeFA/Ethnicity/AF/AF-120/1_120_3_1_4/ir"}});
  BOOST_TEST(c.subject == "1120");
  BOOST_TEST(c.attack_type == "screen");
  BOOST_TEST(list.records[3].label == kLive);
  BOOST_TEST(list.records[3].subject == "");
  // OULU-NPU video folders (Phone_Session_User_File) as CASIA-FAS-Dataset lists them.
  auto oulu = parse("OULU_NPU/Dev_files/5_2_29_4 1\nOULU_NPU/Dev_files/3_1_28_1 0\n", ListFormat::casia_fas);
  BOOST_TEST(oulu.records[0].attack_type == "replay");
  BOOST_TEST(oulu.records[0].subject == "29");
  BOOST_TEST(oulu.records[1].label == kLive);
  expect_list_error("OULU_NPU/Dev_files/3_1_28_1 1\n", ListFormat::casia_fas, {"line 1", "file type 1", "OULU-NPU"});
}

BOOST_AUTO_TEST_CASE(casia_fas_polarity_trap_and_malformed_lines) {
  // A casia-surf style label (1 = live) on a real_part path read as casia-fas.
  expect_list_error("CASIA_SURF/Data/Training/real_part/X_1/real.rssdk/color/1.jpg 1\n", ListFormat::casia_fas,
                    {"line 1", "means attack under live=0", "casia-fas's convention", "--label-polarity"});
  expect_list_error("CeFA/1_000_1_1_2 0\n", ListFormat::casia_fas, {"line 1", "PAI code 2", "says attack"});
  expect_list_error("only/a/path\n", ListFormat::casia_fas, {"line 1", "no label"});
  expect_list_error("a 0 1\n", ListFormat::casia_fas, {"line 1", "expected 2", "found 3"});
  expect_list_error("a yes\n", ListFormat::casia_fas, {"line 1", "label 'yes' is not 0 or 1"});
}

BOOST_AUTO_TEST_CASE(cefa_swaps_profile_for_depth_and_ir) {
  auto list = parse(
      "train/1_000_1_1_1/profile/0001.jpg 1\n"
      "dev/003000 0\n"
      "test/2_017_1_2_3\n",
      ListFormat::cefa);
  BOOST_REQUIRE_EQUAL(list.records.size(), 3u);
  const auto& a = list.records[0];
  BOOST_TEST(a.label == kLive);
  expect_paths(
      a, {{Modality::depth, "train/1_000_1_1_1/depth/0001.jpg"}, {Modality::nir, "train/1_000_1_1_1/ir/0001.jpg"}});
  BOOST_TEST(a.subject == "1000");
  BOOST_TEST(a.video == "train/1_000_1_1_1");
  const auto& b = list.records[1];  // a video folder: its profile/depth/ir frames
  BOOST_TEST(b.label == kAttack);
  BOOST_TEST(b.attack_type == "attack");
  expect_paths(b, {{Modality::rgb, "dev/003000/profile"}, {Modality::nir, "dev/003000/ir"}});
  const auto& c = list.records[2];  // no label column: the PAI of the folder name says
  BOOST_TEST(c.label == kAttack);
  BOOST_TEST(c.attack_type == "photo");
  BOOST_TEST(c.subject == "2017");
}

BOOST_AUTO_TEST_CASE(cefa_malformed_lines) {
  expect_list_error("dev/003000\n", ListFormat::cefa, {"line 1", "no label", "Race_ID_Device_Session_PAI"});
  expect_list_error("train/1_000_1_1_1/color/0001.jpg 1\n", ListFormat::cefa,
                    {"line 1", "no 'profile' folder", "casia-fas"});
  expect_list_error("train/1_000_1_1_4/profile/0001.jpg 1\n", ListFormat::cefa,
                    {"line 1", "means live under live=1", "PAI code 4", "--label-polarity"});
  expect_list_error("a 1 2\n", ListFormat::cefa, {"line 1", "found 3 fields"});
}

BOOST_AUTO_TEST_CASE(wmca_labels_and_attacks_come_from_the_file_name) {
  auto list = parse(
      "12.02.18/005_03_000_0_01.hdf5\n"
      "12.02.18/100_03_015_3_08.hdf5 1\n"
      "other/custom.h5 0\n",
      ListFormat::wmca);
  BOOST_REQUIRE_EQUAL(list.records.size(), 3u);
  BOOST_TEST(list.records[0].label == kLive);
  BOOST_TEST(list.records[0].subject == "5");
  BOOST_TEST(list.records[0].container);
  BOOST_TEST(path_of(list.records[0], Modality::thermal) == "12.02.18/005_03_000_0_01.hdf5");
  BOOST_TEST(list.records[1].label == kAttack);  // 1 = attack under wmca's default live=0
  BOOST_TEST(list.records[1].attack_type == "print (type 3)");
  BOOST_TEST(list.records[2].label == kLive);
  BOOST_TEST(list.provided.size() == 4u);
  expect_list_error("x/005_03_000_0_01.hdf5 1\n", ListFormat::wmca, {"line 1", "type field 0", "--label-polarity"});
  expect_list_error("x/custom.hdf5\n", ListFormat::wmca, {"line 1", "no label", "<client>_<session>"});
  expect_list_error("x/video.avi 0\n", ListFormat::wmca, {"line 1", "not an HDF5 frame container"});
}

BOOST_AUTO_TEST_CASE(tsv_groups_rows_of_one_capture_and_checks_them) {
  auto list = parse(
      "path\tlabel\tmodality\tattack_type\tsubject\tvideo\tframe\tnote\n"
      "a/f0_rgb.png\tlive\trgb\t\t3\tv1\t0\tx\n"
      "b/print0.png\tattack\trgb\tprint\t4\tv2\t0\t\n"
      "a/f0_depth.png\tlive\tdepth\t\t3\tv1\t0\t\n"
      "a/f1_rgb.png\tlive\trgb\t\t3\tv1\t1\t\n"
      "c/lonely.png\tattack\tnir\t\t\t\t\t\n",
      ListFormat::tsv);
  BOOST_REQUIRE_EQUAL(list.records.size(), 4u);
  const auto& g = list.records[0];
  expect_paths(g, {{Modality::rgb, "a/f0_rgb.png"}, {Modality::depth, "a/f0_depth.png"}});
  BOOST_TEST(g.subject == "3");
  BOOST_TEST(g.frame == 0);
  BOOST_TEST(list.records[1].attack_type == "print");
  BOOST_TEST(list.records[2].frame == 1);
  BOOST_TEST(list.records[3].attack_type == "attack");
  BOOST_TEST(list.records[3].video == "c/lonely.png");  // no video column value: its own capture
  BOOST_TEST((list.provided == std::vector<Modality>{Modality::rgb, Modality::depth, Modality::nir}));
}

BOOST_AUTO_TEST_CASE(tsv_malformed_lines) {
  const std::string h = "path\tlabel\tmodality\tvideo\tframe\n";
  expect_list_error("path\tlabel\n", ListFormat::tsv, {"line 1", "lacks the 'modality' column"});
  expect_list_error("path\tpath\tlabel\tmodality\n", ListFormat::tsv, {"line 1", "column 'path' twice"});
  expect_list_error(h + "a.png\t1\trgb\tv\t0\n", ListFormat::tsv, {"line 2", "label '1' is neither"});
  expect_list_error(h + "a.png\tlive\tuv\tv\t0\n", ListFormat::tsv, {"line 2", "modality 'uv'"});
  expect_list_error(h + "a.png\tlive\trgb\tv\n", ListFormat::tsv, {"line 2", "expected 5 tab-separated", "found 4"});
  expect_list_error(h + "a.png\tlive\trgb\tv\t-3\n", ListFormat::tsv, {"line 2", "frame '-3'"});
  expect_list_error(h + "a.png\tlive\trgb\tv\t0\nb.png\tlive\trgb\tv\t0\n", ListFormat::tsv,
                    {"line 3", "already has a rgb row (line 2)"});
  expect_list_error(h + "a.png\tlive\trgb\tv\t0\nb.png\tattack\tdepth\tv\t0\n", ListFormat::tsv,
                    {"line 3", "differ from line 2"});
  expect_list_error(h + "\tlive\trgb\tv\t0\n", ListFormat::tsv, {"line 2", "empty path"});
  expect_list_error("", ListFormat::tsv, {"empty tsv list"});
  expect_error([] { parse("path\tlabel\tmodality\n", ListFormat::tsv, LabelPolarity::live_is_0); }, ExitCode::bad_input,
               {"--label-polarity does not apply to tsv"});
}

BOOST_AUTO_TEST_CASE(small_parsers) {
  BOOST_TEST((datasets::parse_list_format("CASIA-SURF") == ListFormat::casia_surf));
  expect_error([] { datasets::parse_list_format("oulu"); }, ExitCode::bad_input, {"unknown list format 'oulu'"});
  BOOST_TEST((datasets::parse_label_polarity("live=0") == LabelPolarity::live_is_0));
  BOOST_TEST((datasets::parse_label_polarity("") == LabelPolarity::reader_default));
  expect_error([] { datasets::parse_label_polarity("0"); }, ExitCode::bad_input, {"expected live=1 or live=0"});
  BOOST_TEST(datasets::live_value(ListFormat::casia_surf, LabelPolarity::reader_default) == 1);
  BOOST_TEST(datasets::live_value(ListFormat::casia_fas, LabelPolarity::reader_default) == 0);
  BOOST_TEST(datasets::live_value(ListFormat::casia_fas, LabelPolarity::live_is_1) == 1);
  BOOST_TEST((datasets::parse_modality_list("nir,rgb", "--m") == std::vector<Modality>{Modality::nir, Modality::rgb}));
  expect_error([] { datasets::parse_modality_list("rgb,rgb", "--m"); }, ExitCode::bad_input,
               {"--m 'rgb,rgb'", "named twice"});
  expect_error([] { datasets::parse_modality_list("rgb,x", "--m"); }, ExitCode::bad_input, {"'x' is not rgb"});
  BOOST_TEST(frame_number_of("a/b/0012.jpg") == 12);
  BOOST_TEST(frame_number_of("a/b/x12.jpg") == -1);
  Modality m;
  int comp;
  BOOST_TEST(modality_of_path("x/IR/5.png", m, comp));
  BOOST_TEST((m == Modality::nir && comp == 1));
  BOOST_TEST(!modality_of_path("x/y/5.png", m, comp));
  BOOST_TEST((split_fields(" a\t b  c ") == std::vector<std::string>{"a", "b", "c"}));
}

BOOST_AUTO_TEST_SUITE_END()

// ======================================================================= frames

BOOST_AUTO_TEST_SUITE(frames)

BOOST_AUTO_TEST_CASE(even_frame_choice_is_centred_and_deterministic) {
  BOOST_TEST((spread_frames(10, 3) == std::vector<int64_t>{1, 5, 8}));
  BOOST_TEST((spread_frames(4, 0) == std::vector<int64_t>{0, 1, 2, 3}));
  BOOST_TEST((spread_frames(4, 9) == std::vector<int64_t>{0, 1, 2, 3}));
  BOOST_TEST((spread_frames(100, 2) == std::vector<int64_t>{25, 75}));
  BOOST_TEST(spread_frames(0, 3).empty());
}

BOOST_AUTO_TEST_CASE(sixteen_bit_depth_follows_the_documented_rules) {
  ScratchDir dir("depth16");
  cv::Mat d(2, 3, CV_16UC1);
  d.at<uint16_t>(0, 0) = 0;     // no measurement
  d.at<uint16_t>(0, 1) = 500;   // nearest
  d.at<uint16_t>(0, 2) = 1500;  // farthest
  d.at<uint16_t>(1, 0) = 1000;
  d.at<uint16_t>(1, 1) = 750;
  d.at<uint16_t>(1, 2) = 1500;
  write_image(dir.file("d.png"), d);
  cv::Mat per_frame = read_frame(dir.file("d.png"), Modality::depth, DepthRule{});
  BOOST_REQUIRE_EQUAL(per_frame.type(), CV_8UC1);
  BOOST_TEST(int(per_frame.at<uint8_t>(0, 0)) == 0);
  BOOST_TEST(int(per_frame.at<uint8_t>(0, 1)) == 255);
  BOOST_TEST(int(per_frame.at<uint8_t>(0, 2)) == 1);
  BOOST_TEST(int(per_frame.at<uint8_t>(1, 0)) == 128);  // 1 + 254 * 0.5
  DepthRule fixed_rule = DepthRule::parse("0:2000");
  BOOST_TEST(fixed_rule.describe().find("0:2000") != std::string::npos);
  cv::Mat fixed = read_frame(dir.file("d.png"), Modality::depth, fixed_rule);
  BOOST_TEST(int(fixed.at<uint8_t>(0, 0)) == 0);
  BOOST_TEST(int(fixed.at<uint8_t>(0, 1)) == 192);  // 1 + 254 * 1500/2000 = 191.5
  BOOST_TEST(int(fixed.at<uint8_t>(0, 2)) == 65);   // 1 + 254 * 500/2000 = 64.5
  expect_error([] { DepthRule::parse("9:3"); }, ExitCode::bad_input, {"--depth-range '9:3'", "NEAR < FAR"});
  expect_error([] { DepthRule::parse("near:far"); }, ExitCode::bad_input, {"expected NEAR:FAR"});
}

BOOST_AUTO_TEST_CASE(other_16_bit_images_keep_their_top_byte_and_channels_are_converted) {
  ScratchDir dir("rgb16");
  cv::Mat rgb16(1, 2, CV_16UC3);
  rgb16.at<cv::Vec3w>(0, 0) = {65535, 257 * 100, 0};  // B, G, R
  rgb16.at<cv::Vec3w>(0, 1) = {257 * 10, 257 * 20, 257 * 30};
  write_image(dir.file("c.png"), rgb16);
  cv::Mat rgb = read_frame(dir.file("c.png"), Modality::rgb, DepthRule{});
  BOOST_REQUIRE_EQUAL(rgb.type(), CV_8UC3);
  BOOST_TEST((rgb.at<cv::Vec3b>(0, 0) == cv::Vec3b(0, 100, 255)));  // RGB order
  BOOST_TEST((rgb.at<cv::Vec3b>(0, 1) == cv::Vec3b(30, 20, 10)));
  cv::Mat nir = read_frame(dir.file("c.png"), Modality::nir, DepthRule{});
  BOOST_REQUIRE_EQUAL(nir.type(), CV_8UC1);  // colour becomes grey for NIR
  cv::Mat grey(3, 3, CV_8UC1, cv::Scalar(77));
  write_image(dir.file("g.png"), grey);
  cv::Mat as_rgb = read_frame(dir.file("g.png"), Modality::rgb, DepthRule{});
  BOOST_TEST((as_rgb.at<cv::Vec3b>(1, 1) == cv::Vec3b(77, 77, 77)));  // grey replicated
  test::write_text(dir.file("bad.jpg"), "not a jpeg at all");
  expect_error([&] { read_frame(dir.file("bad.jpg"), Modality::rgb, DepthRule{}); }, ExitCode::bad_input,
               {"bad.jpg", "cannot decode the image"});
  expect_error([&] { read_frame(dir.file("none.png"), Modality::rgb, DepthRule{}); }, ExitCode::bad_input,
               {"none.png", "No such file"});
}

BOOST_AUTO_TEST_CASE(folders_of_frames_are_listed_in_natural_order) {
  ScratchDir dir("natural");
  for (const char* n : {"10.jpg", "2.jpg", "1.png", "note.txt", "frame_9.jpg", "frame_10.jpg"})
    test::write_text(dir.file(n), "x");
  BOOST_TEST((list_frame_files(dir.path()) ==
              std::vector<std::string>{"1.png", "2.jpg", "10.jpg", "frame_9.jpg", "frame_10.jpg"}));
  expect_error([&] { list_frame_files(dir.file("missing")); }, ExitCode::bad_input, {"missing", "cannot open folder"});
}

BOOST_AUTO_TEST_CASE(wmca_frame_containers_are_read_in_numeric_order) {
  ScratchDir dir("wmca");
  std::string file = dir.file("005_03_000_0_01.hdf5");
  {
    h5::File f = h5::File::create(file);
    for (int k : {2, 10, 1}) {  // lexicographic order would be Frame_1, Frame_10, Frame_2
      std::vector<uint8_t> a(4 * 6 * 5);
      for (int c = 0; c < 4; ++c)
        for (int i = 0; i < 30; ++i) a[static_cast<size_t>(c * 30 + i)] = static_cast<uint8_t>(10 * k + c);
      f.create_group("Frame_" + std::to_string(k)).write<uint8_t>("array", a, {4, 6, 5});
    }
    f.create_group("FrameIndexes").write<int64_t>("0", {2, 10, 1});
    f.close();
  }
  FrameContainer fc(file);
  BOOST_TEST((fc.frames() == std::vector<int>{1, 2, 10}));
  BOOST_TEST(fc.layout() == "C-D-I-T 4x6x5");
  BOOST_TEST(fc.provides(Modality::thermal));
  auto images = fc.read(10, {Modality::rgb, Modality::depth, Modality::nir, Modality::thermal}, DepthRule{});
  BOOST_REQUIRE_EQUAL(images.size(), 4u);
  BOOST_TEST((images[0].size() == cv::Size(5, 6)));
  BOOST_TEST((images[0].at<cv::Vec3b>(0, 0) == cv::Vec3b(100, 100, 100)));  // colour channel is grey
  BOOST_TEST(int(images[1].at<uint8_t>(3, 3)) == 101);
  BOOST_TEST(int(images[2].at<uint8_t>(3, 3)) == 102);
  BOOST_TEST(int(images[3].at<uint8_t>(3, 3)) == 103);

  std::string rgb_file = dir.file("rgb.hdf5");
  {
    h5::File f = h5::File::create(rgb_file);
    std::vector<uint8_t> a(3 * 4 * 4);
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < 16; ++i) a[static_cast<size_t>(c * 16 + i)] = static_cast<uint8_t>(50 * (c + 1));
    f.create_group("Frame_0").write<uint8_t>("array", a, {3, 4, 4});
    f.close();
  }
  FrameContainer rgb(rgb_file);
  BOOST_TEST(!rgb.provides(Modality::depth));
  auto colour = rgb.read(0, {Modality::rgb}, DepthRule{});
  BOOST_TEST((colour[0].at<cv::Vec3b>(1, 1) == cv::Vec3b(50, 100, 150)));  // CHW RGB kept in RGB order
  expect_error([&] { rgb.read(0, {Modality::depth}, DepthRule{}); }, ExitCode::bad_input,
               {"rgb.hdf5", "/Frame_0/array", "layout RGB 3x4x4 has no depth channel"});

  std::string bad = dir.file("bad.hdf5");
  {
    h5::File f = h5::File::create(bad);
    f.create_group("Frame_0").write<uint8_t>("array", std::vector<uint8_t>(10), {2, 5});
    f.close();
  }
  expect_error([&] { FrameContainer fc2(bad); }, ExitCode::bad_input, {"bad.hdf5", "/Frame_0/array", "shape [2, 5]"});
  std::string empty = dir.file("empty.hdf5");
  h5::File::create(empty).close();
  expect_error([&] { FrameContainer fc3(empty); }, ExitCode::bad_input, {"empty.hdf5", "no Frame_<k> groups"});
}

BOOST_AUTO_TEST_SUITE_END()

// ======================================================================= detection

BOOST_AUTO_TEST_SUITE(detection)

BOOST_AUTO_TEST_CASE(the_haar_detector_finds_the_face_on_generated_faces) {
  FaceDetector det(kDefaultCascade);
  int found = 0, tried = 10;
  for (int s = 0; s < tried; ++s) {
    Capture c = generated(s, 192);
    cv::Mat rgb;
    cv::cvtColor(c.bgr, rgb, cv::COLOR_BGR2RGB);
    auto box = det.detect(rgb);
    if (!box) continue;
    ++found;
    // The renderer puts the face near the centre, filling a good part of the frame.
    cv::Point2f centre(box->x + box->width / 2.f, box->y + box->height / 2.f);
    BOOST_TEST(std::abs(centre.x - 96) < 40, "subject " << s << " box " << *box);
    BOOST_TEST(std::abs(centre.y - 96) < 50, "subject " << s << " box " << *box);
    BOOST_TEST(box->width > 192 / 5);
    BOOST_TEST(box->width < 192);
  }
  BOOST_TEST(found >= 7, "faces found on " << found << " of " << tried << " generated faces");
  // Nothing on a blank image.
  BOOST_TEST(!det.detect(cv::Mat(192, 192, CV_8UC3, cv::Scalar(120, 120, 120))).has_value());
}

BOOST_AUTO_TEST_CASE(a_missing_cascade_is_a_clear_error) {
  expect_error([] { FaceDetector d("/nonexistent/cascade.xml", true); }, ExitCode::bad_input,
               {"/nonexistent/cascade.xml", "not found (--cascade)"});
  expect_error([] { FaceDetector d("/nonexistent/cascade.xml", false); }, ExitCode::runtime,
               {"opencv-data", "--detect none"});
  ScratchDir dir("cascade");
  test::write_text(dir.file("junk.xml"), "<opencv_storage></opencv_storage>");
  expect_error([&] { FaceDetector d(dir.file("junk.xml"), true); }, ExitCode::bad_input, {"not an OpenCV cascade"});
}

BOOST_AUTO_TEST_CASE(boxes_grow_by_the_margin_and_stay_inside) {
  cv::Size img(200, 100);
  BOOST_TEST((square_box({80, 30, 40, 40}, 0.25, img) == cv::Rect(70, 20, 60, 60)));
  BOOST_TEST((square_box({0, 0, 40, 30}, 0.25, img) == cv::Rect(0, 0, 60, 60)));        // shifted inside
  BOOST_TEST((square_box({150, 20, 80, 80}, 0.5, img) == cv::Rect(100, 0, 100, 100)));  // shrunk and shifted
  BOOST_TEST((center_box(img) == cv::Rect(50, 0, 100, 100)));
  BOOST_TEST((map_box({10, 20, 30, 40}, {100, 100}, {50, 200}) == cv::Rect(5, 40, 15, 80)));
  BOOST_TEST((map_box({10, 20, 30, 40}, {100, 100}, {100, 100}) == cv::Rect(10, 20, 30, 40)));
}

BOOST_AUTO_TEST_CASE(crops_are_copied_at_size_and_area_averaged_when_shrunk) {
  cv::Mat img(4, 4, CV_8UC1);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) img.at<uint8_t>(y, x) = static_cast<uint8_t>((x + y) % 2 ? 200 : 100);
  std::vector<uint8_t> out(2 * 2 * 3);
  crop_resize(img, {0, 0, 4, 4}, 2, out.data());
  for (uint8_t v : out) BOOST_TEST(int(v) == 150);  // INTER_AREA: the mean of each 2x2 block
  std::vector<uint8_t> same(4 * 4 * 3);
  crop_resize(img, {0, 0, 4, 4}, 4, same.data());
  BOOST_TEST(int(same[0]) == 100);
  BOOST_TEST(int(same[3]) == 200);  // pixel (0,1), replicated grey
  BOOST_TEST(int(same[5]) == 200);
}

BOOST_AUTO_TEST_SUITE_END()

// ======================================================================= fas-preprocess

BOOST_AUTO_TEST_SUITE(preprocess)

namespace {
// A small CASIA-SURF-like tree of generated faces: real_part and fake_part captures
// with color/depth/ir frames (JPEG, 3-channel depth and IR like the release).
struct SurfTree {
  std::string root, list;
  std::vector<int> subjects;
};

SurfTree make_surf_tree(const ScratchDir& dir, int size) {
  SurfTree t;
  t.root = dir.file("CASIA-SURF");
  // Subjects whose face the detector finds in the JPEG the pipeline will read.
  FaceDetector det(kDefaultCascade);
  for (int s = 0; s < 20 && t.subjects.size() < 2; ++s) {
    write_image(dir.file("probe.jpg"), generated(s, size).bgr);
    if (det.detect(read_frame(dir.file("probe.jpg"), Modality::rgb, DepthRule{}))) t.subjects.push_back(s);
  }
  std::filesystem::remove(dir.file("probe.jpg"));
  BOOST_REQUIRE_EQUAL(t.subjects.size(), 2u);
  std::string lines;
  for (size_t i = 0; i < t.subjects.size(); ++i) {
    Capture c = generated(t.subjects[i], size);
    for (const char* part : {"real_part", "fake_part"}) {
      std::string cap = fmt::format("Training/{}/CLKJ_AS{:04d}/{}", part, t.subjects[i],
                                    std::string(part) == "real_part" ? "real.rssdk" : "02_e_b.rssdk");
      cv::Mat depth3, ir3;
      cv::cvtColor(c.depth, depth3, cv::COLOR_GRAY2BGR);
      cv::cvtColor(c.nir, ir3, cv::COLOR_GRAY2BGR);
      write_image(t.root + "/" + cap + "/color/7.jpg", c.bgr);
      write_image(t.root + "/" + cap + "/depth/7.jpg", depth3);
      write_image(t.root + "/" + cap + "/ir/7.jpg", ir3);
      // Alternate the column order of depth and ir, as the peers' copies do.
      lines += i == 0 ? fmt::format("{0}/color/7.jpg {0}/depth/7.jpg {0}/ir/7.jpg {1}\n", cap, part[0] == 'r' ? 1 : 0)
                      : fmt::format("{0}/color/7.jpg {0}/ir/7.jpg {0}/depth/7.jpg {1}\n", cap, part[0] == 'r' ? 1 : 0);
    }
  }
  t.list = dir.file("train_list.txt");
  test::write_text(t.list, lines);
  return t;
}
}  // namespace

BOOST_AUTO_TEST_CASE(casia_surf_with_haar_detection_end_to_end) {
  ScratchDir dir("pp_surf");
  SurfTree t = make_surf_tree(dir, 200);
  auto o = options("casia-surf", t.list, dir.file("surf.h5"));
  o.input.root = t.root;
  o.crop.size = 64;
  o.store.split = "train";
  o.store.preview = dir.file("sheet.png");
  PreprocessSummary sum = run_preprocess(o, threads(2));
  BOOST_TEST(sum.list_records == 4);
  BOOST_TEST(sum.captures == 4);
  BOOST_TEST(sum.faces_found == 4);  // the prints are the same generated photos
  BOOST_TEST(sum.samples == 12);
  BOOST_TEST(sum.per_modality_label[static_cast<size_t>(Modality::depth)][kLive] == 2);
  BOOST_TEST(test::exists(dir.file("sheet.png")));

  SampleStore s(dir.file("surf.h5"));
  BOOST_REQUIRE_EQUAL(s.size(), 12);
  BOOST_TEST(s.height() == 64);
  BOOST_TEST(s.channels() == 3);
  auto bbox = s.bboxes(0, 12);
  for (int64_t i = 0; i < 12; ++i) {
    BOOST_TEST(s.records()[static_cast<size_t>(i)] == i / 3);  // rgb, depth, nir of one capture
    BOOST_TEST(s.modalities()[static_cast<size_t>(i)] == static_cast<int8_t>(i % 3));
    BOOST_TEST(s.labels()[static_cast<size_t>(i)] == ((i / 3) % 2 == 0 ? kLive : kAttack));  // 1 = live in the list
    for (int k = 0; k < 4; ++k)  // the RGB box on the co-registered Depth/NIR frames
      BOOST_TEST(bbox[static_cast<size_t>(i * 4 + k)] == bbox[static_cast<size_t>((i / 3) * 12 + k)]);
  }
  BOOST_TEST(bbox[2] == bbox[3]);  // square
  BOOST_TEST(bbox[2] > 40.0f);
  BOOST_TEST((s.attack_names() == std::vector<std::string>{"bona fide", "print:02_e_b"}));
  BOOST_TEST(s.frames()[0] == 7);
  auto sources = s.sources(0, 3);
  BOOST_TEST(sources[1].find("/depth/7.jpg") != std::string::npos);
  BOOST_TEST(sources[2].find("/ir/7.jpg") != std::string::npos);
  auto videos = s.videos(0, 1);
  BOOST_TEST(videos[0] == fmt::format("Training/real_part/CLKJ_AS{:04d}/real.rssdk", t.subjects[0]));
  // Subject folder names are not numbers: numbered in order, names kept.
  BOOST_TEST(s.subjects()[0] == 0);
  BOOST_TEST(s.subjects()[11] == 1);
  auto names = s.file().attr_strings("subject_names");
  BOOST_TEST(names.size() == 2u);
  BOOST_TEST(s.attr_or("split", "") == "train");
  BOOST_TEST(s.attr_or("dataset", "") == "casia-surf");
  BOOST_TEST(s.attr_or("detect", "") == "haar");
  BOOST_TEST(s.attr_or("label_polarity", "") == "live=1");
  BOOST_TEST(s.file().attr_int("faces_found") == 4);
  // The crop of the depth frame is the depth image (grey replicated), not the colour one.
  auto depth = pixels(s, 1);
  BOOST_TEST(depth[0] == depth[1]);
  BOOST_TEST(depth[1] == depth[2]);
  BOOST_TEST(no_temp_files(dir.path()));
}

BOOST_AUTO_TEST_CASE(output_does_not_depend_on_the_thread_count) {
  ScratchDir dir("pp_threads");
  SurfTree t = make_surf_tree(dir, 160);
  std::vector<std::string> outs;
  for (int n : {1, 3}) {
    auto o = options("casia-surf", t.list, dir.file(fmt::format("t{}.h5", n)));
    o.input.root = t.root;
    o.crop.size = 48;
    run_preprocess(o, threads(n));
    outs.push_back(o.store.output);
  }
  SampleStore a(outs[0]), b(outs[1]);
  BOOST_REQUIRE_EQUAL(a.size(), b.size());
  std::vector<uint8_t> ia(a.image_bytes() * a.size()), ib(ia.size());
  a.read_images(0, a.size(), ia.data());
  b.read_images(0, b.size(), ib.data());
  BOOST_TEST((ia == ib));
  BOOST_TEST((a.bboxes(0, a.size()) == b.bboxes(0, b.size())));
  BOOST_TEST((a.sources(0, a.size()) == b.sources(0, b.size())));
  BOOST_TEST((a.records() == b.records()));
}

BOOST_AUTO_TEST_CASE(no_face_fail_skip_and_center) {
  ScratchDir dir("pp_noface");
  std::string root = dir.file("data");
  write_image(root + "/blank.png", cv::Mat(120, 160, CV_8UC3, cv::Scalar(90, 90, 90)));
  Capture c = generated(0, 192);
  write_image(root + "/face.png", c.bgr);
  test::write_text(dir.file("l.tsv"), "path\tlabel\tmodality\nface.png\tlive\trgb\nblank.png\tattack\trgb\n");
  auto o = options("tsv", dir.file("l.tsv"), dir.file("out.h5"));
  o.input.root = root;
  o.crop.size = 32;
  expect_error([&] { run_preprocess(o, threads(2)); }, ExitCode::bad_input,
               {"blank.png", "line 3 of", "no face found", "--on-no-face"});
  BOOST_TEST(!test::exists(dir.file("out.h5")));
  BOOST_TEST(no_temp_files(dir.path()));

  o.crop.on_no_face = "skip";
  auto skipped = run_preprocess(o, threads(2));
  BOOST_TEST(skipped.no_face == 1);
  BOOST_TEST(skipped.no_face_skipped == 1);
  BOOST_TEST(skipped.captures == 1);
  BOOST_TEST(SampleStore(dir.file("out.h5")).file().attr_int("skipped_no_face") == 1);

  o.crop.on_no_face = "center";
  o.store.output = dir.file("center.h5");
  auto centred = run_preprocess(o, threads(1));
  BOOST_TEST(centred.no_face_centered == 1);
  SampleStore s(dir.file("center.h5"));
  BOOST_REQUIRE_EQUAL(s.size(), 2);
  BOOST_TEST(std::isnan(s.bboxes(1, 1)[0]));  // no face box
  BOOST_TEST(std::isnan(s.detector_score(1)));
  auto t = s.crop_transforms(1, 1);  // the centred square of the shorter side, 120 px at x 20, to 32 px
  BOOST_TEST(t[0] == 32.f / 120, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(t[2] == (0.5f - 20) * 32 / 120 - 0.5f, boost::test_tools::tolerance(1e-5f));

  // Every capture without a face and skipped: nothing to store is an error.
  test::write_text(dir.file("blank.tsv"), "path\tlabel\tmodality\nblank.png\tattack\trgb\n");
  auto none = options("tsv", dir.file("blank.tsv"), dir.file("none.h5"));
  none.input.root = root;
  none.crop.on_no_face = "skip";
  expect_error([&] { run_preprocess(none, threads(1)); }, ExitCode::bad_input, {"nothing to store"});
  BOOST_TEST(!test::exists(dir.file("none.h5")));
}

BOOST_AUTO_TEST_CASE(missing_files_fail_unless_skipped_and_counted) {
  ScratchDir dir("pp_missing");
  std::string root = dir.file("data");
  for (const char* n : {"a/color/1.png", "a/depth/1.png", "a/ir/1.png", "b/color/1.png", "b/ir/1.png"})
    write_image(root + "/" + n, cv::Mat(20, 20, CV_8UC3, cv::Scalar(40, 80, 120)));
  test::write_text(dir.file("l.txt"), "a/color/1.png 0\nb/color/1.png 1\n");
  auto o = options("casia-fas", dir.file("l.txt"), dir.file("out.h5"));
  o.input.root = root;
  o.crop.detect = "none";
  o.crop.size = 20;
  expect_error([&] { run_preprocess(o, threads(1)); }, ExitCode::bad_input,
               {"b/depth/1.png", "line 2 of", "no such depth file", "--skip-missing"});
  BOOST_TEST(!test::exists(dir.file("out.h5")));
  o.input.skip_missing = true;
  auto sum = run_preprocess(o, threads(1));
  BOOST_TEST(sum.missing_skipped == 1);
  BOOST_TEST(sum.captures == 1);
  SampleStore s(dir.file("out.h5"));
  BOOST_TEST(s.size() == 3);
  BOOST_TEST(s.file().attr_int("skipped_missing") == 1);
  // Asking only for modalities that exist needs no skipping.
  o.input.skip_missing = false;
  o.input.modalities = "nir,rgb";
  o.store.output = dir.file("two.h5");
  BOOST_TEST(run_preprocess(o, threads(1)).captures == 2);
  BOOST_TEST((SampleStore(dir.file("two.h5")).modalities() == std::vector<int8_t>{0, 2, 0, 2}));
}

BOOST_AUTO_TEST_CASE(folders_of_frames_and_frame_selection) {
  ScratchDir dir("pp_folder");
  std::string root = dir.file("data");
  for (int k = 1; k <= 10; ++k) {
    write_image(fmt::format("{}/v/color/{}.png", root, k), cv::Mat(8, 8, CV_8UC3, cv::Scalar(k * 20, k * 20, k * 20)));
    write_image(fmt::format("{}/v/depth/{}.jpg", root, k), cv::Mat(8, 8, CV_8UC1, cv::Scalar(k)));  // other extension
    write_image(fmt::format("{}/v/ir/{}.png", root, k), cv::Mat(8, 8, CV_8UC1, cv::Scalar(k + 100)));
  }
  test::write_text(dir.file("l.txt"), "v 0\n");
  auto o = options("casia-fas", dir.file("l.txt"), dir.file("out.h5"));
  o.input.root = root;
  o.crop.detect = "none";
  o.crop.size = 8;
  o.frames.frames = "3";
  run_preprocess(o, threads(2));
  SampleStore s(dir.file("out.h5"));
  BOOST_REQUIRE_EQUAL(s.size(), 9);
  BOOST_TEST((s.frames() == std::vector<int32_t>{2, 2, 2, 6, 6, 6, 9, 9, 9}));  // files 2, 6, 9 of 1..10
  BOOST_TEST(int(pixels(s, 0)[0]) == 40);
  BOOST_TEST(int(pixels(s, 5)[0]) == 106);
  BOOST_TEST(s.sources(1, 1)[0] == "v/depth/2.jpg");
  BOOST_TEST(s.videos(0, 1)[0] == "v");
  expect_error(
      [&] {
        auto bad = o;
        bad.frames.frames = "0";
        run_preprocess(bad, threads(1));
      },
      ExitCode::bad_input, {"--frames '0'"});
}

BOOST_AUTO_TEST_CASE(rgb_only_video_folders_hold_their_frames_directly) {
  ScratchDir dir("pp_oulu");
  std::string root = dir.file("OULU_NPU");
  for (int k = 1; k <= 4; ++k)
    write_image(fmt::format("{}/Train_files/1_1_01_1/{:03d}.png", root, k),
                cv::Mat(10, 10, CV_8UC3, cv::Scalar(k, k, k)));
  test::write_text(dir.file("video_train.txt"), "Train_files/1_1_01_1 0\n");
  auto o = options("casia-fas", dir.file("video_train.txt"), dir.file("out.h5"));
  o.input.root = root;
  o.crop.detect = "none";
  o.crop.size = 10;
  expect_error([&] { run_preprocess(o, threads(1)); }, ExitCode::bad_input,
               {"1_1_01_1/depth", "no depth folder of frames", "--modalities rgb"});
  o.input.modalities = "rgb";
  run_preprocess(o, threads(1));
  SampleStore s(dir.file("out.h5"));
  BOOST_TEST((s.frames() == std::vector<int32_t>{1, 2, 3, 4}));
  BOOST_TEST(s.sources(0, 1)[0] == "Train_files/1_1_01_1/001.png");
  BOOST_TEST(s.subjects()[0] == 1);
  BOOST_TEST(s.labels()[0] == kLive);
}

BOOST_AUTO_TEST_CASE(videos_encoded_here_give_evenly_spread_frames) {
  ScratchDir dir("pp_video");
  std::string root = dir.file("data");
  mkdirs(root);
  {
    cv::VideoWriter w(root + "/clip.avi", cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10, cv::Size(32, 24));
    BOOST_REQUIRE_MESSAGE(w.isOpened(), "no MJPG writer in this OpenCV");
    for (int i = 0; i < 10; ++i) w.write(cv::Mat(24, 32, CV_8UC3, cv::Scalar(20 * i + 10, 20 * i + 10, 20 * i + 10)));
  }
  VideoFrames v(root + "/clip.avi");
  BOOST_TEST(v.count() == 10);
  test::write_text(dir.file("l.tsv"), "path\tlabel\tmodality\tsubject\nclip.avi\tlive\trgb\t4\n");
  auto o = options("tsv", dir.file("l.tsv"), dir.file("out.h5"));
  o.input.root = root;
  o.crop.detect = "none";
  o.crop.size = 16;
  o.frames.frames = "3";
  auto sum = run_preprocess(o, threads(2));
  BOOST_TEST(sum.frames_decoded == 3);
  SampleStore s(dir.file("out.h5"));
  BOOST_REQUIRE_EQUAL(s.size(), 3);
  BOOST_TEST((s.frames() == std::vector<int32_t>{1, 5, 8}));
  for (int64_t i = 0; i < 3; ++i)
    BOOST_TEST(std::abs(mean_of(pixels(s, i)) - (20 * s.frames()[static_cast<size_t>(i)] + 10)) < 4);
  BOOST_TEST(s.sources(0, 1)[0] == "clip.avi#1");
  BOOST_TEST((s.bboxes(0, 1) == std::vector<float>{0, 0, 32, 24}));
  BOOST_TEST(s.subjects()[0] == 4);
  o.frames.frames = "all";
  o.store.output = dir.file("all.h5");
  run_preprocess(o, threads(1));
  BOOST_TEST(SampleStore(dir.file("all.h5")).size() == 10);
  // One chosen frame of a video through the tsv frame column.
  test::write_text(dir.file("one.tsv"), "path\tlabel\tmodality\tframe\nclip.avi\tlive\trgb\t7\n");
  o.input.list = dir.file("one.tsv");
  o.store.output = dir.file("one.h5");
  run_preprocess(o, threads(1));
  BOOST_TEST((SampleStore(dir.file("one.h5")).frames() == std::vector<int32_t>{7}));
}

BOOST_AUTO_TEST_CASE(wmca_lists_through_the_pipeline) {
  ScratchDir dir("pp_wmca");
  std::string root = dir.file("WMCA");
  mkdirs(root + "/12.02.18");
  for (const char* name : {"005_03_000_0_01.hdf5", "006_03_001_4_02.hdf5"}) {
    h5::File f = h5::File::create(root + "/12.02.18/" + name);
    for (int k : {0, 10, 2}) {
      std::vector<uint8_t> a(4 * 16 * 16);
      for (int c = 0; c < 4; ++c)
        std::fill(a.begin() + c * 256, a.begin() + (c + 1) * 256, static_cast<uint8_t>(10 * k + c));
      f.create_group("Frame_" + std::to_string(k)).write<uint8_t>("array", a, {4, 16, 16});
    }
    f.create_group("FrameIndexes");
    f.close();
  }
  test::write_text(dir.file("grandtest.txt"), "12.02.18/005_03_000_0_01.hdf5\n12.02.18/006_03_001_4_02.hdf5 1\n");
  auto o = options("wmca", dir.file("grandtest.txt"), dir.file("out.h5"));
  o.input.root = root;
  o.crop.detect = "none";
  o.crop.size = 16;
  run_preprocess(o, threads(2));
  SampleStore s(dir.file("out.h5"));
  BOOST_REQUIRE_EQUAL(s.size(), 2 * 3 * 4);
  BOOST_TEST((std::vector<int32_t>(s.frames().begin(), s.frames().begin() + 12) ==
              std::vector<int32_t>{0, 0, 0, 0, 2, 2, 2, 2, 10, 10, 10, 10}));
  BOOST_TEST(int(pixels(s, 8)[0]) == 100);   // frame 10, colour (grey)
  BOOST_TEST(int(pixels(s, 11)[0]) == 103);  // frame 10, thermal
  BOOST_TEST(s.modalities()[11] == static_cast<int8_t>(Modality::thermal));
  BOOST_TEST(s.labels()[0] == kLive);
  BOOST_TEST(s.labels()[12] == kAttack);
  BOOST_TEST(s.attack_names().at(1) == "replay (type 4)");
  BOOST_TEST(s.subjects()[12] == 6);
  BOOST_TEST(s.sources(8, 1)[0] == "12.02.18/005_03_000_0_01.hdf5#Frame_10");
}

BOOST_AUTO_TEST_CASE(bad_usage_and_bad_input_are_reported_before_any_output) {
  ScratchDir dir("pp_errors");
  test::write_text(dir.file("l.txt"), "a/color/1.png 0\n");
  auto o = options("casia-fas", dir.file("l.txt"), dir.file("out.h5"));
  auto fails = [&](PreprocessOptions x, ExitCode code, std::vector<std::string> needles) {
    expect_error([&] { run_preprocess(x, threads(1)); }, code, needles);
    BOOST_TEST(!test::exists(x.store.output));
    BOOST_TEST(no_temp_files(dir.path()));
  };
  auto x = o;
  x.input.list = dir.file("missing.txt");
  fails(x, ExitCode::bad_input, {"missing.txt", "cannot open"});
  x = o;
  x.input.modalities = "thermal";
  fails(x, ExitCode::bad_input, {"--modalities asks for thermal", "casia-fas list provides rgb,depth,nir"});
  x = o;
  x.input.root = dir.file("nowhere");
  fails(x, ExitCode::bad_input, {"nowhere", "dataset root is not a folder"});
  x = o;
  x.store.output = dir.file("no/such/dir/out.h5");
  fails(x, ExitCode::bad_input, {"does not exist"});
  x = o;
  x.crop.cascade = dir.file("none.xml");
  fails(x, ExitCode::bad_input, {"none.xml", "--cascade"});
  x = o;
  x.frames.depth_range = "5";
  fails(x, ExitCode::bad_input, {"--depth-range '5'"});
  x = o;
  x.input.label_polarity = "live";
  fails(x, ExitCode::bad_input, {"--label-polarity 'live'"});
  x = o;
  x.crop.on_no_face = "ignore";
  fails(x, ExitCode::bad_input, {"--on-no-face 'ignore'"});
  x = o;
  x.crop.detect = "none";
  fails(x, ExitCode::bad_input, {"a/color/1.png", "line 1 of", "no such rgb file"});
  // A corrupt image.
  write_image(dir.file("a/color/1.png"), cv::Mat(4, 4, CV_8UC3, cv::Scalar(1, 2, 3)));
  write_image(dir.file("a/depth/1.png"), cv::Mat(4, 4, CV_8UC1, cv::Scalar(1)));
  mkdirs(dir.file("a/ir"));
  test::write_text(dir.file("a/ir/1.png"), "garbage");
  x = o;
  x.crop.detect = "none";
  fails(x, ExitCode::bad_input, {"a/ir/1.png", "line 1 of", "cannot decode the image"});
  // A malformed list line stops the run with its line number.
  test::write_text(dir.file("bad.txt"), "a/color/1.png 0\na/color/1.png maybe\n");
  x = o;
  x.input.list = dir.file("bad.txt");
  fails(x, ExitCode::bad_input, {"bad.txt", "line 2", "label 'maybe'"});
}

BOOST_AUTO_TEST_SUITE_END()
