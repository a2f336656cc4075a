#include "cli/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/staircase_text.h"

namespace hakd::cli {
namespace {

using hakd::v1::Staircase;

// Distinguishable colours (Tableau 10), cycled when there are more series.
constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                    "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                    "#bcbd22", "#17becf"};

// Plot geometry in SVG user units.
constexpr double kWidth = 960;
constexpr double kLeft = 80;
constexpr double kTop = 40;
constexpr double kRight = 690;  // the legend lives to the right of this
constexpr double kMinHeight = 540;
constexpr double kLegendRow = 18;

// Maps data ranges onto the plot area.
struct Frame {
  double x_lo, x_hi, y_lo, y_hi, bottom;
  double X(double v) const {
    return kLeft + (v - x_lo) / (x_hi - x_lo) * (kRight - kLeft);
  }
  double Y(double v) const {
    return bottom - (v - y_lo) / (y_hi - y_lo) * (bottom - kTop);
  }
};

std::string Num(double v) { return absl::StrFormat("%.1f", v); }

std::string TickLabel(double v) { return absl::StrFormat("%g", v); }

size_t PointCount(const Staircase& s) {
  return std::min<size_t>(s.channels_size(), s.median_us_size());
}

bool Usable(const Staircase& s, size_t i) {
  return std::isfinite(s.median_us(i)) && s.median_us(i) >= 0;
}

void AppendAxes(const Frame& f, std::string* out) {
  absl::StrAppend(out, "<g stroke=\"#000\" stroke-width=\"1\">\n",
                  "<line x1=\"", Num(kLeft), "\" y1=\"", Num(f.bottom),
                  "\" x2=\"", Num(kRight), "\" y2=\"", Num(f.bottom), "\"/>\n",
                  "<line x1=\"", Num(kLeft), "\" y1=\"", Num(kTop), "\" x2=\"",
                  Num(kLeft), "\" y2=\"", Num(f.bottom), "\"/>\n", "</g>\n");
  absl::StrAppend(out, "<g font-family=\"sans-serif\" font-size=\"11\">\n");
  for (double t : NiceTicks(f.x_lo, f.x_hi, 8)) {
    const double x = f.X(t);
    absl::StrAppend(out, "<line x1=\"", Num(x), "\" y1=\"", Num(f.bottom),
                    "\" x2=\"", Num(x), "\" y2=\"", Num(f.bottom + 5),
                    "\" stroke=\"#000\"/>\n", "<text x=\"", Num(x), "\" y=\"",
                    Num(f.bottom + 18), "\" text-anchor=\"middle\">",
                    TickLabel(t), "</text>\n");
  }
  for (double t : NiceTicks(f.y_lo, f.y_hi, 6)) {
    const double y = f.Y(t);
    absl::StrAppend(out, "<line x1=\"", Num(kLeft - 5), "\" y1=\"", Num(y),
                    "\" x2=\"", Num(kRight), "\" y2=\"", Num(y),
                    "\" stroke=\"#ddd\"/>\n", "<text x=\"", Num(kLeft - 8),
                    "\" y=\"", Num(y + 4), "\" text-anchor=\"end\">",
                    TickLabel(t), "</text>\n");
  }
  absl::StrAppend(
      out, "<text x=\"", Num((kLeft + kRight) / 2), "\" y=\"",
      Num(f.bottom + 40),
      "\" text-anchor=\"middle\" font-size=\"13\">channels</text>\n",
      "<text x=\"20\" y=\"", Num((kTop + f.bottom) / 2),
      "\" text-anchor=\"middle\" font-size=\"13\" transform=\"rotate(-90 20 ",
      Num((kTop + f.bottom) / 2), ")\">latency (us)</text>\n", "</g>\n");
}

void AppendSeries(const Frame& f, const Staircase& s, const char* colour,
                  std::string* out) {
  std::string points;
  for (size_t i = 0; i < PointCount(s); ++i) {
    if (!Usable(s, i)) continue;
    if (!points.empty()) points += ' ';
    absl::StrAppend(&points, Num(f.X(s.channels(i))), ",",
                    Num(f.Y(s.median_us(i))));
  }
  for (int32_t at : s.step_at()) {
    if (at < f.x_lo || at > f.x_hi) continue;
    absl::StrAppend(out, "<line x1=\"", Num(f.X(at)), "\" y1=\"", Num(kTop),
                    "\" x2=\"", Num(f.X(at)), "\" y2=\"", Num(f.bottom),
                    "\" stroke=\"", colour,
                    "\" stroke-dasharray=\"4 3\" stroke-opacity=\"0.7\"/>\n");
  }
  absl::StrAppend(out, "<polyline fill=\"none\" stroke=\"", colour,
                  "\" stroke-width=\"1.5\" points=\"", points, "\"/>\n");
}

}  // namespace

std::string XmlEscape(absl::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::vector<double> NiceTicks(double lo, double hi, int target) {
  std::vector<double> ticks;
  if (!std::isfinite(lo) || !std::isfinite(hi) || hi <= lo || target < 1)
    return ticks;
  const double raw = (hi - lo) / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  // Small epsilons keep end points that rounding would push out.
  // Multiples of step by index, not by repeated addition, so no drift.
  const double first = std::ceil(lo / step - 1e-9);
  for (double i = first; i * step <= hi + step * 1e-9; i += 1) {
    ticks.push_back(i * step + 0.0);  // + 0.0 turns -0 into 0
  }
  return ticks;
}

std::string RenderStaircaseSvg(
    const google::protobuf::RepeatedPtrField<Staircase>& staircases) {
  double x_lo = std::numeric_limits<double>::infinity();
  double x_hi = -x_lo;
  double y_hi = 0;
  for (const Staircase& s : staircases) {
    for (size_t i = 0; i < PointCount(s); ++i) {
      if (!Usable(s, i)) continue;
      x_lo = std::min<double>(x_lo, s.channels(i));
      x_hi = std::max<double>(x_hi, s.channels(i));
      y_hi = std::max(y_hi, s.median_us(i));
    }
  }
  const double height =
      std::max(kMinHeight, kTop + kLegendRow * (staircases.size() + 1) + 20);
  const double bottom = height - 60;
  std::string out =
      absl::StrCat("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
                   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"",
                   Num(kWidth), "\" height=\"", Num(height),
                   "\" viewBox=\"0 0 ", Num(kWidth), " ", Num(height), "\">\n",
                   "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n",
                   "<text x=\"", Num((kLeft + kRight) / 2),
                   "\" y=\"24\" text-anchor=\"middle\" "
                   "font-family=\"sans-serif\" font-size=\"15\">latency vs "
                   "channels</text>\n");
  if (x_lo > x_hi) {
    absl::StrAppend(&out, "<text x=\"", Num((kLeft + kRight) / 2), "\" y=\"",
                    Num(height / 2),
                    "\" text-anchor=\"middle\" "
                    "font-family=\"sans-serif\">no data</text>\n</svg>\n");
    return out;
  }
  if (x_hi == x_lo) {
    x_lo -= 1;
    x_hi += 1;
  }
  if (y_hi <= 0) y_hi = 1;
  const Frame frame{x_lo, x_hi, 0, y_hi * 1.05, bottom};
  AppendAxes(frame, &out);
  absl::StrAppend(&out, "<g font-family=\"sans-serif\" font-size=\"12\">\n");
  int index = 0;
  for (const Staircase& s : staircases) {
    const char* colour = kPalette[index % std::size(kPalette)];
    AppendSeries(frame, s, colour, &out);
    const double y = kTop + kLegendRow * index;
    absl::StrAppend(&out, "<line x1=\"", Num(kRight + 20), "\" y1=\"", Num(y),
                    "\" x2=\"", Num(kRight + 44), "\" y2=\"", Num(y),
                    "\" stroke=\"", colour, "\" stroke-width=\"2\"/>\n",
                    "<text x=\"", Num(kRight + 50), "\" y=\"", Num(y + 4),
                    "\">", XmlEscape(StaircaseTitle(s)), "</text>\n");
    ++index;
  }
  absl::StrAppend(&out, "</g>\n</svg>\n");
  return out;
}

}  // namespace hakd::cli
