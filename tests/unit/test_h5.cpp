// h5/: typed round trips, strings, attributes, append, atomic files, and the three
// schemas (sample store, scores, checkpoint) with every validation error.
#include <boost/test/unit_test.hpp>

#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <random>

#include "cmclip/core/fs.hpp"
#include "cmclip/h5/checkpoint.hpp"
#include "cmclip/h5/h5.hpp"
#include "cmclip/h5/samples.hpp"
#include "cmclip/h5/schema.hpp"
#include "cmclip/h5/scores.hpp"
#include "cmclip/h5/tensor.hpp"
#include "test_support.hpp"

using namespace cmclip;
using cmclip::test::expect_error;
using cmclip::test::ScratchDir;

namespace {
template <class T>
void round_trip(const h5::File& f, const std::string& name, std::vector<T> values) {
  f.write(name, values, {static_cast<int64_t>(values.size()) / 2, 2}, h5::DatasetOptions::compressed());
  BOOST_TEST(h5::dtype_name(f.dataset(name).dtype()) == h5::dtype_name(h5::dtype_of<T>()));
  BOOST_TEST((f.dataset(name).shape() == h5::Shape{static_cast<int64_t>(values.size()) / 2, 2}));
  BOOST_TEST(f.read<T>(name) == values, "round trip of " << name);
}

// A small valid sample store with three samples.
void make_store(const std::string& path) {
  SampleWriter w(path, 4, 5, 3);
  std::vector<uint8_t> img(4 * 5 * 3);
  for (int i = 0; i < 3; ++i) {
    for (size_t k = 0; k < img.size(); ++k) img[k] = static_cast<uint8_t>(k * (i + 1));
    SampleMeta m;
    m.label = i == 0 ? kLive : kAttack;
    m.attack = i == 0 ? 0 : w.attack_code(i == 1 ? "print" : "replay");
    m.modality = i == 2 ? Modality::depth : Modality::rgb;
    m.subject = 7 + i;
    m.video = "vid" + std::to_string(i);
    m.frame = i;
    m.source = "src/é" + std::to_string(i) + ".png";
    m.bbox = {1.f, 2.f, 3.f, float(i)};
    w.append(img.data(), m);
  }
  w.set_attr("dataset", std::string("unit"));
  w.commit();
}

// Rewrites one dataset of a copy of `src` (for the validation-error tests).
void copy_file(const std::string& from, const std::string& to) { test::write_text(to, test::read_text(from)); }
}  // namespace

BOOST_AUTO_TEST_SUITE(h5_layer)

BOOST_AUTO_TEST_CASE(every_numeric_type_round_trips) {
  ScratchDir dir("h5types");
  {
    h5::File f = h5::File::create(dir.file("t.h5"));
    round_trip<float>(f, "f32", {1.5f, -2.25f, 3e-7f, std::numeric_limits<float>::max()});
    round_trip<double>(f, "f64", {1.0 / 3, -2.0, 1e300, 0});
    round_trip<int8_t>(f, "i8", {-128, 127, 0, 5});
    round_trip<int16_t>(f, "i16", {-32768, 32767, 1, 2});
    round_trip<int32_t>(f, "i32", {-2147483647 - 1, 2147483647, 3, 4});
    round_trip<int64_t>(f, "i64", {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), 5, 6});
    round_trip<uint8_t>(f, "u8", {0, 255, 128, 1});
    f.close();
  }
  h5::File f = h5::File::open(dir.file("t.h5"));
  // Widening conversion on read is exact.
  BOOST_TEST((f.read<int64_t>("i8") == std::vector<int64_t>{-128, 127, 0, 5}));
}

BOOST_AUTO_TEST_CASE(float16_tensors_round_trip_and_upcast) {
  ScratchDir dir("h5half");
  at::Tensor half = at::tensor({0.5f, -1.25f, 65504.f, 1e-3f}).to(at::kHalf).reshape({2, 2});
  {
    h5::File f = h5::File::create(dir.file("h.h5"));
    h5::write_tensor(f, "w", half);
    h5::write_tensor(f, "scalar", at::scalar_tensor(4.6052f));
    f.close();
  }
  h5::File f = h5::File::open(dir.file("h.h5"));
  BOOST_TEST(h5::dtype_name(f.dataset("w").dtype()) == std::string("float16"));
  at::Tensor back = h5::read_tensor(f, "w");
  BOOST_TEST(back.scalar_type() == at::kHalf);
  BOOST_TEST(at::equal(back, half));
  // HDF5's float16 -> float32 conversion equals LibTorch's upcast.
  std::vector<float> as_float = f.read<float>("w");
  BOOST_TEST(at::equal(at::tensor(as_float).reshape({2, 2}), half.to(at::kFloat)));
  at::Tensor s = h5::read_tensor(f, "scalar");
  BOOST_TEST(s.dim() == 0);
  BOOST_TEST(s.item<float>() == 4.6052f);
}

BOOST_AUTO_TEST_CASE(strings_and_attributes_round_trip) {
  ScratchDir dir("h5str");
  std::vector<std::string> strs{"", "plain", "ünïcødé ✓", std::string(5000, 'x')};
  {
    h5::File f = h5::File::create(dir.file("s.h5"));
    f.write_strings("names", strs);
    f.set_attr("s", std::string("größe"));
    f.set_attr("i", int64_t(-42));
    f.set_attr("d", 2.5);
    f.set_attr("iv", std::vector<int64_t>{1, 2, 3});
    f.set_attr("dv", std::vector<double>{0.25, 0.5});
    f.set_attr("sv", std::vector<std::string>{"a", "β"});
    f.create_group("a/b/c").set_attr("deep", int64_t(1));
    f.close();
  }
  h5::File f = h5::File::open(dir.file("s.h5"));
  BOOST_TEST(f.read_strings("names") == strs);
  BOOST_TEST(f.dataset("names").read_strings(2, 1)[0] == strs[2]);
  BOOST_TEST(f.attr_string("s") == "größe");
  BOOST_TEST(f.attr_int("i") == -42);
  BOOST_TEST(f.attr_double("d") == 2.5);
  BOOST_TEST(f.attr_double("i") == -42.0);
  BOOST_TEST((f.attr_ints("iv") == std::vector<int64_t>{1, 2, 3}));
  BOOST_TEST((f.attr_doubles("dv") == std::vector<double>{0.25, 0.5}));
  BOOST_TEST((f.attr_strings("sv") == std::vector<std::string>{"a", "β"}));
  BOOST_TEST(std::get<std::string>(f.attr("s")) == "größe");
  BOOST_TEST(std::get<int64_t>(f.attr("i")) == -42);
  BOOST_TEST(f.has("a/b/c"));
  BOOST_TEST(!f.has("a/x/c"));
  BOOST_TEST(f.group("a/b/c").attr_int("deep") == 1);
  expect_error([&] { f.attr_int("s"); }, ExitCode::bad_input, {"s.h5", "attribute 's'", "expected an integer"});
  expect_error([&] { f.attr_string("nope"); }, ExitCode::bad_input, {"s.h5", "missing attribute 'nope'"});
  expect_error([&] { f.dataset("nothing"); }, ExitCode::bad_input, {"s.h5", "/nothing", "missing dataset"});
  expect_error([&] { f.read<float>("names"); }, ExitCode::bad_input, {"/names", "expected numbers"});
}

BOOST_AUTO_TEST_CASE(append_in_chunks_and_read_ranges) {
  ScratchDir dir("h5append");
  {
    h5::File f = h5::File::create(dir.file("a.h5"));
    h5::Dataset d = f.create_dataset("x", h5::DType::i32, {0, 3}, h5::DatasetOptions::compressed({2, 3}, true));
    std::vector<int32_t> row(3);
    for (int i = 0; i < 7; ++i) {
      row = {i, i * 10, i * 100};
      d.write_rows(i, 1, row.data());
    }
    h5::Dataset s = f.create_dataset("s", h5::DType::string, {0}, h5::DatasetOptions::compressed({4}, true));
    s.write_strings(0, {"a", "b"});
    s.write_strings(2, {"c"});
    f.close();
  }
  h5::File f = h5::File::open(dir.file("a.h5"));
  BOOST_TEST((f.dataset("x").shape() == h5::Shape{7, 3}));
  std::vector<int32_t> part(6);
  f.dataset("x").read_rows(3, 2, part.data());
  BOOST_TEST((part == std::vector<int32_t>{3, 30, 300, 4, 40, 400}));
  BOOST_TEST((f.read_strings("s") == std::vector<std::string>{"a", "b", "c"}));
  expect_error([&] { f.dataset("x").read_rows(6, 2, part.data()); }, ExitCode::bad_input, {"/x", "rows [6, 8)"});
}

BOOST_AUTO_TEST_CASE(expect_reports_dtype_and_shape) {
  ScratchDir dir("h5expect");
  h5::File f = h5::File::create(dir.file("e.h5"));
  f.write<float>("x", std::vector<float>(6), {2, 3});
  f.dataset("x").expect({h5::DType::f32}, {-1, 3});
  expect_error(
      [&] {
        f.dataset("x").expect({h5::DType::i8}, {2, 3});
      },
      ExitCode::bad_input, {"e.h5", "/x", "expected int8 [2, 3], found float32 [2, 3]"});
  expect_error([&] { f.dataset("x").expect({h5::DType::f32}, {-1}); }, ExitCode::bad_input,
               {"expected float32 [*], found float32 [2, 3]"});
}

BOOST_AUTO_TEST_CASE(bad_files_are_named) {
  ScratchDir dir("h5bad");
  test::write_text(dir.file("text.h5"), "this is not hdf5\n");
  expect_error([&] { h5::File::open(dir.file("text.h5")); }, ExitCode::bad_input, {"text.h5", "not an HDF5 file"});
  expect_error([&] { h5::File::open(dir.file("none.h5")); }, ExitCode::bad_input, {"none.h5", "cannot open"});
  make_store(dir.file("good.h5"));
  std::string bytes = test::read_text(dir.file("good.h5"));
  test::write_text(dir.file("cut.h5"), bytes.substr(0, bytes.size() / 2));
  expect_error([&] { SampleStore s(dir.file("cut.h5")); }, ExitCode::bad_input, {"cut.h5"});
}

BOOST_AUTO_TEST_CASE(sample_store_round_trip) {
  ScratchDir dir("samples");
  make_store(dir.file("s.h5"));
  SampleStore s(dir.file("s.h5"));
  BOOST_TEST(s.size() == 3);
  BOOST_TEST(s.height() == 4);
  BOOST_TEST(s.width() == 5);
  BOOST_TEST(s.channels() == 3);
  BOOST_TEST((s.labels() == std::vector<int8_t>{1, 0, 0}));
  BOOST_TEST((s.attack_names() == std::vector<std::string>{"bona fide", "print", "replay"}));
  BOOST_TEST((s.attacks() == std::vector<int16_t>{0, 1, 2}));
  BOOST_TEST((s.modalities() == std::vector<int8_t>{0, 0, 1}));
  SampleMeta m = s.meta(2);
  BOOST_TEST(m.video == "vid2");
  BOOST_TEST(m.source == "src/é2.png");
  BOOST_TEST(m.subject == 9);
  BOOST_TEST(m.bbox[3] == 2.f);
  std::vector<uint8_t> img(s.image_bytes());
  s.read_images(1, 1, img.data());
  BOOST_TEST(img[7] == static_cast<uint8_t>(14));
  BOOST_TEST(s.attr_or("dataset", "") == "unit");
  BOOST_TEST(s.file().attr_string("format") == "cmclip.samples");
  for (const char* a : {"created_by", "command_line", "created_at"}) BOOST_TEST(s.file().has_attr(a));
  BOOST_TEST(s.fingerprint().size() == 16u);
}

BOOST_AUTO_TEST_CASE(sample_store_validation_errors) {
  ScratchDir dir("samplesbad");
  make_store(dir.file("good.h5"));
  auto mutate = [&](const std::string& name, const std::function<void(h5::File&)>& change) {
    std::string p = dir.file(name);
    copy_file(dir.file("good.h5"), p);
    h5::File f = h5::File::open_rw(p);
    change(f);
    f.close();
    return p;
  };
  std::string p;
  p = mutate("noformat.h5", [](h5::File& f) { f.set_attr("format", std::string("cmclip.scores")); });
  expect_error([&] { SampleStore s(p); }, ExitCode::bad_input,
               {"noformat.h5", "expected a cmclip.samples file, found cmclip.scores"});
  p = mutate("future.h5", [](h5::File& f) { f.set_attr("format_version", int64_t(99)); });
  expect_error([&] { SampleStore s(p); }, ExitCode::bad_input, {"future.h5", "version 99 is not supported"});
  p = mutate("nolabel.h5", [](h5::File& f) { f.remove("label"); });
  expect_error([&] { SampleStore s(p); }, ExitCode::bad_input, {"nolabel.h5", "/label", "missing dataset"});
  p = mutate("dtype.h5", [](h5::File& f) {
    f.remove("label");
    f.write<float>("label", {1, 0, 0});
  });
  expect_error([&] { SampleStore s(p); }, ExitCode::bad_input,
               {"dtype.h5", "/label", "expected int8 [3], found float32 [3]"});
  p = mutate("shape.h5", [](h5::File& f) {
    f.remove("subject");
    f.write<int32_t>("subject", {1, 2});
  });
  expect_error([&] { SampleStore s(p); }, ExitCode::bad_input, {"/subject", "expected int32 [3], found int32 [2]"});
  // One value of a dataset overwritten: the message names the dataset and row (or sample).
  auto expect_bad_value = [&](const std::string& name, const char* dataset, int64_t row, auto value,
                              const std::vector<std::string>& needles) {
    p = mutate(name, [&](h5::File& f) { f.dataset(dataset).write_rows(row, 1, &value); });
    expect_error([&] { SampleStore s(p); }, ExitCode::bad_input, needles);
  };
  expect_bad_value("labelvalue.h5", "label", 1, int8_t(5), {"/label[1]", "neither 1 (live) nor 0 (attack)"});
  expect_bad_value("attackcode.h5", "attack", 2, int16_t(9), {"/attack[2]", "code 9"});
  expect_bad_value("modality.h5", "modality", 0, int8_t(7), {"/modality[0]", "code 7"});
  expect_bad_value("contradiction.h5", "attack", 0, int16_t(1), {"/attack[0]", "live sample (/label 1) has attack type 1"});
}

BOOST_AUTO_TEST_CASE(checksums_detect_corruption_by_name) {
  ScratchDir dir("fletcher");
  {
    SampleWriter w(dir.file("s.h5"), 64, 64, 3);
    std::vector<uint8_t> img(64 * 64 * 3);
    std::mt19937 rng(5);
    for (auto& v : img) v = static_cast<uint8_t>(rng() >> 24);
    SampleMeta m;
    w.append(img.data(), m);
    w.commit();
  }
  std::string bytes = test::read_text(dir.file("s.h5"));
  // Deflate stores incompressible data verbatim: find the image's middle bytes in the
  // file and flip one of them.
  std::vector<uint8_t> img(64 * 64 * 3);
  std::mt19937 rng(5);
  for (auto& v : img) v = static_cast<uint8_t>(rng() >> 24);
  std::string needle(reinterpret_cast<const char*>(img.data()) + 6000, 32);
  size_t at = bytes.find(needle);
  BOOST_REQUIRE(at != std::string::npos);
  bytes[at + 5] = static_cast<char>(bytes[at + 5] ^ 0x5a);
  test::write_text(dir.file("s.h5"), bytes);
  SampleStore s(dir.file("s.h5"));
  expect_error([&] { s.read_images(0, 1, img.data()); }, ExitCode::bad_input, {"s.h5", "/images", "checksum"});
}

BOOST_AUTO_TEST_CASE(unfinished_writers_leave_nothing) {
  ScratchDir dir("unfinished");
  {
    SampleWriter w(dir.file("s.h5"), 4, 4, 1);
    std::vector<uint8_t> img(16);
    w.append(img.data(), SampleMeta{});
    // destroyed without commit (an exception in the tool)
  }
  BOOST_TEST(test::count_files(dir.path()) == 0);
  {
    ScoreWriter w(dir.file("scores.h5"), 0);
    w.append(ScoreRow{});
  }
  BOOST_TEST(test::count_files(dir.path()) == 0);
}

BOOST_AUTO_TEST_CASE(scores_round_trip_with_features) {
  ScratchDir dir("scores");
  {
    ScoreWriter w(dir.file("s.h5"), 3);
    w.set_attack_names({"bona fide", "print"});
    w.set_attr("model_hash", std::string("abc"));
    float feat[3] = {0.1f, 0.2f, 0.3f};
    for (int i = 0; i < 5; ++i) {
      ScoreRow r;
      r.index = 10 + i;
      r.score = 0.1f * i;
      r.label = i % 2 ? kAttack : kLive;
      r.attack = i % 2;
      r.video = "v" + std::to_string(i / 2);
      r.source = "s" + std::to_string(i);
      feat[0] = float(i);
      w.append(r, feat);
    }
    w.commit();
  }
  ScoreSet s = read_scores(dir.file("s.h5"), true);
  BOOST_TEST(s.size() == 5u);
  BOOST_TEST(s.score[3] == 0.3f);
  BOOST_TEST(s.index[4] == 14);
  BOOST_TEST(s.video[4] == "v2");
  BOOST_TEST(s.feature_dim == 3);
  BOOST_TEST(s.features[3 * 4] == 4.f);
  BOOST_TEST(std::get<std::string>(s.attrs.at("model_hash")) == "abc");
  write_scores(dir.file("copy.h5"), s);
  ScoreSet c = read_scores(dir.file("copy.h5"), true);
  BOOST_TEST(c.score == s.score);
  BOOST_TEST(c.features == s.features);
  BOOST_TEST(c.source == s.source);
  expect_error([&] { SampleStore x(dir.file("s.h5")); }, ExitCode::bad_input,
               {"expected a cmclip.samples file, found cmclip.scores"});
}

BOOST_AUTO_TEST_CASE(checkpoint_round_trip_and_errors) {
  ScratchDir dir("ckpt");
  Checkpoint c;
  c.config["architecture"] = std::string("clip-vit");
  c.config["vision_heads"] = int64_t(12);
  c.config["theta"] = 0.7;
  c.params.emplace_back("visual.conv1.weight", at::randn({8, 3, 4, 4}).to(at::kHalf));
  c.params.emplace_back("logit_scale", at::scalar_tensor(4.6052f));
  c.params.emplace_back("prompt.ctx", at::randn({2, 16, 8}));
  c.trainable = {"prompt.ctx"};
  c.optimizer.emplace_back("exp_avg/prompt.ctx", at::zeros({2, 16, 8}));
  c.state["step"] = int64_t(17);
  c.state_tensors.emplace_back("rng_cpu", at::randint(0, 255, {16}, at::kByte));
  c.parent = "deadbeef";
  write_checkpoint(dir.file("c.h5"), c);
  Checkpoint r = read_checkpoint(dir.file("c.h5"));
  BOOST_TEST(r.config_string("architecture") == "clip-vit");
  BOOST_TEST(r.config_int("vision_heads") == 12);
  BOOST_TEST(r.config_double("theta") == 0.7);
  BOOST_TEST(r.params.size() == 3u);
  BOOST_TEST(at::equal(*r.find_param("visual.conv1.weight"), c.params[0].second));
  BOOST_TEST(r.find_param("visual.conv1.weight")->scalar_type() == at::kHalf);
  BOOST_TEST(r.find_param("logit_scale")->dim() == 0);
  BOOST_TEST(r.trainable == c.trainable);
  BOOST_TEST(r.optimizer.at(0).first == "exp_avg/prompt.ctx");
  BOOST_TEST(std::get<int64_t>(r.state.at("step")) == 17);
  BOOST_TEST(at::equal(r.state_tensors.at(0).second, c.state_tensors[0].second));
  BOOST_TEST(r.parent == "deadbeef");
  BOOST_TEST(tensors_hash(r.params) == tensors_hash(c.params));
  BOOST_TEST(is_checkpoint_file(dir.file("c.h5")));
  expect_error([&] { r.config_int("architecture"); }, ExitCode::bad_input,
               {"c.h5", "/config", "'architecture' should be an integer"});
  expect_error([&] { r.config_string("missing"); }, ExitCode::bad_input, {"'missing' is missing"});
  {
    h5::File f = h5::File::open_rw(dir.file("c.h5"));
    f.remove("trainable");
    f.write_strings("trainable", {"nope"});
    f.close();
  }
  expect_error([&] { read_checkpoint(dir.file("c.h5")); }, ExitCode::bad_input, {"c.h5", "/trainable", "'nope'"});
  // Content hash depends on values and names.
  NamedTensors a{{"x", at::ones({2})}}, b{{"x", at::ones({2}) * 2}}, d{{"y", at::ones({2})}};
  BOOST_TEST(tensors_hash(a) != tensors_hash(b));
  BOOST_TEST(tensors_hash(a) != tensors_hash(d));
}

BOOST_AUTO_TEST_SUITE_END()
