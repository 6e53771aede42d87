// synth/: its portable random numbers, splits and output names, the store it writes (validated by the schema
// reader), determinism (seed and thread count), the images+tsv -> fas-preprocess round
// trip, error paths, and the physics: attack cues per modality that a simple model can
// learn but a single fixed pixel cannot.
#include <boost/test/unit_test.hpp>

#include <ATen/ATen.h>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <random>
#include <set>
#include <utility>

#include "cmclip/core/error.hpp"
#include "cmclip/synth/plan.hpp"
#include "cmclip/jobs/synth.hpp"
#include "cmclip/core/portable_math.hpp"
#include "cmclip/synth/render.hpp"
#include "cmclip/core/random.hpp"
#include "cmclip/jobs/preprocess.hpp"
#include "cmclip/h5/h5.hpp"
#include "cmclip/h5/samples.hpp"
#include "test_support.hpp"

using namespace cmclip;
using namespace cmclip::synth;
using namespace cmclip::jobs;
using cmclip::test::expect_error;
using cmclip::test::ScratchDir;
using synth::Kind;

namespace {

CommonOptions common(uint64_t seed, int threads) {
  CommonOptions c;
  c.seed = seed;
  c.threads = threads;
  return c;
}

SynthOptions small(const std::string& out) {
  SynthOptions o;
  o.subjects = 4;
  o.attacks = "print,replay,mask";
  o.size = 40;
  o.frames = 2;
  o.output = out;
  return o;
}

// Every dataset of a sample store except the provenance attributes, for comparisons.
struct StoreData {
  std::vector<uint8_t> images;
  std::vector<int64_t> label, attack, modality, subject, frame, record;
  std::vector<float> bbox;
  std::vector<std::string> video, source, attack_names;
};

// The integer and string datasets of a store, by name; load() reads them and
// expect_same_store() compares them through these tables.
using IntField = std::vector<int64_t> StoreData::*;
using TextField = std::vector<std::string> StoreData::*;
const std::pair<const char*, IntField> kIntFields[] = {
    {"label", &StoreData::label},     {"attack", &StoreData::attack}, {"modality", &StoreData::modality},
    {"subject", &StoreData::subject}, {"frame", &StoreData::frame},   {"record", &StoreData::record}};
const std::pair<const char*, TextField> kTextFields[] = {
    {"video", &StoreData::video}, {"source", &StoreData::source}, {"attack_names", &StoreData::attack_names}};

StoreData load(const std::string& path) {
  SampleStore s(path);  // validates the schema
  const h5::File& f = s.file();
  StoreData d;
  d.images = f.read<uint8_t>("images");
  for (const auto& [name, field] : kIntFields) d.*field = f.read<int64_t>(name);
  d.bbox = f.read<float>("bbox");
  for (const auto& [name, field] : kTextFields) d.*field = f.read_strings(name);
  return d;
}

void expect_same_store(const std::string& a_path, const std::string& b_path) {
  StoreData a = load(a_path), b = load(b_path);
  BOOST_TEST((a.images == b.images), "/images differ");
  for (const auto& [name, field] : kIntFields) BOOST_TEST((a.*field == b.*field), "/" << name << " differ");
  BOOST_TEST((a.bbox == b.bbox), "/bbox differ");
  for (const auto& [name, field] : kTextFields) BOOST_TEST((a.*field == b.*field), "/" << name << " differ");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(synth_random_numbers)

using cmclip::derive_seed;
using cmclip::Rng;

BOOST_AUTO_TEST_CASE(uniform_is_the_top_53_bits_of_the_standard_engine) {
  Rng r(12345);
  std::mt19937_64 e(12345);
  for (int i = 0; i < 100; ++i) BOOST_REQUIRE_EQUAL(r.uniform(), static_cast<double>(e() >> 11) * 0x1.0p-53);
  // The standard fixes mt19937_64: its 10000th value from the default seed is this.
  std::mt19937_64 d;
  d.discard(9999);
  BOOST_TEST(d() == 9981545732273789042ull);
}

BOOST_AUTO_TEST_CASE(ranges_and_normals_behave) {
  Rng r(7);
  std::set<int> values;
  double sum = 0, sum2 = 0;
  for (int i = 0; i < 20000; ++i) {
    int v = r.range(-2, 3);
    BOOST_REQUIRE(v >= -2 && v <= 3);
    values.insert(v);
    double n = r.normal();
    sum += n;
    sum2 += n * n;
    double u = r.uniform(0.25, 0.5);
    BOOST_REQUIRE(u >= 0.25 && u < 0.5);
  }
  BOOST_TEST(values.size() == 6u);
  BOOST_TEST(std::abs(sum / 20000) < 0.03);
  BOOST_TEST(std::abs(sum2 / 20000 - 1) < 0.05);
}

BOOST_AUTO_TEST_CASE(derived_seeds_differ_by_path_and_repeat_exactly) {
  std::set<uint64_t> seeds;
  for (uint64_t a = 0; a < 20; ++a)
    for (uint64_t b = 0; b < 20; ++b) seeds.insert(derive_seed(1, {a, b}));
  BOOST_TEST(seeds.size() == 400u);
  BOOST_TEST(derive_seed(1, {3, 4}) == derive_seed(1, {3, 4}));
  BOOST_TEST(derive_seed(1, {3, 4}) != derive_seed(2, {3, 4}));
  BOOST_TEST(derive_seed(1, {3, 4}) != derive_seed(1, {4, 3}));
}

BOOST_AUTO_TEST_CASE(portable_elementary_functions_are_accurate) {
  namespace dm = cmclip::dmath;
  double worst[7] = {0, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i <= 20000; ++i) {
    double t = i / 20000.0;
    float x = static_cast<float>(-80 + 165 * t);  // exp
    worst[0] = std::max(worst[0], std::abs(dm::exp(x) - std::exp(double(x))) / std::exp(double(x)));
    float y = static_cast<float>(std::pow(10.0, -30 + 60 * t));  // log over 60 decades
    worst[1] =
        std::max(worst[1], std::abs(dm::log(y) - std::log(double(y))) / std::max(1.0, std::abs(std::log(double(y)))));
    float b = static_cast<float>(t), e = static_cast<float>(0.2 + 5 * t);  // pow on [0, 1]
    worst[2] = std::max(worst[2], std::abs(dm::pow(b, e) - std::pow(double(b), double(e))));
    float a = static_cast<float>(-50 + 100 * t);  // sin, cos
    worst[3] = std::max(worst[3], std::abs(dm::sin(a) - std::sin(double(a))));
    worst[4] = std::max(worst[4], std::abs(dm::cos(a) - std::cos(double(a))));
    float u = static_cast<float>(std::cos(6.283 * t)), v = static_cast<float>(std::sin(6.283 * t) * (0.1 + t));
    worst[5] = std::max(worst[5], std::abs(dm::atan2(v, u) - std::atan2(double(v), double(u))));
    float w = static_cast<float>(-0.999 + 1.998 * t);
    worst[6] = std::max(worst[6], std::abs(dm::asin(w) - std::asin(double(w))));
  }
  BOOST_TEST(worst[0] < 2e-6, "exp relative error " << worst[0]);
  BOOST_TEST(worst[1] < 1e-6, "log error " << worst[1]);
  BOOST_TEST(worst[2] < 5e-6, "pow error " << worst[2]);
  BOOST_TEST(worst[3] < 1e-5, "sin error " << worst[3]);
  BOOST_TEST(worst[4] < 1e-5, "cos error " << worst[4]);
  BOOST_TEST(worst[5] < 2e-6, "atan2 error " << worst[5]);
  BOOST_TEST(worst[6] < 2e-6, "asin error " << worst[6]);
  BOOST_TEST(dm::exp(-100.0f) == 0.0f);
  BOOST_TEST(dm::pow(0.0f, 2.0f) == 0.0f);
  BOOST_TEST(dm::atan2(0.0f, -1.0f) == 3.14159265f);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(synth_layout)

BOOST_AUTO_TEST_CASE(splits_are_disjoint_blocks_in_proportion) {
  auto one = plan_splits("", 5);
  BOOST_REQUIRE_EQUAL(one.size(), 1u);
  BOOST_TEST(one[0].name == "");
  BOOST_TEST(one[0].subjects.size() == 5u);
  auto three = plan_splits("train,dev,test", 10);
  BOOST_TEST(three[0].subjects.size() == 4u);  // 3.33 each; the remainder goes first
  BOOST_TEST(three[1].subjects.size() == 3u);
  BOOST_TEST(three[2].subjects.size() == 3u);
  BOOST_TEST(three[1].subjects.front() == 4);
  auto weighted = plan_splits("train:3,dev:1,test:1", 10);
  BOOST_TEST(weighted[0].subjects.size() == 6u);
  BOOST_TEST(weighted[2].subjects.back() == 9);
  auto tiny = plan_splits("a:100,b:1,c:1", 3);  // every split gets a subject
  for (const auto& s : tiny) BOOST_TEST(s.subjects.size() == 1u);
  expect_error([] { plan_splits("train,dev,test", 2); }, ExitCode::bad_input, {"needs at least 3 subjects"});
  expect_error([] { plan_splits("train,train", 4); }, ExitCode::bad_input, {"'train' is named twice"});
  expect_error([] { plan_splits("tr ain", 4); }, ExitCode::bad_input, {"split names are letters"});
  expect_error([] { plan_splits("train:0", 4); }, ExitCode::bad_input, {"weight of 'train'"});
  expect_error([] { plan_splits("train,", 4); }, ExitCode::bad_input, {"split names"});
}

BOOST_AUTO_TEST_CASE(output_names_per_split) {
  BOOST_TEST(split_path("out.h5", "train", true) == "out-train.h5");
  BOOST_TEST(split_path("out.h5", "train", false) == "out.h5");
  BOOST_TEST(split_path("d.v2/out", "dev", true) == "d.v2/out-dev");
  BOOST_TEST(split_path("runs/{split}/samples.h5", "test", true) == "runs/test/samples.h5");
  BOOST_TEST(split_path("s-{split}.h5", "", false) == "s-all.h5");
  BOOST_TEST(split_path("lists/.hidden", "a", true) == "lists/.hidden-a");
  BOOST_TEST(presentation_name(Kind::replay) == "replay");
  expect_error([] { parse_attacks("print,paper"); }, ExitCode::bad_input, {"'paper' is not print, replay or mask"});
  expect_error([] { parse_attacks("mask,mask"); }, ExitCode::bad_input, {"named twice"});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(synth_store)

BOOST_AUTO_TEST_CASE(the_store_is_valid_and_structured_by_subject_video_and_record) {
  ScratchDir dir("synth_store");
  auto o = small(dir.file("s.h5"));
  o.split = "train,test";
  o.preview = dir.file("sheet.png");
  auto sum = run_synth(o, common(3, 2));
  BOOST_TEST(sum.captures == 4 * 4 * 2);
  BOOST_TEST(sum.samples == 4 * 4 * 2 * 3);
  std::set<int32_t> train_subjects;
  for (const char* split : {"train", "test"}) {
    SampleStore s(dir.file(std::string("s-") + split + ".h5"));
    BOOST_TEST(s.size() == 2 * 4 * 2 * 3);
    BOOST_TEST(s.height() == 40);
    BOOST_TEST(s.channels() == 3);
    BOOST_TEST(s.attr_or("split", "") == split);
    BOOST_TEST(s.attr_or("dataset", "") == "cmclip-synth");
    BOOST_TEST((s.attack_names() == std::vector<std::string>{"bona fide", "print", "replay", "mask"}));
    auto videos = s.videos(0, s.size());
    auto sources = s.sources(0, s.size());
    for (int64_t i = 0; i < s.size(); ++i) {
      size_t k = static_cast<size_t>(i);
      BOOST_REQUIRE(s.records()[k] == i / 3);
      BOOST_REQUIRE(s.modalities()[k] == static_cast<int8_t>(i % 3));
      int capture = static_cast<int>(i / 3), frame = capture % 2, kind = (capture / 2) % 4;
      BOOST_REQUIRE(s.frames()[k] == frame);
      BOOST_REQUIRE(s.attacks()[k] == kind);
      BOOST_REQUIRE(s.labels()[k] == (kind == 0 ? kLive : kAttack));
      BOOST_REQUIRE(videos[k] ==
                    fmt::format("s{:04d}/{}", s.subjects()[k], presentation_name(static_cast<Kind>(kind))));
      BOOST_REQUIRE(sources[k] == fmt::format("{}/{}/f{:02d}_{}.png", split, videos[k], frame,
                                              modality_name(static_cast<Modality>(i % 3))));
      if (std::string(split) == "train") train_subjects.insert(s.subjects()[k]);
      else BOOST_REQUIRE(train_subjects.count(s.subjects()[k]) == 0);  // disjoint subjects
    }
    BOOST_TEST((s.bboxes(0, 1) == std::vector<float>{0, 0, 40, 40}));
    // Depth and NIR are grey, stored as three equal channels.
    std::vector<uint8_t> img(s.image_bytes());
    s.read_images(1, 1, img.data());
    for (size_t p = 0; p < img.size(); p += 3) BOOST_REQUIRE(img[p] == img[p + 1] && img[p] == img[p + 2]);
  }
  BOOST_TEST(train_subjects.size() == 2u);
  cv::Mat sheet = cv::imread(dir.file("sheet.png"));
  BOOST_TEST(sheet.cols == 12 * (40 + 2));  // 4 presentations x 3 modalities
  BOOST_TEST(sheet.rows > 2 * 40);
}

BOOST_AUTO_TEST_CASE(same_seed_same_bytes_for_any_thread_count_other_seed_other_bytes) {
  ScratchDir dir("synth_det");
  auto o = small(dir.file("a.h5"));
  run_synth(o, common(11, 1));
  o.output = dir.file("b.h5");
  run_synth(o, common(11, 3));
  expect_same_store(dir.file("a.h5"), dir.file("b.h5"));
  o.output = dir.file("c.h5");
  run_synth(o, common(12, 2));
  BOOST_TEST((load(dir.file("a.h5")).images != load(dir.file("c.h5")).images));
  // Frames of one video differ (pose, light, noise), but only a little.
  StoreData a = load(dir.file("a.h5"));
  size_t bytes = 40 * 40 * 3;
  std::vector<uint8_t> f0(a.images.begin(), a.images.begin() + bytes),
      f1(a.images.begin() + 3 * bytes, a.images.begin() + 4 * bytes);
  BOOST_TEST((f0 != f1));
  double diff = 0;
  for (size_t i = 0; i < bytes; ++i) diff += std::abs(int(f0[i]) - int(f1[i]));
  BOOST_TEST(diff / bytes < 40.0);
}

BOOST_AUTO_TEST_CASE(images_and_list_through_fas_preprocess_give_the_same_store) {
  ScratchDir dir("synth_round");
  auto o = small(dir.file("direct.h5"));
  o.split = "train,dev";
  run_synth(o, common(5, 2));
  // A second run writes the images and the lists (same seed, separately).
  auto files = small("");
  files.split = "train,dev";
  files.images_out = dir.file("images");
  files.list_out = dir.file("list.tsv");
  run_synth(files, common(5, 1));
  for (const char* split : {"train", "dev"}) {
    jobs::PreprocessOptions p;
    p.input.format = "tsv";
    p.input.list = dir.file(std::string("list-") + split + ".tsv");
    p.input.root = dir.file("images");
    p.crop.detect = "none";
    p.crop.size = 40;
    p.store.output = dir.file(std::string("pre-") + split + ".h5");
    jobs::run_preprocess(p, common(0, 2));
    expect_same_store(dir.file(std::string("direct-") + split + ".h5"), p.store.output);
  }
}

BOOST_AUTO_TEST_CASE(usage_errors_and_no_partial_output) {
  ScratchDir dir("synth_errors");
  auto fails = [&](SynthOptions o, std::vector<std::string> needles) {
    expect_error([&] { run_synth(o, common(1, 1)); }, ExitCode::bad_input, needles);
    BOOST_TEST(test::count_files(dir.path()) == 1);  // only the occupied folder below
  };
  std::filesystem::create_directories(dir.file("full"));
  test::write_text(dir.file("full/old.png"), "x");
  auto o = small("");
  fails(o, {"nothing to write"});
  o = small(dir.file("x.h5"));
  o.images_out = dir.file("imgs");
  fails(o, {"--images-out and --list-out go together"});
  o = small("");
  o.images_out = dir.file("full");
  o.list_out = dir.file("l.tsv");
  fails(o, {"full", "not empty"});
  o = small("");
  o.images_out = dir.file("imgs");
  o.list_out = dir.file("l.tsv");
  o.preview = dir.file("p.png");
  fails(o, {"--preview needs -o"});
  o = small(dir.file("x.h5"));
  o.modalities = "rgb,thermal";
  fails(o, {"not thermal"});
  o = small(dir.file("x.h5"));
  o.attacks = "print,glasses";
  fails(o, {"'glasses'"});
  o = small(dir.file("x.h5"));
  o.split = "a,b,c,d,e";
  fails(o, {"needs at least 5 subjects"});
  o = small(dir.file("missing/x.h5"));
  fails(o, {"does not exist"});
  o = small(dir.file("x.h5"));
  o.size = 8;
  fails(o, {"--size"});
  BOOST_TEST(test::count_files(dir.file("full")) == 1);
}

BOOST_AUTO_TEST_CASE(images_go_to_an_empty_folder_atomically) {
  ScratchDir dir("synth_files");
  std::filesystem::create_directories(dir.file("empty"));
  auto o = small("");
  o.subjects = 1;
  o.attacks = "replay";
  o.frames = 1;
  o.images_out = dir.file("empty");
  o.list_out = dir.file("l.tsv");
  run_synth(o, common(1, 1));
  std::string list = test::read_text(dir.file("l.tsv"));
  BOOST_TEST(list.rfind("path\tlabel\tmodality\tattack_type\tsubject\tvideo\tframe\n", 0) == 0);
  BOOST_TEST(list.find("s0000/replay/f00_nir.png\tattack\tnir\treplay\t0\ts0000/replay\t0\n") != std::string::npos);
  cv::Mat depth = cv::imread(dir.file("empty/s0000/live/f00_depth.png"), cv::IMREAD_UNCHANGED);
  BOOST_TEST(depth.type() == CV_8UC1);
  cv::Mat rgb = cv::imread(dir.file("empty/s0000/live/f00_rgb.png"), cv::IMREAD_UNCHANGED);
  BOOST_TEST(rgb.type() == CV_8UC3);
  BOOST_TEST(test::count_files(dir.path(), ".") == 0);  // no temporary folders left
}

BOOST_AUTO_TEST_SUITE_END()

// ----------------------------------------------------------------------- physics

BOOST_AUTO_TEST_SUITE(synth_cues)

namespace {
constexpr int kSide = 32;
struct Set {
  std::vector<std::vector<float>> x[3];  // per modality: rgb, depth, nir
  std::vector<int> live, subject;
  std::vector<Kind> kind;
};

Set render_set(int subjects, int frames) {
  Set s;
  for (int subj = 0; subj < subjects; ++subj)
    for (Kind k : {Kind::live, Kind::print, Kind::replay, Kind::mask})
      for (int f = 0; f < frames; ++f) {
        auto c = synth::render_capture(77, subj, k, f, kSide, {});
        s.x[0].emplace_back(c.rgb.begin(), c.rgb.end());
        s.x[1].emplace_back(c.depth.begin(), c.depth.end());
        s.x[2].emplace_back(c.nir.begin(), c.nir.end());
        s.live.push_back(k == Kind::live);
        s.subject.push_back(subj);
        s.kind.push_back(k);
      }
  return s;
}

double balanced_accuracy(const std::vector<int>& pred, const std::vector<int>& truth) {
  double tp = 0, tn = 0, p = 0, n = 0;
  for (size_t i = 0; i < pred.size(); ++i) {
    if (truth[i]) {
      ++p;
      tp += pred[i];
    } else {
      ++n;
      tn += !pred[i];
    }
  }
  return 0.5 * (tp / p + tn / n);
}

// The best single-pixel threshold on the train subjects (even), scored on the others.
double one_pixel_test_accuracy(const Set& s, int m) {
  size_t dims = s.x[m][0].size();
  double best_train = 0, test = 0;
  for (size_t j = 0; j < dims; ++j) {
    std::vector<std::pair<float, int>> v;
    for (size_t i = 0; i < s.live.size(); ++i)
      if (s.subject[i] % 2 == 0) v.emplace_back(s.x[m][i][j], s.live[i]);
    std::sort(v.begin(), v.end());
    double P = 0, N = 0;
    for (auto& e : v) (e.second ? P : N) += 1;
    double lp = 0, ln = 0;
    for (size_t i = 0; i + 1 < v.size(); ++i) {
      (v[i].second ? lp : ln) += 1;
      if (v[i].first == v[i + 1].first) continue;
      float th = 0.5f * (v[i].first + v[i + 1].first);
      for (int dir : {1, -1}) {
        double ba = dir > 0 ? 0.5 * ((P - lp) / P + ln / N) : 0.5 * (lp / P + (N - ln) / N);
        if (ba <= best_train) continue;
        best_train = ba;
        std::vector<int> pred, truth;
        for (size_t k = 0; k < s.live.size(); ++k)
          if (s.subject[k] % 2 == 1) {
            pred.push_back(dir > 0 ? s.x[m][k][j] > th : s.x[m][k][j] <= th);
            truth.push_back(s.live[k]);
          }
        test = balanced_accuracy(pred, truth);
      }
    }
  }
  return test;
}

// A class-weighted logistic regression on all pixels, trained on the even subjects.
double linear_probe_test_accuracy(const Set& s, int m) {
  std::vector<float> tr, te;
  std::vector<float> ytr, yte;
  for (size_t i = 0; i < s.live.size(); ++i) {
    auto& dst = s.subject[i] % 2 == 0 ? tr : te;
    for (float v : s.x[m][i]) dst.push_back(v / 255.0f);
    (s.subject[i] % 2 == 0 ? ytr : yte).push_back(static_cast<float>(s.live[i]));
  }
  int64_t d = static_cast<int64_t>(s.x[m][0].size());
  at::Tensor X = at::from_blob(tr.data(), {static_cast<int64_t>(ytr.size()), d}).clone();
  at::Tensor Y = at::from_blob(ytr.data(), {static_cast<int64_t>(ytr.size())}).clone();
  at::Tensor Xe = at::from_blob(te.data(), {static_cast<int64_t>(yte.size()), d}).clone();
  at::Tensor mu = X.mean(0), sd = X.std(0) + 1e-2;
  X = (X - mu) / sd;
  Xe = (Xe - mu) / sd;
  at::Tensor w = at::zeros({d}), b = at::zeros({1});
  at::Tensor weight = at::where(Y > 0.5, at::full_like(Y, 3.0), at::ones_like(Y));  // 1 live : 3 attacks
  for (int it = 0; it < 400; ++it) {  // plain gradient descent, no autograd needed
    at::Tensor p = at::sigmoid(X.matmul(w) + b);
    at::Tensor g = (p - Y) * weight / Y.size(0);
    w = w - 0.5 * (X.t().matmul(g) + 1e-2 * w);
    b = b - 0.5 * g.sum();
  }
  at::Tensor pred = (Xe.matmul(w) + b) > 0;
  std::vector<int> p, t;
  for (int64_t i = 0; i < pred.size(0); ++i) {
    p.push_back(pred[i].item<bool>());
    t.push_back(static_cast<int>(yte[static_cast<size_t>(i)]));
  }
  return balanced_accuracy(p, t);
}

// Mean of the central half of a grey image.
double centre_mean(const std::vector<float>& img) {
  double sum = 0;
  int n = 0;
  for (int y = kSide / 4; y < 3 * kSide / 4; ++y)
    for (int x = kSide / 4; x < 3 * kSide / 4; ++x, ++n) sum += img[static_cast<size_t>(y * kSide + x)];
  return sum / n;
}

// Residual of a least-squares plane over the valid central depth: zero for a flat
// sheet or screen however it is tilted, large for a face.
double plane_residual(const std::vector<float>& d) {
  double sxx = 0, sxy = 0, syy = 0, sx = 0, sy = 0, n = 0, sz = 0, sxz = 0, syz = 0;
  std::vector<std::array<double, 3>> pts;
  for (int y = kSide / 4; y < 3 * kSide / 4; ++y)
    for (int x = kSide / 4; x < 3 * kSide / 4; ++x) {
      double z = d[static_cast<size_t>(y * kSide + x)];
      if (z <= 0) continue;
      pts.push_back({double(x), double(y), z});
      sxx += x * x;
      sxy += x * y;
      syy += y * y;
      sx += x;
      sy += y;
      n += 1;
      sz += z;
      sxz += x * z;
      syz += y * z;
    }
  if (n < 10) return 0;
  // Solve the 3x3 normal equations by Cramer's rule.
  double a[3][3] = {{sxx, sxy, sx}, {sxy, syy, sy}, {sx, sy, n}}, r[3] = {sxz, syz, sz};
  auto det3 = [](double m[3][3]) {
    return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
           m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  };
  double D = det3(a), c[3];
  for (int k = 0; k < 3; ++k) {
    double t[3][3];
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) t[i][j] = j == k ? r[i] : a[i][j];
    c[k] = det3(t) / D;
  }
  double res = 0;
  for (auto& p : pts) res += std::abs(p[2] - (c[0] * p[0] + c[1] * p[1] + c[2]));
  return res / pts.size();
}
}  // namespace

BOOST_AUTO_TEST_CASE(learnable_in_every_modality_but_not_by_one_fixed_pixel) {
  Set s = render_set(40, 2);
  const char* names[] = {"rgb", "depth", "nir"};
  for (int m = 0; m < 3; ++m) {
    double pixel = one_pixel_test_accuracy(s, m), probe = linear_probe_test_accuracy(s, m);
    BOOST_TEST_MESSAGE(names[m] << ": one-pixel balanced accuracy " << pixel << ", linear probe " << probe);
    BOOST_TEST(pixel < 0.85, names[m] << ": one fixed pixel tells live from attack too well (" << pixel << ")");
    BOOST_TEST(probe > 0.6, names[m] << ": a linear probe cannot learn the task (" << probe << ")");
  }
}

BOOST_AUTO_TEST_CASE(attack_cues_follow_the_physics_of_each_sensor) {
  Set s = render_set(16, 1);
  double relief[4] = {0, 0, 0, 0}, nir_centre[4] = {0, 0, 0, 0}, saturation[4] = {0, 0, 0, 0};
  int count[4] = {0, 0, 0, 0};
  for (size_t i = 0; i < s.live.size(); ++i) {
    int k = static_cast<int>(s.kind[i]);
    relief[k] += plane_residual(s.x[1][i]);
    nir_centre[k] += centre_mean(s.x[2][i]);
    double sat = 0;
    for (size_t p = 0; p < s.x[0][i].size(); p += 3) {
      float mx = std::max({s.x[0][i][p], s.x[0][i][p + 1], s.x[0][i][p + 2]});
      float mn = std::min({s.x[0][i][p], s.x[0][i][p + 1], s.x[0][i][p + 2]});
      sat += mx > 0 ? (mx - mn) / mx : 0;
    }
    saturation[k] += sat / (s.x[0][i].size() / 3);
    ++count[k];
  }
  for (int k = 0; k < 4; ++k) {
    relief[k] /= count[k];
    nir_centre[k] /= count[k];
    saturation[k] /= count[k];
  }
  BOOST_TEST_MESSAGE("depth relief " << relief[0] << " " << relief[1] << " " << relief[2] << " " << relief[3]);
  BOOST_TEST_MESSAGE("nir centre " << nir_centre[0] << " " << nir_centre[1] << " " << nir_centre[2] << " "
                                   << nir_centre[3]);
  // Depth: a face has relief; a sheet or a screen is (nearly) a plane; a mask has relief.
  BOOST_TEST(relief[0] > 2 * relief[1]);
  BOOST_TEST(relief[0] > 2 * relief[2]);
  BOOST_TEST(relief[3] > relief[1]);
  // NIR: a screen emits none, so the replayed face is dark.
  BOOST_TEST(nir_centre[2] < 0.5 * nir_centre[0]);
  // RGB: printing loses colour gamut.
  BOOST_TEST(saturation[1] < saturation[0]);
}

BOOST_AUTO_TEST_SUITE_END()
