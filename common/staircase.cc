#include "common/staircase.h"

#include <algorithm>

namespace hakd {
namespace {

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

std::vector<StaircaseStep> FindStaircaseSteps(
    const std::vector<int>& channels, const std::vector<double>& latency,
    const StaircaseOptions& options) {
  std::vector<StaircaseStep> steps;
  const int n = static_cast<int>(std::min(channels.size(), latency.size()));
  if (n < 3) return steps;
  // Points since the last step: level and slope are estimated only from the
  // current plateau, never across a jump.
  int plateau_start = 0;
  for (int i = 1; i < n; ++i) {
    const int lo = std::max(plateau_start, i - options.window);
    if (i - lo < std::max(1, options.min_plateau)) continue;
    // Robust slope: median of the consecutive slopes inside the window, never
    // negative (latency does not fall as layers widen; a fall is noise).
    std::vector<double> slopes;
    for (int j = lo + 1; j < i; ++j) {
      const int dc = channels[j] - channels[j - 1];
      if (dc > 0) slopes.push_back((latency[j] - latency[j - 1]) / dc);
    }
    const double slope = std::max(0.0, Median(slopes));
    // Robust level at channels[i-1]: each window point projected along slope.
    std::vector<double> projected;
    for (int j = lo; j < i; ++j) {
      projected.push_back(latency[j] + slope * (channels[i - 1] - channels[j]));
    }
    const double base = Median(projected);
    if (base <= 0) continue;
    auto predicted = [&](int k) {
      return base + slope * (channels[k] - channels[i - 1]);
    };
    const double r = options.min_step_ratio;
    const double now = latency[i] / predicted(i);
    const bool jump = now >= r;
    const bool drop = now <= 1 / r;
    if (!jump && !drop) continue;
    // Persistence: the points from i on must stay past the threshold too.
    const int hi = std::min(n, i + options.persistence);
    std::vector<double> after_ratio;
    for (int k = i; k < hi; ++k) after_ratio.push_back(latency[k] / predicted(k));
    const double after = Median(after_ratio);
    if ((jump && after < r) || (drop && after > 1 / r)) continue;
    StaircaseStep step;
    step.at = channels[i];
    step.efficient = jump ? channels[i - 1] : 0;
    step.ratio = latency[i] / base;
    steps.push_back(step);
    plateau_start = i;
  }
  return steps;
}

}  // namespace hakd
