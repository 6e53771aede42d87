// metrics/: every PAD figure against hand-computed values on small sets built around
// the traps (ties at the threshold, one attack type much worse than the others, all
// scores equal, a single bona fide, video aggregation, no dev set), AUC against a
// brute-force pair count, TPR@FPR edges, the bootstrap's determinism, the TSV and
// JSON formats, the input checks, and the merge of score shards.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <sstream>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

#include "cmclip/core/fs.hpp"
#include "cmclip/h5/h5.hpp"
#include "cmclip/h5/samples.hpp"
#include "cmclip/h5/scores.hpp"
#include "cmclip/metrics/bootstrap.hpp"
#include "cmclip/metrics/eval_input.hpp"
#include "cmclip/metrics/evaluation.hpp"
#include "cmclip/metrics/json.hpp"
#include "cmclip/metrics/pad_metrics.hpp"
#include "cmclip/metrics/plot.hpp"
#include "cmclip/metrics/score_merge.hpp"
#include "cmclip/metrics/score_tsv.hpp"
#include "cmclip/metrics/sorted_scores.hpp"
#include "test_support.hpp"

using namespace cmclip;
using namespace cmclip::metrics;
using cmclip::test::expect_error;
using cmclip::test::ScratchDir;

namespace {
constexpr double kEps = 1e-12;

// A labelled sample: type 0 = bona fide, t >= 1 = attack type t.
struct S {
  float score;
  int16_t type;
};

SortedScores sorted(const std::vector<S>& samples, int num_types) {
  std::vector<float> score;
  std::vector<int16_t> cls;
  for (const auto& s : samples) {
    score.push_back(s.score);
    cls.push_back(s.type);
  }
  return SortedScores(score, cls, num_types);
}

bool close(double a, double b, double eps = kEps) { return std::abs(a - b) <= eps; }

// n random samples, scores on a grid of `steps` values in [0, 1] and types 0..2, then a
// bona fide and an attack sample tied at `tie` (both classes present, and a tie).
std::vector<S> random_scores(std::mt19937_64& rng, int n, int steps, float tie) {
  std::vector<S> v;
  for (int i = 0; i < n; ++i)
    v.push_back({static_cast<float>(rng() % steps) / static_cast<float>(steps - 1), static_cast<int16_t>(rng() % 3)});
  v.push_back({tie, 0});
  v.push_back({tie, 1});
  return v;
}

// Weights as a bootstrap replicate would give them (every sample its own unit), each
// below `below`; the tied pair of random_scores() always counts once.
std::vector<uint32_t> random_weights(std::mt19937_64& rng, size_t size, int below) {
  std::vector<uint32_t> w(size);
  for (auto& x : w) x = static_cast<uint32_t>(rng() % below);
  w[size - 1] = w[size - 2] = 1;
  return w;
}

// A score TSV line per (video, attack type or "" for live, score).
struct Row {
  std::string video, type;
  float score;
};

std::string tsv(const std::vector<Row>& rows) {
  std::ostringstream out;
  {
    ScoreTsvWriter w(out);
    for (size_t i = 0; i < rows.size(); ++i)
      w.write("img" + std::to_string(i) + ".png", rows[i].video, rows[i].type, rows[i].type.empty() ? kLive : kAttack,
              rows[i].score);
  }
  return out.str();
}

std::string write_tsv(const ScratchDir& dir, const std::string& name, const std::vector<Row>& rows) {
  std::string path = dir.file(name);
  test::write_text(path, tsv(rows));
  return path;
}

// test.tsv: three bona fide and four attacks (two types) whose own EER threshold is 0.8.
std::string write_mixed_test(const ScratchDir& dir) {
  return write_tsv(dir, "test.tsv",
                   {{"a", "", 0.9f},
                    {"b", "", 0.8f},
                    {"c", "", 0.4f},
                    {"d", "print", 0.1f},
                    {"e", "print", 0.5f},
                    {"f", "replay", 0.3f},
                    {"g", "replay", 0.9f}});
}

const NamedFigure& figure(const TestReport& t, const std::string& key) {
  auto it = std::find_if(t.named.begin(), t.named.end(), [&](const NamedFigure& f) { return f.key == key; });
  if (it == t.named.end()) throw std::runtime_error("no figure " + key);
  return *it;
}

double value(const TestReport& t, const std::string& key) { return figure(t, key).value.value(); }

EvalOptions options_for(std::vector<std::string> test, std::vector<std::string> dev = {}) {
  EvalOptions o;
  o.test = std::move(test);
  o.dev = std::move(dev);
  return o;
}

// A score file written with the ScoreWriter (as fas-embed writes them).
struct FileRow {
  float score;
  int16_t attack;  // 0 bona fide
  std::string video;
  Modality modality = Modality::rgb;
  int32_t subject = -1;
};

void write_score_file(const std::string& path, const std::vector<FileRow>& rows,
                      const std::map<std::string, h5::AttrValue>& attrs = {},
                      std::vector<std::string> names = {"bona fide", "print", "replay"}) {
  ScoreWriter w(path, 0);
  w.set_attack_names(names);
  for (const auto& [k, v] : attrs) w.set_attr(k, v);
  for (size_t i = 0; i < rows.size(); ++i) {
    ScoreRow r;
    r.index = static_cast<int64_t>(i);
    r.score = rows[i].score;
    r.label = rows[i].attack == 0 ? kLive : kAttack;
    r.attack = rows[i].attack;
    r.video = rows[i].video;
    r.modality = static_cast<int8_t>(rows[i].modality);
    r.subject = rows[i].subject;
    r.source = "s" + std::to_string(i);
    w.append(r);
  }
  w.commit();
}
}  // namespace

BOOST_AUTO_TEST_SUITE(sorting)

BOOST_AUTO_TEST_CASE(radix_sort_orders_floats_like_std_sort) {
  std::mt19937_64 rng(7);
  std::vector<float> v;
  for (int i = 0; i < 5000; ++i) {
    uint64_t r = rng();
    float x = static_cast<float>(static_cast<int64_t>(r % 2001) - 1000) / 37.0f;
    if (r % 13 == 0) x = -0.0f;
    if (r % 17 == 0) x = 0.0f;
    if (r % 101 == 0) x = 3e38f;
    if (r % 103 == 0) x = -3e38f;
    v.push_back(x);
  }
  std::vector<uint64_t> keys;
  for (size_t i = 0; i < v.size(); ++i) keys.push_back((uint64_t(sortable_key(v[i])) << 32) | i);
  radix_sort_by_high32(keys);
  std::vector<float> got;
  for (uint64_t k : keys) got.push_back(v[k & 0xFFFFFFFFu]);
  std::vector<float> want = v;
  std::stable_sort(want.begin(), want.end());
  BOOST_TEST(got == want);  // -0 == +0, so the comparison is by value
  BOOST_TEST(sortable_key(-0.0f) == sortable_key(0.0f));
  BOOST_TEST(sortable_key(-1.0f) < sortable_key(-0.5f));
  BOOST_TEST(sortable_key(0.25f) < sortable_key(1.0f));
}

BOOST_AUTO_TEST_CASE(parallel_sort_equals_the_serial_one) {
  // Large enough for several threads; many ties, both signs, the class packed beside
  // the index (no units) or gathered (units given).
  std::mt19937_64 rng(17);
  const size_t n = 300000;
  std::vector<float> score(n);
  std::vector<int16_t> cls(n);
  std::vector<uint32_t> unit(n);
  for (size_t i = 0; i < n; ++i) {
    uint64_t r = rng();
    score[i] = static_cast<float>(static_cast<int64_t>(r % 40001) - 20000) / 91.0f;
    cls[i] = static_cast<int16_t>((r >> 32) % 4);
    unit[i] = static_cast<uint32_t>(i);
  }
  std::vector<uint64_t> keys;
  for (size_t i = 0; i < n; ++i) keys.push_back((uint64_t(sortable_key(score[i])) << 32) | i);
  std::vector<uint64_t> one = keys, three = keys;
  radix_sort_by_high32(one, 1);
  radix_sort_by_high32(three, 3);
  BOOST_TEST((one == three));
  BOOST_TEST(std::is_sorted(one.begin(), one.end()));  // stable: the index breaks ties in order
  SortedScores packed(score, cls, 3, {}, 0, 3), gathered(score, cls, 3, unit, uint32_t(n), 1);
  BOOST_TEST(packed.groups() == gathered.groups());
  bool same = true;
  for (size_t j = 0; j < n; ++j)
    same = same && packed.score(j) == gathered.score(j) && packed.cls(j) == gathered.cls(j) &&
           packed.unit(j) == gathered.unit(j);
  BOOST_TEST(same);
  BOOST_TEST((packed.class_totals() == gathered.class_totals()));
  BOOST_TEST((packed.unit_class() == gathered.unit_class()));
}

BOOST_AUTO_TEST_CASE(groups_and_thresholds_of_cuts) {
  // Groups 0.2 | 0.5 0.5 | 0.7 | 0.9
  SortedScores s = sorted({{0.5f, 0}, {0.7f, 0}, {0.9f, 0}, {0.5f, 1}, {0.2f, 1}}, 1);
  BOOST_TEST(s.groups() == 4u);
  BOOST_TEST(s.value(1) == 0.5f);
  for (TieRule tie : {TieRule::accept, TieRule::reject})
    for (size_t c = 0; c <= s.groups(); ++c)
      BOOST_TEST(s.cut_of_threshold(s.threshold_of_cut(c, tie), tie) == c, "cut " << c);
  BOOST_TEST(s.threshold_of_cut(1, TieRule::accept) == 0.5f);  // accept: tau = lowest accepted score
  BOOST_TEST(s.threshold_of_cut(1, TieRule::reject) == 0.2f);  // reject: tau = highest rejected score
  BOOST_TEST(s.threshold_of_cut(4, TieRule::accept) > 0.9f);   // accept nothing
  BOOST_TEST(s.threshold_of_cut(0, TieRule::reject) < 0.2f);   // reject nothing
  BOOST_TEST(s.cut_of_threshold(0.5f, TieRule::accept) == 1u);
  BOOST_TEST(s.cut_of_threshold(0.5f, TieRule::reject) == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(pad_metrics)

// live 0.9 0.8 0.4; print 0.1 0.5; replay 0.3 0.9. Worked by hand:
// EER cut rejects {0.1 .. 0.5}: FAR 1/4, FRR 1/3, EER 7/24 at threshold 0.8.
// AUC: (3.5 + 3 + 2) / 12.
BOOST_AUTO_TEST_CASE(hand_computed_small_set) {
  SortedScores s = sorted({{0.9f, 0}, {0.8f, 0}, {0.4f, 0}, {0.1f, 1}, {0.5f, 1}, {0.3f, 2}, {0.9f, 2}}, 2);
  SetFigures f = compute_figures(s, std::nullopt, TieRule::accept, Positive::attack);
  BOOST_TEST(f.at_threshold.threshold == 0.8f);
  BOOST_TEST(f.eer_threshold == 0.8f);
  BOOST_TEST(close(f.eer, 7.0 / 24));
  BOOST_TEST(close(f.at_threshold.apcer_per_type[0], 0.0));
  BOOST_TEST(close(f.at_threshold.apcer_per_type[1], 0.5));
  BOOST_TEST(close(f.at_threshold.apcer, 0.5));
  BOOST_TEST(close(f.at_threshold.apcer_pooled, 0.25));
  BOOST_TEST(close(f.at_threshold.bpcer, 1.0 / 3));
  BOOST_TEST(close(f.at_threshold.acer, (0.5 + 1.0 / 3) / 2));
  BOOST_TEST(close(f.at_threshold.hter, 7.0 / 24));
  BOOST_TEST(close(f.auc, 8.5 / 12));
  // Each type has 2 attacks: APCER <= 10% or 5% allows none, so 0.9 must be rejected.
  BOOST_TEST(close(f.bpcer_n[0], 1.0));
  BOOST_TEST(close(f.bpcer_n[1], 1.0));
  for (const auto& t : f.tpr_at_fpr) BOOST_TEST(!t.has_value());  // 3 bona fide < 100
  BOOST_TEST((f.totals == std::vector<int64_t>{3, 2, 2}));
}

BOOST_AUTO_TEST_CASE(ties_at_the_threshold_follow_the_tie_rule) {
  // live 0.5 0.7 0.9; print 0.5 0.2; tau = 0.5 exactly on two scores.
  SortedScores s = sorted({{0.5f, 0}, {0.7f, 0}, {0.9f, 0}, {0.5f, 1}, {0.2f, 1}}, 1);
  SetFigures acc = compute_figures(s, 0.5f, TieRule::accept, Positive::attack);
  BOOST_TEST(close(acc.at_threshold.apcer, 0.5));  // the attack at 0.5 is accepted
  BOOST_TEST(close(acc.at_threshold.bpcer, 0.0));  // the bona fide at 0.5 is accepted
  SetFigures rej = compute_figures(s, 0.5f, TieRule::reject, Positive::attack);
  BOOST_TEST(close(rej.at_threshold.apcer, 0.0));
  BOOST_TEST(close(rej.at_threshold.bpcer, 1.0 / 3));
  // The EER point (reject 0.2 and 0.5) is the same under both rules; only the value
  // that realises it differs: 0.7 (lowest accepted) or 0.5 (highest rejected).
  BOOST_TEST(close(acc.eer, 1.0 / 6));
  BOOST_TEST(close(rej.eer, 1.0 / 6));
  BOOST_TEST(acc.eer_threshold == 0.7f);
  BOOST_TEST(rej.eer_threshold == 0.5f);
  // The AUC counts the tied pair (0.5, 0.5) as one half: per bona fide, 0.5 beats 0.2
  // and ties 0.5 -> 1.5; 0.7 and 0.9 beat both -> 2 each; 5.5 of 6 pairs.
  BOOST_TEST(close(acc.auc, 5.5 / 6));
}

BOOST_AUTO_TEST_CASE(apcer_is_the_worst_type_not_the_pooled_rate) {
  std::vector<S> v;
  for (int i = 0; i < 100; ++i) v.push_back({0.9f, 0});
  for (int i = 0; i < 100; ++i) v.push_back({0.1f, 1});  // print: all rejected
  for (int i = 0; i < 100; ++i) v.push_back({0.2f, 2});  // replay: all rejected
  for (int i = 0; i < 5; ++i) v.push_back({0.95f, 3});   // mask: half accepted
  for (int i = 0; i < 5; ++i) v.push_back({0.05f, 3});
  SortedScores s = sorted(v, 3);
  OperatingPoint p = compute_figures(s, 0.5f, TieRule::accept, Positive::attack).at_threshold;
  BOOST_TEST(close(p.apcer, 0.5));
  BOOST_TEST(close(p.apcer_pooled, 5.0 / 210));
  BOOST_TEST(close(p.bpcer, 0.0));
  BOOST_TEST(close(p.acer, 0.25));
  BOOST_TEST(close(p.hter, 5.0 / 420));
  BOOST_TEST((p.apcer_per_type == std::vector<double>{0.0, 0.0, 0.5}));
}

BOOST_AUTO_TEST_CASE(all_equal_scores) {
  SortedScores s = sorted({{0.5f, 0}, {0.5f, 0}, {0.5f, 0}, {0.5f, 1}, {0.5f, 1}}, 1);
  BOOST_TEST(s.groups() == 1u);
  SetFigures f = compute_figures(s, std::nullopt, TieRule::accept, Positive::attack);
  // Two operating points, accept all (FAR 1, FRR 0) or reject all (FAR 0, FRR 1):
  // equally far from equal; the lower threshold wins.
  BOOST_TEST(close(f.eer, 0.5));
  BOOST_TEST(f.eer_threshold == 0.5f);
  BOOST_TEST(close(f.at_threshold.apcer, 1.0));
  BOOST_TEST(close(f.at_threshold.bpcer, 0.0));
  BOOST_TEST(close(f.auc, 0.5));
  BOOST_TEST(close(f.bpcer_n[0], 1.0));
  SetFigures r = compute_figures(s, 0.5f, TieRule::reject, Positive::attack);
  BOOST_TEST(close(r.at_threshold.apcer, 0.0));
  BOOST_TEST(close(r.at_threshold.bpcer, 1.0));
  BOOST_TEST(r.eer_threshold < 0.5f);  // "reject nothing" under the reject rule
}

BOOST_AUTO_TEST_CASE(a_single_bona_fide) {
  SortedScores s = sorted({{0.6f, 0}, {0.1f, 1}, {0.2f, 1}, {0.7f, 1}}, 1);
  SetFigures f = compute_figures(s, std::nullopt, TieRule::accept, Positive::attack);
  BOOST_TEST(f.eer_threshold == 0.6f);
  BOOST_TEST(close(f.at_threshold.apcer, 1.0 / 3));
  BOOST_TEST(close(f.at_threshold.bpcer, 0.0));
  BOOST_TEST(close(f.eer, 1.0 / 6));
  BOOST_TEST(close(f.auc, 2.0 / 3));
  for (const auto& t : f.tpr_at_fpr) BOOST_TEST(!t.has_value());
  SetFigures live = compute_figures(s, std::nullopt, TieRule::accept, Positive::live);
  for (const auto& t : live.tpr_at_fpr) BOOST_TEST(!t.has_value());  // 3 attacks < 100
}

BOOST_AUTO_TEST_CASE(bpcer10_and_bpcer20_need_every_type_within_bounds) {
  std::vector<S> v;
  for (float x : {0.05f, 0.15f, 0.25f, 0.35f, 0.45f, 0.55f, 0.595f, 0.65f, 0.75f, 0.85f, 0.95f}) v.push_back({x, 0});
  for (int k = 1; k <= 20; ++k) v.push_back({k / 100.0f, 1});         // print 0.01 .. 0.20
  for (int k = 1; k <= 10; ++k) v.push_back({0.5f + k / 100.0f, 2});  // replay 0.51 .. 0.60
  SortedScores s = sorted(v, 2);
  // N = 10: print may keep 2 accepted, replay 1: reject replay's 0.59 -> tau = 0.595,
  // and six bona fide fall below it.
  SetFigures f = compute_figures(s, std::nullopt, TieRule::accept, Positive::attack);
  BOOST_TEST(f.bpcer_n_threshold[0] == 0.595f);
  BOOST_TEST(close(f.bpcer_n[0], 6.0 / 11));
  // N = 20: replay may keep none: reject 0.60 too, and the bona fide at 0.595 with it.
  BOOST_TEST(f.bpcer_n_threshold[1] == 0.65f);
  BOOST_TEST(close(f.bpcer_n[1], 7.0 / 11));
  // The APCER bound holds per type at those cuts, and fails one group lower.
  for (int k = 0; k < 2; ++k) {
    size_t cut = bpcer_n_cut(s, kBpcerN[k]);
    OperatingPoint p = operating_point(s, cut, TieRule::accept);
    BOOST_TEST(p.apcer <= 1.0 / kBpcerN[k] + kEps);
    BOOST_TEST(operating_point(s, cut - 1, TieRule::accept).apcer > 1.0 / kBpcerN[k]);
  }
}

BOOST_AUTO_TEST_CASE(tpr_at_fpr_on_the_step_roc) {
  // Exact dyadic scores: live (512 + k) / 1024 for k < 200, attacks (200 + 4j) / 1024, j < 100.
  std::vector<S> v;
  for (int k = 0; k < 200; ++k) v.push_back({(512 + k) / 1024.0f, 0});
  for (int j = 0; j < 100; ++j) v.push_back({(200 + 4 * j) / 1024.0f, 1});
  SortedScores s = sorted(v, 1);
  // Positive attack: FPR <= 1% allows 2 of 200 bona fide rejected; the attacks below
  // 514/1024 are j <= 78: TPR 79/100. FPR 1e-3 needs 1000 bona fide: undefined.
  auto a = tpr_at_fpr(s, Positive::attack);
  BOOST_TEST(a[0].has_value());
  BOOST_TEST(close(*a[0], 0.79));
  BOOST_TEST(!a[1].has_value());
  BOOST_TEST(!a[2].has_value());
  // Positive live: exactly 100 attacks, so 1e-2 is resolvable: one attack (596) may be
  // accepted; the lowest such cut accepts scores >= 593/1024: 119 bona fide.
  auto l = tpr_at_fpr(s, Positive::live);
  BOOST_TEST(close(*l[0], 119.0 / 200));
  BOOST_TEST(!l[1].has_value());
  // 99 bona fide: 1e-2 is beyond the data's resolution.
  std::vector<S> few(v.begin() + 101, v.end());
  BOOST_TEST(!tpr_at_fpr(sorted(few, 1), Positive::attack)[0].has_value());
  // Perfect separation: TPR 1 at every resolvable FPR, including FPR 0 exactly.
  std::vector<S> perfect;
  for (int k = 0; k < 100; ++k) perfect.push_back({0.9f, 0});
  for (int k = 0; k < 50; ++k) perfect.push_back({0.1f, 1});
  BOOST_TEST(close(*tpr_at_fpr(sorted(perfect, 1), Positive::attack)[0], 1.0));
}

BOOST_AUTO_TEST_CASE(auc_equals_a_brute_force_pair_count) {
  std::mt19937_64 rng(2024);
  for (int trial = 0; trial < 40; ++trial) {
    int n = 2 + static_cast<int>(rng() % 300);
    std::vector<S> v = random_scores(rng, n, 50, 0.3f);
    SortedScores s = sorted(v, 2);
    std::vector<uint32_t> w = random_weights(rng, v.size(), 4);
    const SampleWeights sorted_w = s.sample_weights(w);
    for (const std::vector<uint32_t>* weights :
         {static_cast<const std::vector<uint32_t>*>(nullptr), static_cast<const std::vector<uint32_t>*>(&w)}) {
      double wins = 0, pairs = 0;
      for (size_t i = 0; i < v.size(); ++i)
        for (size_t j = 0; j < v.size(); ++j) {
          if (v[i].type != 0 || v[j].type == 0) continue;
          double m = weights ? double((*weights)[i]) * (*weights)[j] : 1.0;
          pairs += m;
          wins += m * (v[i].score > v[j].score ? 1.0 : v[i].score == v[j].score ? 0.5 : 0.0);
        }
      BOOST_TEST(close(auc(s, weights ? &sorted_w : nullptr), wins / pairs, 1e-12), "trial " << trial);
    }
  }
}

BOOST_AUTO_TEST_CASE(one_sweep_figures_equal_the_separate_sweeps) {
  // compute_figures finds the EER cut, the AUC and TPR@FPR in one sweep: the same
  // numbers as the separate functions, with and without bootstrap weights.
  std::mt19937_64 rng(31);
  for (int trial = 0; trial < 20; ++trial) {
    const int n = 50 + static_cast<int>(rng() % 20000);
    std::vector<S> v = random_scores(rng, n, 997, 0.5f);
    SortedScores s = sorted(v, 2);
    std::vector<uint32_t> m = random_weights(rng, v.size(), 3);
    const SampleWeights w = s.sample_weights(m);
    for (const SampleWeights* weights : {static_cast<const SampleWeights*>(nullptr), &w})
      for (Positive positive : {Positive::attack, Positive::live}) {
        SetFigures f = compute_figures(s, std::nullopt, TieRule::accept, positive, weights);
        BOOST_TEST(f.auc == auc(s, weights));
        BOOST_TEST(f.eer_threshold == operating_point(s, eer_cut(s, weights), TieRule::accept, weights).threshold);
        auto t = tpr_at_fpr(s, positive, weights);
        for (size_t k = 0; k < t.size(); ++k) BOOST_TEST((f.tpr_at_fpr[k] == t[k]), "trial " << trial << " k " << k);
      }
  }
}

BOOST_AUTO_TEST_CASE(eer_and_min_hter_against_a_scan_of_every_threshold) {
  std::mt19937_64 rng(99);
  for (int trial = 0; trial < 30; ++trial) {
    std::vector<S> v;
    int n = 4 + static_cast<int>(rng() % 80);
    for (int i = 0; i < n; ++i) v.push_back({static_cast<float>(rng() % 20), static_cast<int16_t>(i % 2 ? 1 : 0)});
    SortedScores s = sorted(v, 1);
    // Brute force: every distinct score and +inf as tau, tie accept.
    std::vector<float> taus;
    for (const auto& x : v) taus.push_back(x.score);
    taus.push_back(1e9f);
    double best_diff = 1e9, best_eer = 0, best_hter = 1e9;
    for (float tau : taus) {
      double acc = 0, att = 0, rej = 0, live = 0;
      for (const auto& x : v) {
        if (x.type) {
          ++att;
          acc += x.score >= tau;
        } else {
          ++live;
          rej += x.score < tau;
        }
      }
      double far = acc / att, frr = rej / live;
      if (std::abs(far - frr) < best_diff - 1e-12 ||
          (std::abs(std::abs(far - frr) - best_diff) <= 1e-12 && (far + frr) / 2 < best_eer))
        best_diff = std::abs(far - frr), best_eer = (far + frr) / 2;
      best_hter = std::min(best_hter, (far + frr) / 2);
    }
    BOOST_TEST(close(operating_point(s, eer_cut(s), TieRule::accept).hter, best_eer, 1e-12), "trial " << trial);
    BOOST_TEST(close(operating_point(s, min_hter_cut(s), TieRule::accept).hter, best_hter, 1e-12), "trial " << trial);
  }
}

BOOST_AUTO_TEST_CASE(empty_classes_are_errors) {
  expect_error(
      [] {
        require_both_classes(sorted({{0.5f, 0}, {0.6f, 0}}, 1), "x.tsv");
      },
      ExitCode::bad_input, {"x.tsv", "no attack sample among 2 bona fide"});
  expect_error(
      [] {
        require_both_classes(sorted({{0.5f, 1}}, 1), "y.tsv");
      },
      ExitCode::bad_input, {"y.tsv", "no bona fide"});
  expect_error([] { require_both_classes(sorted({}, 1), "z.tsv"); }, ExitCode::bad_input, {"z.tsv", "no scores"});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(bootstrap)

BOOST_AUTO_TEST_CASE(percentile_and_uniform_draws) {
  BOOST_TEST(percentile({4, 1, 3, 2}, 0.25) == 1.75);  // numpy.percentile([1,2,3,4], 25)
  BOOST_TEST(percentile({5}, 0.975) == 5.0);
  BOOST_TEST(percentile({1, 2}, 1.0) == 2.0);
  BOOST_TEST(uniform_below(~0ull, 7) == 6u);
  BOOST_TEST(uniform_below(0, 7) == 0u);
}

BOOST_AUTO_TEST_CASE(intervals_are_deterministic_and_independent_of_threads) {
  // 40 videos of 3 frames each: 15 bona fide, 15 print, 10 replay.
  std::vector<float> score;
  std::vector<int16_t> cls;
  std::vector<uint32_t> unit;
  std::mt19937_64 rng(5);
  for (uint32_t video = 0; video < 40; ++video) {
    int16_t c = video < 15 ? 0 : video < 30 ? 1 : 2;
    for (int f = 0; f < 3; ++f) {
      score.push_back((c == 0 ? 0.6f : 0.35f) + static_cast<float>(rng() % 1000) / 2500.0f);
      cls.push_back(c);
      unit.push_back(video);
    }
  }
  SortedScores s(score, cls, 2, unit, 40);
  std::vector<std::string> names{"bona fide", "print", "replay"};
  BootstrapOptions o;
  o.replicates = 200;
  o.seed = 11;
  o.threads = 1;
  auto one = bootstrap_intervals(s, 0.6f, TieRule::accept, Positive::attack, names, o);
  o.threads = 3;
  auto three = bootstrap_intervals(s, 0.6f, TieRule::accept, Positive::attack, names, o);
  BOOST_TEST(one.size() == three.size());
  for (const auto& [k, v] : one) {
    BOOST_TEST(v.first == three.at(k).first, k);
    BOOST_TEST(v.second == three.at(k).second, k);
  }
  o.seed = 12;
  auto other = bootstrap_intervals(s, 0.6f, TieRule::accept, Positive::attack, names, o);
  BOOST_TEST((other.at("auc") != one.at("auc")));
  // The interval brackets the estimate, and the fixed threshold stays fixed.
  SetFigures f = compute_figures(s, 0.6f, TieRule::accept, Positive::attack);
  BOOST_TEST(one.at("auc").first <= f.auc);
  BOOST_TEST(f.auc <= one.at("auc").second);
  BOOST_TEST(one.at("auc").first < one.at("auc").second);
  BOOST_TEST(one.count("threshold") == 0u);  // held fixed
  auto own = bootstrap_intervals(s, std::nullopt, TieRule::accept, Positive::attack, names, o);
  BOOST_TEST(own.at("threshold").first < own.at("threshold").second);  // re-estimated per replicate
  BOOST_TEST(one.count("apcer_per_attack.replay") == 1u);
  BOOST_TEST(one.count("tpr_at_fpr.1e-2") == 0u);  // undefined: 45 bona fide frames
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(formats)

BOOST_AUTO_TEST_CASE(json_writer_escapes_and_nests) {
  BOOST_TEST(JsonWriter::quote("a\"b\\c\n\t\x01") == "\"a\\\"b\\\\c\\n\\t\\u0001\"");
  BOOST_TEST(JsonWriter::quote("caf\xc3\xa9") == "\"caf\xc3\xa9\"");             // valid UTF-8 kept
  BOOST_TEST(JsonWriter::quote("bad\xff") == "\"bad\\ufffd\"");                  // invalid byte replaced
  BOOST_TEST(JsonWriter::quote("\xed\xa0\x80") == "\"\\ufffd\\ufffd\\ufffd\"");  // surrogate
  JsonWriter j;
  j.begin_object().field("a", 1).field("b", std::nan("")).key("c").begin_array().value(0.5).value(0.7f).end_array();
  j.key("d").begin_object().end_object().field("e", std::optional<double>()).end_object();
  BOOST_TEST(j.str() ==
             "{\n  \"a\": 1,\n  \"b\": null,\n  \"c\": [\n    0.5,\n    0.7\n  ],\n  \"d\": {},\n  \"e\": null\n}\n");
  JsonWriter bad;
  bad.begin_object();
  BOOST_CHECK_THROW(bad.str(), RuntimeFailure);
}

BOOST_AUTO_TEST_CASE(score_tsv_round_trips_exactly) {
  ScoreSet s;
  s.attack_names = {"bona fide", "print", "replay\tscreen"};
  std::mt19937_64 rng(3);
  for (int i = 0; i < 500; ++i) {
    uint32_t bits = static_cast<uint32_t>(rng());
    float x;
    std::memcpy(&x, &bits, 4);
    if (!std::isfinite(x)) x = 1e-30f * i;
    s.score.push_back(i % 3 == 0 ? x : static_cast<float>(rng() % 100000) / 99999.0f);
    s.label.push_back(i % 2 ? kAttack : kLive);
    s.attack.push_back(i % 2 ? int16_t(1 + i % 4 / 2) : int16_t(0));
    s.video.push_back(i == 7 ? "odd\\name\nwith\rbreaks" : "v" + std::to_string(i / 5));
    s.source.push_back("dir/é" + std::to_string(i) + ".png");
  }
  std::stringstream io;
  write_score_tsv(io, s);
  BOOST_TEST(io.str().rfind(std::string(kScoreTsvHeader) + "\n", 0) == 0u);
  ScoreSet back = read_score_tsv(io, "mem");
  BOOST_TEST(back.score == s.score);  // bit for bit: the shortest round-trip decimal
  BOOST_TEST(back.label == s.label);
  BOOST_TEST(back.video == s.video);
  BOOST_TEST(back.source == s.source);
  for (size_t i = 0; i < s.size(); ++i) BOOST_TEST(back.attack_names[back.attack[i]] == s.attack_names[s.attack[i]]);
  std::string un;
  BOOST_TEST(tsv_unescape(tsv_escape("a\\b\tc\nd\re"), un));
  BOOST_TEST(un == "a\\b\tc\nd\re");
  BOOST_TEST(!tsv_unescape("a\\x", un));
  BOOST_TEST(!tsv_unescape("a\\", un));
}

BOOST_AUTO_TEST_CASE(malformed_tsv_lines_are_errors_naming_the_line) {
  const std::string h = std::string(kScoreTsvHeader) + "\n";
  auto read = [](const std::string& text) {
    std::istringstream in(text);
    read_score_tsv(in, "scores.tsv", [](const ScoreTsvRow&) {});
  };
  auto bad = [&](const std::string& text, std::vector<std::string> needles) {
    needles.insert(needles.begin(), "scores.tsv");
    expect_error([&] { read(text); }, ExitCode::bad_input, needles);
  };
  bad("", {"line 1", "empty input"});
  bad("source,video,attack_type,label,score\n", {"line 1", "expected the header"});
  bad(h + "a\tv\t\tlive\t0.5\nb\tv\t\tlive\n", {"line 3", "expected 5 tab-separated fields", "found 4"});
  bad(h + "a\tv\t\tlive\t0.5\t9\n", {"line 2", "found 6"});
  bad(h + "a\tv\t\treal\t0.5\n", {"line 2", "label 'real' is neither"});
  bad(h + "a\tv\t\tlive\tabc\n", {"line 2", "score 'abc' is not a number"});
  bad(h + "a\tv\t\tlive\t0.5x\n", {"line 2", "not a number"});
  bad(h + "a\tv\t\tlive\t\n", {"line 2", "not a number"});
  bad(h + "a\tv\t\tlive\tnan\n", {"line 2", "not finite"});
  bad(h + "a\tv\t\tlive\tinf\n", {"line 2", "not finite"});
  bad(h + "a\tv\tprint\tlive\t0.5\n", {"line 2", "live sample has attack type 'print'"});
  bad(h + "a\tv\t\tattack\t0.5\n", {"line 2", "attack sample has no attack type"});
  bad(h + "a\\q\tv\t\tlive\t0.5\n", {"line 2", "source field has a malformed escape"});
  // CRLF line ends are accepted.
  BOOST_CHECK_NO_THROW(read("source\tvideo\tattack_type\tlabel\tscore\r\na\tv\t\tlive\t0.5\r\n"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(evaluation)

BOOST_AUTO_TEST_CASE(dev_threshold_applied_to_test) {
  ScratchDir dir("eval-dev");
  // Dev: live 0.6 0.8, print 0.2 0.7 -> EER cut rejects {0.2, 0.6}: tau 0.7, dev EER 1/2;
  // least HTER rejects {0.2}: tau 0.6 (HTER 1/4, lower threshold of two minima).
  std::string dev =
      write_tsv(dir, "dev.tsv", {{"d1", "", 0.6f}, {"d2", "", 0.8f}, {"d3", "print", 0.2f}, {"d4", "print", 0.7f}});
  std::string test =
      write_tsv(dir, "test.tsv", {{"t1", "", 0.65f}, {"t2", "", 0.9f}, {"t3", "print", 0.1f}, {"t4", "print", 0.7f}});
  Evaluation e = evaluate(options_for({test}, {dev}), 0, 1);
  const TestReport& t = e.tests.at(0);
  BOOST_TEST(t.threshold_source == "dev-eer");
  BOOST_TEST(t.figures.at_threshold.threshold == 0.7f);
  BOOST_TEST(close(t.dev->eer, 0.5));
  BOOST_TEST(close(value(t, "apcer"), 0.5));  // 0.7 >= 0.7 is accepted
  BOOST_TEST(close(value(t, "bpcer"), 0.5));  // 0.65 < 0.7 is rejected
  EvalOptions o = options_for({test}, {dev});
  o.threshold = "min-hter";
  Evaluation m = evaluate(o, 0, 1);
  BOOST_TEST(m.tests[0].threshold_source == "dev-min-hter");
  BOOST_TEST(m.tests[0].figures.at_threshold.threshold == 0.6f);
  BOOST_TEST(close(value(m.tests[0], "bpcer"), 0.0));
  o.threshold = "0.66";
  o.dev.clear();
  Evaluation fixed = evaluate(o, 0, 1);
  BOOST_TEST(fixed.tests[0].threshold_source == "fixed");
  BOOST_TEST(close(value(fixed.tests[0], "bpcer"), 0.5));
  BOOST_TEST(render_table(fixed).find("THRESHOLD FROM THE TEST SET ITSELF") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(without_dev_the_test_eer_threshold_is_said_in_capitals) {
  ScratchDir dir("eval-nodev");
  std::string test = write_mixed_test(dir);
  Evaluation e = evaluate(options_for({test}), 0, 1);
  BOOST_TEST(e.tests[0].threshold_source == "test-eer");
  BOOST_TEST(e.tests[0].figures.at_threshold.threshold == 0.8f);
  BOOST_TEST(render_table(e).find("THRESHOLD FROM THE TEST SET ITSELF (NO --dev)") != std::string::npos);
  std::string json = render_json(e);
  BOOST_TEST(json.find("\"threshold_source\": \"test-eer\"") != std::string::npos);
  BOOST_TEST(json.find("\"warning\": \"THRESHOLD FROM THE TEST SET ITSELF") != std::string::npos);
  BOOST_TEST(json.find("\"apcer_per_attack\": {\n    \"print\": 0,\n    \"replay\": 0.5\n  }") != std::string::npos);
  BOOST_TEST(json.find("\"1e-2\": null") != std::string::npos);
  std::string tsv_out = render_tsv(e);
  BOOST_TEST(tsv_out.find("\twarning\tTHRESHOLD FROM THE TEST SET ITSELF") != std::string::npos);
  BOOST_TEST(tsv_out.find("\tapcer_per_attack.replay\t0.5\t") != std::string::npos);
  BOOST_TEST(tsv_out.find("\ttpr_at_fpr.1e-2\tNA\t") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(video_mean_aggregation) {
  ScratchDir dir("eval-video");
  // Dyadic scores, so the means are exact: live v1 0.5, v2 0.6875; print v3 0.3125,
  // v4 0.625; replay v5 0.3125.
  std::vector<Row> rows{{"v1", "", 0.875f},      {"v1", "", 0.125f},      {"v2", "", 0.75f},     {"v2", "", 0.625f},
                        {"v3", "print", 0.625f}, {"v3", "print", 0.0f},   {"v4", "print", 0.5f}, {"v4", "print", 0.75f},
                        {"v5", "replay", 0.25f}, {"v5", "replay", 0.375f}};
  std::string test = write_tsv(dir, "test.tsv", rows);
  EvalOptions o = options_for({test});
  o.aggregate = "video-mean";
  Evaluation e = evaluate(o, 0, 1);
  const TestReport& t = e.tests[0];
  BOOST_TEST(t.video_level);
  BOOST_TEST((t.figures.totals == std::vector<int64_t>{2, 2, 1}));
  BOOST_TEST(t.frames == 10);
  // EER cut rejects {0.3125, 0.5}: tau 0.625, FAR 1/3, FRR 1/2.
  BOOST_TEST(t.figures.at_threshold.threshold == 0.625f);
  BOOST_TEST(close(value(t, "eer"), 5.0 / 12));
  BOOST_TEST(close(value(t, "apcer"), 0.5));
  BOOST_TEST(close(value(t, "apcer_per_attack.replay"), 0.0));
  BOOST_TEST(close(value(t, "bpcer"), 0.5));
  BOOST_TEST(close(value(t, "auc"), 5.0 / 6));
  // Frame level differs (10 samples, not 5).
  Evaluation frames = evaluate(options_for({test}), 0, 1);
  BOOST_TEST((frames.tests[0].figures.totals == std::vector<int64_t>{4, 4, 2}));
  BOOST_TEST(!close(value(frames.tests[0], "auc"), 5.0 / 6));
  // A row without a video name cannot be aggregated.
  rows.push_back({"", "", 0.5f});
  std::string holes = write_tsv(dir, "holes.tsv", rows);
  o.test = {holes};
  expect_error([&] { evaluate(o, 0, 1); }, ExitCode::bad_input, {"holes.tsv", "line 12", "no video name"});
  // A video of two classes is not one presentation.
  rows.back() = {"v1", "print", 0.5f};
  std::string mixed = write_tsv(dir, "mixed.tsv", rows);
  o.test = {mixed};
  expect_error([&] { evaluate(o, 0, 1); }, ExitCode::bad_input,
               {"mixed.tsv", "line 12", "video 'v1' mixes classes", "line 2"});
}

BOOST_AUTO_TEST_CASE(several_test_sets_give_mean_and_sample_std) {
  ScratchDir dir("eval-several");
  std::string a = write_tsv(dir, "a.tsv", {{"1", "", 0.9f}, {"2", "print", 0.8f}, {"3", "print", 0.1f}});
  std::string b = write_tsv(dir, "b.tsv", {{"1", "", 0.9f}, {"2", "print", 0.2f}, {"3", "print", 0.1f}});
  EvalOptions o = options_for({a, b});
  o.threshold = "0.5";
  Evaluation e = evaluate(o, 0, 1);
  BOOST_TEST(e.tests.size() == 2u);
  auto s =
      std::find_if(e.summary.begin(), e.summary.end(), [](const SummaryFigure& x) { return x.figure.key == "apcer"; });
  BOOST_TEST(close(*s->figure.value, 0.25));
  BOOST_TEST(close(*s->std, std::sqrt(0.125)));  // n - 1 in the denominator
  BOOST_TEST(s->n == 2);
  std::string json = render_json(e);
  BOOST_TEST(json.find("\"tests\": [") != std::string::npos);
  BOOST_TEST(json.find("\"std\": {") != std::string::npos);
  BOOST_TEST(render_table(e).find("mean ± std") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(convention_mismatches_are_errors) {
  ScratchDir dir("eval-conv");
  std::vector<FileRow> rows{{0.9f, 0, "a"}, {0.7f, 0, "b"}, {0.2f, 1, "c"}, {0.6f, 2, "d"}};
  write_score_file(dir.file("dev.h5"), rows, {{kShardModelHash, std::string("model-A")}});
  write_score_file(dir.file("test.h5"), rows, {{kShardModelHash, std::string("model-B")}});
  expect_error([&] { evaluate(options_for({dir.file("test.h5")}, {dir.file("dev.h5")}), 0, 1); }, ExitCode::bad_input,
               {"test.h5", "model_hash", "'model-B' differs from 'model-A'"});
  // Different attack types: an error unless allowed (leave-one-out protocols).
  write_score_file(dir.file("test2.h5"), {{0.9f, 0, "a"}, {0.2f, 1, "c"}, {0.6f, 3, "d"}}, {},
                   {"bona fide", "print", "replay", "mask"});
  expect_error(
      [&] { evaluate(options_for({dir.file("test2.h5")}, {dir.file("dev.h5")}), 0, 1); }, ExitCode::bad_input,
      {"test2.h5", "attack types differ", "only in dev: replay", "only in test: mask", "--allow-attack-mismatch"});
  EvalOptions o = options_for({dir.file("test2.h5")}, {dir.file("dev.h5")});
  o.allow_attack_mismatch = true;
  BOOST_CHECK_NO_THROW(evaluate(o, 0, 1));
  // Different score semantics recorded in the files.
  write_score_file(dir.file("flipped.h5"), rows);
  {
    h5::File f = h5::File::open_rw(dir.file("flipped.h5"));
    f.dataset("score").set_attr("meaning", "P(attack): higher = more attack");
  }
  expect_error([&] { evaluate(options_for({dir.file("flipped.h5")}, {dir.file("test2.h5")}), 0, 1); },
               ExitCode::bad_input, {"flipped.h5", "/score attribute meaning", "P(attack)"});
  // Dev sets without one of the classes.
  write_score_file(dir.file("nolive.h5"), {{0.2f, 1, "c"}, {0.6f, 2, "d"}});
  write_score_file(dir.file("noattack.h5"), {{0.2f, 0, "c"}, {0.6f, 0, "d"}});
  expect_error([&] { evaluate(options_for({dir.file("test.h5")}, {dir.file("nolive.h5")}), 0, 1); },
               ExitCode::bad_input, {"nolive.h5 (dev)", "no bona fide"});
  expect_error([&] { evaluate(options_for({dir.file("test.h5")}, {dir.file("noattack.h5")}), 0, 1); },
               ExitCode::bad_input, {"noattack.h5 (dev)", "no attack sample"});
  expect_error([&] { evaluate(options_for({dir.file("noattack.h5")}), 0, 1); }, ExitCode::bad_input,
               {"noattack.h5 (test)", "no attack sample"});
}

BOOST_AUTO_TEST_CASE(bad_score_files_are_errors_naming_the_row) {
  ScratchDir dir("eval-bad");
  write_score_file(dir.file("nan.h5"), {{0.9f, 0, "a"}, {std::nanf(""), 1, "b"}});
  expect_error([&] { read_eval_set(dir.file("nan.h5"), false); }, ExitCode::bad_input, {"nan.h5", "/score[1]", "nan"});
  write_score_file(dir.file("inf.h5"), {{0.9f, 0, "a"}, {INFINITY, 1, "b"}});
  expect_error([&] { read_eval_set(dir.file("inf.h5"), false); }, ExitCode::bad_input, {"/score[1]", "inf"});
  write_score_file(dir.file("mislabelled.h5"), {{0.9f, 0, "a"}, {0.1f, 1, "b"}});
  {
    h5::File f = h5::File::open_rw(dir.file("mislabelled.h5"));
    std::vector<int8_t> label{kLive, kLive};
    f.dataset("label").write_rows(0, 2, label.data());
  }
  expect_error([&] { read_eval_set(dir.file("mislabelled.h5"), false); }, ExitCode::bad_input,
               {"/attack[1]", "live sample (/label 1) has attack type 1 'print'"});
  {
    ScoreWriter w(dir.file("features.h5"), 2, false);
    float feat[2] = {1, 2};
    w.append(ScoreRow{}, feat);
    w.commit();
  }
  expect_error([&] { read_eval_set(dir.file("features.h5"), false); }, ExitCode::bad_input,
               {"/score", "features only"});
  test::write_text(dir.file("junk.bin"), std::string("\x01\x02garbage", 9));
  expect_error([&] { read_eval_set(dir.file("junk.bin"), false); }, ExitCode::bad_input,
               {"junk.bin", "line 1", "expected the header"});
  expect_error([&] { read_eval_set(dir.file("absent.h5"), false); }, ExitCode::bad_input, {"absent.h5", "cannot open"});
  // HDF5 and TSV inputs of the same scores evaluate alike.
  write_score_file(dir.file("same.h5"), {{0.9f, 0, "a"}, {0.3f, 1, "b"}, {0.6f, 2, "c"}, {0.5f, 0, "d"}});
  test::write_text(dir.file("same.tsv"),
                   tsv({{"a", "", 0.9f}, {"b", "print", 0.3f}, {"c", "replay", 0.6f}, {"d", "", 0.5f}}));
  auto h = evaluate(options_for({dir.file("same.h5")}), 0, 1), t = evaluate(options_for({dir.file("same.tsv")}), 0, 1);
  for (size_t k = 0; k < h.tests[0].named.size(); ++k)
    BOOST_TEST((h.tests[0].named[k].value == t.tests[0].named[k].value), h.tests[0].named[k].key);
}

BOOST_AUTO_TEST_CASE(usage_errors) {
  auto usage = [](EvalOptions o, const std::string& needle) {
    expect_error([&] { Conventions::from(o, 0); }, ExitCode::bad_input, {needle});
  };
  usage(options_for({"a", "b", "c"}, {"d", "e"}), "one per test set (3 test sets, 2 dev sets)");
  EvalOptions o = options_for({"a"}, {"d"});
  o.threshold = "0.5";
  usage(o, "--dev has no use with a numeric --threshold");
  o = options_for({"a"});
  o.threshold = "min-hter";
  usage(o, "give --dev");
  o.threshold = "half";
  usage(o, "'half' is not dev-eer, min-hter, test-eer or a finite number");
  o.threshold = "nan";
  usage(o, "finite");
  usage(options_for({"-"}, {"-"}), "stdin");
  o = options_for({"a"});
  o.bootstrap = 1;
  usage(o, "at least 2");
  // dev-eer without a dev set falls back to the test set's own threshold, and says why.
  BOOST_TEST((Conventions::from(options_for({"a"}), 0).rule == Conventions::ThresholdRule::test_eer));
  BOOST_TEST(Conventions::from(options_for({"a"}), 0).test_eer_without_dev);
  BOOST_TEST((Conventions::from(options_for({"a"}, {"d"}), 0).rule == Conventions::ThresholdRule::dev_eer));
  o = options_for({"a", "b", "c"}, {"d", "e"});  // dev sets are not paired when ignored
  o.threshold = "test-eer";
  BOOST_TEST(Conventions::from(o, 0).dev_ignored);
  BOOST_TEST(!Conventions::from(o, 0).test_eer_without_dev);
  o = options_for({"a"});
  o.threshold = "0.7";
  BOOST_TEST(Conventions::from(o, 0).fixed_threshold == 0.7f);  // rounded to float32, like the scores
}

BOOST_AUTO_TEST_CASE(several_modalities_are_refused_unless_pooled) {
  ScratchDir dir("eval-modalities");
  const Modality rgb = Modality::rgb, depth = Modality::depth;
  std::vector<FileRow> rows{
      {0.9f, 0, "a", rgb}, {0.2f, 1, "b", rgb}, {0.8f, 0, "c", depth}, {0.4f, 1, "d", depth}, {0.6f, 0, "e", depth}};
  write_score_file(dir.file("mixed.h5"), rows);
  rows.resize(2);
  write_score_file(dir.file("rgb.h5"), rows);
  const std::vector<std::string> needles{
      "mixed.h5", "/modality", "2 modalities", "rgb 2, depth 3", "fas-embed --modality rgb", "--pool-modalities"};
  expect_error([&] { evaluate(options_for({dir.file("mixed.h5")}), 0, 1); }, ExitCode::bad_input, needles);
  expect_error([&] { evaluate(options_for({dir.file("rgb.h5")}, {dir.file("mixed.h5")}), 0, 1); }, ExitCode::bad_input,
               {"mixed.h5", "the dev set holds 2 modalities"});
  // One modality: nothing to pool, and the reports name it.
  Evaluation one = evaluate(options_for({dir.file("rgb.h5")}), 0, 1);
  BOOST_TEST((one.tests[0].modalities == std::map<int8_t, int64_t>{{0, 2}}));
  BOOST_TEST(render_json(one).find("\"pool_modalities\": false") != std::string::npos);
  BOOST_TEST(render_table(one).find("MODALITIES POOLED") == std::string::npos);
  // Asked for: evaluated as one set, and every format says so.
  EvalOptions o = options_for({dir.file("mixed.h5")});
  o.pool_modalities = true;
  Evaluation e = evaluate(o, 0, 1);
  BOOST_TEST((e.tests[0].figures.totals == std::vector<int64_t>{3, 2}));
  BOOST_TEST(render_table(e).find("*** MODALITIES POOLED (--pool-modalities)") != std::string::npos);
  BOOST_TEST(render_table(e).find("modalities (rows): rgb 2, depth 3") != std::string::npos);
  const std::string json = render_json(e);
  BOOST_TEST(json.find("\"pool_modalities\": true") != std::string::npos);
  BOOST_TEST(json.find("\"modalities\": {\n    \"rgb\": 2,\n    \"depth\": 3\n  }") != std::string::npos);
  const std::string tsv_out = render_tsv(e);
  BOOST_TEST(tsv_out.find("*\tpool_modalities\ttrue\t") != std::string::npos);
  BOOST_TEST(tsv_out.find("\tmodality.depth\t3\t") != std::string::npos);
  BOOST_TEST(tsv_out.find("*\tconvention.modalities\tPOOLED") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(video_mean_averages_within_one_modality) {
  ScratchDir dir("eval-video-modality");
  // Video "v1" (bona fide) and "v2" (print) in RGB and Depth. Within each modality: live
  // 0.875 (RGB) and 0.125 (Depth), print 0.375 in both: AUC 1/2. Averaging a video's
  // modalities together would give live 0.5 against print 0.375: AUC 1.
  const Modality rgb = Modality::rgb, depth = Modality::depth;
  std::vector<FileRow> rows{{0.875f, 0, "v1", rgb},   {0.875f, 0, "v1", rgb},  {0.125f, 0, "v1", depth},
                            {0.25f, 1, "v2", rgb},    {0.5f, 1, "v2", rgb},    {0.375f, 1, "v2", depth},
                            {0.125f, 0, "v1", depth}, {0.375f, 1, "v2", depth}};
  write_score_file(dir.file("both.h5"), rows);
  EvalOptions o = options_for({dir.file("both.h5")});
  o.aggregate = "video-mean";
  o.pool_modalities = true;
  Evaluation e = evaluate(o, 0, 1);
  const TestReport& t = e.tests[0];
  BOOST_TEST((t.figures.totals == std::vector<int64_t>{2, 2}));  // four videos, not two
  BOOST_TEST(t.units == 4);
  BOOST_TEST(close(value(t, "auc"), 0.5));
  BOOST_TEST((t.modalities == std::map<int8_t, int64_t>{{0, 2}, {1, 2}}));  // videos per modality
  // The video-level set names a video with its modality when it holds several.
  EvalSet frames = read_eval_set(dir.file("both.h5"), true);
  EvalSet videos = aggregate_video_mean(frames);
  BOOST_TEST(videos.size() == 4u);
  BOOST_TEST(videos.record(1) == "video 'v1' (depth)");  // units in order of first row
  BOOST_TEST(videos.score[1] == 0.125f);
  BOOST_TEST(render_json(e).find("mean frame score per video and modality") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(every_report_names_its_threshold_mode) {
  ScratchDir dir("eval-modes");
  std::string dev = write_tsv(
      dir, "dev.tsv",
      {{"d1", "", 0.6f}, {"d2", "", 0.8f}, {"d3", "print", 0.2f}, {"d4", "print", 0.7f}, {"d5", "replay", 0.3f}});
  std::string test = write_mixed_test(dir);
  auto check_mode = [](const Evaluation& e, const std::string& mode) {
    BOOST_TEST(e.tests[0].threshold_source == mode);
    BOOST_TEST(render_table(e).find("Threshold mode: " + mode + ":") != std::string::npos, mode);
    BOOST_TEST(render_json(e).find("\"threshold_mode\": \"" + mode + "\"") != std::string::npos, mode);
    BOOST_TEST(render_tsv(e).find("*\tthreshold_mode\t" + mode + "\t") != std::string::npos, mode);
  };
  EvalOptions o = options_for({test}, {dev});
  check_mode(evaluate(o, 0, 1), "dev-eer");
  o.threshold = "min-hter";
  check_mode(evaluate(o, 0, 1), "dev-min-hter");
  o = options_for({test});
  o.threshold = "0.5";
  check_mode(evaluate(o, 0, 1), "fixed");
  Evaluation nodev = evaluate(options_for({test}), 0, 1);
  check_mode(nodev, "test-eer");
  BOOST_TEST(render_table(nodev).find("for want of --dev") != std::string::npos);
  // Asked for with a dev set: the test set's own threshold, the dev set not even read
  // (an absent one is no error), and the reports say it was ignored.
  o = options_for({test}, {dir.file("absent.h5")});
  o.threshold = "test-eer";
  Evaluation asked = evaluate(o, 0, 1);
  check_mode(asked, "test-eer");
  BOOST_TEST(asked.tests[0].figures.at_threshold.threshold == nodev.tests[0].figures.at_threshold.threshold);
  BOOST_TEST(!asked.tests[0].dev.has_value());
  BOOST_TEST((asked.dev_ignored == std::vector<std::string>{dir.file("absent.h5")}));
  const std::string table = render_table(asked);
  BOOST_TEST(table.find("(--threshold test-eer)") != std::string::npos);
  BOOST_TEST(table.find("THRESHOLD FROM THE TEST SET ITSELF (NO --dev)") == std::string::npos);
  BOOST_TEST(table.find("the dev sets given were ignored for the threshold: " + dir.file("absent.h5")) !=
             std::string::npos);
  BOOST_TEST(render_json(asked).find("\"dev_ignored\": [") != std::string::npos);
  BOOST_TEST(render_tsv(asked).find("*\tdev_ignored\t" + dir.file("absent.h5")) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(resampling_draws_whole_subjects_within_their_strata) {
  // Six videos of three subjects; subjects 0 and 1 have a bona fide and a print video,
  // subject 2 two bona fide videos (another stratum: it is drawn once per replicate).
  const std::vector<int16_t> cls{0, 1, 0, 1, 0, 0};
  const std::vector<uint32_t> subject{0, 0, 1, 1, 2, 2};
  Resampler by_subject(cls, subject);
  BOOST_TEST(by_subject.num_clusters() == 3u);
  BOOST_TEST(by_subject.num_strata() == 2u);
  std::vector<uint32_t> m;
  bool varied = false;
  for (int r = 0; r < 200; ++r) {
    by_subject.draw(7, r, m);
    BOOST_TEST(m.size() == 6u);
    BOOST_TEST(m[0] == m[1]);  // a subject's videos go together
    BOOST_TEST(m[2] == m[3]);
    BOOST_TEST((m[4] == 1u && m[5] == 1u));  // alone in its stratum
    BOOST_TEST(m[0] + m[2] == 2u);           // two draws in the stratum of two subjects
    varied = varied || m[0] != 1u;
  }
  BOOST_TEST(varied);
  // Without subjects the videos are drawn one by one, within their class.
  Resampler by_video(cls, {});
  BOOST_TEST(by_video.num_clusters() == 6u);
  BOOST_TEST(by_video.num_strata() == 2u);
  bool split = false;
  for (int r = 0; r < 200; ++r) {
    by_video.draw(7, r, m);
    BOOST_TEST(m[1] + m[3] == 2u);  // print
    BOOST_TEST(m[0] + m[2] + m[4] + m[5] == 4u);
    split = split || m[0] != m[1];
  }
  BOOST_TEST(split);
  // Same seed and replicate, same draw.
  std::vector<uint32_t> again;
  by_subject.draw(7, 3, m);
  by_subject.draw(7, 3, again);
  BOOST_TEST((m == again));
}

BOOST_AUTO_TEST_CASE(bootstrap_resamples_subjects_or_says_it_cannot) {
  ScratchDir dir("eval-subjects");
  // Eight subjects with four bona fide and four print videos each, alike within a
  // subject: even subjects are told apart at 0.5, odd ones are wrong both ways. Videos
  // of one subject are not independent, so resampling subjects gives BPCER a wider
  // interval (sd sqrt(1/4/8)) than resampling the 32 videos (sd sqrt(1/4/32)).
  std::vector<FileRow> rows;
  std::vector<Row> tsv_rows;
  for (int32_t s = 0; s < 8; ++s)
    for (int v = 0; v < 8; ++v) {
      const bool live = v < 4;
      const float score = (s % 2 == 0) == live ? 0.875f : 0.125f;
      const std::string video = fmt::format("s{}v{}", s, v);
      rows.push_back({score, static_cast<int16_t>(live ? 0 : 1), video, Modality::depth, s});
      tsv_rows.push_back({video, live ? "" : "print", score});
    }
  write_score_file(dir.file("subjects.h5"), rows);
  std::string no_subjects = write_tsv(dir, "videos.tsv", tsv_rows);
  auto run = [](const std::string& path) {
    EvalOptions o = options_for({path});
    o.threshold = "0.5";
    o.bootstrap = 400;
    return evaluate(o, 1, 2);
  };
  Evaluation by_subject = run(dir.file("subjects.h5")), by_video = run(no_subjects);
  BOOST_TEST(by_subject.tests[0].bootstrap_units->unit() == "subject");
  BOOST_TEST(by_subject.tests[0].bootstrap_units->subjects == 8);
  BOOST_TEST(by_video.tests[0].bootstrap_units->unit() == "video");
  BOOST_TEST(by_video.tests[0].bootstrap_units->units_without_subject == 64);
  BOOST_TEST(close(value(by_subject.tests[0], "bpcer"), 0.5));
  const Interval a = by_subject.tests[0].ci.at("bpcer"), b = by_video.tests[0].ci.at("bpcer");
  BOOST_TEST_MESSAGE("BPCER 95% interval: subjects [" << a.first << ", " << a.second << "], videos [" << b.first << ", "
                                                      << b.second << "]");
  BOOST_TEST(a.second - a.first > 1.5 * (b.second - b.first));
  // The reports say which unit was resampled, and when it is not the subject.
  BOOST_TEST(render_table(by_subject).find("bootstrap resamples 8 subjects, each with all its videos") !=
             std::string::npos);
  BOOST_TEST(render_table(by_video).find("NO SUBJECT IDS RECORDED") != std::string::npos);
  BOOST_TEST(render_json(by_subject).find("\"bootstrap_unit\": \"subject\"") != std::string::npos);
  BOOST_TEST(render_tsv(by_video).find("\tbootstrap.unit\tvideo\t") != std::string::npos);
  // A video of two subjects is no one presentation.
  rows.push_back({0.875f, 0, "s0v0", Modality::depth, 5});
  write_score_file(dir.file("two.h5"), rows);
  expect_error([&] { run(dir.file("two.h5")); }, ExitCode::bad_input,
               {"two.h5", "/subject[64]", "video 's0v0' mixes subjects: 5 here, 0 at /subject[0]"});
}

BOOST_AUTO_TEST_CASE(plots_are_pngs_with_the_curves_drawn) {
  ScratchDir dir("eval-plot");
  std::vector<Row> rows;
  std::mt19937_64 rng(1);
  for (int i = 0; i < 400; ++i) {
    bool live = i % 3 == 0;
    float x = static_cast<float>(rng() % 1000) / 1000.0f;
    rows.push_back({"v" + std::to_string(i),
                    live    ? ""
                    : i % 2 ? "print"
                            : "replay",
                    live ? 0.3f + 0.7f * x : 0.7f * x});
  }
  std::string a = write_tsv(dir, "a.tsv", rows);
  for (auto& r : rows) r.score = r.type.empty() ? r.score * 0.9f : r.score;
  std::string b = write_tsv(dir, "b.tsv", rows);
  Evaluation e = evaluate(options_for({a, b}), 0, 1);
  for (PlotKind kind : {PlotKind::roc, PlotKind::det}) {
    std::string png = render_plot(e, kind);
    cv::Mat img = cv::imdecode(std::vector<uchar>(png.begin(), png.end()), cv::IMREAD_COLOR);
    BOOST_TEST(img.cols == 1000);
    BOOST_TEST(img.rows == 780);
    // Pixels of the first two curve colours (Okabe-Ito blue, vermillion), anti-aliased,
    // inside the plot area: the curves were drawn.
    auto near = [](cv::Vec3b p, cv::Vec3b c) {
      return std::abs(p[0] - c[0]) + std::abs(p[1] - c[1]) + std::abs(p[2] - c[2]) < 60;
    };
    int blue = 0, red = 0;
    for (int y = 70; y < 680; ++y)
      for (int x = 105; x < 960; ++x) {
        cv::Vec3b p = img.at<cv::Vec3b>(y, x);
        blue += near(p, {178, 114, 0});
        red += near(p, {0, 94, 213});
      }
    BOOST_TEST(blue > 800);
    BOOST_TEST(red > 800);
  }
  // A threshold below every score accepts everything: BPCER 0 (FPR 0, off the log
  // axis) and no attack detected (TPR 0, below the axis). The operating point is drawn
  // as a ring on the bottom-left corner, not clipped away: pixel (100, 684), the plot
  // area being x 100..964, y 64..684 of the 1000 x 780 image (render_plot).
  EvalOptions everything_accepted = options_for({a});
  everything_accepted.threshold = "-1";
  std::string png = render_plot(evaluate(everything_accepted, 0, 1), PlotKind::roc);
  cv::Mat img = cv::imdecode(std::vector<uchar>(png.begin(), png.end()), cv::IMREAD_COLOR);
  int ring = 0;
  for (int y = 684 - 10; y <= 684 + 10; ++y)
    for (int x = 100 - 10; x <= 100 + 10; ++x) {
      cv::Vec3b p = img.at<cv::Vec3b>(y, x);
      ring += std::abs(p[0] - 178) + std::abs(p[1] - 114) + std::abs(p[2] - 0) < 60;
    }
  BOOST_TEST_MESSAGE("marker pixels at the corner: " << ring);
  BOOST_TEST(ring > 30);
  BOOST_TEST((plot_kind_for("out/det.png", "auto") == PlotKind::det));
  BOOST_TEST((plot_kind_for("out/DET-curve.PNG", "auto") == PlotKind::det));
  BOOST_TEST((plot_kind_for("out/roc.png", "auto") == PlotKind::roc));
  BOOST_TEST((plot_kind_for("out/det.png", "roc") == PlotKind::roc));
  expect_error([] { plot_kind_for("roc.jpg", "auto"); }, ExitCode::bad_input, {"roc.jpg", ".png"});
  BOOST_TEST(close(normal_quantile(0.975), 1.959963984540054, 1e-9));
  BOOST_TEST(close(normal_quantile(0.5), 0.0, 1e-12));
  BOOST_TEST(close(normal_quantile(1e-5), -4.264890793922825, 1e-8));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(merge)

namespace {
// A score file for rows [begin, end) of a 10-row store, with features.
void write_shard(const std::string& path, int64_t begin, int64_t end, const std::string& shard,
                 const std::string& model = "m1", int64_t total = 10, const std::vector<int64_t>& extra = {}) {
  ScoreWriter w(path, 3);
  w.set_attack_names({"bona fide", "print"});
  w.set_attr(kShardModelHash, model);
  w.set_attr(kShardSamplesFingerprint, std::string("fp"));
  w.set_attr(kShardSamplesTotal, total);
  w.set_attr("dataset", std::string("unit"));
  if (!shard.empty()) w.set_attr(kShardAttr, shard);
  std::vector<int64_t> rows;
  for (int64_t i = begin; i < end; ++i) rows.push_back(i);
  rows.insert(rows.end(), extra.begin(), extra.end());
  for (int64_t i : rows) {
    ScoreRow r;
    r.index = i;
    r.score = 1.0f / static_cast<float>(i + 3);
    r.label = i % 2 ? kAttack : kLive;
    r.attack = static_cast<int16_t>(i % 2);
    r.modality = static_cast<int8_t>(i % 3);
    r.subject = static_cast<int32_t>(i / 2);
    r.video = "v" + std::to_string(i / 2);
    r.source = "img/" + std::to_string(i) + ".png";
    float feat[3] = {float(i), -float(i) / 7.0f, 0.5f};
    w.append(r, feat);
  }
  w.commit();
}

// Every dataset and every non-provenance attribute of two score files, compared.
void expect_same_file(const std::string& a, const std::string& b) {
  h5::File fa = h5::File::open(a), fb = h5::File::open(b);
  BOOST_TEST(fa.children() == fb.children());
  for (const auto& name : fa.children()) {
    h5::Dataset da = fa.dataset(name), db = fb.dataset(name);
    BOOST_TEST(h5::dtype_name(da.dtype()) == h5::dtype_name(db.dtype()), name);
    BOOST_TEST(da.shape() == db.shape(), name);
    if (da.dtype() == h5::DType::string) {
      BOOST_TEST(da.read_strings() == db.read_strings(), name);
    } else {
      std::vector<uint8_t> ba(da.rows() * da.elements_per_row() * h5::dtype_size(da.dtype()));
      std::vector<uint8_t> bb(ba.size());
      da.read_rows_as(da.dtype(), 0, da.rows(), ba.data());
      db.read_rows_as(db.dtype(), 0, db.rows(), bb.data());
      BOOST_TEST(ba == bb, name << " differs");
    }
  }
  std::vector<std::string> attrs_a, attrs_b;
  for (const auto& n : fa.attr_names())
    if (n != "created_at" && n != "command_line" && n != "created_by") attrs_a.push_back(n);
  for (const auto& n : fb.attr_names())
    if (n != "created_at" && n != "command_line" && n != "created_by") attrs_b.push_back(n);
  BOOST_TEST(attrs_a == attrs_b);
  for (const auto& n : attrs_a) BOOST_TEST(h5::attr_to_string(fa.attr(n)) == h5::attr_to_string(fb.attr(n)), n);
}
}  // namespace

BOOST_AUTO_TEST_CASE(shard_rows_partition_the_store) {
  for (int64_t total : {0, 1, 7, 10, 1001})
    for (int64_t n : {1, 3, 4, 16}) {
      int64_t next = 0;
      for (int64_t i = 0; i < n; ++i) {
        auto [a, b] = ShardSpec{i, n}.rows(total);
        BOOST_TEST(a == next);
        BOOST_TEST(b >= a);
        next = b;
      }
      BOOST_TEST(next == total);
    }
  BOOST_TEST(ShardSpec::parse("3/8").index == 3);
  BOOST_TEST(ShardSpec::parse("3/8").str() == "3/8");
  for (const char* bad : {"8/8", "-1/4", "1", "a/4", "1/0", "1/4x", ""})
    expect_error([&] { ShardSpec::parse(bad); }, ExitCode::bad_input, {"is not I/N"});
}

BOOST_AUTO_TEST_CASE(merged_shards_equal_the_whole_file_bit_for_bit) {
  ScratchDir dir("merge");
  write_shard(dir.file("whole.h5"), 0, 10, "");
  // Shards given out of order: the merge sorts by index.
  write_shard(dir.file("s2.h5"), 7, 10, "2/3");
  write_shard(dir.file("s0.h5"), 0, 3, "0/3");
  write_shard(dir.file("s1.h5"), 3, 7, "1/3");
  std::vector<std::string> shards{dir.file("s2.h5"), dir.file("s0.h5"), dir.file("s1.h5")};
  BOOST_TEST(merge_score_files(shards, dir.file("merged.h5")) == 10);
  expect_same_file(dir.file("whole.h5"), dir.file("merged.h5"));
  // The in-memory form, written with write_scores, is the same file too.
  write_scores(dir.file("merged2.h5"), merge_score_shards(shards));
  expect_same_file(dir.file("whole.h5"), dir.file("merged2.h5"));
  BOOST_TEST(merge_score_shards(shards).attrs.count(kShardAttr) == 0u);
}

BOOST_AUTO_TEST_CASE(gaps_overlaps_and_foreign_shards_are_errors) {
  ScratchDir dir("merge-bad");
  write_shard(dir.file("s0.h5"), 0, 3, "0/3");
  write_shard(dir.file("s1.h5"), 3, 7, "1/3");
  write_shard(dir.file("s2.h5"), 7, 10, "2/3");
  const std::string s0 = dir.file("s0.h5"), s1 = dir.file("s1.h5"), s2 = dir.file("s2.h5");
  const std::string out = dir.file("out.h5");
  expect_error(
      [&] {
        merge_score_files({s0, s2}, out);
      },
      ExitCode::bad_input, {"gap", "indices 3..6", "of the 10 samples", "shards missing: 1/3"});
  write_shard(dir.file("s1b.h5"), 2, 8, "1/3");
  expect_error(
      [&] {
        merge_score_files({s0, dir.file("s1b.h5"), s2}, out);
      },
      ExitCode::bad_input, {"overlap", "s0.h5", "s1b.h5", "both hold index 2", "shards 0/3 and 1/3"});
  write_shard(dir.file("s1c.h5"), 3, 7, "1/3");
  expect_error(
      [&] {
        merge_score_files({s0, s1, s2, dir.file("s1c.h5")}, out);
      },
      ExitCode::bad_input, {"overlap", "s1.h5 and ", "s1c.h5 both hold indices 3..6", "4 shared rows"});
  write_shard(dir.file("other.h5"), 3, 7, "1/3", "m2");
  expect_error(
      [&] {
        merge_score_files({s0, dir.file("other.h5"), s2}, out);
      },
      ExitCode::bad_input, {"other.h5", "model_hash", "'m2' differs from 'm1'", "different models"});
  write_shard(dir.file("big.h5"), 3, 7, "1/3", "m1", 11);
  expect_error(
      [&] {
        merge_score_files({s0, dir.file("big.h5"), s2}, out);
      },
      ExitCode::bad_input, {"big.h5", "samples_total", "11 differs from 10"});
  write_shard(dir.file("outside.h5"), 3, 7, "1/3", "m1", 10, {12});
  expect_error(
      [&] {
        merge_score_files({s0, dir.file("outside.h5"), s2}, out);
      },
      ExitCode::bad_input, {"outside.h5", "/index[4]", "sample index 12 is outside the store's 0..9"});
  write_shard(dir.file("twice.h5"), 3, 7, "1/3", "m1", 10, {5});
  expect_error(
      [&] {
        merge_score_files({s0, dir.file("twice.h5"), s2}, out);
      },
      ExitCode::bad_input, {"twice.h5", "index 5 appears twice"});
  write_shard(dir.file("quarter.h5"), 3, 7, "1/4");
  expect_error(
      [&] {
        merge_score_files({s0, dir.file("quarter.h5"), s2}, out);
      },
      ExitCode::bad_input, {"quarter.h5", "one of 4 shards"});
  write_shard(dir.file("noshard.h5"), 3, 7, "");
  expect_error(
      [&] {
        merge_score_files({s0, dir.file("noshard.h5"), s2}, out);
      },
      ExitCode::bad_input, {"noshard.h5", "attribute shard", "missing"});
  BOOST_TEST(!test::exists(out));
  BOOST_TEST(test::count_files(dir.path(), ".out.h5") == 0);
}

BOOST_AUTO_TEST_SUITE_END()
