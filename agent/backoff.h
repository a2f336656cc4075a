// Exponential backoff with full jitter for reconnecting to the coordinator:
// after a coordinator restart, agents spread their retries instead of
// arriving together.
#ifndef HAKD_AGENT_BACKOFF_H_
#define HAKD_AGENT_BACKOFF_H_

#include <cstdint>
#include <random>

#include "absl/time/time.h"

namespace hakd::agent {

// Shape of the backoff.
struct BackoffOptions {
  // Ceiling of the first delay. Default 250 ms.
  absl::Duration initial = absl::Milliseconds(250);
  // Growth of the ceiling per attempt. Default 2.
  double multiplier = 2.0;
  // Largest ceiling. Default 30 s.
  absl::Duration max = absl::Seconds(30);
};

// Delays for consecutive failed attempts: attempt k waits a uniformly random
// time in [0, min(max, initial * multiplier^k)] ("full jitter").
// Not thread-safe.
class Backoff {
 public:
  // `seed` makes the sequence reproducible in tests.
  Backoff(const BackoffOptions& options, uint64_t seed);

  // The delay before the next attempt; grows the ceiling.
  absl::Duration Next();

  // The ceiling the next call of Next() draws below.
  absl::Duration ceiling() const { return ceiling_; }

  // Failed attempts since construction or the last Reset().
  int attempts() const { return attempts_; }

  // Back to the initial ceiling, after a successful connection.
  void Reset();

 private:
  BackoffOptions options_;
  std::mt19937_64 random_;
  absl::Duration ceiling_;
  int attempts_ = 0;
};

}  // namespace hakd::agent

#endif  // HAKD_AGENT_BACKOFF_H_
