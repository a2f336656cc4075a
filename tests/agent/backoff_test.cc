#include "agent/backoff.h"

#include <algorithm>
#include <vector>

#include "gtest/gtest.h"

namespace hakd::agent {
namespace {

using absl::Milliseconds;

TEST(BackoffTest, DelaysStayBelowADoublingCappedCeiling) {
  Backoff backoff({Milliseconds(250), 2.0, Milliseconds(2000)}, 42);
  const int ceilings_ms[] = {250, 500, 1000, 2000, 2000, 2000};
  for (int ceiling : ceilings_ms) {
    EXPECT_EQ(backoff.ceiling(), Milliseconds(ceiling));
    const absl::Duration delay = backoff.Next();
    EXPECT_GE(delay, absl::ZeroDuration());
    EXPECT_LE(delay, Milliseconds(ceiling));
  }
  EXPECT_EQ(backoff.attempts(), 6);
  backoff.Reset();
  EXPECT_EQ(backoff.ceiling(), Milliseconds(250));
  EXPECT_EQ(backoff.attempts(), 0);
}

TEST(BackoffTest, FullJitterSpreadsOverTheWholeRange) {
  // Multiplier 1 keeps the ceiling at 1 s, so every draw is uniform on it.
  Backoff backoff({absl::Seconds(1), 1.0, absl::Seconds(1)}, 7);
  std::vector<double> s;
  for (int i = 0; i < 2000; ++i)
    s.push_back(absl::ToDoubleSeconds(backoff.Next()));
  const auto [lo, hi] = std::minmax_element(s.begin(), s.end());
  EXPECT_LT(*lo, 0.05);
  EXPECT_GT(*hi, 0.95);
  double mean = 0;
  for (double v : s) mean += v / s.size();
  EXPECT_NEAR(mean, 0.5, 0.05);
}

TEST(BackoffTest, SeedsDecideTheSequence) {
  Backoff a({}, 1), b({}, 1), c({}, 2);
  bool differs = false;
  for (int i = 0; i < 10; ++i) {
    const absl::Duration da = a.Next();
    EXPECT_EQ(da, b.Next());
    differs |= da != c.Next();
  }
  EXPECT_TRUE(differs);
}

TEST(BackoffTest, DefaultsMatchTheAgentProtocol) {
  const BackoffOptions defaults;
  EXPECT_EQ(defaults.initial, Milliseconds(250));
  EXPECT_EQ(defaults.multiplier, 2.0);
  EXPECT_EQ(defaults.max, absl::Seconds(30));
}

}  // namespace
}  // namespace hakd::agent
