// The timing protocol against a fake clock: deterministic, no LibTorch.
#include "common/torch/timing.h"

#include <vector>

#include "common/torch/layer_timer.h"
#include "gtest/gtest.h"

namespace hakd {
namespace {

// A fake device: every run takes per_run_s; records each call's run count.
struct FakeDevice {
  double per_run_s = 10e-6;
  std::vector<int64_t> calls;
  absl::StatusOr<double> operator()(int64_t runs) {
    calls.push_back(runs);
    return per_run_s * static_cast<double>(runs);
  }
};

TEST(TimingProtocolTest, GrowsInnerLoopUntilSampleReachesMinimum) {
  FakeDevice device;  // 10 us per run
  TimingOptions options;
  options.min_sample_ms = 1.0;
  absl::StatusOr<LayerTiming> t = RunTimingProtocol(std::ref(device), options);
  ASSERT_TRUE(t.ok()) << t.status();
  // The settled 10 us run gives the guess: 1.1 x 1 ms / 10 us = 110 runs.
  EXPECT_EQ(t->runs_per_sample, 110);
  EXPECT_GE(t->runs_per_sample * 10.0, options.min_sample_ms * 1000);
  EXPECT_DOUBLE_EQ(t->median_us, 10.0);
  EXPECT_DOUBLE_EQ(t->p10_us, 10.0);
  EXPECT_DOUBLE_EQ(t->p90_us, 10.0);
  EXPECT_NEAR(t->stddev_us, 0.0, 1e-9);
  // A perfectly steady device is stable at once: min_samples suffice.
  EXPECT_EQ(t->samples, 15);
  EXPECT_EQ(t->samples_us.size(), 15u);
  // Warm-up: 3 runs; the last two agree, so no settling run follows.
  ASSERT_GE(device.calls.size(), 4u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(device.calls[i], 1) << i;
  EXPECT_EQ(device.calls[3], 110);
  // Calibration times the guessed length once: long enough, as expected.
  EXPECT_NEAR(t->total_timed_seconds,
              3 * 10e-6 + 110 * 10e-6 + 15 * 110 * 10e-6, 1e-9);
}

TEST(TimingProtocolTest, NoisyLayerKeepsSamplingSteadyOneStopsEarly) {
  // Alternating 10 us and 20 us per run: a coefficient of variation near 0.35.
  struct Noisy {
    int n = 0;
    absl::StatusOr<double> operator()(int64_t runs) {
      return (++n % 2 ? 10e-6 : 20e-6) * static_cast<double>(runs);
    }
  } noisy;
  TimingOptions options;
  options.min_sample_ms = 0.01;
  options.max_samples = 60;
  absl::StatusOr<LayerTiming> t = RunTimingProtocol(std::ref(noisy), options);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->samples, 60);
  options.stable_cv = 0.5;  // a looser bound accepts it at min_samples
  t = RunTimingProtocol(std::ref(noisy), options);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->samples, options.min_samples);
}

TEST(TimingProtocolTest, TimeBudgetStopsSamplingButKeepsMinimum) {
  FakeDevice slow;
  slow.per_run_s = 0.010;  // 10 ms per run: the budget is gone at once
  TimingOptions options;
  options.max_seconds_per_layer = 0.05;
  options.min_samples = 15;
  options.stable_cv = 0;  // never stable early: only the budget stops it
  absl::StatusOr<LayerTiming> t = RunTimingProtocol(std::ref(slow), options);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->runs_per_sample, 1);
  EXPECT_EQ(t->samples, 15);

  FakeDevice medium;
  medium.per_run_s = 0.001;  // 1 ms: about 45 samples fit in 50 ms
  options.min_samples = 5;
  t = RunTimingProtocol(std::ref(medium), options);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_GT(t->samples, 5);
  EXPECT_LT(t->samples, 200);
  EXPECT_LE(t->total_timed_seconds, 0.05 + 0.001 + 1e-9);
}

TEST(TimingProtocolTest, MaxSamplesBelowMinSamplesTakesMinSamples) {
  FakeDevice device;
  TimingOptions options;
  options.min_samples = 10;
  options.max_samples = 3;
  absl::StatusOr<LayerTiming> t = RunTimingProtocol(std::ref(device), options);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->samples, 10);
}

TEST(TimingProtocolTest, WarmUpContinuesUntilRunsSettle) {
  // Single runs take 800, 400, 200, 100, 100 us...: settled at the fifth.
  std::vector<double> first = {800e-6, 400e-6, 200e-6, 100e-6};
  int singles = 0;
  auto device = [&](int64_t runs) -> absl::StatusOr<double> {
    if (runs == 1 && singles < static_cast<int>(first.size())) {
      return first[singles++];
    }
    if (runs == 1) ++singles;
    return 100e-6 * runs;
  };
  TimingOptions options;
  options.warmup_runs = 1;
  options.min_samples = 2;
  options.max_samples = 2;
  absl::StatusOr<LayerTiming> t = RunTimingProtocol(device, options);
  ASSERT_TRUE(t.ok()) << t.status();
  // 1 warm-up + 4 settling runs (the last agreeing); the calibration then
  // starts from the settled 100 us: 11 runs x 100 us >= 1 ms.
  EXPECT_EQ(singles, 5);
  EXPECT_EQ(t->runs_per_sample, 11);
}

TEST(TimingProtocolTest, OneDisturbedCalibrationSampleDoesNotStopGrowth) {
  // Single runs settle at 20 us (timer overhead included) but the layer runs
  // at 10 us in a loop, so the first guess (55 runs, 0.55 ms) is short; one
  // of its two samples is preempted for 5 ms and must not end the growth.
  bool disturbed = false;
  auto device = [&](int64_t runs) -> absl::StatusOr<double> {
    if (runs == 1) return 20e-6;
    double t = 10e-6 * runs;
    if (!disturbed) {
      disturbed = true;
      t += 5e-3;
    }
    return t;
  };
  absl::StatusOr<LayerTiming> t = RunTimingProtocol(device, TimingOptions());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(disturbed);
  // Grown by its deficit: 1.1 x 55 x 1 ms / 0.55 ms = 110 runs.
  EXPECT_EQ(t->runs_per_sample, 110);
  EXPECT_DOUBLE_EQ(t->median_us, 10.0);
}

TEST(TimingProtocolTest, LongRunsSkipCalibration) {
  // 3 ms a run: the settled warm-up runs already exceed a 1 ms sample.
  FakeDevice device;
  device.per_run_s = 3e-3;
  TimingOptions options;
  options.min_samples = 4;
  options.max_samples = 4;
  absl::StatusOr<LayerTiming> t = RunTimingProtocol(std::ref(device), options);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->runs_per_sample, 1);
  // 3 warm-up runs and 4 samples, nothing else.
  EXPECT_EQ(device.calls.size(), 7u);
  EXPECT_NEAR(t->total_timed_seconds, 7 * 3e-3, 1e-12);
}

TEST(TimingProtocolTest, ShortGuessDoublesAtLeast) {
  // Loops run 100x faster than single runs: the guess of 2 runs is far too
  // short and grows straight to its deficit.
  auto device = [&](int64_t runs) -> absl::StatusOr<double> {
    return runs == 1 ? 1e-3 : 10e-6 * runs;
  };
  TimingOptions options;
  options.warmup_runs = 1;
  options.min_sample_ms = 1.5;
  absl::StatusOr<LayerTiming> t = RunTimingProtocol(device, options);
  ASSERT_TRUE(t.ok()) << t.status();
  // Guess ceil(1.1 x 1.5 ms / 1 ms) = 2; then 1.1 x 2 x 1.5 ms / 20 us = 165.
  EXPECT_EQ(t->runs_per_sample, 165);
}

TEST(TimingProtocolTest, PropagatesDeviceErrors) {
  int calls = 0;
  auto device = [&](int64_t runs) -> absl::StatusOr<double> {
    if (++calls == 6) return absl::InternalError("kernel failed");
    return 1e-3 * runs;
  };
  absl::StatusOr<LayerTiming> t = RunTimingProtocol(device, TimingOptions());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(calls, 6);
}

TEST(TimingProtocolTest, RejectsBadOptionsBeforeRunning) {
  FakeDevice device;
  TimingOptions options;
  options.min_samples = -1;
  EXPECT_EQ(RunTimingProtocol(std::ref(device), options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = TimingOptions();
  options.min_sample_ms = 0;
  EXPECT_EQ(ValidateTimingOptions(options).code(),
            absl::StatusCode::kInvalidArgument);
  options = TimingOptions();
  options.max_seconds_per_layer = 1e9;
  EXPECT_EQ(ValidateTimingOptions(options).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(device.calls.empty());
  EXPECT_TRUE(ValidateTimingOptions(TimingOptions()).ok());
}

TEST(TimingOptionsTest, ZeroSettingsTakeDefaults) {
  hakd::v1::MeasurementSettings settings;
  TimingOptions o = TimingOptionsFromSettings(settings, "cuda:1");
  const TimingOptions defaults;
  EXPECT_EQ(o.device, "cuda:1");
  EXPECT_EQ(o.warmup_runs, defaults.warmup_runs);
  EXPECT_EQ(o.min_sample_ms, defaults.min_sample_ms);
  EXPECT_EQ(o.min_samples, 15);
  EXPECT_EQ(o.max_samples, 200);
  EXPECT_EQ(o.max_seconds_per_layer, 2.0);

  settings.set_warmup_runs(7);
  settings.set_min_sample_ms(2.5);
  settings.set_min_samples(4);
  settings.set_max_samples(9);
  settings.set_max_seconds_per_layer(0.25);
  o = TimingOptionsFromSettings(settings, "cpu");
  EXPECT_EQ(o.warmup_runs, 7);
  EXPECT_EQ(o.min_sample_ms, 2.5);
  EXPECT_EQ(o.min_samples, 4);
  EXPECT_EQ(o.max_samples, 9);
  EXPECT_EQ(o.max_seconds_per_layer, 0.25);
}

TEST(StatisticsTest, RobustCvIgnoresFewOutliersButNotTwoModes) {
  // 18 steady samples and 2 preempted ones: stddev/mean is large, the
  // robust CV is not.
  std::vector<double> v(18, 100.0);
  v[0] = 99;
  v[1] = 101;
  v.push_back(400);
  v.push_back(500);
  EXPECT_LT(RobustCv(v), 0.01);
  // Two balanced modes: the quartiles fall in different modes.
  std::vector<double> modes = {10, 20, 10, 20, 10, 20, 10, 20};
  EXPECT_GT(RobustCv(modes), 0.45);  // 10 / (1.349 x 15)
  // A normal-like spread gives about sigma / mu.
  EXPECT_NEAR(RobustCv({90, 95, 100, 105, 110}), 10.0 / (1.349 * 100), 1e-9);
  EXPECT_EQ(RobustCv({5}), 0);
}

TEST(StatisticsTest, PercentilesInterpolateLinearly) {
  const std::vector<double> v = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(Percentile(v, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(Percentile(v, 0.1), 1.3);
  EXPECT_DOUBLE_EQ(Percentile(v, 0.9), 3.7);
  EXPECT_DOUBLE_EQ(Percentile(v, 0.0), 1);
  EXPECT_DOUBLE_EQ(Percentile(v, 1.0), 4);
  EXPECT_DOUBLE_EQ(Percentile({5}, 0.3), 5);
  EXPECT_DOUBLE_EQ(Percentile({}, 0.5), 0);
}

TEST(StatisticsTest, SummaryOfUnsortedSamples) {
  LayerTiming t = SummarizeSamples({4, 1, 3, 2}, 8, 0.5);
  EXPECT_DOUBLE_EQ(t.median_us, 2.5);
  EXPECT_DOUBLE_EQ(t.mean_us, 2.5);
  EXPECT_NEAR(t.stddev_us, 1.2909944487, 1e-9);  // sample stddev of 1..4
  EXPECT_EQ(t.samples, 4);
  EXPECT_EQ(t.runs_per_sample, 8);
  EXPECT_EQ(t.total_timed_seconds, 0.5);
  EXPECT_EQ(t.samples_us, (std::vector<double>{4, 1, 3, 2}));  // order kept
}

}  // namespace
}  // namespace hakd
