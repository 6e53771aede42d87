// The evaluation of dev and test score sets with every convention explicit, its
// options (registered on a CLI11 parser) and its renderings. The tool, fas-eval, is
// jobs/eval.hpp: the evaluation plus its report file and plots.
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cmclip/core/names.hpp"
#include "cmclip/metrics/bootstrap.hpp"
#include "cmclip/metrics/pad_metrics.hpp"

namespace cmclip::metrics {

enum class Aggregation { frame, video_mean };

// The names of --aggregate, --tie and --positive.
const NameTable<Aggregation>& aggregation_names();
const NameTable<TieRule>& tie_names();
const NameTable<Positive>& positive_names();

struct EvalOptions {
  std::vector<std::string> dev, test;  // paths; "-" = TSV on stdin (once)
  std::string threshold = "dev-eer";   // dev-eer | min-hter | test-eer | a number
  std::string aggregate = "frame";     // frame | video-mean
  std::string tie = "accept";          // accept | reject
  std::string positive = "attack";     // attack | live
  int bootstrap = 0;
  bool allow_attack_mismatch = false;
  bool pool_modalities = false;  // evaluate a set of several modalities as one

  void register_on(CLI::App& app);
  void validate() const;  // UsageError on contradictions: Conventions::from's checks
};

// The conventions of a run, parsed and checked (UsageError on contradictions).
struct Conventions {
  TieRule tie = TieRule::accept;
  Positive positive = Positive::attack;
  Aggregation aggregation = Aggregation::frame;
  // The threshold mode. test_eer is each test set's own EER threshold: asked for
  // (--threshold test-eer, any --dev ignored) or for want of a dev set (no --dev).
  enum class ThresholdRule { dev_eer, dev_min_hter, fixed, test_eer } rule = ThresholdRule::dev_eer;
  bool test_eer_without_dev = false;  // test_eer because no --dev was given
  bool dev_ignored = false;           // --threshold test-eer with --dev: the dev sets are not read
  bool pool_modalities = false;
  float fixed_threshold = 0;
  int bootstrap = 0;
  uint64_t seed = 0;
  static Conventions from(const EvalOptions& o, uint64_t seed);
};

// "dev-eer", "dev-min-hter", "fixed" or "test-eer": the mode every report names.
const char* threshold_mode_name(Conventions::ThresholdRule rule);

// The dev side of one test set's threshold.
struct DevReport {
  std::string name;
  std::vector<std::string> type_names;  // [0] bona fide
  std::vector<int64_t> totals;          // per class, as evaluated (frames or videos)
  OperatingPoint at_threshold;          // the dev set's own error rates at the threshold it gave
  double eer = 0;
  std::map<int8_t, int64_t> modalities;  // rows per modality (kNoModality: unrecorded)
};

// What the bootstrap of one test set resampled.
struct BootstrapUnits {
  int64_t subjects = 0;               // clusters that are subjects
  int64_t units_without_subject = 0;  // videos (or rows) resampled on their own
  // "subject", "video" (no subject recorded) or "subject+video" (some without).
  std::string unit() const;
  std::string describe() const;  // for the reports
};

struct TestReport {
  std::string name;
  // threshold_mode_name of the rule that gave the threshold ("test-eer": from the test
  // set itself, said in capitals in every output).
  std::string threshold_source;
  std::optional<DevReport> dev;
  std::vector<std::string> type_names;  // [0] bona fide
  int64_t frames = 0;                   // rows read
  int64_t units = 0;                    // videos (when known)
  bool video_level = false;
  std::map<int8_t, int64_t> modalities;           // rows per modality (kNoModality: unrecorded)
  std::optional<BootstrapUnits> bootstrap_units;  // with --bootstrap
  SetFigures figures;
  std::vector<NamedFigure> named;
  std::map<std::string, Interval> ci;    // with --bootstrap
  std::shared_ptr<SortedScores> scores;  // for the plots
};

struct SummaryFigure {
  NamedFigure figure;         // value = mean over the test sets where defined
  std::optional<double> std;  // sample standard deviation (n - 1), n >= 2
  int n = 0;
};

struct Evaluation {
  Conventions conventions;
  std::vector<std::string> dev_ignored;  // --dev sets not read under --threshold test-eer
  std::vector<TestReport> tests;
  std::vector<SummaryFigure> summary;  // with two or more test sets
};

// Reads, checks and evaluates. `threads` parallelises the bootstrap (the numbers do
// not depend on it).
Evaluation evaluate(const EvalOptions& options, uint64_t seed, int threads);

// Renderings (report.cpp).
std::string render_table(const Evaluation& e);
std::string render_json(const Evaluation& e);
std::string render_tsv(const Evaluation& e);

}  // namespace cmclip::metrics
