#include "cmclip/metrics/pad_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"

namespace cmclip::metrics {

namespace {
using i128 = __int128;

struct BinaryTotals {
  int64_t live = 0, attacks = 0;
};

BinaryTotals binary_totals(const SortedScores& s, const SampleWeights* w) {
  auto t = s.class_totals(w);
  BinaryTotals b;
  b.live = t[0];
  for (size_t k = 1; k < t.size(); ++k) b.attacks += t[k];
  return b;
}
}  // namespace

void require_both_classes(const SortedScores& s, const std::string& what, const SampleWeights* w) {
  BinaryTotals b = binary_totals(s, w);
  if (b.live == 0 && b.attacks == 0) throw InputError(what, "", "no scores");
  if (b.live == 0)
    throw InputError(
        what, "",
        fmt::format("no bona fide (live) sample among {} attacks: BPCER, EER and AUC are undefined", b.attacks));
  if (b.attacks == 0)
    throw InputError(what, "",
                     fmt::format("no attack sample among {} bona fide: APCER, EER and AUC are undefined", b.live));
}

OperatingPoint operating_point(const SortedScores& s, size_t cut, TieRule tie, const SampleWeights* w) {
  std::vector<int64_t> totals = s.class_totals(w), accepted(s.num_types() + 1, 0);
  const size_t begin = cut < s.groups() ? s.group_begin(cut) : s.size();
  for (size_t i = begin; i < s.size(); ++i) accepted[s.cls(i)] += s.weight(i, w);
  OperatingPoint p;
  p.cut = cut;
  p.threshold = s.threshold_of_cut(cut, tie);
  int64_t attacks = 0, attacks_accepted = 0;
  p.apcer = 0;
  for (int t = 1; t <= s.num_types(); ++t) {
    double rate = totals[t] > 0 ? double(accepted[t]) / double(totals[t]) : std::nan("");
    p.apcer_per_type.push_back(rate);
    if (totals[t] > 0) p.apcer = std::max(p.apcer, rate);
    attacks += totals[t];
    attacks_accepted += accepted[t];
  }
  int64_t live_rejected = totals[0] - accepted[0];
  p.apcer_pooled = attacks > 0 ? double(attacks_accepted) / double(attacks) : std::nan("");
  p.bpcer = totals[0] > 0 ? double(live_rejected) / double(totals[0]) : std::nan("");
  p.acer = (p.apcer + p.bpcer) / 2;
  p.hter = (p.apcer_pooled + p.bpcer) / 2;
  return p;
}

namespace {
// The figures found by sweeping the cuts, each as an accumulator fed every cut's
// (live rejected, attacks rejected), so that compute_figures makes one sweep for all.

// EER: FAR = (attacks - a) / attacks, FRR = l / live; compared as integers over the
// common denominator attacks * live.
struct EerSearch {
  BinaryTotals b;
  size_t best = 0;
  i128 best_diff = -1, best_sum = 0;
  void add(size_t cut, int64_t l, int64_t a) {
    i128 far = i128(b.attacks - a) * b.live, frr = i128(l) * b.attacks;
    i128 diff = far > frr ? far - frr : frr - far, sum = far + frr;
    if (best_diff < 0 || diff < best_diff || (diff == best_diff && sum < best_sum)) {
      best = cut;
      best_diff = diff;
      best_sum = sum;
    }
  }
};

// Twice the Mann-Whitney count: each bona fide scores 2 per attack strictly below it
// and 1 per attack level with it (the group between two cuts).
struct AucCount {
  BinaryTotals b;
  unsigned __int128 twice = 0;
  int64_t live_below = 0, attacks_below = 0;
  void add(size_t, int64_t l, int64_t a) {
    const int64_t live = l - live_below, attacks = a - attacks_below;
    twice += (unsigned __int128)(live)*uint64_t(2 * attacks_below + attacks);
    live_below = l;
    attacks_below = a;
  }
  double value() const { return double(twice) / (2.0 * double(b.live) * double(b.attacks)); }
};

// One sweep for every target. Positive attack: negatives are the bona fide (FPR =
// l / live grows with the cut), TPR = a / attacks grows too: the last admissible cut.
// Positive live: negatives are the attacks (FPR = (attacks - a) / attacks falls with
// the cut), TPR = (live - l) / live falls too: the first admissible cut.
struct TprSearch {
  BinaryTotals b;
  Positive positive;
  std::array<std::optional<int64_t>, 3> best;  // the TPR numerator at each target
  void add(size_t, int64_t l, int64_t a) {
    for (size_t k = 0; k < kFprDenominators.size(); ++k) {
      const int64_t d = kFprDenominators[k];
      if (positive == Positive::attack) {
        if (i128(l) * d <= b.live) best[k] = a;
      } else if (!best[k] && i128(b.attacks - a) * d <= b.attacks) {
        best[k] = b.live - l;
      }
    }
  }
  std::array<std::optional<double>, 3> value() const {
    std::array<std::optional<double>, 3> out;
    const int64_t negatives = positive == Positive::attack ? b.live : b.attacks;
    const int64_t positives = positive == Positive::attack ? b.attacks : b.live;
    for (size_t k = 0; k < kFprDenominators.size(); ++k)  // below the data's resolution: undefined
      if (negatives >= kFprDenominators[k] && best[k]) out[k] = double(*best[k]) / double(positives);
    return out;
  }
};
}  // namespace

size_t eer_cut(const SortedScores& s, const SampleWeights* w) {
  EerSearch e{binary_totals(s, w)};
  s.for_each_cut(w, [&](size_t cut, int64_t l, int64_t a) { e.add(cut, l, a); });
  return e.best;
}

size_t min_hter_cut(const SortedScores& s, const SampleWeights* w) {
  BinaryTotals b = binary_totals(s, w);
  size_t best = 0;
  i128 best_sum = -1;
  s.for_each_cut(w, [&](size_t cut, int64_t l, int64_t a) {
    i128 sum = i128(b.attacks - a) * b.live + i128(l) * b.attacks;
    if (best_sum < 0 || sum < best_sum) {
      best = cut;
      best_sum = sum;
    }
  });
  return best;
}

size_t bpcer_n_cut(const SortedScores& s, int64_t n, const SampleWeights* w) {
  std::vector<int64_t> totals = s.class_totals(w), accepted(totals.size(), 0);
  // Accept groups from the top down while every type stays within APCER_t <= 1/n.
  for (size_t g = s.groups(); g-- > 0;) {
    size_t end = g + 1 < s.groups() ? s.group_begin(g + 1) : s.size();
    for (size_t i = s.group_begin(g); i < end; ++i) {
      int16_t c = s.cls(i);
      if (c == 0) continue;
      accepted[c] += s.weight(i, w);
      if (i128(accepted[c]) * n > totals[c]) return g + 1;
    }
  }
  return 0;
}

double auc(const SortedScores& s, const SampleWeights* w) {
  AucCount c{binary_totals(s, w)};
  s.for_each_cut(w, [&](size_t cut, int64_t l, int64_t a) { c.add(cut, l, a); });
  return c.value();
}

std::array<std::optional<double>, 3> tpr_at_fpr(const SortedScores& s, Positive positive, const SampleWeights* w) {
  TprSearch t{binary_totals(s, w), positive, {}};
  s.for_each_cut(w, [&](size_t cut, int64_t l, int64_t a) { t.add(cut, l, a); });
  return t.value();
}

SetFigures compute_figures(const SortedScores& s, std::optional<float> threshold, TieRule tie, Positive positive,
                           const SampleWeights* w) {
  SetFigures f;
  f.totals = s.class_totals(w);
  // The EER cut, the AUC and TPR@FPR in one sweep of the cuts.
  const BinaryTotals b = binary_totals(s, w);
  EerSearch eer{b};
  AucCount area{b};
  TprSearch tpr{b, positive, {}};
  s.for_each_cut(w, [&](size_t cut, int64_t l, int64_t a) {
    eer.add(cut, l, a);
    area.add(cut, l, a);
    tpr.add(cut, l, a);
  });
  const size_t own_eer = eer.best;
  OperatingPoint at_eer = operating_point(s, own_eer, tie, w);
  f.eer = at_eer.hter;
  f.eer_threshold = at_eer.threshold;
  if (threshold) {
    f.at_threshold = operating_point(s, s.cut_of_threshold(*threshold, tie), tie, w);
    f.at_threshold.threshold = *threshold;
  } else {
    f.at_threshold = at_eer;
  }
  f.auc = area.value();
  f.tpr_at_fpr = tpr.value();
  for (size_t k = 0; k < kBpcerN.size(); ++k) {
    OperatingPoint p = operating_point(s, bpcer_n_cut(s, kBpcerN[k], w), tie, w);
    f.bpcer_n[k] = p.bpcer;
    f.bpcer_n_threshold[k] = p.threshold;
  }
  return f;
}

std::vector<NamedFigure> named_figures(const SetFigures& f, const std::vector<std::string>& type_names) {
  using K = FigureKind;
  std::vector<NamedFigure> out;
  auto add = [&](std::string key, std::string label, K kind, std::optional<double> v) {
    out.push_back({std::move(key), std::move(label), kind, v});
  };
  const OperatingPoint& p = f.at_threshold;
  add("threshold", "threshold", K::score, p.threshold);
  add("apcer", "APCER (max over types)", K::rate, p.apcer);
  for (size_t t = 0; t < p.apcer_per_type.size(); ++t)
    if (!std::isnan(p.apcer_per_type[t]))
      add("apcer_per_attack." + type_names.at(t + 1), "  APCER " + type_names.at(t + 1), K::rate, p.apcer_per_type[t]);
  add("apcer_pooled", "APCER pooled", K::rate, p.apcer_pooled);
  add("bpcer", "BPCER", K::rate, p.bpcer);
  add("acer", "ACER", K::rate, p.acer);
  add("hter", "HTER (pooled)", K::rate, p.hter);
  add("eer", "EER (on this set)", K::rate, f.eer);
  add("eer_threshold", "EER threshold", K::score, f.eer_threshold);
  add("auc", "AUC", K::auc, f.auc);
  for (size_t k = 0; k < kFprNames.size(); ++k)
    add(std::string("tpr_at_fpr.") + kFprNames[k], std::string("TPR@FPR=") + kFprNames[k], K::rate, f.tpr_at_fpr[k]);
  add("bpcer10", "BPCER10 (APCER<=10%)", K::rate, f.bpcer_n[0]);
  add("bpcer20", "BPCER20 (APCER<=5%)", K::rate, f.bpcer_n[1]);
  return out;
}

}  // namespace cmclip::metrics
