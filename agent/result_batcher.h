// Gathers measurement results into batches: few messages and few commits on
// the coordinator, yet results never wait longer than the flush interval.
#ifndef HAKD_AGENT_RESULT_BATCHER_H_
#define HAKD_AGENT_RESULT_BATCHER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "hakd/v1/agent_service.pb.h"

namespace hakd::agent {

// 16 random hex characters naming this run of the agent: batch ids stay
// unique per device across agent restarts.
std::string NewInstanceId();

// True for a valid batch id: 1..128 characters of [A-Za-z0-9._:-].
bool IsValidBatchId(absl::string_view id);

// A batch ready to send, with its sequence number (creation order).
struct ReadyBatch {
  uint64_t seq = 0;
  hakd::v1::MeasurementBatch batch;
};

// When a batch is complete.
struct BatcherOptions {
  // Entries (measurements plus failures) that complete a batch. Default 16.
  int batch_size = 16;
  // Age of the oldest entry that completes a batch. Default 1 s.
  absl::Duration flush_after = absl::Seconds(1);
};

// Batch ids are "<instance>-<seq>" with seq counting from 1.
// Not thread-safe.
class ResultBatcher {
 public:
  ResultBatcher(std::string instance, const BatcherOptions& options);

  // Adds one entry at time `now`; returns the batch when it became full.
  std::optional<ReadyBatch> Add(hakd::v1::Measurement measurement,
                                absl::Time now);
  std::optional<ReadyBatch> Add(hakd::v1::ItemFailure failure, absl::Time now);

  // Returns the pending batch when its oldest entry is at least flush_after
  // old at `now`.
  std::optional<ReadyBatch> FlushIfDue(absl::Time now);

  // Returns the pending batch, if it has any entry.
  std::optional<ReadyBatch> Flush();

  // Numbers the next batch seq + 1 (if that is higher than now): batches
  // made after a restart then sort after those loaded from the spool.
  void StartAfter(uint64_t seq);

  // When FlushIfDue will next return a batch; InfiniteFuture when empty.
  absl::Time flush_deadline() const;

  // Entries waiting in the pending batch.
  int pending() const;

 private:
  std::optional<ReadyBatch> AfterAdd(absl::Time now);

  const std::string instance_;
  const BatcherOptions options_;
  hakd::v1::MeasurementBatch pending_;
  absl::Time first_added_ = absl::InfiniteFuture();
  uint64_t next_seq_ = 1;
};

}  // namespace hakd::agent

#endif  // HAKD_AGENT_RESULT_BATCHER_H_
