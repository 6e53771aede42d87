#include "cmclip/metrics/evaluation.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <set>

#include <fmt/format.h>

#include "cmclip/core/app.hpp"
#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/log.hpp"
#include "cmclip/core/runtime.hpp"
#include "cmclip/metrics/eval_input.hpp"
#include "cmclip/metrics/plot.hpp"
#include "cmclip/metrics/score_tsv.hpp"

namespace cmclip::metrics {

const NameTable<Aggregation>& aggregation_names() {
  static const NameTable<Aggregation> table{{Aggregation::frame, "frame"}, {Aggregation::video_mean, "video-mean"}};
  return table;
}

const NameTable<TieRule>& tie_names() {
  static const NameTable<TieRule> table{{TieRule::accept, "accept"}, {TieRule::reject, "reject"}};
  return table;
}

const NameTable<Positive>& positive_names() {
  static const NameTable<Positive> table{{Positive::attack, "attack"}, {Positive::live, "live"}};
  return table;
}

void EvalOptions::register_on(CLI::App& app) {
  app.add_option("--test", test,
                 "Score sets to evaluate: cmclip.scores HDF5 files or fas-embed TSV (told apart by content); "
                 "'-' reads the TSV from stdin. Several (repeat the option or list them) are each reported, "
                 "then their mean and sample standard deviation")
      ->required()
      ->type_name("FILE");
  app.add_option("--dev", dev,
                 "Score set(s) the threshold is chosen on: one for every test set, or one per --test "
                 "(paired in order). Without it, threshold-dependent figures use the test set's own EER "
                 "threshold (threshold mode test-eer) and the output says so")
      ->type_name("FILE");
  app.add_option("--threshold", threshold,
                 "The threshold mode: dev-eer (the dev set's EER threshold), min-hter (the dev threshold of "
                 "least HTER), test-eer (each test set's own EER threshold, as some papers report; optimistic; "
                 "any --dev is ignored), or a number (rounded to float32, the precision of the scores). Every "
                 "report names the mode")
      ->capture_default_str();
  app.add_option("--aggregate", aggregate,
                 "frame: every row is a sample; video-mean: average the frame "
                 "scores of each video first (dev and test alike; the frames of "
                 "one modality: RGB, Depth and NIR of a video stay apart)")
      ->check(one_of(aggregation_names().names()))
      ->capture_default_str();
  app.add_option("--tie", tie,
                 "accept: a score equal to the threshold is accepted as bona fide (bob.pad.base); "
                 "reject: it is rejected as an attack")
      ->check(one_of(tie_names().names()))
      ->capture_default_str();
  app.add_option("--positive", positive,
                 "Positive class of TPR@FPR. attack: attacks detected at a bona fide rejection rate; "
                 "live: bona fide accepted at an attack acceptance rate")
      ->check(one_of(positive_names().names()))
      ->capture_default_str();
  app.add_option("--bootstrap", bootstrap,
                 "Add 95% confidence intervals from B bootstrap replicates that "
                 "resample subjects, each with all its videos (videos where no "
                 "subject is recorded, said in the report; 0: none; seeded by --seed)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_flag("--allow-attack-mismatch", allow_attack_mismatch,
               "Accept dev and test sets with different attack types (leave-one-out protocols, where the "
               "unseen attack is absent from dev); the difference is logged and recorded");
  app.add_flag("--pool-modalities", pool_modalities,
               "Evaluate a set that holds several modalities (/modality) as one, under one threshold; "
               "without it such a set is refused. Every report says the modalities were pooled");
}

void EvalOptions::validate() const { Conventions::from(*this, 0); }

namespace {
const NameTable<Conventions::ThresholdRule>& threshold_rule_names() {
  using Rule = Conventions::ThresholdRule;
  static const NameTable<Rule> table{{Rule::dev_eer, "dev-eer"},
                                     {Rule::dev_min_hter, "dev-min-hter"},
                                     {Rule::fixed, "fixed"},
                                     {Rule::test_eer, "test-eer"}};
  return table;
}
}  // namespace

const char* threshold_mode_name(Conventions::ThresholdRule rule) { return threshold_rule_names().name(rule); }

std::string BootstrapUnits::unit() const {
  if (units_without_subject == 0) return "subject";
  return subjects == 0 ? "video" : "subject+video";
}

std::string BootstrapUnits::describe() const {
  if (units_without_subject == 0) return fmt::format("{} subjects, each with all its videos", subjects);
  if (subjects == 0)
    return fmt::format(
        "{} videos: NO SUBJECT IDS RECORDED, so videos are resampled instead of subjects "
        "(intervals too narrow where a subject has several videos)",
        units_without_subject);
  return fmt::format("{} subjects, each with all its videos, and {} videos WITHOUT A SUBJECT ID resampled on their own",
                     subjects, units_without_subject);
}

Conventions Conventions::from(const EvalOptions& o, uint64_t seed) {
  Conventions c;
  c.tie = tie_names().parse(o.tie, "--tie");
  c.positive = positive_names().parse(o.positive, "--positive");
  c.aggregation = aggregation_names().parse(o.aggregate, "--aggregate");
  c.bootstrap = o.bootstrap;
  c.seed = seed;
  c.pool_modalities = o.pool_modalities;
  const auto named = threshold_rule_names().find(o.threshold);
  if (o.threshold == "min-hter") {  // the short form --help shows
    c.rule = ThresholdRule::dev_min_hter;
  } else if (named && *named != ThresholdRule::fixed) {  // "fixed" is a number, not a name
    c.rule = *named;
  } else {
    double v = 0;
    const char* end = o.threshold.data() + o.threshold.size();
    auto [ptr, ec] = std::from_chars(o.threshold.data(), end, v);
    if (o.threshold.empty() || ec != std::errc() || ptr != end || !std::isfinite(v))
      throw UsageError(
          fmt::format("--threshold: '{}' is not dev-eer, min-hter, test-eer or a finite number", o.threshold));
    c.rule = ThresholdRule::fixed;
    c.fixed_threshold = static_cast<float>(v);
  }
  if (o.test.empty()) throw UsageError("--test: give at least one score set");
  // Asked for, the test set's own threshold makes any dev set idle (not read); without
  // a dev set, dev-eer falls back to it.
  c.dev_ignored = c.rule == ThresholdRule::test_eer && !o.dev.empty();
  if (c.rule == ThresholdRule::dev_eer && o.dev.empty()) {
    c.rule = ThresholdRule::test_eer;
    c.test_eer_without_dev = true;
  }
  if (!c.dev_ignored && !o.dev.empty() && o.dev.size() != 1 && o.dev.size() != o.test.size())
    throw UsageError(fmt::format("--dev: give one dev set, or one per test set ({} test sets, {} dev sets)",
                                 o.test.size(), o.dev.size()));
  if (c.rule == ThresholdRule::fixed && !o.dev.empty())
    throw UsageError("--dev has no use with a numeric --threshold: leave it out, or choose dev-eer or min-hter");
  if (c.rule == ThresholdRule::dev_min_hter && o.dev.empty())
    throw UsageError("--threshold min-hter chooses the threshold on a dev set: give --dev");
  int stdin_uses = 0;
  for (const auto* list : {&o.dev, &o.test})
    stdin_uses += static_cast<int>(std::count(list->begin(), list->end(), "-"));
  if (stdin_uses > 1) throw UsageError("'-' (stdin) can be read only once: give it to one --dev or --test");
  if (o.bootstrap == 1) throw UsageError("--bootstrap: 1 replicate gives no interval; use 0 (none) or at least 2");
  return c;
}

namespace {
// What an input set becomes once read (and aggregated), shared by its uses.
struct LoadedSet {
  EvalSet set;
  std::shared_ptr<SortedScores> scores;
};

// One threshold over several modalities mixes score scales that differ (a model scores
// RGB and Depth differently), so a set of several is refused unless pooling is asked for.
void check_one_modality(const EvalSet& s, const Conventions& c, const std::string& role) {
  const auto counts = s.modality_counts();
  const std::string name = display_name(s.name);
  if (counts.size() <= 1) return;
  if (c.pool_modalities) {
    log::warn("{} ({}): pooling {} modalities under one threshold (--pool-modalities): {}", name, role, counts.size(),
              describe_modalities(counts));
    return;
  }
  std::string first;
  for (const auto& [m, n] : counts)
    if (m != kNoModality) {
      first = modality_label(m);
      break;
    }
  throw InputError(name, "/modality",
                   fmt::format("the {} set holds {} modalities (rows: {}); one threshold over several modalities "
                               "mixes their score scales. Score one modality per file (fas-embed --modality {}) "
                               "or give --pool-modalities to evaluate them as one set on purpose",
                               role, counts.size(), describe_modalities(counts), first));
}

LoadedSet load(const std::string& path, const Conventions& c, bool with_videos, const std::string& role, int threads) {
  LoadedSet l;
  l.set = read_eval_set(path, with_videos);
  const std::string name = display_name(path);
  check_one_modality(l.set, c, role);
  if (l.set.rows_without_video > 0 && c.aggregation == Aggregation::frame)
    log::info("{}: {} of {} rows have no video name; the bootstrap resamples each of them on its own", name,
              l.set.rows_without_video, l.set.frames);
  if (c.aggregation == Aggregation::video_mean) l.set = aggregate_video_mean(l.set);
  const EvalSet& s = l.set;
  l.scores = std::make_shared<SortedScores>(s.score, s.cls, s.num_types(), s.unit,
                                            static_cast<uint32_t>(s.unit_names.size()), threads);
  require_both_classes(*l.scores, name + " (" + role + ")");
  auto totals = l.scores->class_totals();
  std::string types;
  for (int t = 1; t <= s.num_types(); ++t)
    types += fmt::format("{}{} {}", t > 1 ? ", " : "", s.type_names[t], totals[t]);
  log::info("{} ({}): {} {}: {} bona fide, {} attacks ({})", name, role, s.size(),
            s.video_level ? fmt::format("videos from {} frames", s.frames) : std::string("frames"), totals[0],
            s.size() - totals[0], types);
  return l;
}

std::set<std::string> attack_types(const EvalSet& s) { return {s.type_names.begin() + 1, s.type_names.end()}; }

std::string join(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "(none)" : out;
}

// Dev and test must follow one convention where their files record it.
void check_conventions(const EvalSet& dev, const EvalSet& test, bool allow_attack_mismatch) {
  const std::string d = display_name(dev.name), t = display_name(test.name);
  if (!dev.model_hash.empty() && !test.model_hash.empty() && dev.model_hash != test.model_hash)
    throw InputError(t, "attribute model_hash",
                     fmt::format("'{}' differs from '{}' of the dev set {}: a threshold chosen on one model's "
                                 "scores does not transfer to another's; give one --dev per --test (paired in order)",
                                 test.model_hash, dev.model_hash, d));
  std::set<std::string> dt = attack_types(dev), tt = attack_types(test);
  if (dt != tt) {
    std::set<std::string> only_dev, only_test;
    std::set_difference(dt.begin(), dt.end(), tt.begin(), tt.end(), std::inserter(only_dev, only_dev.end()));
    std::set_difference(tt.begin(), tt.end(), dt.begin(), dt.end(), std::inserter(only_test, only_test.end()));
    std::string what = fmt::format("attack types differ from the dev set {}: only in dev: {}; only in test: {}", d,
                                   join(only_dev), join(only_test));
    if (!allow_attack_mismatch)
      throw InputError(
          t, "attack types",
          what + " (different naming conventions? for a leave-one-out protocol give --allow-attack-mismatch)");
    log::warn("{}: {} (allowed by --allow-attack-mismatch)", t, what);
  }
}

// All inputs must agree on what a score and a label mean, where their files say it.
void check_meanings(const std::vector<const EvalSet*>& sets) {
  const EvalSet* score_ref = nullptr;
  const EvalSet* label_ref = nullptr;
  for (const EvalSet* s : sets) {
    if (!s->score_meaning.empty()) {
      if (score_ref && score_ref->score_meaning != s->score_meaning)
        throw InputError(display_name(s->name), "/score attribute meaning",
                         fmt::format("'{}' differs from '{}' in {}: the scores follow different conventions",
                                     s->score_meaning, score_ref->score_meaning, display_name(score_ref->name)));
      score_ref = s;
    }
    if (!s->label_meaning.empty()) {
      if (label_ref && label_ref->label_meaning != s->label_meaning)
        throw InputError(display_name(s->name), "/label attribute meaning",
                         fmt::format("'{}' differs from '{}' in {}: the labels follow different conventions",
                                     s->label_meaning, label_ref->label_meaning, display_name(label_ref->name)));
      label_ref = s;
    }
  }
}

std::vector<SummaryFigure> summarise(const std::vector<TestReport>& tests) {
  std::vector<SummaryFigure> out;
  std::vector<std::string> order;
  std::map<std::string, std::vector<double>> values;
  std::map<std::string, NamedFigure> first;
  for (const auto& t : tests)
    for (const auto& f : t.named) {
      if (!first.count(f.key)) {
        first[f.key] = f;
        order.push_back(f.key);
      }
      if (f.value) values[f.key].push_back(*f.value);
    }
  for (const auto& key : order) {
    SummaryFigure s;
    s.figure = first[key];
    const auto& v = values[key];
    s.n = static_cast<int>(v.size());
    s.figure.value.reset();
    if (!v.empty()) {
      double sum = 0;
      for (double x : v) sum += x;
      double mean = sum / double(v.size());
      s.figure.value = mean;
      if (v.size() >= 2) {
        double ss = 0;
        for (double x : v) ss += (x - mean) * (x - mean);
        s.std = std::sqrt(ss / double(v.size() - 1));
      }
    }
    out.push_back(s);
  }
  return out;
}

// The subject of each resampling unit as its bootstrap cluster; units without a subject
// are clusters of their own.
BootstrapUnits subject_clusters(const EvalSet& s, std::vector<uint32_t>& unit_cluster) {
  const size_t units = s.unit_names.size();
  std::vector<int32_t> unit_subject(units, -1);
  for (size_t i = 0; i < s.unit.size() && i < s.subject.size(); ++i) unit_subject[s.unit[i]] = s.subject[i];
  std::map<int32_t, uint32_t> ids;
  for (int32_t subject : unit_subject)
    if (subject >= 0) ids.emplace(subject, static_cast<uint32_t>(ids.size()));
  BootstrapUnits b;
  b.subjects = static_cast<int64_t>(ids.size());
  unit_cluster.resize(units);
  for (size_t u = 0; u < units; ++u) {
    if (unit_subject[u] >= 0) {
      unit_cluster[u] = ids.at(unit_subject[u]);
    } else {
      unit_cluster[u] = static_cast<uint32_t>(ids.size() + u);
      ++b.units_without_subject;
    }
  }
  return b;
}

}  // namespace

Evaluation evaluate(const EvalOptions& options, uint64_t seed, int threads) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  Evaluation e;
  e.conventions = Conventions::from(options, seed);
  const Conventions& c = e.conventions;
  const bool with_videos = c.aggregation == Aggregation::video_mean || c.bootstrap > 0;

  std::map<std::string, LoadedSet> devs;
  if (c.dev_ignored) {
    e.dev_ignored = options.dev;
    log::warn("--threshold test-eer: the threshold is each test set's own EER threshold; --dev {} is ignored",
              join(std::set<std::string>(options.dev.begin(), options.dev.end())));
  } else {
    for (const auto& d : options.dev)
      if (!devs.count(d)) devs.emplace(d, load(d, c, with_videos, "dev", threads));
  }
  std::vector<LoadedSet> tests;
  for (const auto& t : options.test) tests.push_back(load(t, c, with_videos, "test", threads));
  std::vector<const EvalSet*> all;
  for (const auto& [name, d] : devs) all.push_back(&d.set);
  for (const auto& t : tests) all.push_back(&t.set);
  check_meanings(all);
  const auto loaded = clock::now();

  for (size_t i = 0; i < tests.size(); ++i) {
    const LoadedSet& test = tests[i];
    TestReport r;
    r.name = test.set.name;
    r.type_names = test.set.type_names;
    r.frames = test.set.frames;
    r.units = with_videos ? static_cast<int64_t>(test.set.unit_names.size()) : 0;
    r.video_level = test.set.video_level;
    r.modalities = test.set.modality_counts();
    r.scores = test.scores;
    r.threshold_source = threshold_mode_name(c.rule);
    std::optional<float> threshold;  // none: the test set's own EER threshold
    if (c.rule == Conventions::ThresholdRule::fixed) {
      threshold = c.fixed_threshold;
    } else if (c.rule != Conventions::ThresholdRule::test_eer) {
      const LoadedSet& dev = devs.at(options.dev[options.dev.size() == 1 ? 0 : i]);
      check_conventions(dev.set, test.set, options.allow_attack_mismatch);
      const SortedScores& ds = *dev.scores;
      size_t cut = c.rule == Conventions::ThresholdRule::dev_eer ? eer_cut(ds) : min_hter_cut(ds);
      DevReport dr;
      dr.name = dev.set.name;
      dr.type_names = dev.set.type_names;
      dr.totals = ds.class_totals();
      dr.at_threshold = operating_point(ds, cut, c.tie);
      dr.eer = operating_point(ds, eer_cut(ds), c.tie).hter;
      dr.modalities = dev.set.modality_counts();
      threshold = dr.at_threshold.threshold;
      r.dev = dr;
    }
    r.figures = compute_figures(*test.scores, threshold, c.tie, c.positive);
    r.named = named_figures(r.figures, r.type_names);
    if (c.bootstrap > 0) {
      BootstrapOptions b;
      b.replicates = c.bootstrap;
      b.seed = c.seed;
      b.threads = threads;
      r.bootstrap_units = subject_clusters(test.set, b.unit_cluster);
      if (r.bootstrap_units->subjects == 0)
        log::warn("{}: no subject ids recorded; the bootstrap resamples videos instead of subjects",
                  display_name(test.set.name));
      r.ci = bootstrap_intervals(*test.scores, threshold, c.tie, c.positive, r.type_names, b);
    }
    e.tests.push_back(std::move(r));
  }
  if (e.tests.size() >= 2) e.summary = summarise(e.tests);
  int64_t rows = 0;
  for (const auto& t : tests) rows += t.set.frames;
  for (const auto& [name, d] : devs) rows += d.set.frames;
  auto seconds = [](clock::duration d) { return std::chrono::duration<double>(d).count(); };
  log::info("done: {} rows in {} sets; reading and sorting {:.3f} s, figures{} {:.3f} s", rows,
            tests.size() + devs.size(), seconds(loaded - start), c.bootstrap > 0 ? " and bootstrap" : "",
            seconds(clock::now() - loaded));
  return e;
}

}  // namespace cmclip::metrics
