// SweepManager: plans sweeps, hands their chunks to the device's agent a few
// at a time, and tells watchers when anything changes.
//
// All state that must survive a restart lives in the LatencyStore (sweeps,
// items, which items are measured). What lives here is only which chunks were
// sent on the current stream, so after any reconnect the chunks still pending
// are simply sent again; the agent ignores task ids it already holds, and the
// store refuses a second measurement of the same item.
#ifndef HAKD_SERVER_SWEEP_MANAGER_H_
#define HAKD_SERVER_SWEEP_MANAGER_H_

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "hakd/v1/latency_service.pb.h"
#include "server/agent_registry.h"
#include "server/latency_store.h"
#include "server/sweep_planner.h"

namespace hakd {

struct SweepManagerOptions {
  // Chunks outstanding on an agent at once, so it never waits for the next
  // one. Default 2.
  int chunks_in_flight = 2;
  // Layers per chunk when the request does not say. Default 32.
  int default_chunk_size = 32;
  // Largest chunk a request may ask for. Default 1024.
  int max_chunk_size = 1024;
  SweepPlannerOptions planner;
};

class SweepManager {
 public:
  SweepManager(LatencyStore* store, AgentRegistry* registry,
               SweepManagerOptions options);
  // Finishes queued dispatch work, then stops the dispatch thread.
  ~SweepManager();

  // Plans and stores a sweep for `device`, then dispatches if it is online.
  absl::StatusOr<SweepRecord> Start(const DeviceRecord& device,
                                    const hakd::v1::StartSweepRequest& request);
  // Cancels a sweep and tells its agent to drop its tasks.
  absl::StatusOr<SweepRecord> Cancel(int64_t sweep_id);

  // Sends the device's agent the chunks it should hold now.
  void Pump(int64_t device_id);
  // An agent reported it holds no task: forget what was sent and pump again,
  // so a task lost on the way is sent again.
  void OnAgentIdle(const std::shared_ptr<AgentConnection>& connection);
  // After a group commit: queues rate updates and pumps for the dispatch
  // thread and returns at once, so the committer never waits on a slow
  // agent's stream or on dispatch queries.
  void OnCommitted(const CommitSummary& summary);
  // Wakes watchers (a device came or went).
  void NotifyChange();

  // Current change counter.
  int64_t version() const;
  // Blocks until the change counter passes *version or timeout elapses;
  // stores the counter seen in *version.
  void WaitForChange(int64_t* version, absl::Duration timeout) const;

  // The sweep as the API shows it (device name, online state, rate).
  absl::StatusOr<hakd::v1::Sweep> Describe(const SweepRecord& record);

 private:
  void RecordProgress(int64_t sweep_id, int64_t now_ms, int done)
      ABSL_LOCKS_EXCLUDED(mu_);
  double Rate(int64_t sweep_id) const ABSL_LOCKS_EXCLUDED(mu_);
  // The dispatch thread: drains queued sweeps and devices.
  void DispatchLoop();

  LatencyStore* const store_;
  AgentRegistry* const registry_;
  const SweepManagerOptions options_;

  // Serialises dispatch decisions (and guards AgentConnection::sent_chunks).
  absl::Mutex dispatch_mu_;

  mutable absl::Mutex mu_;
  int64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  // Recent (time, items finished) per sweep, for the rate shown to users.
  std::map<int64_t, std::deque<std::pair<int64_t, int>>> progress_
      ABSL_GUARDED_BY(mu_);

  absl::Mutex queue_mu_;
  std::set<int64_t> queued_sweeps_ ABSL_GUARDED_BY(queue_mu_);
  std::set<int64_t> queued_devices_ ABSL_GUARDED_BY(queue_mu_);
  bool stopping_ ABSL_GUARDED_BY(queue_mu_) = false;
  std::thread dispatcher_;
};

}  // namespace hakd

#endif  // HAKD_SERVER_SWEEP_MANAGER_H_
