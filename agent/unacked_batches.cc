#include "agent/unacked_batches.h"

#include <utility>

namespace hakd::agent {
namespace {

// Calls f(sweep_id, item_index) for every result of `batch`.
template <typename F>
void ForEachItem(const hakd::v1::MeasurementBatch& batch, F f) {
  for (const hakd::v1::Measurement& m : batch.measurements()) {
    f(m.sweep_id(), m.item_index());
  }
  for (const hakd::v1::ItemFailure& x : batch.failures()) {
    f(x.sweep_id(), x.item_index());
  }
}

}  // namespace

void UnackedBatches::Add(uint64_t seq, hakd::v1::MeasurementBatch batch) {
  entries_ += batch.measurements_size() + batch.failures_size();
  seq_by_id_[batch.batch_id()] = seq;
  ForEachItem(batch,
              [this](int64_t sweep, int item) { ++items_[{sweep, item}]; });
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
  ForEachItem(batch->second, [this](int64_t sweep, int item) {
    auto it = items_.find({sweep, item});
    if (it != items_.end() && --it->second == 0) items_.erase(it);
  });
  by_seq_.erase(batch);
  seq_by_id_.erase(id);
  return result;
}

bool UnackedBatches::HoldsItem(int64_t sweep_id, int item_index) const {
  return items_.contains({sweep_id, item_index});
}

std::vector<hakd::v1::MeasurementBatch> UnackedBatches::InOrder() const {
  std::vector<hakd::v1::MeasurementBatch> out;
  out.reserve(by_seq_.size());
  for (const auto& [seq, batch] : by_seq_) out.push_back(batch);
  return out;
}

}  // namespace hakd::agent
