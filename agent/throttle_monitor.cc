#include "agent/throttle_monitor.h"

#include <utility>

#include "absl/time/clock.h"

namespace hakd::agent {

ThrottleMonitor::ThrottleMonitor(ProbeFn probe, ClockFn now)
    : probe_(std::move(probe)),
      now_(now ? std::move(now) : ClockFn([] { return absl::Now(); })) {}

void ThrottleMonitor::Probe() {
  ++probes_;
  last_probe_ = now_();
  absl::StatusOr<double> us = probe_();
  if (!us.ok() || !(*us > 0)) return;
  latest_us_ = *us;
  if (best_us_ == 0 || latest_us_ < best_us_) best_us_ = latest_us_;
}

ThrottleVerdict ThrottleMonitor::Check(absl::Duration interval,
                                       double tolerance) {
  if (interval <= absl::ZeroDuration()) return {};
  if (best_us_ == 0) {
    for (int i = 0; i < 3; ++i) Probe();
  } else if (throttled_ || now_() - last_probe_ >= interval) {
    Probe();
  }
  if (best_us_ == 0) return {};
  ThrottleVerdict v;
  v.ratio = latest_us_ / best_us_;
  v.throttled = v.ratio > 1 + tolerance;
  throttled_ = v.throttled;
  return v;
}

}  // namespace hakd::agent
