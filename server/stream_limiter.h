// Caps the streaming calls one identity holds open at once, so that one
// misbehaving or hostile client (a looping script, a stolen token) cannot
// pin every server thread and file descriptor with idle watches.
#ifndef HAKD_SERVER_STREAM_LIMITER_H_
#define HAKD_SERVER_STREAM_LIMITER_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace hakd {

class StreamLimiter;

// One open stream of one identity; releases its place when destroyed.
class StreamSlot {
 public:
  StreamSlot() = default;
  StreamSlot(StreamSlot&& other) noexcept;
  StreamSlot& operator=(StreamSlot&& other) noexcept;
  StreamSlot(const StreamSlot&) = delete;
  StreamSlot& operator=(const StreamSlot&) = delete;
  ~StreamSlot();

 private:
  friend class StreamLimiter;
  StreamSlot(StreamLimiter* limiter, std::string identity)
      : limiter_(limiter), identity_(std::move(identity)) {}
  void Release();

  StreamLimiter* limiter_ = nullptr;
  std::string identity_;
};

// Thread-safe.
class StreamLimiter {
 public:
  // At most `max_per_identity` (>= 1) streams per identity.
  explicit StreamLimiter(int max_per_identity) : max_(max_per_identity) {}

  // A slot for `identity`, or RESOURCE_EXHAUSTED naming the limit when it
  // already holds max_per_identity streams. The limiter must outlive it.
  absl::StatusOr<StreamSlot> Acquire(const std::string& identity);

  // Streams `identity` holds now.
  int Open(const std::string& identity) const;
  int max_per_identity() const { return max_; }

 private:
  friend class StreamSlot;
  void Release(const std::string& identity);

  const int max_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> open_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hakd

#endif  // HAKD_SERVER_STREAM_LIMITER_H_
