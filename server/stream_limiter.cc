#include "server/stream_limiter.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace hakd {

StreamSlot::StreamSlot(StreamSlot&& other) noexcept
    : limiter_(std::exchange(other.limiter_, nullptr)),
      identity_(std::move(other.identity_)) {}

StreamSlot& StreamSlot::operator=(StreamSlot&& other) noexcept {
  if (this != &other) {
    Release();
    limiter_ = std::exchange(other.limiter_, nullptr);
    identity_ = std::move(other.identity_);
  }
  return *this;
}

StreamSlot::~StreamSlot() { Release(); }

void StreamSlot::Release() {
  if (limiter_ != nullptr) limiter_->Release(identity_);
  limiter_ = nullptr;
}

absl::StatusOr<StreamSlot> StreamLimiter::Acquire(const std::string& identity) {
  absl::MutexLock lock(&mu_);
  int& open = open_[identity];
  if (open >= max_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "'", identity, "' already has ", open,
        " streams open (limit ", max_,
        " per identity, hakd-server --max-streams-per-identity); close one "
        "first"));
  }
  ++open;
  return StreamSlot(this, identity);
}

int StreamLimiter::Open(const std::string& identity) const {
  absl::MutexLock lock(&mu_);
  auto it = open_.find(identity);
  return it == open_.end() ? 0 : it->second;
}

void StreamLimiter::Release(const std::string& identity) {
  absl::MutexLock lock(&mu_);
  auto it = open_.find(identity);
  if (it == open_.end()) return;
  if (--it->second <= 0) open_.erase(it);
}

}  // namespace hakd
