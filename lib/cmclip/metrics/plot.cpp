#include "cmclip/metrics/plot.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <set>

#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/metrics/score_tsv.hpp"

namespace cmclip::metrics {

double normal_quantile(double p) {
  // Acklam's rational approximation, refined by one Halley step on erfc.
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  if (!(p > 0 && p < 1)) return p <= 0 ? -INFINITY : INFINITY;
  const double low = 0.02425;
  double x;
  if (p < low) {
    double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - low) {
    double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
  double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

PlotKind plot_kind_for(const std::string& path, const std::string& type) {
  std::string base = basename_of(path);
  std::string lower = base;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower.size() < 5 || lower.compare(lower.size() - 4, 4, ".png") != 0)
    throw UsageError(fmt::format("--plot {}: the plot is a PNG image; give a name ending in .png", path));
  if (type == "roc") return PlotKind::roc;
  if (type == "det") return PlotKind::det;
  return lower.find("det") != std::string::npos ? PlotKind::det : PlotKind::roc;
}

namespace {
// Okabe-Ito colours (BGR), distinguishable with colour-vision deficiencies.
const cv::Scalar kColours[] = {{178, 114, 0},   {0, 94, 213},   {115, 158, 0}, {0, 159, 230},
                               {167, 121, 204}, {233, 180, 86}, {0, 0, 0}};
const cv::Scalar kInk{40, 40, 40}, kGrid{228, 228, 228}, kMinorGrid{242, 242, 242}, kWhite{255, 255, 255};
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr int kShift = 4;  // sub-pixel bits for the curves
constexpr double kSub = 1 << kShift;

struct Axis {
  std::function<double(double)> map;  // rate -> [0, 1] along the axis
  std::vector<std::pair<double, std::string>> ticks;
  std::vector<double> minor;
  std::string label;
};

std::string percent_label(double r) {
  double pct = 100 * r;
  if (pct >= 1) return fmt::format("{:g}%", pct);
  return fmt::format("{:g}%", std::stod(fmt::format("{:.3g}", pct)));
}

// Linear rate axis from `lo` (a multiple of 10%) to 100%: ticks every 10%, or every 5%
// when the range is short.
Axis linear_axis(double lo, const std::string& label) {
  Axis a;
  a.map = [lo](double r) { return (r - lo) / (1 - lo); };
  const int step = lo >= 0.5 ? 5 : 10;
  for (int pct = static_cast<int>(std::lround(100 * lo)); pct <= 100; pct += step)
    a.ticks.push_back({pct / 100.0, fmt::format("{}%", pct)});
  a.label = label;
  return a;
}

Axis log_axis(double lo, const std::string& label) {
  Axis a;
  const double llo = std::log10(lo);
  a.map = [llo](double r) { return r <= 0 ? -0.1 : (std::log10(r) - llo) / (0 - llo); };
  for (int e = static_cast<int>(std::lround(llo)); e <= 0; ++e) {
    a.ticks.push_back({std::pow(10.0, e), percent_label(std::pow(10.0, e))});
    if (e < 0)
      for (int m = 2; m <= 9; ++m) a.minor.push_back(m * std::pow(10.0, e));
  }
  a.label = label;
  return a;
}

// Normal-deviate axis: labels on 1-2-5 values, decades first, kept only where they
// stand at least `min_gap` of the axis apart (the rest become minor grid lines).
Axis probit_axis(double lo, double hi, const std::string& label, double min_gap) {
  Axis a;
  const double qlo = normal_quantile(lo), qhi = normal_quantile(hi);
  a.map = [qlo, qhi](double r) {
    double q = normal_quantile(std::clamp(r, 1e-12, 1 - 1e-12));
    return (q - qlo) / (qhi - qlo);
  };
  std::vector<double> candidates;
  for (double decade = 1e-6; decade < 1; decade *= 10)
    for (double m : {1.0, 2.0, 5.0}) candidates.push_back(m * decade);
  for (double r : {0.3, 0.4, 0.6, 0.7, 0.8, 0.9, 0.95}) candidates.push_back(r);
  std::vector<std::pair<int, double>> ranked;  // (priority, rate): decades, then 5s, then the rest
  for (double r : candidates) {
    if (r < lo * (1 - 1e-9) || r > hi * (1 + 1e-9)) continue;
    double lead = r / std::pow(10.0, std::floor(std::log10(r) + 1e-9));
    int priority = std::abs(lead - 1) < 1e-6 || std::abs(r - hi) < 1e-9 ? 0 : std::abs(lead - 5) < 1e-6 ? 1 : 2;
    ranked.push_back({priority, r});
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<double> kept;
  for (const auto& [priority, r] : ranked) {
    bool room =
        std::all_of(kept.begin(), kept.end(), [&](double k) { return std::abs(a.map(k) - a.map(r)) >= min_gap; });
    if (room) kept.push_back(r);
    else a.minor.push_back(r);
  }
  std::sort(kept.begin(), kept.end());
  for (double r : kept) a.ticks.push_back({r, percent_label(r)});
  a.label = label;
  return a;
}

// The smallest rate worth showing: a decade at or below 1/(largest class), within
// [1e-5, 1e-2].
double lower_rate(const Evaluation& e) {
  int64_t biggest = 1;
  for (const auto& t : e.tests)
    for (int64_t n : t.figures.totals) biggest = std::max(biggest, n);
  double lo = std::pow(10.0, std::floor(std::log10(1.0 / double(biggest))));
  return std::clamp(lo, 1e-5, 1e-2);
}

void text(cv::Mat& img, const std::string& s, cv::Point at, double scale, const cv::Scalar& colour, int thickness = 1) {
  cv::putText(img, s, at, kFont, scale, colour, thickness, cv::LINE_AA);
}

cv::Size text_size(const std::string& s, double scale, int thickness = 1) {
  int base = 0;
  return cv::getTextSize(s, kFont, scale, thickness, &base);
}

// Vertical text (reading upwards), drawn via a rotated strip.
void vertical_text(cv::Mat& img, const std::string& s, cv::Point centre, double scale) {
  cv::Size sz = text_size(s, scale);
  cv::Mat strip(sz.height + 10, sz.width + 4, img.type(), kWhite);
  text(strip, s, {2, sz.height + 3}, scale, kInk);
  cv::Mat up;
  cv::rotate(strip, up, cv::ROTATE_90_COUNTERCLOCKWISE);
  cv::Rect r(centre.x - up.cols / 2, centre.y - up.rows / 2, up.cols, up.rows);
  r &= cv::Rect(0, 0, img.cols, img.rows);
  up(cv::Rect(0, 0, r.width, r.height)).copyTo(img(r));
}

std::vector<std::string> legend_names(const Evaluation& e) {
  std::vector<std::string> names;
  std::set<std::string> seen;
  bool unique = true;
  for (const auto& t : e.tests) unique &= seen.insert(basename_of(display_name(t.name))).second;
  for (const auto& t : e.tests) names.push_back(unique ? basename_of(display_name(t.name)) : display_name(t.name));
  return names;
}

// Calls f(far, frr) at every cut of a test set's scores: far = APCER pooled (attacks
// accepted), frr = BPCER (bona fide rejected).
template <class F>
void for_each_rate(const TestReport& t, F f) {
  const int64_t live = t.figures.totals[0];
  int64_t attacks = 0;
  for (size_t k = 1; k < t.figures.totals.size(); ++k) attacks += t.figures.totals[k];
  t.scores->for_each_cut(nullptr, [&](size_t, int64_t l, int64_t a) {
    f(double(attacks - a) / double(attacks), double(l) / double(live));
  });
}

// What a plot shows: to_xy maps the rates at a cut to the axes' rates, and the axes map
// those to plot coordinates in [0, 1]^2 (x right, y up).
struct Plot {
  Axis xa, ya;
  std::function<std::pair<double, double>(double far, double frr)> to_xy;
  std::string title;
};

// ROC for the positive class of --positive: FPR on a log axis, TPR on a linear one.
Plot roc_plot(const Evaluation& e) {
  const Positive positive = e.conventions.positive;
  const double lo = lower_rate(e);
  Plot p;
  if (positive == Positive::attack) p.to_xy = [](double far, double frr) { return std::pair{frr, 1 - far}; };
  else p.to_xy = [](double far, double frr) { return std::pair{far, 1 - frr}; };
  // The TPR axis starts at the 10% step below the lowest TPR any curve shows.
  double lowest = 1;
  for (const auto& t : e.tests)
    for_each_rate(t, [&](double far, double frr) {
      auto [x, y] = p.to_xy(far, frr);
      if (x >= lo) lowest = std::min(lowest, y);
    });
  const double ylo = std::min(0.9, std::floor(10 * lowest + 1e-9) / 10);
  const std::string from = ylo > 0 ? fmt::format(", axis from {}%", std::lround(100 * ylo)) : "";
  if (positive == Positive::attack) {
    p.xa = log_axis(lo, "FPR = BPCER (bona fide rejected), log scale");
    p.ya = linear_axis(ylo, "TPR = attacks detected (1 - APCER pooled)" + from);
  } else {
    p.xa = log_axis(lo, "FPR = APCER pooled (attacks accepted), log scale");
    p.ya = linear_axis(ylo, "TPR = bona fide accepted (1 - BPCER)" + from);
  }
  p.title = fmt::format("ROC, positive class: {}", positive == Positive::attack ? "attack" : "bona fide (live)");
  return p;
}

// The tick labels' spacing depends on the plot area's size.
Plot det_plot(const Evaluation& e, const cv::Rect& area) {
  // Upper end from the worst EER; lower end the decade below the smallest error rate the
  // curves reach inside that range.
  double worst_eer = 0;
  for (const auto& t : e.tests) worst_eer = std::max(worst_eer, t.figures.eer);
  const double hi = worst_eer < 0.1 ? 0.5 : worst_eer < 0.3 ? 0.8 : 0.95;
  double smallest = 1;
  for (const auto& t : e.tests)
    for_each_rate(t, [&](double far, double frr) {
      if (far <= hi && frr <= hi) {
        if (far > 0) smallest = std::min(smallest, far);
        if (frr > 0) smallest = std::min(smallest, frr);
      }
    });
  const double det_lo = std::clamp(std::pow(10.0, std::floor(std::log10(smallest) + 1e-9)), 1e-5, 1e-2);
  Plot p;
  p.xa = probit_axis(det_lo, hi, "APCER pooled (attacks accepted)", 60.0 / area.width);
  p.ya = probit_axis(det_lo, hi, "BPCER (bona fide rejected)", 24.0 / area.height);
  p.to_xy = [](double far, double frr) { return std::pair{far, frr}; };
  p.title = "DET curve (normal deviate scales)";
  return p;
}

Plot plot_of(const Evaluation& e, PlotKind kind, const cv::Rect& area) {
  Plot p = kind == PlotKind::roc ? roc_plot(e) : det_plot(e, area);
  p.title += fmt::format("  -  {} test set{}, {}", e.tests.size(), e.tests.size() == 1 ? "" : "s",
                         e.conventions.aggregation == Aggregation::frame ? "frame scores" : "video-mean scores");
  return p;
}

// Plot coordinates -> image pixels.
double px(const cv::Rect& area, double u) { return area.x + u * area.width; }
double py(const cv::Rect& area, double v) { return area.y + area.height - v * area.height; }

// Grid, ticks and tick labels.
void draw_grid(cv::Mat& img, const cv::Rect& area, const Plot& p) {
  for (double m : p.xa.minor) {
    int x = static_cast<int>(std::lround(px(area, p.xa.map(m))));
    cv::line(img, {x, area.y}, {x, area.y + area.height}, kMinorGrid, 1);
  }
  for (double m : p.ya.minor) {
    int y = static_cast<int>(std::lround(py(area, p.ya.map(m))));
    cv::line(img, {area.x, y}, {area.x + area.width, y}, kMinorGrid, 1);
  }
  for (const auto& [r, label] : p.xa.ticks) {
    int x = static_cast<int>(std::lround(px(area, p.xa.map(r))));
    cv::line(img, {x, area.y}, {x, area.y + area.height}, kGrid, 1);
    cv::line(img, {x, area.y + area.height}, {x, area.y + area.height + 5}, kInk, 1);
    cv::Size s = text_size(label, 0.45);
    text(img, label, {x - s.width / 2, area.y + area.height + 22}, 0.45, kInk);
  }
  for (const auto& [r, label] : p.ya.ticks) {
    int y = static_cast<int>(std::lround(py(area, p.ya.map(r))));
    cv::line(img, {area.x, y}, {area.x + area.width, y}, kGrid, 1);
    cv::line(img, {area.x - 5, y}, {area.x, y}, kInk, 1);
    cv::Size s = text_size(label, 0.45);
    text(img, label, {area.x - 9 - s.width, y + s.height / 2}, 0.45, kInk);
  }
}

// The DET's EER line (APCER pooled = BPCER), dashed, and its label.
void draw_eer_line(cv::Mat& img, const cv::Rect& area) {
  cv::Mat roi = img(area);
  for (int k = 0; k < 60; k += 2) {
    double a = double(k) / 60, b = double(k + 1) / 60;
    cv::line(roi, {int(a * area.width), int((1 - a) * area.height)}, {int(b * area.width), int((1 - b) * area.height)},
             {150, 150, 150}, 1, cv::LINE_AA);
  }
  const std::string eer_label = "APCER = BPCER";
  text(img, eer_label, {int(px(area, 0.9)) - text_size(eer_label, 0.42).width - 10, int(py(area, 0.9))}, 0.42,
       {120, 120, 120});
}

// The frame of the plot area, the axis labels and the title.
void draw_labels(cv::Mat& img, const cv::Rect& area, const Plot& p) {
  cv::rectangle(img, area, kInk, 1);
  cv::Size xs = text_size(p.xa.label, 0.55);
  text(img, p.xa.label, {area.x + area.width / 2 - xs.width / 2, area.y + area.height + 52}, 0.55, kInk);
  vertical_text(img, p.ya.label, {28, area.y + area.height / 2}, 0.55);
  text(img, p.title, {area.x, 40}, 0.62, kInk, 1);
}

// A test set's curve in the plot area's pixels (kShift sub-pixel bits), clipped and
// decimated to half-pixel steps.
std::vector<cv::Point> curve_points(const TestReport& t, const Plot& p, const cv::Rect& area) {
  std::vector<cv::Point> points;
  cv::Point2d last(-1e9, -1e9);
  cv::Point2d pending;
  bool have_pending = false;
  for_each_rate(t, [&](double far, double frr) {
    auto [x, y] = p.to_xy(far, frr);
    cv::Point2d q(std::clamp(p.xa.map(x), -1.0, 2.0) * area.width,
                  (1 - std::clamp(p.ya.map(y), -1.0, 2.0)) * area.height);
    if (std::abs(q.x - last.x) >= 0.5 || std::abs(q.y - last.y) >= 0.5) {
      points.emplace_back(int(std::lround(q.x * kSub)), int(std::lround(q.y * kSub)));
      last = q;
      have_pending = false;
    } else {
      pending = q;
      have_pending = true;
    }
  });
  if (have_pending) points.emplace_back(int(std::lround(pending.x * kSub)), int(std::lround(pending.y * kSub)));
  return points;
}

// The legend's line per test set, and whether a marker lies outside the axes.
struct Legend {
  std::vector<std::string> lines;
  bool marker_off_axes = false;
};

// A test set's operating point: a filled circle inside the axes; outside them (an FPR of
// 0 on the log axis, a TPR below the axis' start) a ring on the nearest edge, drawn
// over the frame so that it is never clipped away. Returns whether it was outside.
bool draw_operating_point(cv::Mat& img, const cv::Rect& area, const Plot& p, const OperatingPoint& op,
                          const cv::Scalar& colour) {
  auto [mx, my] = p.to_xy(op.apcer_pooled, op.bpcer);
  const double u = p.xa.map(mx), v = p.ya.map(my);
  const bool outside = !(u >= 0 && u <= 1 && v >= 0 && v <= 1);  // NaN: outside too
  const cv::Point marker(int(std::lround(px(area, std::isnan(u) ? 0 : std::clamp(u, 0.0, 1.0)))),
                         int(std::lround(py(area, std::isnan(v) ? 0 : std::clamp(v, 0.0, 1.0)))));
  if (outside) {
    cv::circle(img, marker, 8, kInk, 1, cv::LINE_AA);
    cv::circle(img, marker, 6, colour, 3, cv::LINE_AA);
  } else {
    cv::circle(img, marker, 7, colour, cv::FILLED, cv::LINE_AA);
    cv::circle(img, marker, 7, kInk, 1, cv::LINE_AA);
  }
  return outside;
}

// Each test set's curve and its operating point.
Legend draw_curves(cv::Mat& img, const cv::Rect& area, const Evaluation& e, const Plot& p) {
  cv::Mat roi = img(area);
  const auto names = legend_names(e);
  Legend legend;
  for (size_t i = 0; i < e.tests.size(); ++i) {
    const TestReport& t = e.tests[i];
    const cv::Scalar colour = kColours[i % std::size(kColours)];
    std::vector<std::vector<cv::Point>> poly{curve_points(t, p, area)};
    cv::polylines(roi, poly, false, colour, 2, cv::LINE_AA, kShift);

    const OperatingPoint& op = t.figures.at_threshold;
    if (draw_operating_point(img, area, p, op, colour)) legend.marker_off_axes = true;
    legend.lines.push_back(fmt::format("{}: AUC {:.4f}, EER {:.2f}%, HTER {:.2f}% at thr {}", names[i], t.figures.auc,
                                 100 * t.figures.eer, 100 * op.hter, op.threshold));
  }
  return legend;
}

// The corner of the plot area where a legend box of this size covers the fewest curve
// pixels (the first such corner in the kind's order of preference).
cv::Rect legend_corner(const cv::Mat& img, const cv::Rect& area, PlotKind kind, int box_w, int box_h) {
  auto inked = [&](const cv::Rect& r) {  // coloured (curve) pixels under a candidate box
    int n = 0;
    for (int y = r.y; y < r.y + r.height; ++y)
      for (int x = r.x; x < r.x + r.width; ++x) {
        cv::Vec3b p = img.at<cv::Vec3b>(y, x);
        n += std::max({p[0], p[1], p[2]}) - std::min({p[0], p[1], p[2]}) > 40;
      }
    return n;
  };
  const int m = 12;
  const int left = area.x + m, right = area.x + area.width - box_w - m;
  const int top = area.y + m, bottom = area.y + area.height - box_h - m;
  std::vector<cv::Rect> corners = kind == PlotKind::roc ? std::vector<cv::Rect>{{right, bottom, box_w, box_h},
                                                                                {left, bottom, box_w, box_h},
                                                                                {right, top, box_w, box_h},
                                                                                {left, top, box_w, box_h}}
                                                        : std::vector<cv::Rect>{{right, top, box_w, box_h},
                                                                                {left, bottom, box_w, box_h},
                                                                                {right, bottom, box_w, box_h},
                                                                                {left, top, box_w, box_h}};
  cv::Rect box = corners.front();
  int least = inked(box);
  for (const auto& c : corners) {
    int n = inked(c);
    if (n < least) least = n, box = c;
  }
  return box;
}

// The legend box, in the corner where the curves leave the most room: a line per test
// set, then what the markers show.
void draw_legend(cv::Mat& img, const cv::Rect& area, const Evaluation& e, PlotKind kind, const Legend& curves) {
  const std::vector<std::string>& legend = curves.lines;
  std::string source = e.tests.front().threshold_source;
  std::string marker_note = source == "test-eer" ? "operating point at each set's OWN EER threshold (test-eer)"
                            : source == "fixed"  ? "operating point at the given threshold"
                                                 : fmt::format("operating point at the dev threshold ({})", source);
  if (curves.marker_off_axes) marker_note += "; ring: outside the axes, on the edge";
  const double scale = 0.48;
  int box_w = text_size(marker_note, scale).width + 62;
  for (const auto& l : legend) box_w = std::max(box_w, text_size(l, scale).width + 62);
  const int line_h = 22;
  int box_h = line_h * static_cast<int>(legend.size() + 1) + 14;
  box_w = std::min(box_w, area.width - 20);
  const cv::Rect box = legend_corner(img, area, kind, box_w, box_h);
  cv::rectangle(img, box, kWhite, cv::FILLED);
  cv::rectangle(img, box, {170, 170, 170}, 1);
  for (size_t i = 0; i < legend.size(); ++i) {
    int y = box.y + 10 + line_h * static_cast<int>(i) + line_h / 2;
    const cv::Scalar colour = kColours[i % std::size(kColours)];
    cv::line(img, {box.x + 10, y}, {box.x + 44, y}, colour, 3, cv::LINE_AA);
    text(img, legend[i], {box.x + 52, y + 5}, scale, kInk);
  }
  int y = box.y + 10 + line_h * static_cast<int>(legend.size()) + line_h / 2;
  cv::circle(img, {box.x + 27, y}, 6, {150, 150, 150}, cv::FILLED, cv::LINE_AA);
  cv::circle(img, {box.x + 27, y}, 6, kInk, 1, cv::LINE_AA);
  text(img, marker_note, {box.x + 52, y + 5}, scale, kInk);
}
}  // namespace

std::string render_plot(const Evaluation& e, PlotKind kind) {
  const int width = 1000, height = 780;
  const cv::Rect area(100, 64, width - 100 - 36, height - 64 - 96);
  cv::Mat img(height, width, CV_8UC3, kWhite);
  const Plot p = plot_of(e, kind, area);
  draw_grid(img, area, p);
  if (kind == PlotKind::det) draw_eer_line(img, area);
  draw_labels(img, area, p);
  const Legend legend = draw_curves(img, area, e, p);
  draw_legend(img, area, e, kind, legend);

  std::vector<uchar> png;
  if (!cv::imencode(".png", img, png)) throw RuntimeFailure("cannot encode the plot as PNG");
  return std::string(png.begin(), png.end());
}

}  // namespace cmclip::metrics
