#include "server/latency_predictor.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/network/network_analysis.h"
#include "common/network/unit_key.h"
#include "common/status_macros.h"

namespace hakd {
namespace {

using hakd::v1::UnitPrediction;

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Interpolates `width` from a family's points, or says why it cannot.
void Interpolate(const std::vector<std::pair<int, double>>& points, int width,
                 const PredictorOptions& options, UnitPrediction* out) {
  const std::pair<int, double>* lower = nullptr;
  const std::pair<int, double>* upper = nullptr;
  for (const auto& p : points) {
    if (p.first < width) lower = &p;
    if (p.first > width && upper == nullptr) upper = &p;
  }
  if (lower == nullptr || upper == nullptr) {
    out->set_source(UnitPrediction::SOURCE_MISSING);
    out->set_reason(
        points.empty()
            ? "not measured, and no other width of its family is"
            : absl::StrCat("not measured; its family has no measured "
                           "width on both sides of ",
                           width));
    return;
  }
  const double gap = static_cast<double>(upper->first - lower->first) / width;
  if (gap > options.max_gap_fraction) {
    out->set_source(UnitPrediction::SOURCE_MISSING);
    out->set_reason(absl::StrCat("not measured; nearest measured widths ",
                                 lower->first, " and ", upper->first,
                                 " are too far apart"));
    return;
  }
  std::vector<int> widths;
  std::vector<double> latency;
  for (const auto& p : points) {
    widths.push_back(p.first);
    latency.push_back(p.second);
  }
  for (const StaircaseStep& step :
       FindStaircaseSteps(widths, latency, options.staircase)) {
    if (step.at > lower->first && step.at <= upper->first) {
      out->set_source(UnitPrediction::SOURCE_MISSING);
      out->set_reason(absl::StrCat("not measured; a latency ",
                                   step.drop() ? "drop" : "step", " at ",
                                   step.at, " lies between measured widths ",
                                   lower->first, " and ", upper->first));
      return;
    }
  }
  const double t =
      static_cast<double>(width - lower->first) / (upper->first - lower->first);
  out->set_source(UnitPrediction::SOURCE_INTERPOLATED);
  out->set_latency_us(lower->second + t * (upper->second - lower->second));
  out->set_lower_width(lower->first);
  out->set_upper_width(upper->first);
}

}  // namespace

double ApplyOverhead(const hakd::v1::OverheadModel& model, double units_sum_us,
                     int units) {
  return model.scale() * units_sum_us + model.intercept_us() +
         model.per_unit_us() * units;
}

absl::StatusOr<hakd::v1::PredictNetworkResponse> PredictNetworkLatency(
    const hakd::v1::NetworkSpec& network, UnitLatencySource& source,
    const hakd::v1::OverheadModel* overhead, const PredictorOptions& options) {
  HAKD_ASSIGN_OR_RETURN(NetworkAnalysis analysis, AnalyzeNetwork(network));
  hakd::v1::PredictNetworkResponse out;
  out.set_macs(analysis.total_macs);
  out.set_params(analysis.total_params);
  std::set<std::string> keys;
  std::vector<std::string> unit_keys;
  for (const NetworkUnit& u : analysis.units) {
    unit_keys.push_back(BlockUnitKey(u.unit));
    keys.insert(unit_keys.back());
  }
  HAKD_ASSIGN_OR_RETURN(auto exact, source.Exact(keys));
  std::map<std::string, std::vector<std::pair<int, double>>> families;
  double sum = 0;
  double interpolated_sum = 0;
  for (size_t i = 0; i < analysis.units.size(); ++i) {
    const NetworkUnit& u = analysis.units[i];
    UnitPrediction* p = out.add_units();
    p->set_name(u.name);
    p->set_key(unit_keys[i]);
    const UnitFamily family = FamilyOf(u.unit);
    p->set_width(family.width);
    absl::StatusOr<NetworkAnalysis> unit_analysis = AnalyzeUnit(u.unit);
    if (unit_analysis.ok()) p->set_macs(unit_analysis->total_macs);
    if (auto it = exact.find(unit_keys[i]); it != exact.end()) {
      p->set_source(UnitPrediction::SOURCE_MEASURED);
      p->set_latency_us(it->second);
      out.set_measured_units(out.measured_units() + 1);
      sum += it->second;
      continue;
    }
    auto f = families.find(family.family);
    if (f == families.end()) {
      HAKD_ASSIGN_OR_RETURN(auto points, source.Family(family.family));
      f = families.emplace(family.family, std::move(points)).first;
    }
    Interpolate(f->second, family.width, options, p);
    if (p->source() == UnitPrediction::SOURCE_INTERPOLATED) {
      out.set_interpolated_units(out.interpolated_units() + 1);
      sum += p->latency_us();
      interpolated_sum += p->latency_us();
    } else {
      out.set_missing_units(out.missing_units() + 1);
    }
  }
  out.set_units_sum_us(sum);
  out.set_complete(out.missing_units() == 0);
  out.set_interpolated_share(sum > 0 ? interpolated_sum / sum : 0);
  const int units = static_cast<int>(analysis.units.size());
  double base_error = options.unfitted_error_pct;
  if (overhead != nullptr) {
    *out.mutable_overhead() = *overhead;
    base_error = overhead->fit_median_abs_err_pct();
  }
  out.set_expected_error_pct(base_error + options.interpolation_error_pct *
                                              out.interpolated_share());
  if (!out.complete()) {
    out.set_confidence("none");
    return out;
  }
  const double total =
      overhead != nullptr ? ApplyOverhead(*overhead, sum, units) : sum;
  out.set_overhead_us(total - sum);
  out.set_predicted_us(total);
  if (overhead != nullptr && out.interpolated_units() == 0 &&
      overhead->networks() >= 4) {
    out.set_confidence("high");
  } else if (out.interpolated_share() <= 0.25) {
    out.set_confidence("medium");
  } else {
    out.set_confidence("low");
  }
  return out;
}

namespace {

// One least-squares fit over `samples` (not empty), errors filled in.
hakd::v1::OverheadModel FitOnce(const std::vector<OverheadSample>& samples) {
  hakd::v1::OverheadModel model;
  model.set_networks(static_cast<int>(samples.size()));
  bool fitted = false;
  if (samples.size() >= 4) {
    // Weighted least squares: rows (sum, 1, units) / measured against 1.
    double a[3][3] = {};
    double b[3] = {};
    for (const OverheadSample& s : samples) {
      const double row[3] = {s.units_sum_us / s.measured_us, 1 / s.measured_us,
                             s.units / s.measured_us};
      for (int i = 0; i < 3; ++i) {
        b[i] += row[i];
        for (int j = 0; j < 3; ++j) a[i][j] += row[i] * row[j];
      }
    }
    // Gaussian elimination with partial pivoting.
    bool singular = false;
    for (int c = 0; c < 3 && !singular; ++c) {
      int pivot = c;
      for (int r = c + 1; r < 3; ++r) {
        if (std::fabs(a[r][c]) > std::fabs(a[pivot][c])) pivot = r;
      }
      if (std::fabs(a[pivot][c]) < 1e-30) {
        singular = true;
        break;
      }
      std::swap(a[c], a[pivot]);
      std::swap(b[c], b[pivot]);
      for (int r = c + 1; r < 3; ++r) {
        const double f = a[r][c] / a[c][c];
        for (int k = c; k < 3; ++k) a[r][k] -= f * a[c][k];
        b[r] -= f * b[c];
      }
    }
    if (!singular) {
      double x[3];
      for (int r = 2; r >= 0; --r) {
        double v = b[r];
        for (int k = r + 1; k < 3; ++k) v -= a[r][k] * x[k];
        x[r] = v / a[r][r];
      }
      if (std::isfinite(x[0]) && x[0] >= 0.5 && x[0] <= 2 &&
          std::isfinite(x[1]) && std::isfinite(x[2])) {
        model.set_scale(x[0]);
        model.set_intercept_us(x[1]);
        model.set_per_unit_us(x[2]);
        fitted = true;
      }
    }
  }
  if (!fitted) {
    std::vector<double> diffs;
    for (const OverheadSample& s : samples) {
      diffs.push_back(s.measured_us - s.units_sum_us);
    }
    model.set_scale(1);
    model.set_per_unit_us(0);
    model.set_intercept_us(Median(diffs));
  }
  std::vector<double> errors;
  for (const OverheadSample& s : samples) {
    const double predicted = ApplyOverhead(model, s.units_sum_us, s.units);
    errors.push_back(100 * std::fabs(predicted - s.measured_us) /
                     s.measured_us);
  }
  model.set_fit_median_abs_err_pct(Median(errors));
  model.set_fit_max_abs_err_pct(
      *std::max_element(errors.begin(), errors.end()));
  return model;
}

}  // namespace

absl::StatusOr<hakd::v1::OverheadModel> FitOverheadModel(
    const std::vector<OverheadSample>& samples) {
  if (samples.empty()) {
    return absl::InvalidArgumentError(
        "no end-to-end network results to fit the overhead on");
  }
  hakd::v1::OverheadModel model = FitOnce(samples);
  // One network timed while the machine was disturbed must not bend the
  // model for all: drop networks whose error is far beyond the typical one
  // (three times the median, and over 3%), then fit again.
  const double limit = std::max(3.0, 3 * model.fit_median_abs_err_pct());
  std::vector<OverheadSample> kept;
  for (const OverheadSample& s : samples) {
    const double predicted = ApplyOverhead(model, s.units_sum_us, s.units);
    if (100 * std::fabs(predicted - s.measured_us) / s.measured_us <= limit) {
      kept.push_back(s);
    }
  }
  if (kept.size() < samples.size() && kept.size() >= 4) {
    model = FitOnce(kept);
    model.set_outlier_networks(static_cast<int>(samples.size() - kept.size()));
  }
  return model;
}

}  // namespace hakd
