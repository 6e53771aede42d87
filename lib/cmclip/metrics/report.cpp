// The three renderings of an Evaluation: a table for reading, one JSON object, and a
// long TSV (one figure a line). All three say every convention used.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "cmclip/core/runtime.hpp"
#include "cmclip/metrics/eval_input.hpp"
#include "cmclip/metrics/evaluation.hpp"
#include "cmclip/metrics/json.hpp"
#include "cmclip/metrics/score_tsv.hpp"

namespace cmclip::metrics {

namespace {
const char* kNoDevWarning =
    "THRESHOLD FROM THE TEST SET ITSELF (NO --dev): APCER, BPCER, ACER AND HTER ARE AT THE TEST SET'S OWN EER "
    "THRESHOLD, WHICH IS OPTIMISTIC AND NOT COMPARABLE TO A DEV-SET THRESHOLD. GIVE --dev FOR A FAIR EVALUATION.";
const char* kTestEerWarning =
    "THRESHOLD FROM THE TEST SET ITSELF (--threshold test-eer): APCER, BPCER, ACER AND HTER ARE AT THE TEST SET'S "
    "OWN EER THRESHOLD, AS SOME PAPERS REPORT THEM, FOR COMPARISON WITH THOSE; IT IS OPTIMISTIC AND NOT COMPARABLE "
    "TO A DEV-SET THRESHOLD.";
const char* kPooledWarning =
    "MODALITIES POOLED (--pool-modalities): SETS OF SEVERAL MODALITIES ARE EVALUATED AS ONE, UNDER ONE THRESHOLD.";

const char* tie_name(TieRule t) { return t == TieRule::accept ? "accept" : "reject"; }
const char* positive_name(Positive p) { return p == Positive::attack ? "attack" : "live"; }

const char* test_eer_warning(const Conventions& c) { return c.test_eer_without_dev ? kNoDevWarning : kTestEerWarning; }

bool any_test_eer(const Evaluation& e) {
  return std::any_of(e.tests.begin(), e.tests.end(),
                     [](const TestReport& t) { return t.threshold_source == "test-eer"; });
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + display_name(n);
  return out;
}

// The threshold mode in words: which mode, and why where it was not asked for.
std::string mode_text(const Evaluation& e) {
  const Conventions& c = e.conventions;
  switch (c.rule) {
    case Conventions::ThresholdRule::dev_eer:
      return "dev-eer: the dev set's EER threshold, applied to the test set";
    case Conventions::ThresholdRule::dev_min_hter:
      return "dev-min-hter: the dev threshold of least HTER, applied to the test set";
    case Conventions::ThresholdRule::fixed:
      return "fixed: given on the command line (--threshold VALUE)";
    case Conventions::ThresholdRule::test_eer:
      break;
  }
  if (c.test_eer_without_dev) return "test-eer: each test set's own EER threshold, for want of --dev (optimistic)";
  std::string text =
      "test-eer: each test set's own EER threshold, asked for (--threshold test-eer, paper-compatible; "
      "optimistic)";
  if (!e.dev_ignored.empty()) text += "; the dev sets given were ignored for the threshold: " + joined(e.dev_ignored);
  return text;
}

std::string modalities_text(const Evaluation& e) {
  return e.conventions.pool_modalities
             ? "POOLED (--pool-modalities): a set of several modalities is evaluated as one, under one threshold; "
               "a video is still one modality (video-mean never averages RGB, Depth and NIR frames together)"
             : "one per set: a set of several modalities is refused (--pool-modalities pools them)";
}

std::string accepted_when(TieRule t) { return t == TieRule::accept ? "score >= threshold" : "score > threshold"; }
std::string rejected_when(TieRule t) { return t == TieRule::accept ? "score < threshold" : "score <= threshold"; }

std::string tpr_definition(Positive p) {
  return p == Positive::attack ? "positive class attack: TPR = attacks rejected, FPR = bona fide rejected (BPCER)"
                               : "positive class live: TPR = bona fide accepted, FPR = attacks accepted (pooled APCER)";
}

// The conventions as (key, text) pairs, shared by the three renderings.
std::vector<std::pair<std::string, std::string>> convention_lines(const Evaluation& e) {
  const Conventions& c = e.conventions;
  std::vector<std::pair<std::string, std::string>> v{
      {"score", "higher = more live (P(live))"},
      {"tie", tie_name(c.tie)},
      {"attack_accepted_when", accepted_when(c.tie)},
      {"bona_fide_rejected_when", rejected_when(c.tie)},
      {"apcer", "max over the attack types present (ISO/IEC 30107-3, bob.pad.base); apcer_pooled = all attacks"},
      {"acer", "(apcer + bpcer) / 2"},
      {"hter", "(apcer_pooled + bpcer) / 2"},
      {"eer", "on the test set itself: the threshold minimising |apcer_pooled - bpcer|, eer = their mean there"},
      {"auc", "exact Mann-Whitney count, ties count 1/2"},
      {"positive", positive_name(c.positive)},
      {"tpr_at_fpr", tpr_definition(c.positive) +
                         "; step ROC, highest TPR with FPR <= target, no interpolation; undefined when the "
                         "negatives are fewer than 1/target"},
      {"bpcer_n",
       "BPCER at the lowest threshold where every attack type has APCER <= 1/N (bob's bpcerN), on the "
       "test set itself: bpcer10 at APCER 10%, bpcer20 at APCER 5%"},
      {"aggregation", c.aggregation == Aggregation::frame
                          ? "frame (every row is a sample)"
                          : "video-mean (mean frame score per video and modality, dev and test)"},
      {"threshold_mode", mode_text(e)},
      {"modalities", modalities_text(e)},
  };
  if (e.tests.size() >= 2) v.push_back({"std", "sample standard deviation (n - 1) over the test sets"});
  if (c.bootstrap > 0)
    v.push_back({"bootstrap", fmt::format("{} replicates, seed {}, resampling subjects with all their videos (videos "
                                          "where no subject is recorded) within strata of the classes they hold; "
                                          "95% percentile interval (linear interpolation); threshold {}",
                                          c.bootstrap, c.seed,
                                          !any_test_eer(e) ? "held fixed" : "re-estimated per replicate (test EER)")});
  return v;
}

std::string short_name(const std::string& path) { return display_name(path); }

// ---- table -------------------------------------------------------------------

std::string show(const NamedFigure& f, std::optional<double> v) {
  if (!v) return "n/a";
  switch (f.kind) {
    case FigureKind::rate:
      return fmt::format("{:.2f}%", 100 * *v);
    case FigureKind::auc:
      return fmt::format("{:.5f}", *v);
    default:
      return fmt::format("{}", static_cast<float>(*v));
  }
}

std::string show_interval(const NamedFigure& f, const Interval& ci) {
  if (f.kind == FigureKind::rate) return fmt::format(" [{:.2f}, {:.2f}]", 100 * ci.first, 100 * ci.second);
  if (f.kind == FigureKind::auc) return fmt::format(" [{:.5f}, {:.5f}]", ci.first, ci.second);
  return fmt::format(" [{}, {}]", static_cast<float>(ci.first), static_cast<float>(ci.second));
}

std::string counts_line(const TestReport& t) {
  const auto& n = t.figures.totals;
  int64_t attacks = 0;
  std::string types;
  for (size_t k = 1; k < n.size(); ++k) {
    attacks += n[k];
    types += fmt::format("{}{} {}", k > 1 ? ", " : "", t.type_names[k], n[k]);
  }
  std::string unit = t.video_level ? fmt::format("videos (from {} frames)", t.frames) : "frames";
  return fmt::format("{} {}: {} bona fide, {} attacks ({})", n[0] + attacks, unit, n[0], attacks, types);
}

std::string threshold_line(const TestReport& t, const Conventions& c) {
  float tau = t.figures.at_threshold.threshold;
  if (t.threshold_source == "fixed") return fmt::format("threshold {} (given on the command line)", tau);
  if (t.threshold_source == "test-eer")
    return fmt::format("threshold {} = THIS TEST SET'S OWN EER THRESHOLD ({})", tau,
                       c.test_eer_without_dev ? "NO --dev"
                       : c.dev_ignored        ? "--threshold test-eer; --dev ignored"
                                              : "--threshold test-eer");
  const DevReport& d = *t.dev;
  return fmt::format(
      "threshold {} = {} of dev set {} (dev: EER {:.2f}%; at the threshold APCER {:.2f}%, BPCER {:.2f}%, "
      "HTER {:.2f}%)",
      tau, t.threshold_source == "dev-eer" ? "EER threshold" : "least-HTER threshold", short_name(d.name), 100 * d.eer,
      100 * d.at_threshold.apcer, 100 * d.at_threshold.bpcer, 100 * d.at_threshold.hter);
}
}  // namespace

std::string render_table(const Evaluation& e) {
  std::string out = fmt::format(
      "fas-eval {}: presentation attack detection metrics (ISO/IEC 30107-3 as in bob.pad.base)\n\n", version());
  if (any_test_eer(e)) out += fmt::format("*** {} ***\n\n", test_eer_warning(e.conventions));
  if (e.conventions.pool_modalities) out += fmt::format("*** {} ***\n\n", kPooledWarning);
  out += fmt::format("Threshold mode: {}\n\n", mode_text(e));
  out += "Conventions\n";
  for (const auto& [k, v] : convention_lines(e)) out += fmt::format("  {:<24} {}\n", k, v);
  out += "\nSets\n";
  for (size_t i = 0; i < e.tests.size(); ++i) {
    const auto& t = e.tests[i];
    out += fmt::format("  test {}: {}\n          {}\n          modalities ({}): {}\n          {}\n", i + 1,
                       short_name(t.name), counts_line(t), t.video_level ? "videos" : "rows",
                       describe_modalities(t.modalities), threshold_line(t, e.conventions));
    if (t.bootstrap_units) out += fmt::format("          bootstrap resamples {}\n", t.bootstrap_units->describe());
  }
  // Rows: the union of the figures in first-seen order.
  std::vector<NamedFigure> rows;
  for (const auto& t : e.tests)
    for (const auto& f : t.named)
      if (std::none_of(rows.begin(), rows.end(), [&](const NamedFigure& r) { return r.key == f.key; }))
        rows.push_back(f);
  std::vector<std::vector<std::string>> cells;  // [row][column]
  std::vector<std::string> header{"figure"};
  for (size_t i = 0; i < e.tests.size(); ++i) header.push_back(fmt::format("test {}", i + 1));
  if (!e.summary.empty()) header.push_back("mean ± std");
  bool any_na = false;
  for (const auto& r : rows) {
    std::vector<std::string> line{r.label};
    for (const auto& t : e.tests) {
      auto it = std::find_if(t.named.begin(), t.named.end(), [&](const NamedFigure& f) { return f.key == r.key; });
      if (it == t.named.end()) {
        line.push_back("-");
        continue;
      }
      std::string cell = show(*it, it->value);
      any_na |= !it->value;
      auto ci = t.ci.find(r.key);
      if (ci != t.ci.end()) cell += show_interval(*it, ci->second);
      line.push_back(cell);
    }
    if (!e.summary.empty()) {
      auto s = std::find_if(e.summary.begin(), e.summary.end(),
                            [&](const SummaryFigure& x) { return x.figure.key == r.key; });
      std::string cell = show(s->figure, s->figure.value);
      if (s->std) cell += " ± " + show(s->figure, *s->std);
      if (s->n < static_cast<int>(e.tests.size())) cell += fmt::format(" (n={})", s->n);
      line.push_back(cell);
    }
    cells.push_back(line);
  }
  std::vector<size_t> width(header.size(), 0);
  auto measure = [](const std::string& s) {  // display width: count UTF-8 lead bytes
    return static_cast<size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
  };
  for (size_t c = 0; c < header.size(); ++c) {
    width[c] = measure(header[c]);
    for (const auto& l : cells) width[c] = std::max(width[c], measure(l[c]));
  }
  auto emit = [&](const std::vector<std::string>& l) {
    std::string s = " ";
    for (size_t c = 0; c < l.size(); ++c) {
      size_t pad = width[c] - measure(l[c]);
      s += c == 0 ? " " + l[c] + std::string(pad, ' ') : "   " + std::string(pad, ' ') + l[c];
    }
    out += s + "\n";
  };
  out += fmt::format("\nFigures{}\n",
                     e.conventions.bootstrap > 0 ? " (with 95% bootstrap intervals, in the same unit)" : "");
  emit(header);
  for (const auto& l : cells) emit(l);
  if (any_na)
    out +=
        "\n  n/a: the set has fewer negatives than 1/FPR, so that false positive rate cannot be measured "
        "(no extrapolation).\n";
  if (any_test_eer(e)) out += fmt::format("\n*** {} ***\n", test_eer_warning(e.conventions));
  if (e.conventions.pool_modalities) out += fmt::format("\n*** {} ***\n", kPooledWarning);
  return out;
}

// ---- JSON --------------------------------------------------------------------

namespace {
// Writes figures as nested members: "apcer_per_attack.print" goes into an
// "apcer_per_attack" object. `value_of` gives what to write for each figure.
template <class ValueFn>
void write_figures(JsonWriter& j, const std::vector<NamedFigure>& figures, ValueFn&& value_of) {
  std::string group;
  for (const auto& f : figures) {
    auto dot = f.key.find('.');
    std::string g = dot == std::string::npos ? "" : f.key.substr(0, dot);
    if (g != group) {
      if (!group.empty()) j.end_object();
      if (!g.empty()) j.key(g).begin_object();
      group = g;
    }
    j.key(dot == std::string::npos ? f.key : f.key.substr(dot + 1));
    value_of(f);
  }
  if (!group.empty()) j.end_object();
}

void write_value(JsonWriter& j, const NamedFigure& f, std::optional<double> v) {
  if (v && f.kind == FigureKind::score) j.value(static_cast<float>(*v));
  else j.value(v);
}

void write_counts(JsonWriter& j, const std::vector<int64_t>& totals, const std::vector<std::string>& names) {
  int64_t attacks = 0;
  for (size_t k = 1; k < totals.size(); ++k) attacks += totals[k];
  j.field("bona_fide", totals[0]).field("attack", attacks).key("attack_types").begin_object();
  for (size_t k = 1; k < totals.size(); ++k) j.field(names[k], totals[k]);
  j.end_object();
}

void write_conventions(JsonWriter& j, const Evaluation& e) {
  j.key("conventions").begin_object();
  for (const auto& [k, v] : convention_lines(e)) {
    if (k == "bootstrap") continue;
    j.field(k, v);
  }
  if (e.conventions.bootstrap > 0) {
    j.key("bootstrap").begin_object();
    j.field("replicates", e.conventions.bootstrap)
        .field("seed", static_cast<int64_t>(e.conventions.seed))
        .field("unit",
               "subject, with all its videos (a video where no subject is recorded; per test set in "
               "bootstrap_unit)")
        .field("strata", "clusters holding the same classes (without subjects: bona fide and each attack type)")
        .field("interval", "95% percentile, linear interpolation between order statistics")
        .field("threshold", !any_test_eer(e) ? "held fixed" : "re-estimated per replicate (test EER)");
    j.end_object();
  } else {
    j.key("bootstrap").null();
  }
  j.end_object();
}

void write_modalities(JsonWriter& j, const std::map<int8_t, int64_t>& counts) {
  j.key("modalities").begin_object();
  for (const auto& [m, n] : counts) j.field(modality_label(m), n);
  j.end_object();
}

// What the whole run did with thresholds and modalities (top level of every JSON report).
void write_run_fields(JsonWriter& j, const Evaluation& e) {
  j.field("threshold_mode", threshold_mode_name(e.conventions.rule));
  j.field("pool_modalities", e.conventions.pool_modalities);
  if (e.conventions.pool_modalities) j.field("pooled_warning", kPooledWarning);
  if (!e.dev_ignored.empty()) {
    j.key("dev_ignored").begin_array();
    for (const auto& d : e.dev_ignored) j.value(d);
    j.end_array();
  }
}

void write_test(JsonWriter& j, const Evaluation& e, const TestReport& t, bool top_level) {
  j.begin_object();
  j.field("test", t.name);
  if (top_level) write_run_fields(j, e);
  const auto& at = t.figures.at_threshold;
  j.field("threshold", at.threshold).field("threshold_source", t.threshold_source);
  if (t.dev) j.field("threshold_set", t.dev->name);
  else if (t.threshold_source == "test-eer") j.field("threshold_set", t.name);
  else j.key("threshold_set").null();
  if (t.threshold_source == "test-eer") j.field("warning", test_eer_warning(e.conventions));
  write_modalities(j, t.modalities);
  if (t.bootstrap_units)
    j.field("bootstrap_unit", t.bootstrap_units->unit()).field("bootstrap_units", t.bootstrap_units->describe());
  // The figures, in the order of named_figures (threshold first, already written).
  std::vector<NamedFigure> figures(t.named.begin() + 1, t.named.end());
  write_figures(j, figures, [&](const NamedFigure& f) { write_value(j, f, f.value); });
  j.key("bpcer_n_threshold").begin_object();
  j.field("bpcer10", t.figures.bpcer_n_threshold[0]).field("bpcer20", t.figures.bpcer_n_threshold[1]);
  j.end_object();
  j.key("counts").begin_object();
  j.field("unit", t.video_level ? "video" : "frame");
  write_counts(j, t.figures.totals, t.type_names);
  j.field("frames", t.frames);
  if (t.units > 0) j.field("videos", t.units);
  else j.key("videos").null();
  j.end_object();
  if (t.dev) {
    const DevReport& d = *t.dev;
    j.key("dev").begin_object();
    j.field("name", d.name).field("eer", d.eer);
    j.field("apcer", d.at_threshold.apcer).field("apcer_pooled", d.at_threshold.apcer_pooled);
    j.field("bpcer", d.at_threshold.bpcer).field("acer", d.at_threshold.acer).field("hter", d.at_threshold.hter);
    j.key("counts").begin_object();
    write_counts(j, d.totals, d.type_names);
    j.end_object();
    write_modalities(j, d.modalities);
    j.end_object();
  }
  if (!t.ci.empty()) {
    std::vector<NamedFigure> with_ci;
    for (const auto& f : t.named)
      if (t.ci.count(f.key)) with_ci.push_back(f);
    j.key("ci95").begin_object();
    write_figures(j, with_ci, [&](const NamedFigure& f) {
      const Interval& ci = t.ci.at(f.key);
      j.begin_array();
      write_value(j, f, ci.first);
      write_value(j, f, ci.second);
      j.end_array();
    });
    j.end_object();
  }
  if (top_level) write_conventions(j, e);
  j.end_object();
}
}  // namespace

std::string render_json(const Evaluation& e) {
  JsonWriter j;
  if (e.tests.size() == 1) {
    write_test(j, e, e.tests.front(), true);
    return j.str();
  }
  j.begin_object();
  write_run_fields(j, e);
  j.key("tests").begin_array();
  for (const auto& t : e.tests) write_test(j, e, t, false);
  j.end_array();
  std::vector<NamedFigure> figures;
  for (const auto& s : e.summary) figures.push_back(s.figure);
  j.key("mean").begin_object();
  write_figures(j, figures, [&](const NamedFigure& f) { write_value(j, f, f.value); });
  j.end_object();
  j.key("std").begin_object();
  write_figures(j, figures, [&](const NamedFigure& f) {
    auto s =
        std::find_if(e.summary.begin(), e.summary.end(), [&](const SummaryFigure& x) { return x.figure.key == f.key; });
    write_value(j, f, s->std);
  });
  j.end_object();
  j.key("n").begin_object();
  write_figures(j, figures, [&](const NamedFigure& f) {
    auto s =
        std::find_if(e.summary.begin(), e.summary.end(), [&](const SummaryFigure& x) { return x.figure.key == f.key; });
    j.value(s->n);
  });
  j.end_object();
  write_conventions(j, e);
  j.end_object();
  return j.str();
}

// ---- TSV ---------------------------------------------------------------------

std::string render_tsv(const Evaluation& e) {
  std::string out = "test\tfigure\tvalue\tci_low\tci_high\n";
  auto number = [](const NamedFigure& f, std::optional<double> v) -> std::string {
    if (!v || !std::isfinite(*v)) return "NA";
    return f.kind == FigureKind::score ? fmt::format("{}", static_cast<float>(*v)) : fmt::format("{}", *v);
  };
  auto text_line = [&](const std::string& test, const std::string& key, const std::string& value) {
    out += fmt::format("{}\t{}\t{}\t\t\n", tsv_escape(test), tsv_escape(key), tsv_escape(value));
  };
  text_line("*", "threshold_mode", threshold_mode_name(e.conventions.rule));
  text_line("*", "pool_modalities", e.conventions.pool_modalities ? "true" : "false");
  if (e.conventions.pool_modalities) text_line("*", "warning", kPooledWarning);
  if (!e.dev_ignored.empty()) text_line("*", "dev_ignored", joined(e.dev_ignored));
  for (const auto& [k, v] : convention_lines(e)) text_line("*", "convention." + k, v);
  for (const auto& t : e.tests) {
    const std::string name = display_name(t.name);
    text_line(name, "threshold_source", t.threshold_source);
    if (t.dev) text_line(name, "threshold_set", display_name(t.dev->name));
    if (t.threshold_source == "test-eer") text_line(name, "warning", test_eer_warning(e.conventions));
    for (const auto& [m, n] : t.modalities) text_line(name, "modality." + modality_label(m), std::to_string(n));
    if (t.bootstrap_units) {
      text_line(name, "bootstrap.unit", t.bootstrap_units->unit());
      text_line(name, "bootstrap.subjects", std::to_string(t.bootstrap_units->subjects));
      text_line(name, "bootstrap.videos_without_subject", std::to_string(t.bootstrap_units->units_without_subject));
    }
    text_line(name, "count.unit", t.video_level ? "video" : "frame");
    for (size_t k = 0; k < t.figures.totals.size(); ++k)
      text_line(name, k == 0 ? std::string("count.bona_fide") : "count.attack." + t.type_names[k],
                std::to_string(t.figures.totals[k]));
    text_line(name, "count.frames", std::to_string(t.frames));
    for (const auto& f : t.named) {
      auto ci = t.ci.find(f.key);
      out += fmt::format("{}\t{}\t{}\t{}\t{}\n", tsv_escape(name), tsv_escape(f.key), number(f, f.value),
                         ci == t.ci.end() ? "" : number(f, ci->second.first),
                         ci == t.ci.end() ? "" : number(f, ci->second.second));
    }
  }
  for (const auto& s : e.summary) {
    out += fmt::format("mean\t{}\t{}\t\t\n", tsv_escape(s.figure.key), number(s.figure, s.figure.value));
    out += fmt::format("std\t{}\t{}\t\t\n", tsv_escape(s.figure.key), number(s.figure, s.std));
  }
  return out;
}

}  // namespace cmclip::metrics
