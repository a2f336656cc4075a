#include "agent/backoff.h"

#include <algorithm>

namespace hakd::agent {

Backoff::Backoff(const BackoffOptions& options, uint64_t seed)
    : options_(options), random_(seed) {
  options_.max = std::max(options_.max, absl::ZeroDuration());
  options_.initial =
      std::clamp(options_.initial, absl::ZeroDuration(), options_.max);
  options_.multiplier = std::max(options_.multiplier, 1.0);
  ceiling_ = options_.initial;
}

absl::Duration Backoff::Next() {
  std::uniform_int_distribution<int64_t> pick(
      0, absl::ToInt64Microseconds(ceiling_));
  const absl::Duration delay = absl::Microseconds(pick(random_));
  ++attempts_;
  ceiling_ = std::min(options_.max, ceiling_ * options_.multiplier);
  return delay;
}

void Backoff::Reset() {
  ceiling_ = options_.initial;
  attempts_ = 0;
}

}  // namespace hakd::agent
