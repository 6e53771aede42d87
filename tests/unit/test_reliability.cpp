// Reliability (man fas-errors(7)): checksums of the three schemas find corruption and
// name it, truncated images are refused before a decoder sees them, errors learn their
// record, writers name the output the user asked for (not its temporary file), finish
// every output before any is renamed, and write the format attribute last.
#include <boost/test/unit_test.hpp>

#include <ATen/ATen.h>
#include <hdf5.h>
#include <opencv2/imgcodecs.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/image_file.hpp"
#include "cmclip/h5/guard/checked_driver.hpp"
#include "cmclip/h5/checkpoint.hpp"
#include "cmclip/h5/h5.hpp"
#include "cmclip/h5/guard/header_check.hpp"
#include "cmclip/h5/probe.hpp"
#include "cmclip/h5/guard/probe_walk.hpp"
#include "cmclip/h5/samples.hpp"
#include "cmclip/h5/scores.hpp"
#include "test_support.hpp"

// libhdf5's checksum of metadata blocks (exported, not in its public headers): a test
// rewrites a version 2 object header as a hostile file would, checksum included.
extern "C" uint32_t H5_checksum_metadata(const void* data, size_t length, uint32_t initial);

using namespace cmclip;
using cmclip::test::expect_error;
using cmclip::test::ScratchDir;

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
  jpg.insert(jpg.find("\xff\xdb"), "\x01\x02\x03");           // stray bytes before a marker, skipped as libjpeg does
  std::string bmp = encode(".bmp", noise(20, 30, CV_8UC1));
  put32le(bmp, 18, 9000), put32le(bmp, 22, uint32_t(-9000));  // a top-down BMP: height < 0
  const std::string pgm = "P5\n# a comment\n30000 30000\n255\n" + std::string(64, '\0');
  for (const auto& [name, bytes] : std::vector<std::pair<std::string, std::string>>{
           {"huge.png", png}, {"huge.jpg", jpg}, {"huge.bmp", bmp}, {"huge.pgm", pgm}}) {
    test::write_text(dir.file(name), bytes);
    expect_error([&] { read_image_file(dir.file(name)); }, ExitCode::bad_input,
                 {name, "pixels, more than the 67108864"});
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
  BOOST_TEST(
      h5::check_global_heap(empty_free.data(), empty_free.size(), 2048) ==
      "global heap collection at byte 2048: free space at byte 2088 is 0 bytes long, shorter than its own header");
  auto overrun = collection(4096, 4096 - 40, 5000);  // libhdf5 1.10 copies past the end
  BOOST_TEST(h5::check_global_heap(overrun.data(), overrun.size(), 0).find("longer than the collection") !=
             std::string::npos);
  auto free_overrun = collection(4096, 8000);
  BOOST_TEST(
      h5::check_global_heap(free_overrun.data(), free_overrun.size(), 0).find("runs past the collection's end") !=
      std::string::npos);
  auto version = sound;
  version[4] = 2;
  BOOST_TEST(h5::check_global_heap(version.data(), version.size(), 0) ==
             "global heap collection at byte 0: version 2, expected 1");
}

BOOST_AUTO_TEST_CASE(files_libhdf5_would_crash_or_hang_on_are_refused_by_name) {
  // The free space of the collection holding the format attribute is 0 bytes long
  // (libhdf5 1.14 loops on it too). The root's object header is damaged as well: libhdf5
  // cannot tell what kind of object it is, so its walk of the file stops before the
  // root, whose attributes are checked all the same.
  expect_error([&] { read_scores(finding("h5_scores", "timeout-gheap-empty-free-space")); }, ExitCode::bad_input,
               {"timeout-gheap-empty-free-space: /: damaged file: value 0: global heap collection at byte 4096: free "
                "space at byte 4592 is 0 bytes long"});
  expect_error([&] { SampleStore s(finding("h5_samples", "timeout-gheap-empty-free-space")); }, ExitCode::bad_input,
               {"global heap collection at byte 2048"});
  // A string names a global heap object that does not exist, or the collection's free
  // space (libhdf5 would copy from past the collection): found by the values check.
  expect_error([&] { SampleStore s(finding("h5_samples", "crash-gheap-missing-object")); }, ExitCode::bad_input,
               {"crash-gheap-missing-object: /: damaged file: value 0 names object 4278190098 of the global heap "
                "collection at byte 2048, which holds none"});
  expect_error([&] { read_checkpoint(finding("h5_checkpoint", "crash-gheap-missing-object")); }, ExitCode::bad_input,
               {"crash-gheap-missing-object: /config: damaged file: value 1 names object"});
  expect_error([&] { SampleStore s(finding("h5_samples", "crash-attr-strings-heap-overflow")); }, ExitCode::bad_input,
               {"crash-attr-strings-heap-overflow: /: damaged file: value 0 names object 0 of the global heap "
                "collection at byte 2048, which holds none"});
  // Attribute messages libhdf5 would decode from beyond their object header: found by
  // the header check.
  expect_error([&] { read_checkpoint(finding("h5_checkpoint", "crash-attribute-table")); }, ExitCode::bad_input,
               {"crash-attribute-table: /config: damaged file: object header at byte 800: attribute "
                "'adapter_dropout': its dataspace has version 0, expected 1 or 2"});
  expect_error([&] { read_checkpoint(finding("h5_checkpoint", "crash-attr-names-heap-overflow")); },
               ExitCode::bad_input,
               {"crash-attr-names-heap-overflow: /config: damaged file: object header at byte 800: attribute "
                "'n_ctx': its dataspace (65520 bytes) does not fit in the message"});
  // Strings of 134217729-byte characters: libhdf5 cleared gigabytes to read one.
  expect_error([&] { read_checkpoint(finding("h5_checkpoint", "slow-string-character-size")); }, ExitCode::bad_input,
               {"slow-string-character-size: /config: damaged file: object header at byte 800: attribute 'method': "
                "variable-length strings of 134217729-byte characters (expected 1)"});
  // A filter whose name runs past its pipeline message: libhdf5 used freed memory.
  expect_error([&] { read_scores(finding("h5_scores", "crash-filter-name-past-message")); }, ExitCode::bad_input,
               {"crash-filter-name-past-message: /attack: damaged file: object header at byte 1968: filter 0 of "
                "the pipeline: its name (528 bytes) runs past the message"});
  // One attribute libhdf5 cannot decode: the probe skipped them all, and the reader,
  // opening 'format' by name, had libhdf5 copy its string from past its collection.
  expect_error([&] { SampleStore s(finding("h5_samples", "crash-format-read-past-undecodable-attributes")); },
               ExitCode::bad_input,
               {"crash-format-read-past-undecodable-attributes: /: damaged file: cannot read its attributes "
                "(damaged object header)"});
  // A string attribute libhdf5 took 82 s to read (it cleared gigabytes for its length).
  expect_error([&] { read_scores(finding("h5_scores", "timeout-attribute-data-past-message")); }, ExitCode::bad_input,
               {"timeout-attribute-data-past-message: /: damaged file: object header at byte 96: attribute "
                "'created_by': its dataspace (2048 bytes) does not fit in the message"});
}

// The checks of the probe helper, run in this process (under the sanitizers in
// scripts/test-sanitize.sh: the helper itself never is) on every HDF5 file of the fuzz
// corpus: each ends the walk cleanly (exit status 0) or finds damage (kDamagedStatus),
// never a crash or a sanitizer report (status 1).
BOOST_AUTO_TEST_CASE(the_probe_checks_walk_every_corpus_file_without_crashing) {
  int walked = 0;
  for (const char* target : {"h5_samples", "h5_scores", "h5_checkpoint"}) {
    const std::string dir = std::string(CMCLIP_SOURCE_DIR) + "/tests/fuzz/corpus/" + target;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      const std::string file = entry.path().string();
      pid_t child = ::fork();
      BOOST_REQUIRE(child >= 0);
      if (child == 0) {
        int null = ::open("/dev/null", O_WRONLY);
        h5::walk_metadata(file.c_str(), null);
        ::_exit(0);
      }
      int status = 0;
      BOOST_REQUIRE(::waitpid(child, &status, 0) == child);
      BOOST_TEST_INFO(file);
      BOOST_TEST((WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == h5::kDamagedStatus)));
      ++walked;
    }
  }
  BOOST_TEST(walked >= 16);
}

BOOST_AUTO_TEST_CASE(a_damaged_file_is_refused_again_without_another_probe) {
  const std::string file = finding("h5_samples", "crash-attr-strings-heap-overflow");
  expect_error([&] { h5::probe_metadata(file); }, ExitCode::bad_input, {"damaged file: value 0 names object 0"});
  // A helper started again could not finish in a microsecond: the verdict is remembered.
  ::setenv("CMCLIP_H5_PROBE_SECONDS", "0.000001", 1);
  expect_error([&] { h5::probe_metadata(file); }, ExitCode::bad_input, {"damaged file: value 0 names object 0"});
  ::unsetenv("CMCLIP_H5_PROBE_SECONDS");
}

namespace {
// An attribute message (version 1) named `name`, of 8-byte floats, with `points` values
// declared in its dataspace and `stored` values of data after it.
std::vector<uint8_t> attribute_message(const std::string& name, uint64_t points, uint64_t stored) {
  std::vector<uint8_t> m(8);
  auto put = [&](size_t at, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) m[at + size_t(i)] = uint8_t(v >> (8 * i));
  };
  m[0] = 1;
  put(2, name.size() + 1, 2);
  put(4, 20, 2);  // a float's datatype: 8 bytes of header, 12 of properties
  put(6, 16, 2);  // a rank-1 version 1 dataspace: 8 bytes of header, one 8-byte extent
  m.resize(8 + ((name.size() + 1 + 7) & ~size_t(7)));  // the name, padded to 8 bytes
  std::memcpy(m.data() + 8, name.data(), name.size());
  std::vector<uint8_t> type(24, 0), space(16, 0);
  type[0] = 0x11;  // version 1, class 1 (floating point)
  type[4] = 8;     // size
  space[0] = 1;
  space[1] = 1;  // rank
  for (int i = 0; i < 8; ++i) space[8 + size_t(i)] = uint8_t(points >> (8 * i));
  m.insert(m.end(), type.begin(), type.end());
  m.insert(m.end(), space.begin(), space.end());
  m.resize(m.size() + stored * 8, 0);
  return m;
}
}  // namespace

BOOST_AUTO_TEST_CASE(attribute_messages_are_checked_before_libhdf5_decodes_them) {
  const h5::FileLayout layout;
  auto sound = attribute_message("lr", 3, 3);
  BOOST_TEST(h5::check_attribute_message(sound.data(), sound.size(), layout) == "");
  auto short_data = attribute_message("lr", 4, 3);
  BOOST_TEST(h5::check_attribute_message(short_data.data(), short_data.size(), layout) ==
             "attribute 'lr': its data (4 values of 8 bytes) runs past the message (24 bytes left)");
  auto huge = attribute_message("lr", uint64_t(1) << 62, 3);  // points * 8 overflows 64 bits
  BOOST_TEST(h5::check_attribute_message(huge.data(), huge.size(), layout).find("runs past the message") !=
             std::string::npos);
  auto unterminated = sound;
  for (size_t i = 8; i < 16; ++i) unterminated[i] = 'x';
  BOOST_TEST(h5::check_attribute_message(unterminated.data(), unterminated.size(), layout) ==
             "an attribute message whose name is not terminated");
  auto shared = sound;
  shared[0] = 2;
  shared[1] = 1;  // its datatype is shared
  BOOST_TEST(h5::check_attribute_message(shared.data(), shared.size(), layout).find("shared datatype") !=
             std::string::npos);
  auto space_version = sound;
  space_version[16 + 24] = 7;
  BOOST_TEST(h5::check_attribute_message(space_version.data(), space_version.size(), layout) ==
             "attribute 'lr': its dataspace has version 7, expected 1 or 2");
  auto long_name = sound;
  long_name[2] = 200;
  BOOST_TEST(h5::check_attribute_message(long_name.data(), long_name.size(), layout).find("does not fit") !=
             std::string::npos);
  BOOST_TEST(h5::check_attribute_message(sound.data(), 6, layout).find("shorter than its fixed fields") !=
             std::string::npos);
  // Version 3 has 9 fixed bytes: an 8-byte message must not be read past its end.
  std::vector<uint8_t> v3_short = {3, 0, 2, 0, 8, 0, 8, 0};
  BOOST_TEST(h5::check_attribute_message(v3_short.data(), v3_short.size(), layout).find("does not fit") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(datatypes_are_checked) {
  // A variable-length string: class 9, string, 16 bytes; its base, 1-byte integers.
  std::vector<uint8_t> type(20, 0);
  type[0] = 0x19;
  type[1] = 0x01;
  type[4] = 16;
  type[8] = 0x10;
  type[12] = 1;
  BOOST_TEST(h5::check_datatype(type.data(), type.size()) == "");
  // libhdf5 would clear length * 134217729 bytes before reading each string.
  type[15] = 8;
  BOOST_TEST(h5::check_datatype(type.data(), type.size()) ==
             "variable-length strings of 134217729-byte characters (expected 1)");
  type[1] = 0;  // a sequence of 134217729-byte values: checked against its heap objects instead
  BOOST_TEST(h5::check_datatype(type.data(), type.size()) == "");
  type[8] = 0x19;  // of variable-length values
  BOOST_TEST(h5::check_datatype(type.data(), type.size()).find("never hold") != std::string::npos);
  BOOST_TEST(h5::check_datatype(type.data(), 12) == "its variable-length datatype lacks a base type");
  type[0] = 0x11;  // a float: 12 bytes of properties
  BOOST_TEST(h5::check_datatype(type.data(), type.size()) == "");
  BOOST_TEST(h5::check_datatype(type.data(), 19) == "a datatype of class 1 runs past its message");

  // An enum as h5py writes a bool: 2 members of a 1-byte signed base, names padded to 8.
  std::vector<uint8_t> flag = {0x18, 2,   0,   0,   1,   0, 0, 0,                    // enum, 2 members, 1 byte
                               0x10, 8,   0,   0,   1,   0, 0, 0, 0,   0,   8,   0,  // base: signed 8-bit integer
                               'F',  'A', 'L', 'S', 'E', 0, 0, 0, 'T', 'R', 'U', 'E', 0, 0, 0, 0,  //
                               0,    1};
  BOOST_TEST(h5::check_datatype(flag.data(), flag.size()) == "");
  BOOST_TEST(h5::check_datatype(flag.data(), flag.size() - 1) == "a datatype of class 8 runs past its message");
  // libhdf5 would copy the second name from past the message.
  BOOST_TEST(h5::check_datatype(flag.data(), 8 + 12 + 8 + 3) == "enum member 1's name runs past its message");
  auto many = flag;
  many[1] = 200;  // 200 members: the third "name" (the values) does not fit its padding
  BOOST_TEST(h5::check_datatype(many.data(), many.size()) == "a datatype of class 8 runs past its message");
  // Version 3 does not pad the names.
  std::vector<uint8_t> v3 = {0x38, 2, 0, 0, 1, 0,   0,   0, 0x30, 8,   0,   0, 1, 0, 0,
                             0,    0, 0, 8, 0, 'n', 'o', 0, 'y',  'e', 's', 0, 0, 1};
  BOOST_TEST(h5::check_datatype(v3.data(), v3.size()) == "");
  BOOST_TEST(h5::check_datatype(v3.data(), v3.size() - 1) == "a datatype of class 8 runs past its message");
  // Enums of enums, 6 deep.
  std::vector<uint8_t> nested;
  for (int i = 0; i < 6; ++i) nested.insert(nested.end(), {0x18, 0, 0, 0, 1, 0, 0, 0});
  nested.insert(nested.end(), {0x10, 0, 0, 0, 1, 0, 0, 0, 0, 0, 8, 0});
  BOOST_TEST(h5::check_datatype(nested.data(), nested.size()) == "datatypes nested more than 4 deep");

  // An opaque type's tag: its length is in the class bits, padded to 8 bytes.
  std::vector<uint8_t> opaque = {0x15, 8, 0, 0, 4, 0, 0, 0, 't', 'a', 'g', 0, 0, 0, 0, 0};
  BOOST_TEST(h5::check_datatype(opaque.data(), opaque.size()) == "");
  opaque[1] = 64;
  BOOST_TEST(h5::check_datatype(opaque.data(), opaque.size()) == "a datatype of class 5 runs past its message");
  opaque[1] = 3;
  BOOST_TEST(h5::check_datatype(opaque.data(), opaque.size()) == "an opaque datatype whose tag is not terminated");

  std::vector<uint8_t> header = {0x16, 1, 0, 0, 8, 0, 0, 0};  // a compound type's header
  BOOST_TEST(h5::check_datatype(header.data(), header.size()).find("compound or array datatype") != std::string::npos);
  header[0] = 0x1b;
  BOOST_TEST(h5::check_datatype(header.data(), header.size()) == "a datatype of class 11, which HDF5 does not define");
  header[0] = 0x50;
  BOOST_TEST(h5::check_datatype(header.data(), header.size()) == "a datatype of version 5, expected 1 to 4");
  // Version 4, as libhdf5 >= 1.12 writes with the newest format: a 4-byte integer,
  // which libhdf5 1.10 cannot decode.
  std::vector<uint8_t> v4 = {0x40, 0x08, 0, 0, 4, 0, 0, 0, 0, 0, 32, 0};
#if H5_VERSION_GE(1, 12, 0)
  BOOST_TEST(h5::check_datatype(v4.data(), v4.size()) == "");
#else
  BOOST_TEST(h5::check_datatype(v4.data(), v4.size()) ==
             "a datatype of version 4, which libhdf5 1.10 cannot read (libhdf5 1.12 or later wrote it in its newest "
             "format)");
#endif
  BOOST_TEST(h5::check_datatype(header.data(), 7) == "a datatype of 7 bytes, shorter than its 8-byte header");
}

BOOST_AUTO_TEST_CASE(filter_pipelines_are_checked) {
  // Version 1, two filters: fletcher32 (id 3, no parameters) and deflate (id 1, level 4:
  // one parameter and 4 bytes of padding).
  std::vector<uint8_t> v1 = {1,   2,   0,  0, 0, 0, 0, 0,                                          //
                             3,   0,   16, 0, 0, 0, 0, 0, 'f', 'l', 'e', 't', 'c', 'h', 'e', 'r',  //
                             '3', '2', 0,  0, 0, 0, 0, 0,                                          //
                             1,   0,   8,  0, 1, 0, 1, 0, 'd', 'e', 'f', 'l', 'a', 't', 'e', 0,
                             4,   0,   0,  0, 0, 0, 0, 0};
  BOOST_TEST(h5::check_filter_pipeline(v1.data(), v1.size()) == "");
  auto long_name = v1;
  long_name[11] = 2;  // 528 bytes of name (the h5_scores finding: libhdf5 used freed memory)
  BOOST_TEST(h5::check_filter_pipeline(long_name.data(), long_name.size()) ==
             "filter 0 of the pipeline: its name (528 bytes) runs past the message");
  auto parameters = v1;
  parameters[38] = 9;  // deflate's 9 parameters
  BOOST_TEST(h5::check_filter_pipeline(parameters.data(), parameters.size()) ==
             "filter 1 of the pipeline: its 9 parameters run past the message");
  auto unterminated = v1;
  for (size_t i = 16; i < 32; ++i) unterminated[i] = 'x';
  BOOST_TEST(h5::check_filter_pipeline(unterminated.data(), unterminated.size()) ==
             "filter 0 of the pipeline: its name is not terminated");
  auto many = v1;
  many[1] = 3;
  BOOST_TEST(h5::check_filter_pipeline(many.data(), many.size()) == "filter 2 of the pipeline runs past the message");
  // Version 2: no names for ids under 256, no padding.
  std::vector<uint8_t> v2 = {2, 2, 3, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 4, 0, 0, 0};
  BOOST_TEST(h5::check_filter_pipeline(v2.data(), v2.size()) == "");
  BOOST_TEST(h5::check_filter_pipeline(v2.data(), v2.size() - 1) ==
             "filter 1 of the pipeline: its 1 parameters run past the message");
}

BOOST_AUTO_TEST_CASE(fill_values_are_checked) {
  // Version 3 with a value (flag 0x20): 4 bytes of size, then the value.
  std::vector<uint8_t> v3 = {3, 0x2a, 4, 0, 0, 0, 0xfe, 0xca, 0xad, 0xde};
  BOOST_TEST(h5::check_fill_value(v3.data(), v3.size()) == "");
  v3[2] = 5;
  BOOST_TEST(h5::check_fill_value(v3.data(), v3.size()) == "its fill value (5 bytes) runs past its message (10 bytes)");
  v3[5] = 0x80;  // 2 GiB: libhdf5 would allocate and copy them
  BOOST_TEST(h5::check_fill_value(v3.data(), v3.size()).find("(2147483653 bytes) runs past") != std::string::npos);
  BOOST_TEST(h5::check_fill_value(v3.data(), 5) == "a fill value message of 5 bytes, too short for its value's size");
  v3[1] = 0x0a;  // no value: nothing follows the flags
  BOOST_TEST(h5::check_fill_value(v3.data(), 2) == "");
  v3[0] = 2;  // versions 1 and 2: libhdf5 checks the size itself
  v3[1] = 0x2a;
  BOOST_TEST(h5::check_fill_value(v3.data(), v3.size()) == "");
}

BOOST_AUTO_TEST_CASE(data_layouts_are_checked) {
  const h5::FileLayout layout;  // 8-byte addresses and lengths
  // Version 3, contiguous: class, address, size.
  std::vector<uint8_t> contiguous(18, 0);
  contiguous[0] = 3;
  contiguous[1] = 1;
  BOOST_TEST(h5::check_data_layout(contiguous.data(), contiguous.size(), layout) == "");
  BOOST_TEST(h5::check_data_layout(contiguous.data(), 17, layout) ==
             "a data layout message of 17 bytes, where its fields take 18");
  // Version 3, chunked: dimensionality 2, address, 2 4-byte dimensions.
  std::vector<uint8_t> chunked = {3, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0};
  BOOST_TEST(h5::check_data_layout(chunked.data(), chunked.size(), layout) == "");
  chunked[2] = 32;  // libhdf5 would read 30 more dimensions past the message
  BOOST_TEST(h5::check_data_layout(chunked.data(), chunked.size(), layout) ==
             "a data layout message of 19 bytes, where its fields take 139");
  // Version 1, chunked: 8 fixed bytes, an address, the dimensions.
  std::vector<uint8_t> v1 = {1, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0};
  BOOST_TEST(h5::check_data_layout(v1.data(), v1.size(), layout) == "");
  BOOST_TEST(h5::check_data_layout(v1.data(), v1.size() - 1, layout) ==
             "a data layout message of 23 bytes, where its fields take 24");
  // Version 4, chunked, extensible array index: flags, 2 dimensions of 1 byte, index
  // type 4 and its 5 parameters, address.
  std::vector<uint8_t> v4 = {4, 2, 0, 2, 1, 4, 4, 4, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0};
  BOOST_TEST(h5::check_data_layout(v4.data(), v4.size(), layout) == "");
  BOOST_TEST(h5::check_data_layout(v4.data(), v4.size() - 1, layout) ==
             "a data layout message of 20 bytes, where its fields take 21");
  v4[4] = 8;  // 8 bytes per dimension: the index type is no longer inside
  BOOST_TEST(h5::check_data_layout(v4.data(), v4.size(), layout) ==
             "a data layout message of 21 bytes, where its fields take 22");
  std::vector<uint8_t> is_virtual = {4, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  BOOST_TEST(h5::check_data_layout(is_virtual.data(), is_virtual.size(), layout) ==
             "a data layout of class 3, which cmclip's files never hold");
}

BOOST_AUTO_TEST_CASE(global_heap_objects_are_found_by_index) {
  auto sound = collection(4096, 4096 - 40);  // object 1 ("hello", 5 bytes), then free space
  BOOST_TEST(h5::global_heap_object_size(sound.data(), sound.size(), 1).value_or(999) == 5u);
  BOOST_TEST(!h5::global_heap_object_size(sound.data(), sound.size(), 0));  // the free space is no value
  BOOST_TEST(!h5::global_heap_object_size(sound.data(), sound.size(), 2));
  BOOST_TEST(!h5::global_heap_object_size(sound.data(), 1000, 1));  // not the whole collection
  auto empty_free = collection(4096, 0);
  BOOST_TEST(!h5::global_heap_object_size(empty_free.data(), empty_free.size(), 1));  // not a sound one
}

namespace {
constexpr uint32_t kFillValue = 0xdeadcafe;

// An HDF5 file as other programs write them: `latest` selects version 2 object headers,
// `attributes` attributes on the root group (a version 2 header keeps more than 8 in
// dense storage, counting the 4 below; a version 1 header this full needs continuation
// chunks), an enum and an opaque value, variable-length strings (an empty one among
// them) and sequences, in attributes and a chunked, compressed dataset with a comment;
// a dataset of numbers with a fill value (kFillValue); `user_block` bytes before the superblock (the file's addresses
// count from there).
void write_foreign_file(const std::string& path, bool latest, int attributes, hsize_t user_block = 0) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), fcpl = H5Pcreate(H5P_FILE_CREATE);
  if (latest) H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
  if (user_block) H5Pset_userblock(fcpl, user_block);
  hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl, fapl);
  BOOST_REQUIRE(file >= 0);
  hid_t text = H5Tcopy(H5T_C_S1);
  H5Tset_size(text, H5T_VARIABLE);
  const char* strings[] = {"print", "", "a longer string, to make the heap objects differ in size"};
  hsize_t three = 3;
  hid_t space3 = H5Screate_simple(1, &three, nullptr), scalar = H5Screate(H5S_SCALAR);
  for (int i = 0; i < attributes; ++i) {
    hid_t a = H5Acreate2(file, fmt::format("note_{:02}", i).c_str(), text, space3, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, text, strings);
    H5Aclose(a);
  }
  hid_t ints = H5Tvlen_create(H5T_NATIVE_INT);
  int values[] = {1, 2, 3, 4};
  hvl_t sequences[] = {{4, values}, {0, nullptr}, {1, values + 2}};
  hid_t a = H5Acreate2(file, "sequences", ints, space3, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, ints, sequences);
  H5Aclose(a);
  // A bool as h5py writes it (an enum), and an opaque value with its tag.
  hid_t flag = H5Tenum_create(H5T_NATIVE_INT8);
  for (int8_t v : {0, 1}) H5Tenum_insert(flag, v ? "TRUE" : "FALSE", &v);
  const int8_t yes = 1;
  a = H5Acreate2(file, "normalized", flag, scalar, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, flag, &yes);
  H5Aclose(a);
  hid_t blob = H5Tcreate(H5T_OPAQUE, 4);
  H5Tset_tag(blob, "camera serial");
  a = H5Acreate2(file, "serial", blob, scalar, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, blob, "C0FE");
  H5Aclose(a);
  double lr = 0.5;
  a = H5Acreate2(file, "lr", H5T_IEEE_F64LE, scalar, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, H5T_NATIVE_DOUBLE, &lr);
  H5Aclose(a);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 1, &three);
  H5Pset_deflate(dcpl, 4);
  hid_t d = H5Dcreate2(file, "names", text, space3, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Dwrite(d, text, H5S_ALL, H5S_ALL, H5P_DEFAULT, strings);
  H5Oset_comment(d, "names of the three test subjects");
  H5Dclose(d);
  // Numbers with a fill value, never written (a version 3 fill value message in
  // version 2 headers).
  hid_t filled = H5Pcreate(H5P_DATASET_CREATE);
  const uint32_t fill = kFillValue;
  H5Pset_fill_value(filled, H5T_NATIVE_UINT32, &fill);
  d = H5Dcreate2(file, "counts", H5T_STD_U32LE, space3, H5P_DEFAULT, filled, H5P_DEFAULT);
  H5Dclose(d);
  H5Pclose(filled);
  for (hid_t id : {dcpl, fapl, fcpl}) H5Pclose(id);
  for (hid_t id : {text, ints, flag, blob}) H5Tclose(id);
  for (hid_t id : {space3, scalar}) H5Sclose(id);
  BOOST_REQUIRE(H5Fclose(file) >= 0);
}
}  // namespace

BOOST_AUTO_TEST_CASE(files_other_programs_write_pass_the_checks) {
  ScratchDir dir("foreign-h5");
  const std::string v1 = dir.file("v1.h5"), v2 = dir.file("v2.h5"), dense = dir.file("dense.h5");
  write_foreign_file(v1, false, 40, 1024);
  write_foreign_file(v2, true, 4, 512);
  write_foreign_file(dense, true, 12);
  h5::probe_metadata(v1);
  h5::probe_metadata(v2);
  expect_error([&] { h5::probe_metadata(dense); }, ExitCode::bad_input,
               {"dense.h5: /: damaged file: object header at byte", "attributes in dense storage"});
  // A global heap object one byte shorter than its string says (56 bytes: the walk
  // through the collection stays the same) is found by the values check.
  std::string bytes = read_file(v2);
  const size_t at = bytes.find("a longer string");
  BOOST_REQUIRE(at != std::string::npos);
  BOOST_REQUIRE(uint8_t(bytes[at - 8]) == 56);
  bytes[at - 8] = char(55);
  const std::string shortened = dir.file("shortened.h5");
  test::write_text(shortened, bytes);
  expect_error([&] { h5::probe_metadata(shortened); }, ExitCode::bad_input,
               {"shortened.h5: /", "damaged file: value 2 is 56 elements of 1 bytes long, but its global heap object",
                "holds 55 bytes"});
  // The enum's last name, no longer terminated within its datatype (padding and values
  // overwritten; version 1 headers have no checksum to stop libhdf5 first).
  bytes = read_file(v1);
  const size_t name = bytes.find("TRUE");
  BOOST_REQUIRE(name != std::string::npos);
  for (size_t i = 4; i < 8 + 1 + 1; ++i) bytes[name + i] = 'x';
  const std::string unterminated = dir.file("unterminated-enum.h5");
  test::write_text(unterminated, bytes);
  expect_error([&] { h5::probe_metadata(unterminated); }, ExitCode::bad_input,
               {"unterminated-enum.h5: /: damaged file: object header at byte",
                "attribute 'normalized': enum member 1's name runs past its message"});
  // The dataset's comment, its terminating NUL and padding overwritten.
  bytes = read_file(v1);
  const size_t comment = bytes.find("names of the three");
  BOOST_REQUIRE(comment != std::string::npos);
  const size_t comment_size = uint8_t(bytes[comment - 6]) | size_t(uint8_t(bytes[comment - 5])) << 8;
  BOOST_REQUIRE(comment_size == 40);  // 32 characters, their NUL, padding to 8 bytes
  for (size_t i = 0; i < comment_size; ++i) bytes[comment + i] = 'x';
  const std::string commented = dir.file("unterminated-comment.h5");
  test::write_text(commented, bytes);
  expect_error([&] { h5::probe_metadata(commented); }, ExitCode::bad_input,
               {"unterminated-comment.h5: /names: damaged file", "its comment is not terminated within its message"});
  // A fill value declared 64 bytes longer than its message, in a version 2 header whose
  // checksum is made to match again (as a hostile file would).
  bytes = read_file(v2);
  const char fill_bytes[] = {4, 0, 0, 0, char(0xfe), char(0xca), char(0xad), char(0xde)};
  const size_t fill = bytes.find(std::string(fill_bytes, sizeof fill_bytes));
  BOOST_REQUIRE(fill != std::string::npos);
  bytes[fill] = char(4 + 64);
  const size_t header = bytes.rfind("OHDR", fill);
  BOOST_REQUIRE(header != std::string::npos);
  const unsigned flags = uint8_t(bytes[header + 5]);
  const size_t prefix = 6 + ((flags & 0x20) ? 16 : 0) + ((flags & 0x10) ? 4 : 0), size_bytes = size_t(1) << (flags & 3);
  size_t chunk = 0;
  for (size_t i = 0; i < size_bytes; ++i) chunk |= size_t(uint8_t(bytes[header + prefix + i])) << (8 * i);
  const size_t checksum_at = header + prefix + size_bytes + chunk;  // chunk 0 ends with its checksum
  BOOST_REQUIRE(fill < checksum_at);
  const uint32_t sum = H5_checksum_metadata(bytes.data() + header, checksum_at - header, 0);
  for (size_t i = 0; i < 4; ++i) bytes[checksum_at + i] = char(sum >> (8 * i));
  const std::string overlong = dir.file("fill-value-past-message.h5");
  test::write_text(overlong, bytes);
  expect_error(
      [&] { h5::probe_metadata(overlong); }, ExitCode::bad_input,
      {"fill-value-past-message.h5: /counts: damaged file", "its fill value (68 bytes) runs past its message"});
}

// Files libhdf5 1.14 wrote (h5py on Debian 13: tests/data/hdf5-1.14/make.py) pass the
// checks and read back, wherever the libhdf5 in use can read their format.
BOOST_AUTO_TEST_CASE(files_libhdf5_1_14_wrote_pass_the_checks) {
  const std::string dir = std::string(CMCLIP_SOURCE_DIR) + "/tests/data/hdf5-1.14/";
  const std::vector<std::string> strings = {"print", "", "a longer string, to make the heap objects differ in size"};
  std::vector<std::string> readable = {"earliest.h5", "v110.h5"};
#if H5_VERSION_GE(1, 12, 0)
  readable.push_back("latest.h5");
#else
  // Version 4 datatypes: libhdf5 1.10 cannot read them, and the check says so.
  expect_error([&] { h5::probe_metadata(dir + "latest.h5"); }, ExitCode::bad_input,
               {"latest.h5: /: damaged file: object header at byte 48: attribute",
                "a datatype of version 4, which libhdf5 1.10 cannot read"});
#endif
  for (const std::string& name : readable) {
    BOOST_TEST_CONTEXT(name) {
      h5::probe_metadata(dir + name);
      h5::File f = h5::File::open(dir + name);
      BOOST_TEST(f.attr_string("hdf5").rfind("1.14.", 0) == 0u);
      BOOST_TEST(f.attr_names().size() == 6u);
      BOOST_TEST(f.attr_strings("notes") == strings);
      BOOST_TEST(f.attr_double("lr") == 0.5);
      BOOST_TEST(f.dataset("names").read_strings() == strings);
      uint32_t counts[3] = {};
      BOOST_TEST(H5Dread(f.dataset("counts").id(), H5T_NATIVE_UINT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, counts) >= 0);
      for (uint32_t c : counts) BOOST_TEST(c == kFillValue);
    }
  }
}

BOOST_AUTO_TEST_CASE(the_probe_time_limit_is_checked) {
  ::setenv("CMCLIP_H5_PROBE_SECONDS", "soon", 1);
  expect_error([&] { h5::probe_metadata(finding("h5_scores", "scores.h5")); }, ExitCode::bad_input,
               {"CMCLIP_H5_PROBE_SECONDS='soon' is not a number of seconds"});
  ::unsetenv("CMCLIP_H5_PROBE_SECONDS");
  h5::probe_metadata(finding("h5_scores", "scores.h5"));  // a sound file passes
}

BOOST_AUTO_TEST_SUITE_END()
