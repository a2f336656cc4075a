#include "agent/task_queue.h"

#include <thread>

#include "gtest/gtest.h"

namespace hakd::agent {
namespace {

using hakd::v1::ProfilingTask;
using hakd::v1::TaskStatus;
using Result = TaskQueue::PushResult;

ProfilingTask Task(int64_t sweep, int chunk) {
  ProfilingTask t;
  t.set_task_id("sweep-" + std::to_string(sweep) + "/chunk-" +
                std::to_string(chunk));
  t.set_sweep_id(sweep);
  t.set_chunk_index(chunk);
  return t;
}

TEST(TaskQueueTest, FifoOrder) {
  TaskQueue q;
  EXPECT_EQ(q.Push(Task(1, 0)), Result::kQueued);
  EXPECT_EQ(q.Push(Task(1, 1)), Result::kQueued);
  EXPECT_EQ(q.Push(Task(2, 0)), Result::kQueued);
  EXPECT_EQ(q.QueuedCount(), 3);
  EXPECT_EQ(q.NextWithTimeout(absl::ZeroDuration())->task_id(),
            "sweep-1/chunk-0");
  EXPECT_EQ(q.CurrentTaskId(), "sweep-1/chunk-0");
  EXPECT_EQ(q.QueuedCount(), 2);
  q.FinishCurrent(TaskStatus::STATE_FINISHED);
  EXPECT_EQ(q.CurrentTaskId(), "");
  EXPECT_EQ(q.NextWithTimeout(absl::ZeroDuration())->task_id(),
            "sweep-1/chunk-1");
  q.FinishCurrent(TaskStatus::STATE_FINISHED);
  EXPECT_EQ(q.NextWithTimeout(absl::ZeroDuration())->task_id(),
            "sweep-2/chunk-0");
  q.FinishCurrent(TaskStatus::STATE_FINISHED);
  EXPECT_FALSE(q.NextWithTimeout(absl::Milliseconds(1)).has_value());
}

TEST(TaskQueueTest, IgnoresTasksItHoldsOrFinished) {
  TaskQueue q;
  ASSERT_EQ(q.Push(Task(1, 0)), Result::kQueued);
  ASSERT_EQ(q.Push(Task(1, 1)), Result::kQueued);
  EXPECT_EQ(q.Push(Task(1, 1)), Result::kAlreadyQueued);
  ASSERT_TRUE(q.NextWithTimeout(absl::ZeroDuration()).has_value());
  EXPECT_EQ(q.Push(Task(1, 0)), Result::kAlreadyRunning);
  q.FinishCurrent(TaskStatus::STATE_FINISHED);
  EXPECT_EQ(q.Push(Task(1, 0)), Result::kAlreadyDone);
  EXPECT_EQ(q.FinishedState("sweep-1/chunk-0"), TaskStatus::STATE_FINISHED);
  EXPECT_EQ(q.FinishedState("sweep-1/chunk-1"), TaskStatus::STATE_UNSPECIFIED);
  EXPECT_EQ(q.QueuedCount(), 1);
}

TEST(TaskQueueTest, RemembersOnlyTheLastFinishedTasks) {
  TaskQueue q(/*finished_memory=*/2);
  for (int chunk = 0; chunk < 3; ++chunk) {
    ASSERT_EQ(q.Push(Task(1, chunk)), Result::kQueued);
    ASSERT_TRUE(q.NextWithTimeout(absl::ZeroDuration()).has_value());
    q.FinishCurrent(TaskStatus::STATE_FINISHED);
  }
  EXPECT_EQ(q.Push(Task(1, 0)), Result::kQueued);  // forgotten
  EXPECT_EQ(q.Push(Task(1, 1)), Result::kAlreadyDone);
  EXPECT_EQ(q.Push(Task(1, 2)), Result::kAlreadyDone);
}

TEST(TaskQueueTest, AbandonedTaskMayComeAgain) {
  TaskQueue q;
  ASSERT_EQ(q.Push(Task(1, 0)), Result::kQueued);
  ASSERT_TRUE(q.NextWithTimeout(absl::ZeroDuration()).has_value());
  q.AbandonCurrent();
  EXPECT_EQ(q.Push(Task(1, 0)), Result::kQueued);
}

TEST(TaskQueueTest, CancelDropsQueuedTasksOfTheSweepAndFlagsCurrent) {
  TaskQueue q;
  ASSERT_EQ(q.Push(Task(5, 0)), Result::kQueued);
  ASSERT_EQ(q.Push(Task(6, 0)), Result::kQueued);
  ASSERT_EQ(q.Push(Task(5, 1)), Result::kQueued);
  ASSERT_EQ(q.Push(Task(5, 2)), Result::kQueued);
  ASSERT_EQ(q.NextWithTimeout(absl::ZeroDuration())->task_id(),
            "sweep-5/chunk-0");
  EXPECT_FALSE(q.CurrentCancelled());

  EXPECT_EQ(q.CancelSweep(5),
            (std::vector<std::string>{"sweep-5/chunk-1", "sweep-5/chunk-2"}));
  EXPECT_TRUE(q.CurrentCancelled());
  EXPECT_EQ(q.QueuedCount(), 1);
  EXPECT_EQ(q.FinishedState("sweep-5/chunk-1"), TaskStatus::STATE_CANCELLED);
  EXPECT_EQ(q.Push(Task(5, 2)), Result::kAlreadyDone);

  q.FinishCurrent(TaskStatus::STATE_CANCELLED);
  EXPECT_FALSE(q.CurrentCancelled());
  EXPECT_EQ(q.NextWithTimeout(absl::ZeroDuration())->task_id(),
            "sweep-6/chunk-0");
  EXPECT_TRUE(q.CancelSweep(7).empty());
  EXPECT_FALSE(q.CurrentCancelled());
}

TEST(TaskQueueTest, NextWaitsForAPush) {
  TaskQueue q;
  std::thread pusher([&] {
    absl::SleepFor(absl::Milliseconds(30));
    q.Push(Task(1, 0));
  });
  std::optional<ProfilingTask> t = q.Next();
  pusher.join();
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->task_id(), "sweep-1/chunk-0");
}

TEST(TaskQueueTest, CloseWakesNextAndRefusesPushes) {
  TaskQueue q;
  std::thread closer([&] {
    absl::SleepFor(absl::Milliseconds(30));
    q.Close();
  });
  EXPECT_FALSE(q.Next().has_value());
  closer.join();
  EXPECT_EQ(q.Push(Task(1, 0)), Result::kClosed);
}

}  // namespace
}  // namespace hakd::agent
