// data/: K-shot selection, balanced epoch plans and rank slices, augmentation, loader.
#include <boost/test/unit_test.hpp>

#include <ATen/ATen.h>
#include <opencv2/imgproc.hpp>

#include <map>
#include <set>

#include "cmclip/core/random.hpp"
#include "cmclip/data/augment.hpp"
#include "cmclip/data/loader.hpp"
#include "cmclip/data/sampler.hpp"
#include "test_support.hpp"

using namespace cmclip;
using namespace cmclip::data;
using cmclip::test::ScratchDir;

namespace {
// Store: `videos` videos per class and modality, `frames` frames each; pixel value
// encodes the sample index.
std::string make_store(const ScratchDir& dir, int videos, int frames, bool with_video_keys = true) {
  std::string path = dir.file("store.h5");
  SampleWriter w(path, 8, 8, 3);
  int64_t record = 0;
  int64_t index = 0;
  for (int cls : {1, 0})
    for (int v = 0; v < videos; ++v)
      for (int f = 0; f < frames; ++f, ++record)
        for (Modality m : {Modality::rgb, Modality::depth}) {
          SampleMeta meta;
          meta.label = static_cast<int8_t>(cls);
          meta.attack = cls ? 0 : w.attack_code("print");
          meta.modality = m;
          meta.video = with_video_keys ? fmt::format("{}_{}", cls ? "live" : "attack", v) : "";
          meta.frame = f;
          meta.source = fmt::format("src{}", index);
          meta.record = record;
          std::vector<uint8_t> img(8 * 8 * 3, static_cast<uint8_t>(index % 256));
          w.append(img.data(), meta);
          ++index;
        }
  w.commit();
  return path;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(data_sampling)

BOOST_AUTO_TEST_CASE(rng_is_deterministic_and_well_spread) {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 5; ++i) BOOST_TEST(a.next() == b.next());
  BOOST_TEST(Rng(42).next() != c.next());
  Rng r(7);
  double sum = 0, sq = 0;
  int counts[4] = {0, 0, 0, 0};
  for (int i = 0; i < 20000; ++i) {
    double n = r.normal();
    sum += n;
    sq += n * n;
    counts[r.below(4)]++;
  }
  BOOST_TEST(std::abs(sum / 20000) < 0.05);
  BOOST_TEST(std::abs(sq / 20000 - 1) < 0.05);
  for (int k : counts) BOOST_TEST(std::abs(k - 5000) < 300);
  BOOST_TEST(derive_seed(1, {2, 3}) != derive_seed(1, {3, 2}));
}

BOOST_AUTO_TEST_CASE(kshot_picks_k_videos_per_class_deterministically) {
  ScratchDir dir("kshot");
  SampleStore s(make_store(dir, 6, 3));
  Pool a = kshot_pool(s, Modality::depth, 2, 11), b = kshot_pool(s, Modality::depth, 2, 11);
  Pool c = kshot_pool(s, Modality::depth, 2, 12);
  for (int cls : {0, 1}) {
    BOOST_TEST(a.count(cls) == 2u);  // 2 videos, 1 fixed frame each
    BOOST_TEST(a.group_keys[cls] == b.group_keys[cls]);
    for (const auto& g : a.groups[cls]) {
      BOOST_TEST(g.size() == 1u);  // a shot frame is its own group: no new frame per epoch
      for (int64_t i : g) {
        BOOST_TEST(s.modalities()[i] == static_cast<int8_t>(Modality::depth));
        BOOST_TEST(s.labels()[i] == cls);
      }
    }
  }
  BOOST_TEST((a.group_keys[0] != c.group_keys[0] || a.group_keys[1] != c.group_keys[1]));
  test::expect_error([&] { kshot_pool(s, Modality::depth, 7, 1); }, ExitCode::bad_input,
                     {"store.h5", "7-shot needs 7 live videos of modality depth, the store has 6"});
  test::expect_error([&] { kshot_pool(s, Modality::nir, 1, 1); }, ExitCode::bad_input,
                     {"modality nir, the store has 0"});
}

BOOST_AUTO_TEST_CASE(frames_per_shot_fixes_the_frames_of_each_video) {
  ScratchDir dir("kshotframesper");
  SampleStore s(make_store(dir, 6, 4));
  Pool p = kshot_pool(s, Modality::depth, KshotOptions{2, 3, 5});
  BOOST_TEST(p.shots.size() == 12u);  // 2 videos x 3 frames x 2 classes
  std::map<std::string, std::set<int32_t>> frames;
  for (const auto& shot : p.shots) {
    BOOST_TEST(s.videos(shot.index, 1)[0] == shot.video);
    BOOST_TEST(s.frames()[shot.index] == shot.frame);
    frames[shot.video].insert(shot.frame);
  }
  BOOST_TEST(frames.size() == 4u);
  for (const auto& [video, f] : frames) BOOST_TEST(f.size() == 3u);
  // Every epoch plans exactly these frames (oversampled), never another one.
  std::set<int64_t> allowed;
  for (const auto& shot : p.shots) allowed.insert(shot.index);
  PlanOptions o;
  o.global_batch = 8;
  for (int64_t epoch = 0; epoch < 5; ++epoch)
    for (const auto& b : plan_epoch(p, nullptr, epoch, o))
      for (const auto& r : b) BOOST_TEST(allowed.count(r.index) == 1u);
  // 0 = all frames; more frames than a video has is bad input naming the video.
  BOOST_TEST(kshot_pool(s, Modality::depth, KshotOptions{1, 0, 5}).shots.size() == 8u);
  test::expect_error(
      [&] {
        kshot_pool(s, Modality::depth, KshotOptions{1, 5, 5});
      },
      ExitCode::bad_input, {"--frames-per-shot 5", "has only 4 frame(s)"});
}

BOOST_AUTO_TEST_CASE(shot_lists_round_trip_and_bad_lists_name_the_line) {
  ScratchDir dir("shotlist");
  SampleStore s(make_store(dir, 4, 2));
  Pool drawn = kshot_pool(s, Modality::depth, KshotOptions{2, 1, 8});
  write_shots(dir.file("shots.tsv"), drawn.shots);
  std::vector<Shot> back = read_shots(dir.file("shots.tsv"));
  BOOST_TEST(back.size() == drawn.shots.size());
  Pool again = listed_shots_pool(s, Modality::depth, back, dir.file("shots.tsv"));
  for (size_t i = 0; i < back.size(); ++i) BOOST_TEST(again.shots[i].index == drawn.shots[i].index);
  // The same list in another modality of the store finds the co-registered frames.
  Pool rgb = listed_shots_pool(s, Modality::rgb, back, dir.file("shots.tsv"));
  for (size_t i = 0; i < back.size(); ++i)
    BOOST_TEST(s.records()[rgb.shots[i].index] == s.records()[drawn.shots[i].index]);
  auto bad = [&](const std::string& text, std::vector<std::string> words) {
    test::write_text(dir.file("bad.tsv"), text);
    test::expect_error(
        [&] { listed_shots_pool(s, Modality::depth, read_shots(dir.file("bad.tsv")), dir.file("bad.tsv")); },
        ExitCode::bad_input, words);
  };
  bad("video\tframe\n", {"bad.tsv", "line 1", "header"});
  bad("label\tvideo\tframe\nreal\tlive_0\t0\n", {"line 2", "label 'real'"});
  bad("label\tvideo\tframe\nlive\tlive_0\tx\n", {"line 2", "frame 'x'"});
  bad("label\tvideo\tframe\nlive\tlive_9\t0\n", {"line 2", "live_9 frame 0", "is not in"});
  bad("label\tvideo\tframe\nattack\tlive_0\t0\n", {"line 2", "listed as attack but is live"});
  bad("label\tvideo\tframe\nlive\tlive_0\t0\nlive\tlive_0\t0\n", {"line 3", "listed twice"});
  bad("label\tvideo\tframe\nlive\tlive_0\t0\n", {"no attack shot"});
}

BOOST_AUTO_TEST_CASE(shots_from_evaluation_videos_are_refused) {
  ScratchDir dir("exclude");
  SampleStore s(make_store(dir, 4, 2));
  Pool p = kshot_pool(s, Modality::depth, KshotOptions{2, 1, 3});
  // The store itself shares every video: refused, naming the shot and the other store.
  test::expect_error([&] { check_shots_disjoint(s, p.shots, s); }, ExitCode::bad_input,
                     {"also appears in --exclude", "same video", "store.h5"});
  ScratchDir other("exclude-other");
  SampleStore disjoint(make_store(other, 4, 2, /*with_video_keys=*/false));
  check_shots_disjoint(s, p.shots, disjoint);  // no video keys, no subjects: nothing shared
  // Subjects are compared by name: fas-preprocess numbers non-numeric names in order of
  // appearance, so ids 0 and 1 recur across stores that hold other people.
  auto named = [](const ScratchDir& d, const std::string& prefix, const std::vector<std::string>& names) {
    std::string path = d.file("named.h5");
    SampleWriter w(path, 8, 8, 3);
    int64_t record = 0;
    for (int cls : {1, 0})
      for (int v = 0; v < 2; ++v, ++record) {
        SampleMeta meta;
        meta.label = static_cast<int8_t>(cls);
        meta.attack = cls ? 0 : w.attack_code("print");
        meta.modality = Modality::depth;
        meta.video = fmt::format("{}{}_{}", prefix, cls, v);
        meta.frame = 0;
        meta.source = meta.video;
        meta.record = record;
        meta.subject = v;
        std::vector<uint8_t> img(8 * 8 * 3, 0);
        w.append(img.data(), meta);
      }
    w.set_attr("subject_names", names);
    w.commit();
    return path;
  };
  ScratchDir a("subjects-a"), b("subjects-b"), c("subjects-c");
  SampleStore train(named(a, "t", {"anna", "ben"})), dev(named(b, "d", {"carl", "dora"}));
  SampleStore shared(named(c, "x", {"dora", "ben"}));
  Pool shots = kshot_pool(train, Modality::depth, 2, 1);
  check_shots_disjoint(train, shots.shots, dev);
  test::expect_error([&] { check_shots_disjoint(train, shots.shots, shared); }, ExitCode::bad_input,
                     {"subject ben", "subjects-c"});
}

BOOST_AUTO_TEST_CASE(oversampled_copies_get_their_own_augmentation) {
  ScratchDir dir("oversample");
  SampleStore s(make_store(dir, 3, 1));
  Pool one = kshot_pool(s, Modality::depth, 1, 4);  // K = 1: each class fills 4 of 8 slots
  PlanOptions o;
  o.global_batch = 8;
  auto plan = plan_epoch(one, nullptr, 0, o);
  BOOST_TEST(plan.size() == 1u);
  std::set<uint64_t> seeds;
  for (const auto& r : plan[0]) seeds.insert(r.aug_seed);
  BOOST_TEST(seeds.size() == 8u);
}

BOOST_AUTO_TEST_CASE(kshot_without_video_keys_draws_frames) {
  ScratchDir dir("kshotframes");
  SampleStore s(make_store(dir, 2, 3, false));
  Pool p = kshot_pool(s, Modality::rgb, 4, 3);
  for (int cls : {0, 1}) {
    BOOST_TEST(p.count(cls) == 4u);
    for (const auto& g : p.groups[cls]) BOOST_TEST(g.size() == 1u);
  }
}

BOOST_AUTO_TEST_CASE(epoch_plans_are_balanced_full_and_deterministic) {
  ScratchDir dir("plan");
  SampleStore s(make_store(dir, 5, 2));
  Pool target = kshot_pool(s, Modality::depth, 3, 1);
  Pool replay = full_pool(s, Modality::rgb);
  PlanOptions o;
  o.global_batch = 8;
  o.seed = 9;
  auto plan = plan_epoch(target, nullptr, 0, o);
  BOOST_TEST(plan.size() == 1u);  // 3 pairs of target -> 6 samples -> 1 batch of 8 (wrapped)
  for (const auto& b : plan) {
    BOOST_TEST(b.size() == 8u);
    int live = 0;
    for (const auto& r : b) live += s.labels()[r.index];
    BOOST_TEST(live == 4);
  }
  auto again = plan_epoch(target, nullptr, 0, o);
  BOOST_TEST(again[0][3].index == plan[0][3].index);
  auto next = plan_epoch(target, nullptr, 1, o);
  bool differs = false;
  for (size_t i = 0; i < 8; ++i) differs |= next[0][i].index != plan[0][i].index;
  BOOST_TEST(differs);
  // Replay at 50 %: half of every batch from store 1, balanced per store.
  o.replay_ratio = 0.5;
  auto mixed = plan_epoch(target, &replay, 0, o);
  for (const auto& b : mixed) {
    int from_replay = 0;
    for (const auto& r : b) {
      from_replay += r.store;
      if (r.store == 1) BOOST_TEST(s.modalities()[r.index] == static_cast<int8_t>(Modality::rgb));
      else BOOST_TEST(s.modalities()[r.index] == static_cast<int8_t>(Modality::depth));
    }
    BOOST_TEST(from_replay == 4);
  }
  o.global_batch = 7;
  test::expect_error([&] { plan_epoch(target, &replay, 0, o); }, ExitCode::bad_input,
                     {"must be even with source replay"});
  // Without replay an odd batch is allowed (CoCoOp trains with batch 1): every sample
  // once per epoch, and the classes alternate, so each two steps hold one of each.
  o.global_batch = 1;
  auto single = plan_epoch(target, nullptr, 0, o);
  BOOST_TEST(single.size() == 2 * std::max(target.count(0), target.count(1)));
  for (size_t i = 0; i + 1 < single.size(); i += 2) {
    BOOST_TEST(single[i].size() == 1u);
    BOOST_TEST(s.labels()[single[i][0].index] != s.labels()[single[i + 1][0].index]);
  }
}

BOOST_AUTO_TEST_CASE(rank_slices_partition_the_global_batch) {
  ScratchDir dir("ranks");
  SampleStore s(make_store(dir, 4, 2));
  PlanOptions o;
  o.global_batch = 8;
  auto plan = plan_epoch(full_pool(s, std::nullopt), nullptr, 2, o);
  for (const auto& b : plan) {
    auto r0 = rank_slice(b, 0, 2), r1 = rank_slice(b, 1, 2);
    BOOST_TEST(r0.size() == 4u);
    std::vector<int64_t> joined;
    for (const auto& r : r0) joined.push_back(r.index);
    for (const auto& r : r1) joined.push_back(r.index);
    for (size_t i = 0; i < b.size(); ++i) BOOST_TEST(joined[i] == b[i].index);
  }
  BOOST_CHECK_THROW(rank_slice(plan[0], 0, 3), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(modalities_of_a_record_share_augmentation) {
  ScratchDir dir("records");
  SampleStore s(make_store(dir, 3, 1));
  Pool rgb = full_pool(s, Modality::rgb), depth = full_pool(s, Modality::depth);
  PlanOptions o;
  o.global_batch = 6;
  auto a = plan_epoch(rgb, nullptr, 0, o)[0], b = plan_epoch(depth, nullptr, 0, o)[0];
  std::map<int64_t, uint64_t> by_record;
  for (const auto& r : a) by_record[s.records()[r.index]] = r.aug_seed;
  for (const auto& r : b) BOOST_TEST(by_record.at(s.records()[r.index]) == r.aug_seed);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(data_augment)

BOOST_AUTO_TEST_CASE(colour_operations_follow_their_definitions) {
  cv::Mat img(2, 2, CV_8UC3, cv::Scalar(100, 50, 200));
  img.at<cv::Vec3b>(1, 1) = cv::Vec3b(10, 20, 30);
  BOOST_TEST(cv::norm(adjust_brightness(img, 1.0), img, cv::NORM_INF) == 0);
  BOOST_TEST(adjust_brightness(img, 0.5).at<cv::Vec3b>(0, 0)[0] == 50);
  BOOST_TEST(adjust_brightness(img, 2.0).at<cv::Vec3b>(0, 0)[2] == 255);  // saturates
  BOOST_TEST(cv::norm(adjust_contrast(img, 1.0), img, cv::NORM_INF) == 0);
  cv::Mat flat = adjust_contrast(img, 0.0);  // every pixel becomes the grey mean
  BOOST_TEST(flat.at<cv::Vec3b>(0, 0) == flat.at<cv::Vec3b>(1, 1));
  cv::Mat grey = adjust_saturation(img, 0.0);
  BOOST_TEST(grey.at<cv::Vec3b>(0, 0)[0] == grey.at<cv::Vec3b>(0, 0)[2]);
  BOOST_TEST(cv::norm(adjust_hue(img, 0.0), img, cv::NORM_INF) == 0);
  cv::Mat red(1, 1, CV_8UC3, cv::Scalar(255, 0, 0));
  cv::Vec3b shifted = adjust_hue(red, 1.0 / 3).at<cv::Vec3b>(0, 0);  // red -> green
  BOOST_TEST(int(shifted[1]) > 200);
  BOOST_TEST(int(shifted[0]) < 40);
}

BOOST_AUTO_TEST_CASE(augmentation_is_deterministic_and_sized) {
  cv::Mat img(40, 40, CV_8UC3);
  cv::randu(img, 0, 255);
  AugmentOptions o;
  Rng r1(5), r2(5);
  AugmentParams p1 = draw_augment(r1, o, 32), p2 = draw_augment(r2, o, 32);
  cv::Mat a = augment_image(img, p1, o, 32), b = augment_image(img, p2, o, 32);
  BOOST_TEST(a.rows == 32);
  BOOST_TEST(a.cols == 32);
  BOOST_TEST(cv::norm(a, b, cv::NORM_INF) == 0);
  // Flip only: the crop mirrored.
  AugmentParams flip;
  flip.flip = true;
  o.resize_ratio = 1.0;
  cv::Mat f = augment_image(img(cv::Rect(0, 0, 32, 32)), flip, o, 32);
  BOOST_TEST(f.at<cv::Vec3b>(3, 0) == img.at<cv::Vec3b>(3, 31));
  o.enabled = false;
  BOOST_TEST(cv::norm(augment_image(img, p1, o, 40), img, cv::NORM_INF) == 0);
  AugmentOptions bad;
  bad.flip_prob = 1.5;
  test::expect_error([&] { bad.validate(); }, ExitCode::bad_input, {"--flip-prob"});
}

BOOST_AUTO_TEST_CASE(loader_yields_normalised_batches_in_plan_order) {
  ScratchDir dir("loader");
  SampleStore s(make_store(dir, 2, 1));
  auto batches = sequential_batches(0, s.size(), 3);
  BOOST_TEST(batches.size() == 3u);  // 8 samples: 3 + 3 + 2
  AugmentOptions o;
  BatchLoader loader({&s}, batches, 8, o, /*train=*/false);
  Batch b;
  int64_t seen = 0;
  while (loader.next(b)) {
    for (int64_t i = 0; i < b.images.size(0); ++i, ++seen) {
      float want = (float(seen % 256) / 255.0f - kClipMean[1]) / kClipStd[1];
      BOOST_TEST(std::abs(b.images[i][1][4][4].item<float>() - want) < 1e-6);
      BOOST_TEST(b.labels[i].item<int64_t>() == s.labels()[seen]);
      BOOST_TEST(b.modality[i].item<int64_t>() == s.modalities()[seen]);
    }
  }
  BOOST_TEST(seen == s.size());
  BOOST_TEST(!loader.next(b));
}

BOOST_AUTO_TEST_CASE(loader_threads_give_the_same_batches) {
  ScratchDir dir("loaderthreads");
  SampleStore s(make_store(dir, 2, 1));
  std::vector<std::vector<SampleRef>> batches;
  for (int64_t b = 0; b < s.size(); b += 3) {
    std::vector<SampleRef> batch;
    for (int64_t i = b; i < std::min<int64_t>(s.size(), b + 3); ++i) batch.push_back({0, i, uint64_t(100 + i)});
    batches.push_back(batch);
  }
  AugmentOptions o;  // training augmentation: each sample's own seed
  auto all = [&](int threads) {
    BatchLoader loader({&s}, batches, 8, o, /*train=*/true, /*prefetch=*/2, threads);
    std::vector<at::Tensor> out;
    Batch b;
    while (loader.next(b)) out.push_back(b.images);
    return out;
  };
  auto one = all(1), three = all(3);
  BOOST_TEST(one.size() == batches.size());
  BOOST_TEST(three.size() == batches.size());
  for (size_t i = 0; i < one.size(); ++i) BOOST_TEST(at::equal(one[i], three[i]), "batch " << i);
  BOOST_TEST(default_loader_threads() >= 1);
}

BOOST_AUTO_TEST_CASE(loader_errors_surface_in_the_consumer) {
  ScratchDir dir("loadererr");
  SampleStore s(make_store(dir, 1, 1));
  std::vector<std::vector<SampleRef>> bad{{{0, 0, 0}}, {{0, 999, 0}}};
  BatchLoader loader({&s}, bad, 8, AugmentOptions{}, false);
  Batch b;
  BOOST_TEST(loader.next(b));
  test::expect_error([&] { loader.next(b); }, ExitCode::bad_input, {"store.h5", "samples [999, 1000)"});
}

BOOST_AUTO_TEST_SUITE_END()
