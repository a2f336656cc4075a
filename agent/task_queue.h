// The agent's FIFO of profiling tasks. The coordinator resends incomplete
// chunks after every reconnect, so the queue recognises a task it holds or
// has recently finished and refuses it: nothing is measured twice.
#ifndef HAKD_AGENT_TASK_QUEUE_H_
#define HAKD_AGENT_TASK_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "hakd/v1/agent_service.pb.h"

namespace hakd::agent {

// "started", "finished", "cancelled" or "unknown", for logs and messages.
const char* TaskStateName(hakd::v1::TaskStatus::State state);

// Thread-safe: the stream reader pushes and cancels, the measuring thread
// takes tasks, the heartbeat reads the state.
class TaskQueue {
 public:
  // Remembers the ids of the last `finished_memory` finished tasks.
  explicit TaskQueue(size_t finished_memory = 10000);

  TaskQueue(const TaskQueue&) = delete;
  TaskQueue& operator=(const TaskQueue&) = delete;

  // What Push did with a task.
  enum class PushResult {
    kQueued,          // new: appended to the queue
    kAlreadyQueued,   // ignored: the same task_id waits in the queue
    kAlreadyRunning,  // ignored: the same task_id is being measured
    kAlreadyDone,     // ignored: finished or cancelled recently
    kClosed,          // ignored: the queue is closed
  };

  // Appends the task unless its task_id is known (see PushResult).
  PushResult Push(hakd::v1::ProfilingTask task);

  // Blocks until a task is available and makes it the current task, or
  // returns nullopt once the queue is closed (queued tasks are then left).
  std::optional<hakd::v1::ProfilingTask> Next();

  // As Next(), but gives up after `timeout`, returning nullopt.
  std::optional<hakd::v1::ProfilingTask> NextWithTimeout(
      absl::Duration timeout);

  // Ends the current task with its final state (FINISHED or CANCELLED),
  // which is remembered with its id.
  void FinishCurrent(hakd::v1::TaskStatus::State final_state);

  // Ends the current task without remembering it (interrupted by a stop;
  // the coordinator will hand it out again).
  void AbandonCurrent();

  // Drops every queued task of the sweep, remembering each as CANCELLED,
  // and flags the current task if it belongs to the sweep. Returns the ids
  // of the dropped queued tasks, in queue order.
  std::vector<std::string> CancelSweep(int64_t sweep_id);

  // True when the current task's sweep was cancelled while it ran.
  bool CurrentCancelled() const;

  // The current task's id, empty when idle.
  std::string CurrentTaskId() const;

  // Tasks waiting (the current one excluded).
  int QueuedCount() const;

  // Final state of a remembered task, STATE_UNSPECIFIED when unknown.
  hakd::v1::TaskStatus::State FinishedState(const std::string& task_id) const;

  // Wakes Next() for good; later pushes are refused.
  void Close();

 private:
  bool HasTaskLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || !queue_.empty();
  }
  std::optional<hakd::v1::ProfilingTask> TakeLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RememberLocked(const std::string& task_id,
                      hakd::v1::TaskStatus::State state)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t finished_memory_;
  mutable absl::Mutex mu_;
  std::deque<hakd::v1::ProfilingTask> queue_ ABSL_GUARDED_BY(mu_);
  std::optional<hakd::v1::ProfilingTask> current_ ABSL_GUARDED_BY(mu_);
  bool current_cancelled_ ABSL_GUARDED_BY(mu_) = false;
  // Recently finished ids with their final state; order_ ages them out.
  absl::flat_hash_map<std::string, hakd::v1::TaskStatus::State> finished_
      ABSL_GUARDED_BY(mu_);
  std::deque<std::string> finished_order_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace hakd::agent

#endif  // HAKD_AGENT_TASK_QUEUE_H_
