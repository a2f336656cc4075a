// The throttling detector with a fake clock and scripted reference timings.
#include "agent/throttle_monitor.h"

#include <gtest/gtest.h>

#include <deque>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace hakd::agent {
namespace {

// Scripted probe results and a clock the test moves by hand.
class Script {
 public:
  ThrottleMonitor Monitor() {
    return ThrottleMonitor([this] { return Next(); }, [this] { return now; });
  }
  void Push(double us) { results_.push_back(us); }
  void PushError() { results_.push_back(absl::UnavailableError("probe failed")); }
  int calls() const { return calls_; }
  size_t left() const { return results_.size(); }

  absl::Time now = absl::FromUnixSeconds(1000000);

 private:
  absl::StatusOr<double> Next() {
    ++calls_;
    if (results_.empty()) return absl::InternalError("script ran out");
    absl::StatusOr<double> r = std::move(results_.front());
    results_.pop_front();
    return r;
  }

  std::deque<absl::StatusOr<double>> results_;
  int calls_ = 0;
};

constexpr absl::Duration kInterval = absl::Seconds(10);
constexpr double kTolerance = 0.2;

TEST(ThrottleMonitorTest, FirstCheckProbesThreeTimesAndKeepsTheBest) {
  Script s;
  s.Push(12);
  s.Push(10);
  s.Push(11);
  ThrottleMonitor m = s.Monitor();
  const ThrottleVerdict v = m.Check(kInterval, kTolerance);
  EXPECT_EQ(m.probes(), 3);
  EXPECT_EQ(s.calls(), 3);
  // Baseline 10 (the best), latest 11.
  EXPECT_DOUBLE_EQ(v.ratio, 1.1);
  EXPECT_FALSE(v.throttled);
}

TEST(ThrottleMonitorTest, NoProbeBeforeTheIntervalPasses) {
  Script s;
  for (int i = 0; i < 3; ++i) s.Push(10);
  ThrottleMonitor m = s.Monitor();
  m.Check(kInterval, kTolerance);
  ASSERT_EQ(m.probes(), 3);
  for (int i = 0; i < 5; ++i) {
    s.now += absl::Seconds(1);  // up to 5 s after the last probe
    const ThrottleVerdict v = m.Check(kInterval, kTolerance);
    EXPECT_DOUBLE_EQ(v.ratio, 1.0);
    EXPECT_FALSE(v.throttled);
  }
  s.now += absl::Milliseconds(4900);
  m.Check(kInterval, kTolerance);
  EXPECT_EQ(m.probes(), 3);
  s.Push(10.5);
  s.now += absl::Milliseconds(100);  // exactly the interval
  const ThrottleVerdict v = m.Check(kInterval, kTolerance);
  EXPECT_EQ(m.probes(), 4);
  EXPECT_DOUBLE_EQ(v.ratio, 1.05);
  EXPECT_FALSE(v.throttled);
  // The interval counts from that probe.
  s.now += absl::Seconds(9);
  m.Check(kInterval, kTolerance);
  EXPECT_EQ(m.probes(), 4);
}

TEST(ThrottleMonitorTest, SlowProbeFlagsThrottledThenEveryCheckProbesUntilRecovery) {
  Script s;
  for (int i = 0; i < 3; ++i) s.Push(10);
  ThrottleMonitor m = s.Monitor();
  m.Check(kInterval, kTolerance);

  s.now += kInterval;
  s.Push(13);  // 30% slower than the best: over the 20% tolerance
  ThrottleVerdict v = m.Check(kInterval, kTolerance);
  EXPECT_EQ(m.probes(), 4);
  EXPECT_TRUE(v.throttled);
  EXPECT_DOUBLE_EQ(v.ratio, 1.3);

  // Still slow: probed again at once, without waiting for the interval.
  s.Push(12.5);
  v = m.Check(kInterval, kTolerance);
  EXPECT_EQ(m.probes(), 5);
  EXPECT_TRUE(v.throttled);
  EXPECT_DOUBLE_EQ(v.ratio, 1.25);

  // Back within the tolerance: recovered.
  s.Push(11.5);
  v = m.Check(kInterval, kTolerance);
  EXPECT_EQ(m.probes(), 6);
  EXPECT_FALSE(v.throttled);
  EXPECT_DOUBLE_EQ(v.ratio, 1.15);

  // Recovered: the interval applies again.
  v = m.Check(kInterval, kTolerance);
  EXPECT_EQ(m.probes(), 6);
  EXPECT_FALSE(v.throttled);
  EXPECT_EQ(s.left(), 0u);
}

TEST(ThrottleMonitorTest, ExactlyAtTheToleranceIsNotThrottled) {
  Script s;
  for (int i = 0; i < 3; ++i) s.Push(10);
  ThrottleMonitor m = s.Monitor();
  m.Check(kInterval, 0.5);
  s.now += kInterval;
  s.Push(15);
  const ThrottleVerdict v = m.Check(kInterval, 0.5);
  EXPECT_DOUBLE_EQ(v.ratio, 1.5);
  EXPECT_FALSE(v.throttled);
}

TEST(ThrottleMonitorTest, AFasterProbeBecomesTheNewBaseline) {
  Script s;
  for (int i = 0; i < 3; ++i) s.Push(20);  // started on a busy machine
  ThrottleMonitor m = s.Monitor();
  EXPECT_DOUBLE_EQ(m.Check(kInterval, kTolerance).ratio, 1.0);
  s.now += kInterval;
  s.Push(10);
  EXPECT_DOUBLE_EQ(m.Check(kInterval, kTolerance).ratio, 1.0);
  s.now += kInterval;
  s.Push(20);
  const ThrottleVerdict v = m.Check(kInterval, kTolerance);
  EXPECT_DOUBLE_EQ(v.ratio, 2.0);
  EXPECT_TRUE(v.throttled);
}

TEST(ThrottleMonitorTest, ZeroOrNegativeIntervalDisablesTheDetector) {
  Script s;
  s.Push(10);
  ThrottleMonitor m = s.Monitor();
  for (absl::Duration interval : {absl::ZeroDuration(), absl::Seconds(-1)}) {
    for (int i = 0; i < 3; ++i) {
      const ThrottleVerdict v = m.Check(interval, kTolerance);
      EXPECT_FALSE(v.throttled);
      EXPECT_EQ(v.ratio, 0);
      s.now += absl::Hours(1);
    }
  }
  EXPECT_EQ(m.probes(), 0);
  EXPECT_EQ(s.calls(), 0);
}

TEST(ThrottleMonitorTest, FailedProbesLeaveTheVerdict) {
  Script s;
  for (int i = 0; i < 3; ++i) s.Push(10);
  ThrottleMonitor m = s.Monitor();
  m.Check(kInterval, kTolerance);

  // Not throttled, then a failed probe: still not throttled, same ratio.
  s.now += kInterval;
  s.PushError();
  ThrottleVerdict v = m.Check(kInterval, kTolerance);
  EXPECT_EQ(m.probes(), 4);
  EXPECT_FALSE(v.throttled);
  EXPECT_DOUBLE_EQ(v.ratio, 1.0);

  // Throttled, then failed probes (an error, a non-positive time): still
  // throttled, and probed on every check.
  s.now += kInterval;
  s.Push(15);
  v = m.Check(kInterval, kTolerance);
  ASSERT_TRUE(v.throttled);
  s.PushError();
  v = m.Check(kInterval, kTolerance);
  EXPECT_EQ(m.probes(), 6);
  EXPECT_TRUE(v.throttled);
  EXPECT_DOUBLE_EQ(v.ratio, 1.5);
  s.Push(0);
  v = m.Check(kInterval, kTolerance);
  EXPECT_EQ(m.probes(), 7);
  EXPECT_TRUE(v.throttled);
  EXPECT_DOUBLE_EQ(v.ratio, 1.5);
  s.Push(10);
  v = m.Check(kInterval, kTolerance);
  EXPECT_FALSE(v.throttled);
  EXPECT_DOUBLE_EQ(v.ratio, 1.0);
}

TEST(ThrottleMonitorTest, NoBaselineUntilAProbeSucceeds) {
  Script s;
  for (int i = 0; i < 3; ++i) s.PushError();
  ThrottleMonitor m = s.Monitor();
  ThrottleVerdict v = m.Check(kInterval, kTolerance);
  EXPECT_EQ(m.probes(), 3);
  EXPECT_FALSE(v.throttled);
  EXPECT_EQ(v.ratio, 0);
  // Without a baseline the next check tries the three probes again.
  s.PushError();
  s.Push(10);
  s.Push(11);
  v = m.Check(kInterval, kTolerance);
  EXPECT_EQ(m.probes(), 6);
  EXPECT_DOUBLE_EQ(v.ratio, 1.1);
  EXPECT_FALSE(v.throttled);
}

}  // namespace
}  // namespace hakd::agent
