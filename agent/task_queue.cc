#include "agent/task_queue.h"

#include <utility>

namespace hakd::agent {

using hakd::v1::ProfilingTask;
using hakd::v1::TaskStatus;

const char* TaskStateName(TaskStatus::State state) {
  switch (state) {
    case TaskStatus::STATE_STARTED:
      return "started";
    case TaskStatus::STATE_FINISHED:
      return "finished";
    case TaskStatus::STATE_CANCELLED:
      return "cancelled";
    default:
      return "unknown";
  }
}

TaskQueue::TaskQueue(size_t finished_memory)
    : finished_memory_(finished_memory) {}

TaskQueue::PushResult TaskQueue::Push(ProfilingTask task) {
  absl::MutexLock lock(&mu_);
  if (closed_) return PushResult::kClosed;
  const std::string& id = task.task_id();
  if (current_.has_value() && current_->task_id() == id) {
    return PushResult::kAlreadyRunning;
  }
  for (const ProfilingTask& queued : queue_) {
    if (queued.task_id() == id) return PushResult::kAlreadyQueued;
  }
  if (finished_.contains(id)) return PushResult::kAlreadyDone;
  queue_.push_back(std::move(task));
  return PushResult::kQueued;
}

std::optional<ProfilingTask> TaskQueue::TakeLocked() {
  if (closed_ || queue_.empty()) return std::nullopt;
  current_ = std::move(queue_.front());
  queue_.pop_front();
  current_cancelled_ = false;
  return current_;
}

std::optional<ProfilingTask> TaskQueue::Next() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(this, &TaskQueue::HasTaskLocked));
  return TakeLocked();
}

std::optional<ProfilingTask> TaskQueue::NextWithTimeout(
    absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(this, &TaskQueue::HasTaskLocked),
                       timeout);
  return TakeLocked();
}

void TaskQueue::RememberLocked(const std::string& task_id,
                               TaskStatus::State state) {
  if (finished_memory_ == 0) return;
  if (finished_.insert_or_assign(task_id, state).second) {
    finished_order_.push_back(task_id);
  }
  while (finished_order_.size() > finished_memory_) {
    finished_.erase(finished_order_.front());
    finished_order_.pop_front();
  }
}

void TaskQueue::FinishCurrent(TaskStatus::State final_state) {
  absl::MutexLock lock(&mu_);
  if (!current_.has_value()) return;
  RememberLocked(current_->task_id(), final_state);
  current_.reset();
  current_cancelled_ = false;
}

void TaskQueue::AbandonCurrent() {
  absl::MutexLock lock(&mu_);
  current_.reset();
  current_cancelled_ = false;
}

std::vector<std::string> TaskQueue::CancelSweep(int64_t sweep_id) {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> dropped;
  std::deque<ProfilingTask> kept;
  for (ProfilingTask& task : queue_) {
    if (task.sweep_id() == sweep_id) {
      dropped.push_back(task.task_id());
      RememberLocked(task.task_id(), TaskStatus::STATE_CANCELLED);
    } else {
      kept.push_back(std::move(task));
    }
  }
  queue_ = std::move(kept);
  if (current_.has_value() && current_->sweep_id() == sweep_id) {
    current_cancelled_ = true;
  }
  return dropped;
}

bool TaskQueue::CurrentCancelled() const {
  absl::MutexLock lock(&mu_);
  return current_cancelled_;
}

std::string TaskQueue::CurrentTaskId() const {
  absl::MutexLock lock(&mu_);
  return current_.has_value() ? current_->task_id() : std::string();
}

int TaskQueue::QueuedCount() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(queue_.size());
}

TaskStatus::State TaskQueue::FinishedState(const std::string& task_id) const {
  absl::MutexLock lock(&mu_);
  auto it = finished_.find(task_id);
  return it == finished_.end() ? TaskStatus::STATE_UNSPECIFIED : it->second;
}

void TaskQueue::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

}  // namespace hakd::agent
