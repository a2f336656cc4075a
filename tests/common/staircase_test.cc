#include "common/staircase.h"

#include <random>

#include "gtest/gtest.h"

namespace hakd {
namespace {

// Latency with plateaus: flat within a plateau (plus gentle growth), jumping
// by `jump` at each of `steps`.
std::vector<double> Staircase(const std::vector<int>& ch, const std::vector<int>& steps,
                              double base, double growth, double jump,
                              double noise, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> n(0, noise);
  std::vector<double> out;
  for (int c : ch) {
    double level = base;
    for (int s : steps) {
      if (c >= s) level *= jump;
    }
    out.push_back(level * (1 + growth * (c - ch.front())) * (1 + n(rng)));
  }
  return out;
}

std::vector<int> Range(int a, int b) {
  std::vector<int> v;
  for (int c = a; c <= b; ++c) v.push_back(c);
  return v;
}

TEST(StaircaseTest, FindsKnownStepsInNoisyPlateaus) {
  const std::vector<int> ch = Range(8, 128);
  const auto lat = Staircase(ch, {33, 65, 97}, 100, 0.002, 1.8, 0.02, 1);
  const auto steps = FindStaircaseSteps(ch, lat);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].at, 33);
  EXPECT_EQ(steps[0].efficient, 32);
  EXPECT_EQ(steps[1].at, 65);
  EXPECT_EQ(steps[1].efficient, 64);
  EXPECT_EQ(steps[2].at, 97);
  EXPECT_NEAR(steps[0].ratio, 1.8, 0.2);
  EXPECT_FALSE(steps[0].drop());
}

TEST(StaircaseTest, FindsADropWhereAFasterKernelTakesOver) {
  // Work grows with c^2 on a slow path up to 80 channels, then a kernel
  // 8x faster takes over (as oneDNN does for 3x3 convs in LibTorch 1.13).
  const std::vector<int> ch = Range(40, 128);
  std::vector<double> lat;
  for (int c : ch) lat.push_back((c <= 80 ? 1.0 : 0.125) * c * c);
  const auto steps = FindStaircaseSteps(ch, lat);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].at, 81);
  EXPECT_TRUE(steps[0].drop());
  EXPECT_EQ(steps[0].efficient, 0);
  EXPECT_NEAR(steps[0].ratio, 0.125, 0.01);
}

TEST(StaircaseTest, SmoothQuadraticGrowthHasNoSteps) {
  const std::vector<int> ch = Range(16, 256);
  std::vector<double> lat;
  for (int c : ch) lat.push_back(10 + 0.01 * c * c);
  EXPECT_TRUE(FindStaircaseSteps(ch, lat).empty());
}

TEST(StaircaseTest, ComputeBoundGrowthAtSmallWidthsIsNotAStep) {
  // Latency proportional to work from 8 channels: +27% from 8 to 9.
  const std::vector<int> ch = Range(8, 40);
  std::vector<double> lat;
  for (int c : ch) lat.push_back(2.0 * c * c);
  EXPECT_TRUE(FindStaircaseSteps(ch, lat).empty());
}

TEST(StaircaseTest, SingleOutlierIsNotAStep) {
  const std::vector<int> ch = Range(8, 64);
  std::vector<double> lat(ch.size(), 100.0);
  lat[20] = 300;  // one slow sample
  EXPECT_TRUE(FindStaircaseSteps(ch, lat).empty());
}

TEST(StaircaseTest, ThresholdControlsSensitivity) {
  const std::vector<int> ch = Range(8, 64);
  const auto lat = Staircase(ch, {40}, 100, 0, 1.3, 0.0, 2);
  EXPECT_EQ(FindStaircaseSteps(ch, lat).size(), 1u);
  StaircaseOptions strict;
  strict.min_step_ratio = 1.5;
  EXPECT_TRUE(FindStaircaseSteps(ch, lat, strict).empty());
}

TEST(StaircaseTest, ShortSeriesHaveNoSteps) {
  EXPECT_TRUE(FindStaircaseSteps({8, 9}, {1.0, 5.0}).empty());
}

}  // namespace
}  // namespace hakd
