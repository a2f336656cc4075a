// The predictor on synthetic latency databases: sums, overhead, and when
// interpolation between widths of a family is (and is not) trusted.
#include "server/latency_predictor.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "common/network/network_analysis.h"
#include "common/network/network_builders.h"
#include "common/network/unit_key.h"

namespace hakd {
namespace {

using hakd::v1::NetworkSpec;
using hakd::v1::OverheadModel;
using hakd::v1::UnitPrediction;

// An in-memory latency database of one device.
class FakeSource : public UnitLatencySource {
 public:
  absl::StatusOr<std::map<std::string, double>> Exact(
      const std::set<std::string>& keys) override {
    std::map<std::string, double> out;
    for (const std::string& k : keys) {
      if (auto it = exact.find(k); it != exact.end()) out.insert(*it);
    }
    return out;
  }
  absl::StatusOr<std::vector<std::pair<int, double>>> Family(
      const std::string& family) override {
    ++family_calls;
    if (auto it = families.find(family); it != families.end()) return it->second;
    return std::vector<std::pair<int, double>>();
  }

  std::map<std::string, double> exact;
  std::map<std::string, std::vector<std::pair<int, double>>> families;
  int family_calls = 0;
};

// WRN-10-1 on CIFAR: stem, three residual blocks (16->16, 16->32 s2,
// 32->64 s2), head: five units.
NetworkSpec Net() {
  auto spec = WideResNet(10, 1, CifarInput(), 10);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.value_or(NetworkSpec());
}

std::vector<NetworkUnit> UnitsOf(const NetworkSpec& spec) {
  auto a = AnalyzeNetwork(spec);
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? a->units : std::vector<NetworkUnit>();
}

// Every unit measured: 10, 20, 30, 40, 50 us in order (sum 150).
FakeSource AllMeasured(const NetworkSpec& spec) {
  FakeSource s;
  const auto units = UnitsOf(spec);
  for (size_t i = 0; i < units.size(); ++i) {
    s.exact[BlockUnitKey(units[i].unit)] = 10.0 * (i + 1);
  }
  return s;
}

// The unit whose measurement the tests remove: stages[0].blocks[0], a
// 16 -> 16 residual block (family width 16).
constexpr int kMissing = 1;

// Source with every unit but kMissing measured, and `points` for its family.
FakeSource WithFamily(const NetworkSpec& spec,
                      std::vector<std::pair<int, double>> points) {
  FakeSource s = AllMeasured(spec);
  const auto units = UnitsOf(spec);
  s.exact.erase(BlockUnitKey(units[kMissing].unit));
  s.families[FamilyOf(units[kMissing].unit).family] = std::move(points);
  return s;
}

TEST(PredictNetworkLatencyTest, MissingUnitUnderTestIsASixteenWideBlock) {
  const auto units = UnitsOf(Net());
  ASSERT_EQ(units.size(), 5u);
  EXPECT_EQ(units[kMissing].name, "stages[0].blocks[0]");
  EXPECT_EQ(FamilyOf(units[kMissing].unit).width, 16);
}

TEST(PredictNetworkLatencyTest, AllMeasuredWithoutOverheadIsTheSum) {
  const NetworkSpec spec = Net();
  FakeSource source = AllMeasured(spec);
  auto p = PredictNetworkLatency(spec, source, nullptr);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->complete());
  EXPECT_EQ(p->measured_units(), 5);
  EXPECT_EQ(p->interpolated_units(), 0);
  EXPECT_EQ(p->missing_units(), 0);
  EXPECT_DOUBLE_EQ(p->units_sum_us(), 150);
  EXPECT_DOUBLE_EQ(p->predicted_us(), 150);
  EXPECT_DOUBLE_EQ(p->overhead_us(), 0);
  EXPECT_DOUBLE_EQ(p->interpolated_share(), 0);
  EXPECT_FALSE(p->has_overhead());
  EXPECT_EQ(p->confidence(), "medium");
  EXPECT_EQ(source.family_calls, 0);
  auto analysis = AnalyzeNetwork(spec);
  ASSERT_TRUE(analysis.ok());
  EXPECT_EQ(p->macs(), analysis->total_macs);
  EXPECT_EQ(p->params(), analysis->total_params);
  ASSERT_EQ(p->units_size(), 5);
  for (int i = 0; i < 5; ++i) {
    const UnitPrediction& u = p->units(i);
    EXPECT_EQ(u.source(), UnitPrediction::SOURCE_MEASURED) << u.name();
    EXPECT_DOUBLE_EQ(u.latency_us(), 10.0 * (i + 1));
    EXPECT_EQ(u.key(), BlockUnitKey(analysis->units[i].unit));
    EXPECT_EQ(u.name(), analysis->units[i].name);
    EXPECT_GT(u.macs(), 0);
  }
}

TEST(PredictNetworkLatencyTest, AllMeasuredWithOverheadModel) {
  const NetworkSpec spec = Net();
  FakeSource source = AllMeasured(spec);
  OverheadModel model;
  model.set_scale(1.1);
  model.set_intercept_us(50);
  model.set_per_unit_us(2);
  model.set_networks(6);
  model.set_fit_median_abs_err_pct(3);
  auto p = PredictNetworkLatency(spec, source, &model);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->complete());
  EXPECT_DOUBLE_EQ(p->units_sum_us(), 150);
  const double expected = 1.1 * 150 + 50 + 2 * 5;
  EXPECT_DOUBLE_EQ(p->predicted_us(), expected);
  EXPECT_DOUBLE_EQ(p->overhead_us(), expected - 150);
  EXPECT_DOUBLE_EQ(ApplyOverhead(model, 150, 5), expected);
  EXPECT_TRUE(p->has_overhead());
  EXPECT_DOUBLE_EQ(p->overhead().scale(), 1.1);
  EXPECT_DOUBLE_EQ(p->expected_error_pct(), 3);
  EXPECT_EQ(p->confidence(), "high");
}

TEST(PredictNetworkLatencyTest, InvalidNetworkIsInvalidArgument) {
  NetworkSpec spec = Net();
  spec.mutable_stages(0)->mutable_blocks(0)->mutable_residual()->set_kernel(2);
  FakeSource source;
  auto p = PredictNetworkLatency(spec, source, nullptr);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(p.status().message(),
                                "stages[0].blocks[0].residual.kernel"))
      << p.status();
}

TEST(PredictNetworkLatencyTest, MissingUnitOnASmoothCurveIsInterpolated) {
  const NetworkSpec spec = Net();
  // latency = 10 + w, measured around 16 but not at it.
  std::vector<std::pair<int, double>> points;
  for (int w : {8, 10, 12, 14, 18, 20, 22}) points.emplace_back(w, 10.0 + w);
  FakeSource source = WithFamily(spec, points);
  auto p = PredictNetworkLatency(spec, source, nullptr);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->complete());
  EXPECT_EQ(p->measured_units(), 4);
  EXPECT_EQ(p->interpolated_units(), 1);
  EXPECT_EQ(p->missing_units(), 0);
  const UnitPrediction& u = p->units(kMissing);
  EXPECT_EQ(u.source(), UnitPrediction::SOURCE_INTERPOLATED);
  EXPECT_EQ(u.width(), 16);
  EXPECT_EQ(u.lower_width(), 14);
  EXPECT_EQ(u.upper_width(), 18);
  EXPECT_DOUBLE_EQ(u.latency_us(), 26);  // halfway between 24 and 28
  const double sum = 150 - 20 + 26;
  EXPECT_DOUBLE_EQ(p->units_sum_us(), sum);
  EXPECT_DOUBLE_EQ(p->predicted_us(), sum);
  EXPECT_DOUBLE_EQ(p->interpolated_share(), 26 / sum);
  EXPECT_EQ(source.family_calls, 1);
}

TEST(PredictNetworkLatencyTest, InterpolationIsLinearBetweenUnevenNeighbours) {
  const NetworkSpec spec = Net();
  // latency = 3w - 9; neighbours 13 and 19 (gap 6/16 <= 0.5): at 16,
  // halfway from 30 to 48.
  FakeSource source = WithFamily(
      spec, {{7, 12}, {9, 18}, {11, 24}, {13, 30}, {19, 48}, {21, 54}});
  auto p = PredictNetworkLatency(spec, source, nullptr);
  ASSERT_TRUE(p.ok()) << p.status();
  const UnitPrediction& u = p->units(kMissing);
  ASSERT_EQ(u.source(), UnitPrediction::SOURCE_INTERPOLATED) << u.reason();
  EXPECT_EQ(u.lower_width(), 13);
  EXPECT_EQ(u.upper_width(), 19);
  EXPECT_DOUBLE_EQ(u.latency_us(), 39);
}

TEST(PredictNetworkLatencyTest, NeighboursStraddlingALatencyStepAreNotUsed) {
  const NetworkSpec spec = Net();
  // A plateau 100 + w up to 14, then twice that from 18 on: a clear step
  // at 18 with enough points before it (StaircaseOptions::min_plateau) and
  // after it (persistence).
  std::vector<std::pair<int, double>> points;
  for (int w = 8; w <= 14; ++w) points.emplace_back(w, 100.0 + w);
  for (int w = 18; w <= 21; ++w) points.emplace_back(w, 2 * (100.0 + w));
  {
    std::vector<int> widths;
    std::vector<double> latency;
    for (const auto& [w, l] : points) {
      widths.push_back(w);
      latency.push_back(l);
    }
    const auto steps = FindStaircaseSteps(widths, latency);
    ASSERT_EQ(steps.size(), 1u);
    ASSERT_EQ(steps[0].at, 18);
  }
  FakeSource source = WithFamily(spec, points);
  auto p = PredictNetworkLatency(spec, source, nullptr);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->complete());
  EXPECT_EQ(p->missing_units(), 1);
  EXPECT_EQ(p->interpolated_units(), 0);
  const UnitPrediction& u = p->units(kMissing);
  EXPECT_EQ(u.source(), UnitPrediction::SOURCE_MISSING);
  EXPECT_TRUE(absl::StrContains(u.reason(), "step")) << u.reason();
  EXPECT_TRUE(absl::StrContains(u.reason(), "18")) << u.reason();
  EXPECT_DOUBLE_EQ(p->predicted_us(), 0);
  EXPECT_EQ(p->confidence(), "none");
}

TEST(PredictNetworkLatencyTest, NeighboursTooFarApartAreNotUsed) {
  const NetworkSpec spec = Net();
  // Nearest measured widths 8 and 30: (30 - 8) / 16 > 0.5.
  FakeSource source =
      WithFamily(spec, {{4, 14}, {6, 16}, {8, 18}, {30, 40}, {32, 42}});
  auto p = PredictNetworkLatency(spec, source, nullptr);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->complete());
  const UnitPrediction& u = p->units(kMissing);
  EXPECT_EQ(u.source(), UnitPrediction::SOURCE_MISSING);
  EXPECT_TRUE(absl::StrContains(u.reason(), "too far apart")) << u.reason();
  EXPECT_DOUBLE_EQ(p->predicted_us(), 0);

  // A looser limit accepts the same neighbours.
  PredictorOptions loose;
  loose.max_gap_fraction = 2;
  FakeSource again =
      WithFamily(spec, {{4, 14}, {6, 16}, {8, 18}, {30, 40}, {32, 42}});
  auto q = PredictNetworkLatency(spec, again, nullptr, loose);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->units(kMissing).source(), UnitPrediction::SOURCE_INTERPOLATED);
  EXPECT_TRUE(q->complete());
}

TEST(PredictNetworkLatencyTest, NeighboursOnOneSideOnlyAreNotUsed) {
  const NetworkSpec spec = Net();
  FakeSource source = WithFamily(spec, {{8, 18}, {10, 20}, {12, 22}, {14, 24}});
  auto p = PredictNetworkLatency(spec, source, nullptr);
  ASSERT_TRUE(p.ok()) << p.status();
  const UnitPrediction& u = p->units(kMissing);
  EXPECT_EQ(u.source(), UnitPrediction::SOURCE_MISSING);
  EXPECT_TRUE(absl::StrContains(u.reason(), "both sides")) << u.reason();
  EXPECT_FALSE(p->complete());
}

TEST(PredictNetworkLatencyTest, NoNeighboursAtAllIsMissingWithNoConfidence) {
  const NetworkSpec spec = Net();
  FakeSource source = WithFamily(spec, {});
  auto p = PredictNetworkLatency(spec, source, nullptr);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->complete());
  EXPECT_EQ(p->missing_units(), 1);
  EXPECT_EQ(p->measured_units(), 4);
  EXPECT_EQ(p->confidence(), "none");
  EXPECT_DOUBLE_EQ(p->predicted_us(), 0);
  const UnitPrediction& u = p->units(kMissing);
  EXPECT_EQ(u.source(), UnitPrediction::SOURCE_MISSING);
  EXPECT_DOUBLE_EQ(u.latency_us(), 0);
  EXPECT_FALSE(u.reason().empty());

  // Nothing measured at all.
  FakeSource empty;
  auto e = PredictNetworkLatency(spec, empty, nullptr);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->missing_units(), 5);
  EXPECT_EQ(e->confidence(), "none");
  EXPECT_DOUBLE_EQ(e->predicted_us(), 0);
}

// --- FitOverheadModel -------------------------------------------------------

TEST(FitOverheadModelTest, RecoversAKnownModelFromNoiselessSamples) {
  const double scale = 1.2, intercept = 30, per_unit = 1.5;
  std::vector<OverheadSample> samples;
  const double sums[] = {1000, 2000, 1500, 3000, 500, 800};
  const int units[] = {10, 25, 40, 12, 30, 7};
  for (int i = 0; i < 6; ++i) {
    OverheadSample s;
    s.units_sum_us = sums[i];
    s.units = units[i];
    s.measured_us = scale * sums[i] + intercept + per_unit * units[i];
    samples.push_back(s);
  }
  auto m = FitOverheadModel(samples);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_NEAR(m->scale(), scale, 1e-6);
  EXPECT_NEAR(m->intercept_us(), intercept, 1e-3);
  EXPECT_NEAR(m->per_unit_us(), per_unit, 1e-4);
  EXPECT_EQ(m->networks(), 6);
  EXPECT_NEAR(m->fit_median_abs_err_pct(), 0, 1e-6);
  EXPECT_NEAR(m->fit_max_abs_err_pct(), 0, 1e-6);
  EXPECT_EQ(m->device_id(), 0);

  // Exactly four samples suffice.
  samples.resize(4);
  auto four = FitOverheadModel(samples);
  ASSERT_TRUE(four.ok());
  EXPECT_NEAR(four->scale(), scale, 1e-6);
  EXPECT_NEAR(four->intercept_us(), intercept, 1e-3);
  EXPECT_NEAR(four->per_unit_us(), per_unit, 1e-4);
  EXPECT_EQ(four->networks(), 4);
}

TEST(FitOverheadModelTest, ANetworkTimedWhileDisturbedIsLeftOut) {
  // Seven networks on the model 1.1 * sum + 20 + 2 * units, one of them
  // timed 60% slow (a noisy neighbour): the refit ignores it.
  const double sums[] = {1000, 2000, 1500, 3000, 500, 800, 2500};
  const int units[] = {10, 25, 40, 12, 30, 7, 18};
  std::vector<OverheadSample> samples;
  for (int i = 0; i < 7; ++i) {
    OverheadSample s;
    s.units_sum_us = sums[i];
    s.units = units[i];
    s.measured_us = 1.1 * sums[i] + 20 + 2 * units[i];
    if (i == 3) s.measured_us *= 1.6;
    samples.push_back(s);
  }
  auto m = FitOverheadModel(samples);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->outlier_networks(), 1);
  EXPECT_EQ(m->networks(), 6);
  EXPECT_NEAR(m->scale(), 1.1, 1e-6);
  EXPECT_NEAR(m->intercept_us(), 20, 1e-3);
  EXPECT_NEAR(m->per_unit_us(), 2, 1e-4);
}

TEST(FitOverheadModelTest, FewerThanFourSamplesFitTheInterceptOnly) {
  std::vector<OverheadSample> samples = {
      {1000, 10, 1010}, {2000, 20, 2040}, {1500, 30, 1520}};
  auto m = FitOverheadModel(samples);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_DOUBLE_EQ(m->scale(), 1);
  EXPECT_DOUBLE_EQ(m->per_unit_us(), 0);
  EXPECT_DOUBLE_EQ(m->intercept_us(), 20);  // median of 10, 40, 20
  EXPECT_EQ(m->networks(), 3);
  // Errors: |1020-1010|/1010, |2020-2040|/2040, 0.
  EXPECT_NEAR(m->fit_median_abs_err_pct(), 100.0 * 20 / 2040, 1e-9);
  EXPECT_NEAR(m->fit_max_abs_err_pct(), 100.0 * 10 / 1010, 1e-9);

  // One sample: its own difference.
  auto one = FitOverheadModel({{500, 5, 560}});
  ASSERT_TRUE(one.ok());
  EXPECT_DOUBLE_EQ(one->intercept_us(), 60);
  EXPECT_DOUBLE_EQ(one->scale(), 1);
  EXPECT_NEAR(one->fit_max_abs_err_pct(), 0, 1e-12);

  // Two: the mean of the two differences.
  auto two = FitOverheadModel({{500, 5, 560}, {700, 5, 720}});
  ASSERT_TRUE(two.ok());
  EXPECT_DOUBLE_EQ(two->intercept_us(), 40);
}

TEST(FitOverheadModelTest, ScaleOutsideTheSaneRangeFallsBackToTheIntercept) {
  // measured = 3 * sum exactly: a full fit would give scale 3.
  const int units[] = {4, 9, 5, 20, 11};
  std::vector<OverheadSample> samples;
  for (int i = 1; i <= 5; ++i) {
    samples.push_back({100.0 * i, units[i - 1], 300.0 * i});
  }
  auto m = FitOverheadModel(samples);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_DOUBLE_EQ(m->scale(), 1);
  EXPECT_DOUBLE_EQ(m->per_unit_us(), 0);
  // The intercept-only fit (median of 200..1000: 600) misses the smallest
  // network by 133%, over 3x the median error, so it is left out and the
  // intercept is refitted on the rest: the median of 400..1000.
  EXPECT_EQ(m->outlier_networks(), 1);
  EXPECT_DOUBLE_EQ(m->intercept_us(), 700);
}

TEST(FitOverheadModelTest, NoSamplesIsInvalidArgument) {
  EXPECT_EQ(FitOverheadModel({}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hakd
