// Reliability (man fas-errors(7)): checksums of the three schemas find corruption and
// name it, truncated images are refused before a decoder sees them, errors learn their
// record, writers name the output the user asked for (not its temporary file), finish
// every output before any is renamed, and write the format attribute last.
#include <boost/test/unit_test.hpp>

#include <ATen/ATen.h>
#include <hdf5.h>
#include <opencv2/imgcodecs.hpp>

#include <cstdio>
#include <random>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/image_file.hpp"
#include "cmclip/h5/checkpoint.hpp"
#include "cmclip/h5/h5.hpp"
#include "cmclip/h5/samples.hpp"
#include "cmclip/h5/scores.hpp"
#include "test_support.hpp"

using namespace cmclip;
using cmclip::test::ScratchDir;
using cmclip::test::expect_error;

namespace {
// Flips one byte in the middle of the stored (first) chunk of `dataset`, behind HDF5's
// back, as a failing disk or a bad copy would.
void flip_stored_byte(const std::string& file, const std::string& dataset) {
  haddr_t addr = HADDR_UNDEF;
  hsize_t size = 0;
  {
    h5::File f = h5::File::open(file);
    h5::Dataset d = f.dataset(dataset);
    hid_t space = H5Dget_space(d.id());
    std::vector<hsize_t> offset(static_cast<size_t>(H5Sget_simple_extent_ndims(space)));
    unsigned mask = 0;
    BOOST_REQUIRE(H5Dget_chunk_info(d.id(), space, 0, offset.data(), &mask, &addr, &size) >= 0);
    H5Sclose(space);
  }
  BOOST_REQUIRE(addr != HADDR_UNDEF && size > 0);
  FILE* fp = std::fopen(file.c_str(), "r+b");
  BOOST_REQUIRE(fp);
  std::fseek(fp, static_cast<long>(addr + size / 2), SEEK_SET);
  int c = std::fgetc(fp);
  std::fseek(fp, static_cast<long>(addr + size / 2), SEEK_SET);
  std::fputc(c ^ 0x21, fp);
  std::fclose(fp);
}

std::string encode(const std::string& ext, const cv::Mat& m) {
  std::vector<uchar> bytes;
  BOOST_REQUIRE(cv::imencode(ext, m, bytes));
  return std::string(bytes.begin(), bytes.end());
}

cv::Mat noise(int rows, int cols, int type) {
  cv::Mat m(rows, cols, type);
  cv::randu(m, 0, 255);
  return m;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(checksums)

BOOST_AUTO_TEST_CASE(a_damaged_checkpoint_parameter_is_named) {
  ScratchDir dir("ck-sum");
  Checkpoint c;
  c.config["method"] = std::string("unit");
  c.params.emplace_back("visual.proj", at::linspace(-1, 1, 8192, at::kFloat));  // 32 KiB: checksummed
  c.params.emplace_back("small", at::ones({4}));
  c.trainable = {"small"};
  write_checkpoint(dir.file("c.h5"), c);
  BOOST_TEST(read_checkpoint(dir.file("c.h5")).find_param("visual.proj")->equal(c.params[0].second));
  flip_stored_byte(dir.file("c.h5"), "params/visual.proj");
  expect_error([&] { read_checkpoint(dir.file("c.h5")); }, ExitCode::bad_input,
               {"c.h5", "/params/visual.proj", "Fletcher-32"});
}

BOOST_AUTO_TEST_CASE(damaged_scores_and_features_are_named) {
  ScratchDir dir("sc-sum");
  for (const char* target : {"score", "features", "label"}) {
    std::string path = dir.file(std::string(target) + ".h5");
    {
      ScoreWriter w(path, 16);
      std::vector<float> f(16);
      std::mt19937 rng(3);
      for (int i = 0; i < 500; ++i) {
        for (auto& v : f) v = static_cast<float>(rng() % 1000) / 7.f;
        w.append(ScoreRow{i, static_cast<float>(rng() % 1000) / 1000.f, kLive, 0, 0, i, "v", "s"}, f.data());
      }
      w.commit();
    }
    BOOST_TEST(read_scores(path, true).size() == 500u);
    flip_stored_byte(path, target);
    expect_error([&] { read_scores(path, true); }, ExitCode::bad_input,
                 {std::string(target) + ".h5", "/" + std::string(target), "checksum"});
  }
}

BOOST_AUTO_TEST_CASE(a_damaged_sample_label_is_named) {
  ScratchDir dir("sa-sum");
  {
    SampleWriter w(dir.file("s.h5"), 8, 8, 1);
    std::vector<uint8_t> img(64, 9);
    for (int i = 0; i < 300; ++i) {
      SampleMeta m;
      m.label = i % 2 ? kLive : kAttack;
      m.attack = i % 2 ? 0 : w.attack_code("print");
      w.append(img.data(), m);
    }
    w.commit();
  }
  flip_stored_byte(dir.file("s.h5"), "label");
  expect_error([&] { SampleStore s(dir.file("s.h5")); }, ExitCode::bad_input, {"s.h5", "/label", "checksum"});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(writers)

BOOST_AUTO_TEST_CASE(write_errors_name_the_output_not_its_temporary_file) {
  ScratchDir dir("names");
  AtomicOutput out(dir.file("wanted.h5"));
  h5::File f = h5::File::create(out);
  BOOST_TEST(f.file() == dir.file("wanted.h5"));
  expect_error([&] { f.create_dataset("x", h5::DType::f32, {4}).resize_rows(8); }, ExitCode::runtime,
               {"wanted.h5", "/x"});
}

BOOST_AUTO_TEST_CASE(a_finished_store_is_readable_under_its_temporary_name_until_committed) {
  ScratchDir dir("finish");
  {
    SampleWriter w(dir.file("s.h5"), 4, 4, 3);
    std::vector<uint8_t> img(48, 1);
    w.append(img.data(), SampleMeta{});
    w.finish();
    BOOST_TEST(!file_exists(dir.file("s.h5")));
    BOOST_TEST(SampleStore(w.temp_path()).size() == 1);
    // destroyed without commit: nothing is left
  }
  BOOST_TEST(test::count_files(dir.path()) == 0);
  SampleWriter w(dir.file("s.h5"), 4, 4, 3);
  std::vector<uint8_t> img(48, 1);
  w.append(img.data(), SampleMeta{});
  w.finish();
  w.commit();
  BOOST_TEST(SampleStore(dir.file("s.h5")).size() == 1);
  BOOST_TEST(test::count_files(dir.path()) == 1);
}

BOOST_AUTO_TEST_CASE(a_checkpoint_without_its_format_attribute_is_refused) {
  // The format attribute is the last thing written: a file holding parameters but no
  // format (what a SIGKILL mid-write leaves) is refused as "not a checkpoint".
  ScratchDir dir("order");
  Checkpoint c;
  c.params.emplace_back("w", at::ones({2}));
  write_checkpoint(dir.file("c.h5"), c);
  {
    h5::File f = h5::File::open_rw(dir.file("c.h5"));
    // What the writer had written before its last step.
    H5Adelete(f.id(), "format");
    H5Adelete(f.id(), "format_version");
    H5Adelete(f.id(), "created_at");
    f.close();
  }
  BOOST_TEST(!is_checkpoint_file(dir.file("c.h5")));
  expect_error([&] { read_checkpoint(dir.file("c.h5")); }, ExitCode::bad_input, {"c.h5", "no 'format' attribute"});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(errors)

BOOST_AUTO_TEST_CASE(an_error_learns_its_record_once) {
  InputError e("a.png", "", "cannot decode");
  InputError located = e.at("line 3 of list.txt");
  BOOST_TEST(std::string(located.what()) == "a.png: line 3 of list.txt: cannot decode");
  BOOST_TEST(located.record() == "line 3 of list.txt");
  BOOST_TEST(located.detail() == "cannot decode");
  // An error that names its record keeps it.
  BOOST_TEST(std::string(located.at("line 9").what()) == "a.png: line 3 of list.txt: cannot decode");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(image_files)

BOOST_AUTO_TEST_CASE(complete_images_pass_and_truncated_ones_are_named) {
  const std::string png = encode(".png", noise(20, 30, CV_8UC3));
  const std::string jpg = encode(".jpg", noise(20, 30, CV_8UC3));
  const std::string bmp = encode(".bmp", noise(20, 30, CV_8UC1));
  BOOST_TEST(image_truncation(png) == "");
  BOOST_TEST(image_truncation(jpg) == "");
  BOOST_TEST(image_truncation(bmp) == "");
  BOOST_TEST(image_truncation(jpg + "trailing bytes after the image") == "");
  BOOST_TEST(image_truncation("not an image") == "");  // unknown: the decoder decides
  BOOST_TEST(image_truncation(png.substr(0, png.size() / 2)).find("truncated PNG: chunk 'IDAT'") == 0);
  BOOST_TEST(image_truncation(png.substr(0, png.size() - 12)).find("truncated PNG: no IEND") == 0);
  BOOST_TEST(image_truncation(jpg.substr(0, jpg.size() - 2)).find("truncated JPEG") == 0);
  BOOST_TEST(image_truncation(jpg.substr(0, 40)).find("truncated JPEG") == 0);
  BOOST_TEST(image_truncation(bmp.substr(0, bmp.size() - 1)).find("truncated BMP") == 0);
}

BOOST_AUTO_TEST_CASE(reading_an_image_file_names_what_is_wrong) {
  ScratchDir dir("images");
  cv::Mat grey = noise(12, 9, CV_8UC1);
  const std::string png = encode(".png", grey);
  test::write_text(dir.file("ok.png"), png);
  cv::Mat back = read_image_file(dir.file("ok.png"));
  BOOST_TEST(cv::norm(back, grey, cv::NORM_INF) == 0);
  test::write_text(dir.file("half.png"), png.substr(0, 60));
  expect_error([&] { read_image_file(dir.file("half.png")); }, ExitCode::bad_input, {"half.png", "truncated PNG"});
  test::write_text(dir.file("empty.png"), "");
  expect_error([&] { read_image_file(dir.file("empty.png")); }, ExitCode::bad_input, {"empty.png", "empty file"});
  test::write_text(dir.file("text.png"), "hello");
  expect_error([&] { read_image_file(dir.file("text.png")); }, ExitCode::bad_input, {"text.png", "cannot decode"});
  expect_error([&] { read_image_file(dir.file("none.png")); }, ExitCode::bad_input, {"none.png", "cannot open"});
}

BOOST_AUTO_TEST_SUITE_END()
