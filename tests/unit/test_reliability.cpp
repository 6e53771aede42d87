// Reliability (man fas-errors(7)): checksums of the three schemas find corruption and
// name it, truncated images are refused before a decoder sees them, errors learn their
// record, writers name the output the user asked for (not its temporary file), finish
// every output before any is renamed, and write the format attribute last.
#include <boost/test/unit_test.hpp>

#include <ATen/ATen.h>
#include <hdf5.h>
#include <opencv2/imgcodecs.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/image_file.hpp"
#include "cmclip/h5/checked_driver.hpp"
#include "cmclip/h5/checkpoint.hpp"
#include "cmclip/h5/h5.hpp"
#include "cmclip/h5/probe.hpp"
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

// A header declaring more than kMaxImagePixels is refused before the decoder allocates
// gigabytes (the image fuzz target's finding: 580 bytes of JPEG declaring 179 MP).
BOOST_AUTO_TEST_CASE(headers_declaring_too_many_pixels_are_refused_before_decoding) {
  ScratchDir dir("huge-images");
  auto put16be = [](std::string& b, size_t at, uint32_t v) { b[at] = char(v >> 8), b[at + 1] = char(v); };
  auto put32be = [&](std::string& b, size_t at, uint32_t v) { put16be(b, at, v >> 16), put16be(b, at + 2, v); };
  auto put32le = [](std::string& b, size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + i] = char(v >> (8 * i));
  };
  std::string png = encode(".png", noise(20, 30, CV_8UC3));
  put32be(png, 16, 20000), put32be(png, 20, 20000);  // IHDR width, height
  std::string jpg = encode(".jpg", noise(20, 30, CV_8UC3));
  size_t sof = jpg.find("\xff\xc0");
  BOOST_REQUIRE(sof != std::string::npos);
  put16be(jpg, sof + 5, 60000), put16be(jpg, sof + 7, 2000);  // height, width
  jpg.insert(jpg.find("\xff\xdb"), "\x01\x02\x03");  // stray bytes before a marker, skipped as libjpeg does
  std::string bmp = encode(".bmp", noise(20, 30, CV_8UC1));
  put32le(bmp, 18, 9000), put32le(bmp, 22, uint32_t(-9000));  // a top-down BMP: height < 0
  const std::string pgm = "P5\n# a comment\n30000 30000\n255\n" + std::string(64, '\0');
  for (const auto& [name, bytes] : std::vector<std::pair<std::string, std::string>>{
           {"huge.png", png}, {"huge.jpg", jpg}, {"huge.bmp", bmp}, {"huge.pgm", pgm}}) {
    test::write_text(dir.file(name), bytes);
    expect_error([&] { read_image_file(dir.file(name)); }, ExitCode::bad_input, {name, "pixels, more than the 67108864"});
  }
  // A format whose header is not read here: checked once decoded (8200 x 8200 > 8192^2).
  test::write_text(dir.file("huge.tiff"), encode(".tiff", cv::Mat::zeros(8200, 8200, CV_8UC1)));
  expect_error([&] { read_image_file(dir.file("huge.tiff")); }, ExitCode::bad_input, {"huge.tiff", "8200x8200 pixels"});
  // At the limit: read.
  test::write_text(dir.file("ok.png"), encode(".png", cv::Mat::zeros(4, 8192 * 8, CV_8UC1)));
  BOOST_TEST(read_image_file(dir.file("ok.png")).cols == 8192 * 8);
}

BOOST_AUTO_TEST_SUITE_END()

// Files on which libhdf5 1.10 crashes or hangs (the h5_* fuzz targets' findings, kept in
// tests/fuzz/corpus) are refused with the file and the object named.
BOOST_AUTO_TEST_SUITE(hostile_hdf5_files)

namespace {
std::string finding(const std::string& target, const std::string& name) {
  return std::string(CMCLIP_SOURCE_DIR) + "/tests/fuzz/corpus/" + target + "/" + name;
}

// A global heap collection of `total` bytes holding one object ("hello") and then the
// free space, whose length field is `free_length`.
std::vector<uint8_t> collection(uint64_t total, uint64_t free_length, uint64_t object_length = 5) {
  std::vector<uint8_t> b(total, 0);
  auto put = [&](size_t at, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) b[at + i] = uint8_t(v >> (8 * i));
  };
  std::memcpy(b.data(), "GCOL", 4);
  b[4] = 1;
  put(8, total, 8);
  put(16, 1, 2);  // object 1
  put(24, object_length, 8);
  std::memcpy(&b[32], "hello", 5);
  put(40, 0, 2);  // the free space
  put(48, free_length, 8);
  return b;
}
}  // namespace

BOOST_AUTO_TEST_CASE(global_heap_collections_are_checked) {
  auto sound = collection(4096, 4096 - 40);
  BOOST_TEST(h5::check_global_heap(sound.data(), sound.size(), 2048) == "");
  BOOST_TEST(h5::global_heap_size(sound.data(), sound.size()) == 4096u);
  // Only the header of a collection longer than the bytes read so far.
  BOOST_TEST(h5::check_global_heap(sound.data(), 1000, 2048) == "");
  const uint8_t other[8] = {'T', 'R', 'E', 'E', 1, 0, 0, 0};
  BOOST_TEST(h5::check_global_heap(other, sizeof other, 0) == "");  // not a collection
  BOOST_TEST(h5::global_heap_size(other, sizeof other) == 0u);

  auto empty_free = collection(4096, 0);  // libhdf5 1.10 loops forever on it
  BOOST_TEST(h5::check_global_heap(empty_free.data(), empty_free.size(), 2048) ==
             "global heap collection at byte 2048: free space at byte 2088 is 0 bytes long, shorter than its own header");
  auto overrun = collection(4096, 4096 - 40, 5000);  // libhdf5 1.10 copies past the end
  BOOST_TEST(h5::check_global_heap(overrun.data(), overrun.size(), 0).find("longer than the collection") !=
             std::string::npos);
  auto free_overrun = collection(4096, 8000);
  BOOST_TEST(h5::check_global_heap(free_overrun.data(), free_overrun.size(), 0).find("runs past the collection's end") !=
             std::string::npos);
  auto version = sound;
  version[4] = 2;
  BOOST_TEST(h5::check_global_heap(version.data(), version.size(), 0) == "global heap collection at byte 0: version 2, expected 1");
}

BOOST_AUTO_TEST_CASE(files_libhdf5_would_crash_or_hang_on_are_refused_by_name) {
  // The free space of the collection holding the format attribute is 0 bytes long.
  expect_error([&] { read_scores(finding("h5_scores", "timeout-gheap-empty-free-space")); }, ExitCode::bad_input,
               {"timeout-gheap-empty-free-space: /: cannot read attribute 'format'",
                "global heap collection at byte 4096: free space at byte 4592 is 0 bytes long"});
  expect_error([&] { SampleStore s(finding("h5_samples", "timeout-gheap-empty-free-space")); }, ExitCode::bad_input,
               {"global heap collection at byte 2048"});
  // A string names a global heap object that does not exist (found by the metadata probe).
  expect_error([&] { SampleStore s(finding("h5_samples", "crash-gheap-missing-object")); }, ExitCode::bad_input,
               {"crash-gheap-missing-object: /: damaged file: libhdf5 crashed (Segmentation fault)"});
  expect_error([&] { read_checkpoint(finding("h5_checkpoint", "crash-gheap-missing-object")); }, ExitCode::bad_input,
               {"crash-gheap-missing-object: /config: damaged file: libhdf5 crashed"});
  // An attribute libhdf5 cannot decode among those it tabulates.
  expect_error([&] { read_checkpoint(finding("h5_checkpoint", "crash-attribute-table")); }, ExitCode::bad_input,
               {"crash-attribute-table: /config: cannot read its attributes (damaged object header)",
                "wrong version number in dataspace message"});
}

BOOST_AUTO_TEST_CASE(the_probe_time_limit_is_checked) {
  ::setenv("CMCLIP_H5_PROBE_SECONDS", "soon", 1);
  expect_error([&] { h5::probe_metadata(finding("h5_scores", "scores.h5")); }, ExitCode::bad_input,
               {"CMCLIP_H5_PROBE_SECONDS='soon' is not a number of seconds"});
  ::unsetenv("CMCLIP_H5_PROBE_SECONDS");
  h5::probe_metadata(finding("h5_scores", "scores.h5"));  // a sound file passes
}

BOOST_AUTO_TEST_SUITE_END()
