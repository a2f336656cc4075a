#include "cli/predict_text.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/number_format.h"
#include "cli/table.h"
#include "cli/time_format.h"

namespace hakd::cli {

using hakd::v1::UnitPrediction;

std::string UnitSourceName(UnitPrediction::Source source) {
  switch (source) {
    case UnitPrediction::SOURCE_MEASURED:
      return "measured";
    case UnitPrediction::SOURCE_INTERPOLATED:
      return "interpolated";
    case UnitPrediction::SOURCE_MISSING:
      return "missing";
    default:
      return "unknown";
  }
}

std::string UnitCount(int n) {
  return absl::StrCat(n, n == 1 ? " unit" : " units");
}

std::string PredictionText(const hakd::v1::PredictNetworkResponse& p,
                           absl::string_view network_name) {
  std::string out = absl::StrCat("device ", p.device_name(), ", network ",
                                 network_name, ": ");
  if (p.complete()) {
    absl::StrAppend(&out, FormatMillis(p.predicted_us()),
                    " ms predicted (units ", FormatMillis(p.units_sum_us()),
                    " ms + overhead ", FormatMillis(p.overhead_us()), " ms",
                    p.has_overhead() ? "" : ", none fitted", ")");
  } else {
    absl::StrAppend(&out, "incomplete (units predicted so far ",
                    FormatMillis(p.units_sum_us()), " ms)");
  }
  absl::StrAppend(
      &out, ", confidence ", p.confidence().empty() ? "none" : p.confidence(),
      absl::StrFormat(", expected error %.1f%%\n", p.expected_error_pct()));
  absl::StrAppend(&out, "units: ", p.measured_units(), " measured, ",
                  p.interpolated_units(), " interpolated, ", p.missing_units(),
                  " missing; ", FormatCount(p.macs()), " MACs, ",
                  FormatCount(p.params()), " params\n");
  if (p.units_size() == 0) return out;

  Table table({"UNIT", "SOURCE", "LATENCY-MS", "WIDTH", "DETAIL"});
  table.AlignRight(2);
  table.AlignRight(3);
  for (const UnitPrediction& u : p.units()) {
    std::string latency = "-";
    std::string detail;
    switch (u.source()) {
      case UnitPrediction::SOURCE_MEASURED:
        latency = absl::StrFormat("%.3f", u.latency_us() / 1000);
        break;
      case UnitPrediction::SOURCE_INTERPOLATED:
        latency = absl::StrFormat("%.3f", u.latency_us() / 1000);
        detail = absl::StrCat(u.lower_width(), "..", u.upper_width());
        break;
      default:
        detail = u.reason();
        break;
    }
    table.AddRow({u.name(), UnitSourceName(u.source()), latency,
                  u.width() > 0 ? absl::StrCat(u.width()) : "-", detail});
  }
  absl::StrAppend(&out, "\n", table.Render());
  return out;
}

std::string OverheadModelText(const hakd::v1::OverheadModel& m,
                              absl::string_view device) {
  std::string networks = absl::StrCat(m.networks());
  if (m.outlier_networks() > 0) {
    absl::StrAppend(&networks, " (", m.outlier_networks(),
                    " left out as outliers)");
  }
  if (m.skipped_networks() > 0) {
    absl::StrAppend(&networks, " (", m.skipped_networks(),
                    " skipped: not every unit predictable)");
  }
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"device", absl::StrCat(device, " (id ", m.device_id(), ")")},
      {"networks fitted", networks},
      {"sweeps",
       m.sweep_ids_size() > 0 ? absl::StrJoin(m.sweep_ids(), ", ") : "-"},
      {"scale", absl::StrFormat("%.4f", m.scale())},
      {"intercept", absl::StrCat(FormatMicros(m.intercept_us()), " us")},
      {"per unit", absl::StrCat(FormatMicros(m.per_unit_us()), " us")},
      {"median abs error",
       absl::StrFormat("%.1f%%", m.fit_median_abs_err_pct())},
      {"max abs error", absl::StrFormat("%.1f%%", m.fit_max_abs_err_pct())},
      {"fitted", FormatTimestamp(m.fitted_unix_ms())},
  };
  size_t width = 0;
  for (const auto& r : rows) width = std::max(width, r.first.size());
  std::string out = absl::StrCat(
      "measured = scale * sum(units) + intercept + per unit * units\n");
  for (const auto& r : rows) {
    absl::StrAppend(&out, r.first, ":",
                    std::string(width - r.first.size() + 1, ' '), r.second,
                    "\n");
  }
  return out;
}

}  // namespace hakd::cli
