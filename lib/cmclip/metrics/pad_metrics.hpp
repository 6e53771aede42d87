// Presentation attack detection metrics, ISO/IEC 30107-3 as implemented in
// bob.pad.base (man fas-eval(1) gives the same definitions for users).
//
// Scores: higher = more live. At a threshold tau an attack is *accepted* when
// score >= tau and a bona fide is *rejected* when score < tau (ties accept;
// TieRule::reject makes both comparisons strict the other way).
//   APCER_t  = accepted attacks of type t / attacks of type t
//   APCER    = max over the attack types present      (ISO, bob: not pooled)
//   APCER_pooled (= FAR) = accepted attacks / attacks
//   BPCER (= FRR)        = rejected bona fide / bona fide
//   ACER = (APCER + BPCER) / 2        HTER = (APCER_pooled + BPCER) / 2
//   EER: on the set itself, the cut minimising |FAR - FRR| (then FAR + FRR, then the
//        lowest threshold); EER = (FAR + FRR) / 2 there.
//   AUC = P(attack score < bona fide score) + 1/2 P(equal), exact.
//   TPR@FPR=x: the step ROC's highest TPR with FPR <= x (no interpolation); null when
//        the negatives are fewer than 1/x (the only FPR <= x the data can show is 0).
//   BPCER_N: BPCER at the lowest threshold where every attack type has
//        APCER_t <= 1/N (bob's bpcerN criterion): BPCER10 (APCER 10%), BPCER20 (5%).
// All comparisons of rates are exact integer comparisons, so results do not depend
// on floating-point rounding or on the order of the data.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cmclip/metrics/sorted_scores.hpp"

namespace cmclip::metrics {

// The ROC positive class for TPR@FPR. attack: TPR = attacks detected (rejected),
// FPR = bona fide rejected (BPCER). live: TPR = bona fide accepted, FPR = attacks
// accepted (pooled APCER).
enum class Positive { attack, live };

// FPR targets of tpr_at_fpr: 1/100, 1/1000, 1/10000 (exact integer comparisons).
inline constexpr std::array<int64_t, 3> kFprDenominators{100, 1000, 10000};
inline constexpr std::array<const char*, 3> kFprNames{"1e-2", "1e-3", "1e-4"};
// BPCER_N for N = 10 and 20.
inline constexpr std::array<int64_t, 2> kBpcerN{10, 20};

// Error rates at one cut.
struct OperatingPoint {
  size_t cut = 0;
  float threshold = 0;                 // the value realising the cut under the tie rule
  std::vector<double> apcer_per_type;  // index t-1; NaN for a type absent from the set
  double apcer = 0;                    // max over the present types
  double apcer_pooled = 0;
  double bpcer = 0;
  double acer = 0;
  double hter = 0;
};

// Everything fas-eval reports for one set.
struct SetFigures {
  std::vector<int64_t> totals;  // [0] bona fide, [t] attack type t (weighted)
  OperatingPoint at_threshold;  // the threshold-dependent figures
  double eer = 0;
  float eer_threshold = 0;
  double auc = 0;
  std::array<std::optional<double>, 3> tpr_at_fpr;  // per kFprDenominators
  std::array<double, 2> bpcer_n{};                  // BPCER10, BPCER20
  std::array<float, 2> bpcer_n_threshold{};
};

// Fails (InputError naming `what`) unless the set has bona fide and attacks.
void require_both_classes(const SortedScores& s, const std::string& what, const SampleWeights* w = nullptr);

OperatingPoint operating_point(const SortedScores& s, size_t cut, TieRule tie, const SampleWeights* w = nullptr);
size_t eer_cut(const SortedScores& s, const SampleWeights* w = nullptr);
size_t min_hter_cut(const SortedScores& s, const SampleWeights* w = nullptr);
// The lowest cut where every present attack type has N * accepted_t <= total_t.
size_t bpcer_n_cut(const SortedScores& s, int64_t n, const SampleWeights* w = nullptr);
double auc(const SortedScores& s, const SampleWeights* w = nullptr);
std::array<std::optional<double>, 3> tpr_at_fpr(const SortedScores& s, Positive positive,
                                                const SampleWeights* w = nullptr);

// One scalar figure with a stable key, for the TSV output, the table, the mean/std
// over several test sets and the bootstrap intervals.
enum class FigureKind { rate, auc, score };
struct NamedFigure {
  std::string key;    // "apcer", "apcer_per_attack.print", "tpr_at_fpr.1e-2", ...
  std::string label;  // "APCER print" (the table's row name)
  FigureKind kind = FigureKind::rate;
  std::optional<double> value;  // none: undefined (TPR@FPR beyond the data's resolution)
};
// `type_names`: [0] bona fide, [t] attack type t. Order: threshold, APCER, per type,
// pooled APCER, BPCER, ACER, HTER, EER, EER threshold, AUC, TPR@FPR, BPCER10, BPCER20.
std::vector<NamedFigure> named_figures(const SetFigures& f, const std::vector<std::string>& type_names);

// Every figure. `threshold`: apply it; none: use the set's own EER cut (the caller
// must say so loudly: the threshold then comes from the test set).
SetFigures compute_figures(const SortedScores& s, std::optional<float> threshold, TieRule tie, Positive positive,
                           const SampleWeights* w = nullptr);

}  // namespace cmclip::metrics
