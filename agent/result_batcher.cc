#include "agent/result_batcher.h"

#include <random>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace hakd::agent {

std::string NewInstanceId() {
  std::random_device device;
  // Two draws: random_device yields 32 bits at a time.
  const uint64_t bits = (uint64_t{device()} << 32) ^ device();
  std::string hex = absl::StrCat(absl::Hex(bits, absl::kZeroPad16));
  return hex;
}

bool IsValidBatchId(absl::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '_' && c != ':' && c != '-') {
      return false;
    }
  }
  return true;
}

ResultBatcher::ResultBatcher(std::string instance,
                             const BatcherOptions& options)
    : instance_(std::move(instance)), options_(options) {}

std::optional<ReadyBatch> ResultBatcher::Add(hakd::v1::Measurement measurement,
                                             absl::Time now) {
  *pending_.add_measurements() = std::move(measurement);
  return AfterAdd(now);
}

std::optional<ReadyBatch> ResultBatcher::Add(hakd::v1::ItemFailure failure,
                                             absl::Time now) {
  *pending_.add_failures() = std::move(failure);
  return AfterAdd(now);
}

std::optional<ReadyBatch> ResultBatcher::AfterAdd(absl::Time now) {
  if (pending() == 1) first_added_ = now;
  if (pending() >= options_.batch_size) return Flush();
  return std::nullopt;
}

std::optional<ReadyBatch> ResultBatcher::FlushIfDue(absl::Time now) {
  if (now < flush_deadline()) return std::nullopt;
  return Flush();
}

std::optional<ReadyBatch> ResultBatcher::Flush() {
  if (pending() == 0) return std::nullopt;
  ReadyBatch ready;
  ready.seq = next_seq_++;
  ready.batch = std::move(pending_);
  ready.batch.set_batch_id(absl::StrCat(instance_, "-", ready.seq));
  pending_ = hakd::v1::MeasurementBatch();
  first_added_ = absl::InfiniteFuture();
  return ready;
}

void ResultBatcher::StartAfter(uint64_t seq) {
  if (seq >= next_seq_) next_seq_ = seq + 1;
}

absl::Time ResultBatcher::flush_deadline() const {
  if (pending() == 0) return absl::InfiniteFuture();
  return first_added_ + options_.flush_after;
}

int ResultBatcher::pending() const {
  return pending_.measurements_size() + pending_.failures_size();
}

}  // namespace hakd::agent
