#include "cli/design_plot.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/design_text.h"
#include "cli/svg_plot.h"

namespace hakd::cli {
namespace {

using hakd::v1::Candidate;
using hakd::v1::DesignJob;

// One colour per device (Okabe-Ito, readable by colour-blind people).
constexpr const char* kDeviceColours[] = {"#0072b2", "#d55e00", "#009e73",
                                          "#cc79a7", "#e69f00", "#56b4e9",
                                          "#f0e442", "#000000"};
constexpr double kWidth = 960;
constexpr double kHeight = 560;
constexpr double kPlotLeft = 80;
constexpr double kPlotRight = 700;  // the legend lives to the right
constexpr double kPlotTop = 40;
constexpr double kPlotBottom = 490;
constexpr double kMarker = 5;

struct Point {
  const Candidate* candidate;
  int device;
  double ms;
  double accuracy_pct;
};

struct Axes {
  double x_hi, y_lo, y_hi;
  double X(double ms) const {
    return kPlotLeft + ms / x_hi * (kPlotRight - kPlotLeft);
  }
  double Y(double pct) const {
    return kPlotBottom -
           (pct - y_lo) / (y_hi - y_lo) * (kPlotBottom - kPlotTop);
  }
};

std::string F(double v) { return absl::StrFormat("%.1f", v); }

const char* Colour(int device) {
  return kDeviceColours[device % std::size(kDeviceColours)];
}

std::string Text(double x, double y, absl::string_view anchor,
                 absl::string_view body, absl::string_view extra = "") {
  return absl::StrCat("<text x=\"", F(x), "\" y=\"", F(y), "\" text-anchor=\"",
                      anchor, "\"", extra, ">", XmlEscape(body), "</text>\n");
}

std::string Line(double x1, double y1, double x2, double y2,
                 absl::string_view style) {
  return absl::StrCat("<line x1=\"", F(x1), "\" y1=\"", F(y1), "\" x2=\"",
                      F(x2), "\" y2=\"", F(y2), "\" ", style, "/>\n");
}

// The role's marker centred on (x, y): shape tells the role apart, colour
// the device.
std::string Marker(hakd::v1::CandidateRole role, double x, double y,
                   const char* colour) {
  const double r = kMarker;
  const std::string paint = absl::StrCat(" fill=\"", colour, "\" stroke=\"",
                                         colour, "\" stroke-width=\"2\"/>\n");
  switch (role) {
    case hakd::v1::ROLE_TEACHER:
      return absl::StrCat("<rect x=\"", F(x - r), "\" y=\"", F(y - r),
                          "\" width=\"", F(2 * r), "\" height=\"", F(2 * r),
                          "\"", paint);
    case hakd::v1::ROLE_UNIFORM:
      return absl::StrCat("<polygon points=\"", F(x), ",", F(y - r), " ",
                          F(x + r), ",", F(y + r), " ", F(x - r), ",", F(y + r),
                          "\"", paint);
    case hakd::v1::ROLE_FISHER:
      return absl::StrCat("<polygon points=\"", F(x), ",", F(y - r), " ",
                          F(x + r), ",", F(y), " ", F(x), ",", F(y + r), " ",
                          F(x - r), ",", F(y), "\"", paint);
    case hakd::v1::ROLE_MAGNITUDE:
      return absl::StrCat("<path d=\"M", F(x - r), " ", F(y - r), "L", F(x + r),
                          " ", F(y + r), "M", F(x - r), " ", F(y + r), "L",
                          F(x + r), " ", F(y - r), "\"", paint);
    default:  // HAKD students
      return absl::StrCat("<circle cx=\"", F(x), "\" cy=\"", F(y), "\" r=\"",
                          F(r), "\"", paint);
  }
}

std::vector<Point> CollectPoints(const DesignJob& job) {
  std::vector<Point> points;
  for (const Candidate& c : job.candidates()) {
    if (!(c.test_accuracy() > 0) || !std::isfinite(c.test_accuracy())) continue;
    for (int d = 0; d < job.spec().budgets_size(); ++d) {
      const hakd::v1::DeviceLatency* l = FindLatency(c, job.spec(), d);
      if (l == nullptr || !(l->measured_ms() > 0) ||
          !std::isfinite(l->measured_ms())) {
        continue;
      }
      points.push_back({&c, d, l->measured_ms(), 100.0 * c.test_accuracy()});
    }
  }
  return points;
}

Axes FitAxes(const DesignJob& job, const std::vector<Point>& points) {
  double x_hi = 0;
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  for (const Point& p : points) {
    x_hi = std::max(x_hi, p.ms);
    lo = std::min(lo, p.accuracy_pct);
    hi = std::max(hi, p.accuracy_pct);
  }
  for (const hakd::v1::DeviceBudget& b : job.spec().budgets()) {
    if (std::isfinite(b.budget_ms())) x_hi = std::max(x_hi, b.budget_ms());
  }
  const double pad = std::max(1.0, (hi - lo) * 0.1);
  return {x_hi * 1.1, std::max(0.0, lo - pad), std::min(100.0, hi + pad)};
}

std::string Frame(const Axes& a) {
  std::string out = absl::StrCat(
      "<g font-family=\"sans-serif\" font-size=\"11\">\n",
      Line(kPlotLeft, kPlotBottom, kPlotRight, kPlotBottom, "stroke=\"#000\""),
      Line(kPlotLeft, kPlotTop, kPlotLeft, kPlotBottom, "stroke=\"#000\""));
  for (double t : NiceTicks(0, a.x_hi, 8)) {
    absl::StrAppend(
        &out,
        Line(a.X(t), kPlotBottom, a.X(t), kPlotBottom + 5, "stroke=\"#000\""),
        Text(a.X(t), kPlotBottom + 18, "middle", absl::StrFormat("%g", t)));
  }
  for (double t : NiceTicks(a.y_lo, a.y_hi, 6)) {
    absl::StrAppend(
        &out,
        Line(kPlotLeft - 5, a.Y(t), kPlotRight, a.Y(t), "stroke=\"#ddd\""),
        Text(kPlotLeft - 8, a.Y(t) + 4, "end", absl::StrFormat("%g", t)));
  }
  const double mid_y = (kPlotTop + kPlotBottom) / 2;
  absl::StrAppend(
      &out,
      Text((kPlotLeft + kPlotRight) / 2, kPlotBottom + 40, "middle",
           "measured latency (ms, batch 1)", " font-size=\"13\""),
      Text(22, mid_y, "middle", "test accuracy (%)",
           absl::StrCat(" font-size=\"13\" transform=\"rotate(-90 22 ",
                        F(mid_y), ")\"")),
      "</g>\n");
  return out;
}

std::string Legend(const DesignJob& job) {
  std::string out = "<g font-family=\"sans-serif\" font-size=\"12\">\n";
  double y = kPlotTop;
  for (int d = 0; d < job.spec().budgets_size(); ++d, y += 18) {
    const hakd::v1::DeviceBudget& b = job.spec().budgets(d);
    absl::StrAppend(
        &out,
        Line(kPlotRight + 20, y, kPlotRight + 44, y,
             absl::StrCat("stroke=\"", Colour(d),
                          "\" stroke-width=\"2\" stroke-dasharray=\"5 3\"")),
        Text(kPlotRight + 50, y + 4, "start",
             absl::StrCat(b.device(), " (budget ",
                          FormatBudgetMs(b.budget_ms()), " ms)")));
  }
  y += 10;
  for (auto role :
       {hakd::v1::ROLE_TEACHER, hakd::v1::ROLE_HAKD, hakd::v1::ROLE_UNIFORM,
        hakd::v1::ROLE_FISHER, hakd::v1::ROLE_MAGNITUDE}) {
    absl::StrAppend(
        &out, Marker(role, kPlotRight + 32, y, "#555"),
        Text(kPlotRight + 50, y + 4, "start", CandidateRoleName(role)));
    y += 18;
  }
  absl::StrAppend(&out, "</g>\n");
  return out;
}

}  // namespace

std::string RenderDesignSvg(const DesignJob& job) {
  std::string title = absl::StrCat("design job ", job.job_id());
  if (!job.spec().name().empty()) {
    absl::StrAppend(&title, " (", job.spec().name(), ")");
  }
  std::string out = absl::StrCat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"", F(kWidth),
      "\" height=\"", F(kHeight), "\" viewBox=\"0 0 ", F(kWidth), " ",
      F(kHeight), "\">\n<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n",
      Text((kPlotLeft + kPlotRight) / 2, 24, "middle",
           absl::StrCat(title, ": test accuracy vs measured latency"),
           " font-family=\"sans-serif\" font-size=\"15\""));
  const std::vector<Point> points = CollectPoints(job);
  if (points.empty()) {
    absl::StrAppend(
        &out,
        Text((kPlotLeft + kPlotRight) / 2, kHeight / 2, "middle",
             "no measured latencies yet", " font-family=\"sans-serif\""),
        "</svg>\n");
    return out;
  }
  const Axes axes = FitAxes(job, points);
  absl::StrAppend(&out, Frame(axes));
  for (int d = 0; d < job.spec().budgets_size(); ++d) {
    const double x = axes.X(job.spec().budgets(d).budget_ms());
    absl::StrAppend(&out, Line(x, kPlotTop, x, kPlotBottom,
                               absl::StrCat("stroke=\"", Colour(d),
                                            "\" stroke-dasharray=\"5 3\"")));
  }
  absl::StrAppend(&out, "<g font-family=\"sans-serif\" font-size=\"11\">\n");
  for (const Point& p : points) {
    const double x = axes.X(p.ms);
    const double y = axes.Y(p.accuracy_pct);
    absl::StrAppend(&out, Marker(p.candidate->role(), x, y, Colour(p.device)));
    const bool recommended =
        p.candidate->recommended() || p.candidate->name() == job.recommended();
    if (recommended) {
      absl::StrAppend(&out, "<circle cx=\"", F(x), "\" cy=\"", F(y), "\" r=\"",
                      F(kMarker + 4), "\" fill=\"none\" stroke=\"#000\"/>\n");
    }
    absl::StrAppend(&out, Text(x + 9, y - 7, "start",
                               recommended ? absl::StrCat(p.candidate->name(),
                                                          " (recommended)")
                                           : p.candidate->name()));
  }
  absl::StrAppend(&out, "</g>\n", Legend(job), "</svg>\n");
  return out;
}

}  // namespace hakd::cli
