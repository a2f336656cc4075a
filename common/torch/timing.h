// The timing protocol of one layer measurement and its statistics, free of
// LibTorch: the protocol drives a callback that times n forward runs, so the
// same loop serves every backend and is tested with a fake clock. Free of
// protobuf too, as it is compiled with LibTorch's include path (see
// torch_timer.h).
#ifndef HAKD_COMMON_TORCH_TIMING_H_
#define HAKD_COMMON_TORCH_TIMING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace hakd {

// How one layer is timed. The first six fields mirror MeasurementSettings
// (see TimingOptionsFromSettings in layer_timer.h).
struct TimingOptions {
  // Where the layer runs: "cpu" or "cuda:N". Default "cpu".
  std::string device = "cpu";
  // Untimed-for-statistics runs before anything else. Default 3.
  int warmup_runs = 3;
  // The inner loop doubles until one sample lasts at least this. Default 1.0.
  double min_sample_ms = 1.0;
  // Samples always taken, whatever the time budget. Default 15.
  int min_samples = 15;
  // Samples never exceeded. Default 200.
  int max_samples = 200;
  // Once min_samples are taken, sampling stops as soon as their coefficient
  // of variation (stddev / mean) is at most this: a steady layer needs no
  // more, a noisy one keeps sampling up to max_samples or the time budget.
  // 0 disables the early stop. Default 0.05.
  double stable_cv = 0.05;
  // Sampling stops once the layer has used this long (keeping at least
  // min_samples). Default 2.0.
  double max_seconds_per_layer = 2.0;
  // After warmup_runs, single runs continue until two consecutive ones agree
  // within this fraction. Default 0.10.
  double settle_tolerance = 0.10;
  // Caps on that settling phase. Defaults 50 runs and 0.5 s.
  int max_settle_runs = 50;
  double max_settle_seconds = 0.5;
};

// INVALID_ARGUMENT when a field is out of its sane range (negative counts,
// non-positive times, or values that would let one layer run for hours).
absl::Status ValidateTimingOptions(const TimingOptions& options);

// Result of timing one layer. Times are per single forward run.
struct LayerTiming {
  double median_us = 0;
  double p10_us = 0;
  double p90_us = 0;
  double mean_us = 0;
  double stddev_us = 0;  // sample standard deviation (n-1), 0 for one sample
  // Interquartile range / (1.349 x median): the coefficient of variation a
  // normal distribution would have, blind to the few outliers (under a
  // quarter of the samples) that preempted samples make, yet high for two
  // balanced modes. The stability gate uses it.
  double robust_cv = 0;
  int samples = 0;
  int runs_per_sample = 0;
  // Seconds spent inside timed runs: warm-up, calibration and samples.
  double total_timed_seconds = 0;
  // Per-run time of every sample, in the order taken.
  std::vector<double> samples_us;
};

// Times `runs` back-to-back forward runs and returns the elapsed seconds. It
// must synchronise the device before starting and before stopping its clock.
using TimeRunsFn = absl::FunctionRef<absl::StatusOr<double>(int64_t runs)>;

// Largest inner loop the protocol grows to, so a zero-duration run cannot
// make it loop forever.
inline constexpr int kMaxRunsPerSample = 1 << 26;

// Runs the protocol: warmup_runs single runs, more single runs until time
// per run settles, doubling of the inner loop until a sample lasts
// min_sample_ms (the shorter of two tries at each length, so one disturbed
// sample cannot end the growth), then samples until min_samples are taken
// and either their coefficient of variation is at most stable_cv, or
// max_samples are taken, or the layer used max_seconds_per_layer. The first
// error of time_runs is returned as is.
absl::StatusOr<LayerTiming> RunTimingProtocol(TimeRunsFn time_runs,
                                              const TimingOptions& options);

// Percentile q in [0, 1] of ascending values by linear interpolation
// between closest ranks (numpy's default); 0 for an empty vector.
double Percentile(const std::vector<double>& sorted, double q);

// RobustCv of ascending or unsorted values; 0 for fewer than 2 or a zero
// median.
double RobustCv(std::vector<double> values);

// Statistics of per-run sample times (microseconds).
LayerTiming SummarizeSamples(std::vector<double> samples_us,
                             int runs_per_sample, double total_timed_seconds);

}  // namespace hakd

#endif  // HAKD_COMMON_TORCH_TIMING_H_
