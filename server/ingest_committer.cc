#include "server/ingest_committer.h"

#include <utility>

#include "common/time_util.h"

namespace hakd {

IngestCommitter::IngestCommitter(LatencyStore* store,
                                 IngestCommitterOptions options,
                                 CommitCallback on_commit)
    : store_(store), options_(options), on_commit_(std::move(on_commit)) {
  thread_ = std::thread([this] { Run(); });
}

IngestCommitter::~IngestCommitter() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

BatchResult IngestCommitter::Commit(int64_t device_id,
                                    const hakd::v1::MeasurementBatch& batch) {
  Waiter waiter;
  waiter.batch.device_id = device_id;
  waiter.batch.batch = &batch;
  absl::MutexLock lock(&mu_);
  if (stopping_) {
    waiter.result.status =
        absl::UnavailableError("coordinator is shutting down; resend later");
    return waiter.result;
  }
  queue_.push_back(&waiter);
  mu_.Await(absl::Condition(&waiter.done));
  return waiter.result;
}

int64_t IngestCommitter::groups_committed() const {
  absl::MutexLock lock(&mu_);
  return groups_;
}

int64_t IngestCommitter::batches_committed() const {
  absl::MutexLock lock(&mu_);
  return batches_;
}

void IngestCommitter::Run() {
  while (true) {
    std::vector<Waiter*> group;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](IngestCommitter* c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(c->mu_) {
            return c->stopping_ || !c->queue_.empty();
          },
          this));
      if (queue_.empty()) return;  // stopping, nothing left
      int measurements = 0;
      size_t taken = 0;
      while (taken < queue_.size() &&
             static_cast<int>(taken) < options_.max_group_batches &&
             measurements < options_.max_group_measurements) {
        measurements += queue_[taken]->batch.batch->measurements_size();
        ++taken;
      }
      group.assign(queue_.begin(), queue_.begin() + taken);
      queue_.erase(queue_.begin(), queue_.begin() + taken);
    }
    std::vector<PendingBatch> batches;
    batches.reserve(group.size());
    for (Waiter* w : group) batches.push_back(w->batch);
    absl::StatusOr<CommitSummary> summary =
        store_->CommitBatches(batches, NowUnixMs());
    {
      absl::MutexLock lock(&mu_);
      for (size_t i = 0; i < group.size(); ++i) {
        if (summary.ok()) {
          group[i]->result = summary->results[i];
        } else {
          group[i]->result.status = summary.status();
        }
        group[i]->done = true;
      }
      if (summary.ok()) {
        ++groups_;
        batches_ += static_cast<int64_t>(group.size());
      }
    }
    if (summary.ok() && on_commit_) on_commit_(*summary);
  }
}

}  // namespace hakd
