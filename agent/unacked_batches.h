// Result batches sent (or waiting to be sent) but not yet acknowledged. The
// coordinator acknowledges a batch only once it is committed, so until then
// the agent must be able to send it again, in its original order, on the
// next stream.
#ifndef HAKD_AGENT_UNACKED_BATCHES_H_
#define HAKD_AGENT_UNACKED_BATCHES_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "hakd/v1/agent_service.pb.h"

namespace hakd::agent {

// Ordered by sequence number. Not thread-safe: the agent guards it with the
// same mutex as its outgoing queue, so a reconnect's resend and new batches
// cannot interleave.
class UnackedBatches {
 public:
  // Keeps `batch` under `seq` (unique, increasing in creation order).
  void Add(uint64_t seq, hakd::v1::MeasurementBatch batch);

  // What an acknowledgement did.
  struct AckResult {
    enum class Outcome {
      kCommitted,  // code 0 (also when duplicate): stored, dropped here
      kRejected,   // code != 0: refused whole, dropped here, never resent
      kUnknown,    // no such batch held (already acknowledged, or not ours)
    };
    Outcome outcome = Outcome::kUnknown;
    int measurements = 0;  // in the acknowledged batch
    int failures = 0;
  };

  // Applies an acknowledgement: either way a known batch is dropped.
  AckResult Ack(const hakd::v1::BatchAck& ack);

  // Copies of every batch held, in sequence order: what a new stream sends
  // first.
  std::vector<hakd::v1::MeasurementBatch> InOrder() const;

  // True when a batch held has a result (measurement or failure) for this
  // sweep item: it is measured, only not yet acknowledged.
  bool HoldsItem(int64_t sweep_id, int item_index) const;

  // The largest sequence number held, 0 when empty.
  uint64_t last_seq() const {
    return by_seq_.empty() ? 0 : by_seq_.rbegin()->first;
  }

  // Batches held.
  size_t size() const { return by_seq_.size(); }
  bool empty() const { return by_seq_.empty(); }

  // Measurements plus failures in the batches held.
  int64_t entries() const { return entries_; }

 private:
  std::map<uint64_t, hakd::v1::MeasurementBatch> by_seq_;
  absl::flat_hash_map<std::string, uint64_t> seq_by_id_;
  // Results held per (sweep_id, item_index).
  absl::flat_hash_map<std::pair<int64_t, int>, int> items_;
  int64_t entries_ = 0;
};

}  // namespace hakd::agent

#endif  // HAKD_AGENT_UNACKED_BATCHES_H_
