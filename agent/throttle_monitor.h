// Detects throttling or a noisy neighbour: a short reference kernel is timed
// every so often, and results taken while it runs slower than its best time
// on this agent by more than a tolerance are flagged. The best time, not the
// first, is the baseline, so an agent that starts on a busy machine learns
// its real speed as soon as the machine quietens.
//
// Not thread-safe: the measuring thread owns it.
#ifndef HAKD_AGENT_THROTTLE_MONITOR_H_
#define HAKD_AGENT_THROTTLE_MONITOR_H_

#include <functional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace hakd::agent {

// The detector's state around one result.
struct ThrottleVerdict {
  bool throttled = false;  // the latest reference time was over the tolerance
  double ratio = 0;        // latest reference time / best; 0 when disabled
};

class ThrottleMonitor {
 public:
  // Times the reference kernel once; returns its median per-run time (us).
  using ProbeFn = std::function<absl::StatusOr<double>()>;
  using ClockFn = std::function<absl::Time()>;

  // Probes with `probe`; `now` is the clock (absl::Now by default).
  explicit ThrottleMonitor(ProbeFn probe, ClockFn now = nullptr);

  // Called around every result. Probes when `interval` has passed since the
  // last probe, when no probe has been made yet (three then, keeping the
  // best, to start from a fair baseline), and before every result while the
  // last verdict was throttled (so recovery is seen at once). A zero or
  // negative interval disables the detector (ratio 0, never throttled). A
  // failed probe leaves the previous verdict.
  ThrottleVerdict Check(absl::Duration interval, double tolerance);

  // Probes made so far.
  int probes() const { return probes_; }

 private:
  void Probe();

  ProbeFn probe_;
  ClockFn now_;
  int probes_ = 0;
  double best_us_ = 0;  // 0 until a probe succeeded
  double latest_us_ = 0;
  absl::Time last_probe_ = absl::InfinitePast();
  bool throttled_ = false;
};

}  // namespace hakd::agent

#endif  // HAKD_AGENT_THROTTLE_MONITOR_H_
