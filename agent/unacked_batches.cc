#include "agent/unacked_batches.h"

#include <utility>

namespace hakd::agent {

void UnackedBatches::Add(uint64_t seq, hakd::v1::MeasurementBatch batch) {
  entries_ += batch.measurements_size() + batch.failures_size();
  seq_by_id_[batch.batch_id()] = seq;
  by_seq_[seq] = std::move(batch);
}

UnackedBatches::AckResult UnackedBatches::Ack(const hakd::v1::BatchAck& ack) {
  AckResult result;
  auto id = seq_by_id_.find(ack.batch_id());
  if (id == seq_by_id_.end()) return result;
  auto batch = by_seq_.find(id->second);
  result.measurements = batch->second.measurements_size();
  result.failures = batch->second.failures_size();
  result.outcome = ack.code() == 0 ? AckResult::Outcome::kCommitted
                                   : AckResult::Outcome::kRejected;
  entries_ -= result.measurements + result.failures;
  by_seq_.erase(batch);
  seq_by_id_.erase(id);
  return result;
}

std::vector<hakd::v1::MeasurementBatch> UnackedBatches::InOrder() const {
  std::vector<hakd::v1::MeasurementBatch> out;
  out.reserve(by_seq_.size());
  for (const auto& [seq, batch] : by_seq_) out.push_back(batch);
  return out;
}

}  // namespace hakd::agent
