#include "common/torch/timing.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"

namespace hakd {
namespace {

absl::Status OutOfRange(absl::string_view field, double value,
                        absl::string_view range) {
  return absl::InvalidArgumentError(
      absl::StrCat("settings.", field, ": must be ", range, ", got ", value));
}

}  // namespace

absl::Status ValidateTimingOptions(const TimingOptions& o) {
  // Bounds keep one malformed task from occupying a device for hours; they
  // are far beyond anything a sensible sweep asks for.
  if (o.warmup_runs < 0 || o.warmup_runs > 10000) {
    return OutOfRange("warmup_runs", o.warmup_runs, "in [0, 10000]");
  }
  if (!(o.min_sample_ms > 0 && o.min_sample_ms <= 60000)) {
    return OutOfRange("min_sample_ms", o.min_sample_ms, "in (0, 60000]");
  }
  if (o.min_samples < 1 || o.min_samples > 100000) {
    return OutOfRange("min_samples", o.min_samples, "in [1, 100000]");
  }
  if (o.max_samples < 1 || o.max_samples > 1000000) {
    return OutOfRange("max_samples", o.max_samples, "in [1, 1000000]");
  }
  if (!(o.max_seconds_per_layer > 0 && o.max_seconds_per_layer <= 3600)) {
    return OutOfRange("max_seconds_per_layer", o.max_seconds_per_layer,
                      "in (0, 3600]");
  }
  if (!(o.stable_cv >= 0)) return OutOfRange("stable_cv", o.stable_cv, ">= 0");
  if (!(o.settle_tolerance >= 0) || o.max_settle_runs < 0 ||
      !(o.max_settle_seconds >= 0)) {
    return absl::InvalidArgumentError("settle limits must not be negative");
  }
  return absl::OkStatus();
}

double Percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

LayerTiming SummarizeSamples(std::vector<double> samples_us,
                             int runs_per_sample, double total_timed_seconds) {
  LayerTiming t;
  t.samples = static_cast<int>(samples_us.size());
  t.runs_per_sample = runs_per_sample;
  t.total_timed_seconds = total_timed_seconds;
  if (!samples_us.empty()) {
    std::vector<double> sorted = samples_us;
    std::sort(sorted.begin(), sorted.end());
    t.median_us = Percentile(sorted, 0.5);
    t.p10_us = Percentile(sorted, 0.1);
    t.p90_us = Percentile(sorted, 0.9);
    double sum = 0;
    for (double v : sorted) sum += v;
    t.mean_us = sum / sorted.size();
    if (sorted.size() > 1) {
      double sq = 0;
      for (double v : sorted) sq += (v - t.mean_us) * (v - t.mean_us);
      t.stddev_us = std::sqrt(sq / (sorted.size() - 1));
    }
  }
  t.robust_cv = RobustCv(samples_us);
  t.samples_us = std::move(samples_us);
  return t;
}

double RobustCv(std::vector<double> values) {
  if (values.size() < 2) return 0;
  std::sort(values.begin(), values.end());
  const double median = Percentile(values, 0.5);
  if (median <= 0) return 0;
  // The interquartile range of a normal distribution is 1.349 sigma.
  return (Percentile(values, 0.75) - Percentile(values, 0.25)) / (1.349 * median);
}

absl::StatusOr<LayerTiming> RunTimingProtocol(TimeRunsFn time_runs,
                                              const TimingOptions& options) {
  if (absl::Status st = ValidateTimingOptions(options); !st.ok()) return st;
  const auto start = std::chrono::steady_clock::now();
  double timed = 0;  // seconds reported by time_runs, all phases
  // Elapsed time of the layer: the larger of wall time and timed time, so
  // the budget holds both for real runs (which have overhead between
  // samples) and for a fake clock (where wall time is ~0).
  auto elapsed = [&] {
    const std::chrono::duration<double> wall =
        std::chrono::steady_clock::now() - start;
    return std::max(wall.count(), timed);
  };

  // Warm-up: caches, allocator pools, lazy kernels and CPU frequency need a
  // few runs; keep going until consecutive runs agree, within limits. The
  // last two warm-up runs count: when they agree, time has settled.
  double previous = -1;
  bool settled = false;
  for (int i = 0; i < options.warmup_runs; ++i) {
    absl::StatusOr<double> t = time_runs(1);
    if (!t.ok()) return t.status();
    timed += *t;
    settled = previous >= 0 &&
              std::abs(*t - previous) <= options.settle_tolerance * previous;
    previous = *t;
  }
  double settle_seconds = 0;
  for (int i = 0; !settled && i < options.max_settle_runs &&
                  settle_seconds < options.max_settle_seconds;
       ++i) {
    absl::StatusOr<double> t = time_runs(1);
    if (!t.ok()) return t.status();
    timed += *t;
    settle_seconds += *t;
    if (previous >= 0 &&
        std::abs(*t - previous) <= options.settle_tolerance * previous) {
      break;
    }
    previous = *t;
  }

  // Calibration: a sample must be long enough that clock resolution and
  // loop overhead vanish in it (TVM's min_repeat_ms). The settled single run
  // gives the first guess (10% over, so the guess rarely falls short). A
  // try long enough and no slower than the guess expects (half as slow
  // again at most) settles it; otherwise the length is timed again and the
  // shorter counts: interference only adds time, and one preempted sample
  // must not end the growth early. A short length grows by its deficit, at
  // least doubling.
  const double min_sample_s = options.min_sample_ms / 1000.0;
  auto clamp_runs = [](double runs) {
    return static_cast<int64_t>(std::min<double>(
        kMaxRunsPerSample, std::max(1.0, std::ceil(runs - 1e-9))));
  };
  int64_t runs = previous > 0 ? clamp_runs(1.1 * min_sample_s / previous) : 1;
  // A settled single run already as long as a sample needs no calibration:
  // the warm-up runs were the calibration.
  const bool calibrated = previous >= min_sample_s;
  double per_run_guess = previous;
  while (!calibrated) {
    double shortest = 0;
    for (int i = 0; i < 2; ++i) {
      absl::StatusOr<double> t = time_runs(runs);
      if (!t.ok()) return t.status();
      timed += *t;
      shortest = i == 0 ? *t : std::min(shortest, *t);
      const bool plausible =
          per_run_guess <= 0 || *t <= 1.5 * per_run_guess * runs;
      if (i == 0 && *t >= min_sample_s && plausible) break;
    }
    if (shortest > 0) per_run_guess = shortest / runs;
    if (shortest >= min_sample_s || runs >= kMaxRunsPerSample) break;
    const double scaled =
        shortest > 0 ? 1.1 * runs * min_sample_s / shortest : 2.0 * runs;
    runs = clamp_runs(std::max(2.0 * runs, scaled));
  }

  const int max_samples = std::max(options.max_samples, options.min_samples);
  std::vector<double> samples_us;
  samples_us.reserve(std::min(max_samples, 1024));
  // Running sums give the coefficient of variation after every sample.
  double sum = 0, sum_sq = 0;
  // The early stop uses the classic CV on purpose: a sample far off (a
  // preemption, a burst of a noisy neighbour) keeps the sampling going, so
  // the median comes from a window longer than the disturbance.
  auto stable = [&] {
    const double n = static_cast<double>(samples_us.size());
    if (options.stable_cv <= 0 || n < 2 || sum <= 0) return false;
    const double mean = sum / n;
    const double var = std::max(0.0, (sum_sq - n * mean * mean) / (n - 1));
    return std::sqrt(var) <= options.stable_cv * mean;
  };
  while (static_cast<int>(samples_us.size()) < options.min_samples ||
         (!stable() && static_cast<int>(samples_us.size()) < max_samples &&
          elapsed() <= options.max_seconds_per_layer)) {
    absl::StatusOr<double> t = time_runs(runs);
    if (!t.ok()) return t.status();
    timed += *t;
    const double us = *t * 1e6 / static_cast<double>(runs);
    samples_us.push_back(us);
    sum += us;
    sum_sq += us * us;
  }
  return SummarizeSamples(std::move(samples_us), static_cast<int>(runs), timed);
}

}  // namespace hakd
