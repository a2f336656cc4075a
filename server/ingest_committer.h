// IngestCommitter: group commit for measurement batches. Agent streams hand
// their batches to one committer thread, which commits everything waiting in
// a single SQLite transaction and then wakes each caller with its outcome.
// One fsync then covers many agents' batches, which is what lets the farm
// approach SQLite's raw append rate while acknowledging only committed data.
#ifndef HAKD_SERVER_INGEST_COMMITTER_H_
#define HAKD_SERVER_INGEST_COMMITTER_H_

#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/latency_store.h"

namespace hakd {

// Tuning of the committer.
struct IngestCommitterOptions {
  // Most batches committed in one transaction. Default 256.
  int max_group_batches = 256;
  // Most measurements in one transaction (a soft limit: a group stops growing
  // once it is reached). Default 50000.
  int max_group_measurements = 50000;
};

class IngestCommitter {
 public:
  // Called on the committer thread after each successful group commit.
  using CommitCallback = std::function<void(const CommitSummary&)>;

  IngestCommitter(LatencyStore* store, IngestCommitterOptions options,
                  CommitCallback on_commit);
  // Commits what is queued, then stops the thread.
  ~IngestCommitter();
  IngestCommitter(const IngestCommitter&) = delete;
  IngestCommitter& operator=(const IngestCommitter&) = delete;

  // Blocks until `batch` is committed or rejected. The batch must stay alive
  // until this returns. Thread-safe.
  BatchResult Commit(int64_t device_id, const hakd::v1::MeasurementBatch& batch);

  // Groups committed so far, and batches in them (for benchmarks and logs).
  int64_t groups_committed() const;
  int64_t batches_committed() const;

 private:
  struct Waiter {
    PendingBatch batch;
    BatchResult result;
    bool done = false;
  };

  void Run();

  LatencyStore* const store_;
  const IngestCommitterOptions options_;
  const CommitCallback on_commit_;

  mutable absl::Mutex mu_;
  std::vector<Waiter*> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t groups_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t batches_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace hakd

#endif  // HAKD_SERVER_INGEST_COMMITTER_H_
