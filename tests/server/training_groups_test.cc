// TrainingStore's data-parallel groups (server/training_groups.cc): forming,
// starting, renewing, breaking up and finishing a group of workers.
#include <string>

#include "gtest/gtest.h"
#include "server/training_store.h"
#include "tests/server/test_util.h"

namespace hakd {
namespace {

using hakd::v1::GroupAssignment;
using hakd::v1::TrainingTask;

constexpr int kLeaseMs = 1000;

bool HasSubstr(absl::string_view text, absl::string_view part) {
  return text.find(part) != absl::string_view::npos;
}

class TrainingGroupsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = hakd::testing::MakeTempDir();
    TrainingStoreOptions options;
    options.path = dir_ + "/hakd.db";
    options.synchronous_full = false;
    options.lease_ms = kLeaseMs;
    auto store = TrainingStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    hakd::v1::WorkerCapabilities cpu, gpu;
    cpu.set_device("cpu");
    gpu.set_device("cuda:0");
    for (const char* w : {"w1", "w2", "w3"}) {
      ASSERT_TRUE(store_->RegisterWorker(w, cpu, 0).ok());
    }
    ASSERT_TRUE(store_->RegisterWorker("g1", gpu, 0).ok());
  }

  int64_t Submit(int world_size, int max_attempts = 0) {
    hakd::v1::TrainingSpec spec;
    spec.set_name("dp");
    spec.set_dataset("cifar10");
    spec.set_world_size(world_size);
    auto task = store_->Submit(spec, max_attempts, 10);
    EXPECT_TRUE(task.ok()) << task.status();
    return task.ok() ? task->task_id() : 0;
  }

  // Leases as `worker` with a group endpoint; the grant or an empty one.
  LeaseGrant Join(const std::string& worker, int64_t now_ms, int port = 29500) {
    GroupJoin join;
    join.host = "10.0.0." + worker.substr(1);
    join.port = port;
    auto grant = store_->LeaseTask(worker, now_ms, "id-" + worker, join);
    EXPECT_TRUE(grant.ok()) << grant.status();
    return grant.ok() && grant->has_value() ? **grant : LeaseGrant();
  }

  TrainingTask Get(int64_t id) {
    auto task = store_->GetTask(id);
    EXPECT_TRUE(task.ok()) << task.status();
    return task.ok() ? *task : TrainingTask();
  }

  std::string dir_;
  std::unique_ptr<TrainingStore> store_;
};

TEST_F(TrainingGroupsTest, GroupFormsThenStartsUnderRankZerosLease) {
  const int64_t id = Submit(2);
  LeaseGrant a = Join("w1", 100);
  ASSERT_TRUE(a.group.has_value());
  EXPECT_EQ(a.group->rank(), 0);
  EXPECT_EQ(a.group->world_size(), 2);
  EXPECT_FALSE(a.group->ready());
  EXPECT_EQ(a.group->joined(), 1);
  // Forming: still queued, no attempt spent, the member is listed.
  TrainingTask t = Get(id);
  EXPECT_EQ(t.state(), hakd::v1::TASK_QUEUED);
  EXPECT_EQ(t.attempts(), 0);
  ASSERT_EQ(t.group_workers_size(), 1);
  // A forming member cannot upload or report progress for the task yet.
  EXPECT_EQ(store_->CheckLease(a.lease_id, 150).status().code(),
            absl::StatusCode::kFailedPrecondition);

  LeaseGrant b = Join("w2", 200);
  ASSERT_TRUE(b.group.has_value());
  EXPECT_EQ(b.group->rank(), 1);
  EXPECT_TRUE(b.group->ready());
  EXPECT_EQ(b.group->master_host(), "10.0.0.1");
  EXPECT_EQ(b.group->master_port(), 29500);
  EXPECT_EQ(b.group->host(), "10.0.0.2");
  EXPECT_EQ(b.group->attempt(), 1);
  t = Get(id);
  EXPECT_EQ(t.state(), hakd::v1::TASK_RUNNING);
  EXPECT_EQ(t.attempts(), 1);
  EXPECT_EQ(t.worker(), "w1");
  ASSERT_EQ(t.group_workers_size(), 2);
  EXPECT_EQ(t.group_workers(1), "w2");

  // Rank 0 learns the group is ready; both leases are held now.
  auto ready = store_->AwaitGroup(a.lease_id, 300);
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_TRUE(ready->ready());
  EXPECT_EQ(ready->rank(), 0);
  EXPECT_TRUE(store_->CheckLease(a.lease_id, 300).ok());
  EXPECT_TRUE(store_->CheckLease(b.lease_id, 300).ok());
  EXPECT_EQ(*store_->LeaseIdentity(b.lease_id), "id-w2");
  // A third worker finds nothing to do.
  EXPECT_FALSE(Join("w3", 300).group.has_value());
}

TEST_F(TrainingGroupsTest, OnlyRankZeroReportsUploadsAndCompletes) {
  const int64_t id = Submit(2);
  LeaseGrant a = Join("w1", 100);
  LeaseGrant b = Join("w2", 100);
  hakd::v1::TrainingProgress p;
  p.set_epoch(1);
  p.set_loss(2.5);
  hakd::v1::TrainingProgress other;
  other.set_epoch(1);
  other.set_loss(9.9);
  ASSERT_TRUE(store_->ReportProgress(a.lease_id, p, nullptr, 200).ok());
  // Rank 1's report renews its lease but does not replace rank 0's.
  ASSERT_TRUE(store_->ReportProgress(b.lease_id, other, nullptr, 300).ok());
  EXPECT_DOUBLE_EQ(Get(id).progress().loss(), 2.5);
  auto upload = store_->CommitArtifact(
      b.lease_id, "model", 10, std::string(64, 'a'), 300,
      [](const std::string&, const std::string&) { return absl::OkStatus(); });
  EXPECT_EQ(upload.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(HasSubstr(upload.status().message(), "only rank 0"));
  auto model = store_->CommitArtifact(
      a.lease_id, "model", 10, std::string(64, 'a'), 300,
      [](const std::string&, const std::string&) { return absl::OkStatus(); });
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(store_->Complete(b.lease_id, model->record.artifact_id, 400).code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(store_->Complete(a.lease_id, model->record.artifact_id, 400).ok());
  EXPECT_EQ(Get(id).state(), hakd::v1::TASK_SUCCEEDED);
  // Rank 1 learns the task ended from its next report.
  auto late = store_->ReportProgress(b.lease_id, other, nullptr, 500);
  EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(HasSubstr(late.status().message(), "ended"));
}

TEST_F(TrainingGroupsTest, ExpiredMemberBreaksARunningGroupWhichResumes) {
  const int64_t id = Submit(2);
  LeaseGrant a = Join("w1", 100);
  LeaseGrant b = Join("w2", 100);
  // Rank 0 keeps reporting; rank 1 goes silent.
  ASSERT_TRUE(store_->ReportProgress(a.lease_id, {}, nullptr, 800).ok());
  auto reaped = store_->ReapExpiredLeases(1200);
  ASSERT_TRUE(reaped.ok()) << reaped.status();
  EXPECT_EQ(*reaped, 1);
  TrainingTask t = Get(id);
  EXPECT_EQ(t.state(), hakd::v1::TASK_QUEUED);
  EXPECT_TRUE(HasSubstr(t.error(), "w2 (rank 1) stopped renewing"));
  EXPECT_EQ(t.group_workers_size(), 0);
  // The survivor learns it at its next report, and the group forms anew.
  EXPECT_EQ(store_->ReportProgress(a.lease_id, {}, nullptr, 1300).status().code(),
            absl::StatusCode::kFailedPrecondition);
  LeaseGrant a2 = Join("w1", 1400);
  LeaseGrant c = Join("w3", 1400);
  ASSERT_TRUE(c.group.has_value());
  EXPECT_TRUE(c.group->ready());
  EXPECT_EQ(c.group->attempt(), 2);
  EXPECT_EQ(Get(id).attempts(), 2);
}

TEST_F(TrainingGroupsTest, MemberFailureBreaksTheGroupAndNamesTheRank) {
  const int64_t id = Submit(2, /*max_attempts=*/1);
  LeaseGrant a = Join("w1", 100);
  LeaseGrant b = Join("w2", 100);
  auto retry = store_->Fail(b.lease_id, "gloo: connection reset", true, 200);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_FALSE(*retry);  // the only attempt is spent
  TrainingTask t = Get(id);
  EXPECT_EQ(t.state(), hakd::v1::TASK_FAILED);
  EXPECT_TRUE(HasSubstr(t.error(), "rank 1 (worker w2): gloo"));
  EXPECT_EQ(t.group_workers_size(), 0);
}

TEST_F(TrainingGroupsTest, FormingMembersExpireAndRanksAreReused) {
  const int64_t id = Submit(3);
  LeaseGrant a = Join("w1", 100);
  LeaseGrant b = Join("w2", 600);
  // w1 stops waiting; the reap drops it, not the task.
  ASSERT_TRUE(store_->ReapExpiredLeases(1200).ok());
  TrainingTask t = Get(id);
  EXPECT_EQ(t.state(), hakd::v1::TASK_QUEUED);
  ASSERT_EQ(t.group_workers_size(), 1);
  EXPECT_EQ(t.group_workers(0), "w2");
  EXPECT_EQ(store_->AwaitGroup(a.lease_id, 1200).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // w2 keeps waiting (AwaitGroup renews); w3 takes the free rank 0.
  auto waiting = store_->AwaitGroup(b.lease_id, 1200);
  ASSERT_TRUE(waiting.ok()) << waiting.status();
  EXPECT_FALSE(waiting->ready());
  LeaseGrant c = Join("w3", 1300);
  EXPECT_EQ(c.group->rank(), 0);
  EXPECT_EQ(c.group->joined(), 2);
}

TEST_F(TrainingGroupsTest, DeviceKindsAreNotMixedAndPlainWorkersSkipGroups) {
  Submit(2);
  const int64_t single = Submit(1);
  LeaseGrant a = Join("w1", 100);
  ASSERT_TRUE(a.group.has_value());
  // A CUDA worker passes the CPU group by and takes the single task.
  LeaseGrant g = Join("g1", 100);
  EXPECT_FALSE(g.group.has_value());
  EXPECT_EQ(g.task.task_id(), single);
  // A worker without a group endpoint never joins one.
  const int64_t another = Submit(2);
  auto plain = store_->LeaseTask("w2", 200);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->has_value());
  (void)another;
}

TEST_F(TrainingGroupsTest, RestartedMemberLeavesItsGroups) {
  const int64_t id = Submit(2);
  LeaseGrant a = Join("w1", 100);
  // w1 restarts while its group forms: it is forgotten and joins again.
  LeaseGrant again = Join("w1", 200);
  ASSERT_TRUE(again.group.has_value());
  EXPECT_EQ(again.group->joined(), 1);
  LeaseGrant b = Join("w2", 300);
  ASSERT_TRUE(b.group->ready());
  // w2 restarts while the group runs: the group breaks up at once.
  Join("w2", 400);
  TrainingTask t = Get(id);
  EXPECT_TRUE(HasSubstr(t.error(), "group member w2 (rank 1) restarted"));
  EXPECT_EQ(t.attempts(), 1);
  EXPECT_EQ(store_->CheckLease(again.lease_id, 400).status().code(),
            absl::StatusCode::kFailedPrecondition);
  (void)a;
}

TEST_F(TrainingGroupsTest, GroupWaitsForEnoughIdleWorkersWithoutBlockingTheQueue) {
  const int64_t group = Submit(3);
  const int64_t single = Submit(1);
  // w3 is busy with the single task: only two CPU workers are idle, so
  // nobody starts forming the group of three, and w1 is not held by it.
  auto busy = store_->LeaseTask("w3", 100);
  ASSERT_TRUE(busy.ok() && busy->has_value());
  EXPECT_EQ((*busy)->task.task_id(), single);
  EXPECT_FALSE(Join("w1", 200).group.has_value());
  EXPECT_EQ(Get(group).group_workers_size(), 0);
  // w3 is done: three idle workers, the group forms.
  ASSERT_TRUE(store_->Fail((*busy)->lease_id, "done", false, 300).ok());
  LeaseGrant a = Join("w1", 400);
  ASSERT_TRUE(a.group.has_value());
  EXPECT_EQ(a.group->joined(), 1);
  EXPECT_TRUE(Join("w2", 500).group.has_value());
  EXPECT_TRUE(Join("w3", 600).group->ready());
  // Workers unseen for three lease periods do not count: long after, only
  // w1 is around, so the group task (requeued when its leases expired)
  // does not start forming again.
  EXPECT_FALSE(Join("w1", 10000).group.has_value());
  EXPECT_EQ(Get(group).state(), hakd::v1::TASK_QUEUED);
  EXPECT_EQ(Get(group).group_workers_size(), 0);
}

TEST_F(TrainingGroupsTest, CancelledWhileFormingTellsTheMembers) {
  const int64_t id = Submit(2);
  LeaseGrant a = Join("w1", 100);
  ASSERT_TRUE(store_->Cancel(id, 200).ok());
  auto status = store_->AwaitGroup(a.lease_id, 300);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(status->cancelled());
}

}  // namespace
}  // namespace hakd
