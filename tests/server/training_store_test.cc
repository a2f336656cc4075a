#include "server/training_store.h"

#include <string>

#include "common/network/network_builders.h"
#include "gtest/gtest.h"
#include "server/latency_store.h"
#include "server/schema.h"
#include "tests/server/test_util.h"

namespace hakd {
namespace {

using hakd::v1::TrainingTask;

constexpr int kLeaseMs = 1000;

bool HasSubstr(absl::string_view text, absl::string_view part) {
  return text.find(part) != absl::string_view::npos;
}

hakd::v1::TrainingSpec Spec(const std::string& name) {
  hakd::v1::TrainingSpec spec;
  spec.set_name(name);
  spec.set_dataset("cifar10");
  return spec;
}

hakd::v1::EpochMetrics Epoch(int epoch, double test_accuracy) {
  hakd::v1::EpochMetrics m;
  m.set_epoch(epoch);
  m.set_test_accuracy(test_accuracy);
  m.set_train_loss(1.0 / epoch);
  return m;
}

class TrainingStoreTest : public ::testing::Test {
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
    hakd::v1::WorkerCapabilities caps;
    caps.set_device("cpu");
    ASSERT_TRUE(store_->RegisterWorker("w1", caps, 0).ok());
    ASSERT_TRUE(store_->RegisterWorker("w2", caps, 0).ok());
  }

  int64_t Submit(const std::string& name, int max_attempts = 0) {
    auto task = store_->Submit(Spec(name), max_attempts, 10);
    EXPECT_TRUE(task.ok()) << task.status();
    return task.ok() ? task->task_id() : 0;
  }

  LeaseGrant Lease(const std::string& worker, int64_t now_ms) {
    auto grant = store_->LeaseTask(worker, now_ms);
    EXPECT_TRUE(grant.ok()) << grant.status();
    EXPECT_TRUE(grant.ok() && grant->has_value());
    return grant.ok() && grant->has_value() ? **grant : LeaseGrant();
  }

  // Indexes an artifact without a file (the ArtifactStore's part).
  absl::StatusOr<CommittedArtifact> Commit(const std::string& lease_id,
                                           const std::string& kind,
                                           int64_t now_ms) {
    return store_->CommitArtifact(
        lease_id, kind, 10, std::string(64, 'a'), now_ms,
        [](const std::string&, const std::string&) { return absl::OkStatus(); });
  }

  TrainingTask Get(int64_t id) {
    auto task = store_->GetTask(id);
    EXPECT_TRUE(task.ok()) << task.status();
    return task.ok() ? *task : TrainingTask();
  }

  std::string dir_;
  std::unique_ptr<TrainingStore> store_;
};

TEST_F(TrainingStoreTest, SubmitStoresSpecAsGivenWithDefaultAttempts) {
  auto task = store_->Submit(Spec("a"), 0, 10);
  ASSERT_TRUE(task.ok()) << task.status();
  EXPECT_GT(task->task_id(), 0);
  EXPECT_EQ(task->state(), hakd::v1::TASK_QUEUED);
  EXPECT_EQ(task->max_attempts(), 3);
  EXPECT_EQ(task->attempts(), 0);
  EXPECT_EQ(task->created_unix_ms(), 10);
  EXPECT_EQ(task->spec().name(), "a");
  EXPECT_EQ(task->spec().schedule().epochs(), 0);  // the worker's default
  EXPECT_EQ(store_->GetTask(999).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(TrainingStoreTest, LeaseHandsOutOldestFirstAndProgressRenews) {
  const int64_t a = Submit("a");
  const int64_t b = Submit("b");
  LeaseGrant first = Lease("w1", 100);
  EXPECT_EQ(first.task.task_id(), a);
  EXPECT_EQ(first.task.state(), hakd::v1::TASK_RUNNING);
  EXPECT_EQ(first.task.attempts(), 1);
  EXPECT_EQ(first.task.worker(), "w1");
  EXPECT_EQ(first.task.started_unix_ms(), 100);
  EXPECT_EQ(first.lease_id.size(), 32u);
  LeaseGrant second = Lease("w2", 100);
  EXPECT_EQ(second.task.task_id(), b);
  EXPECT_NE(second.lease_id, first.lease_id);
  auto none = store_->LeaseTask("w1", 100);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  // Renewed at 900 to 1900, so still held at 1500 (past the first expiry).
  hakd::v1::TrainingProgress p;
  p.set_epoch(1);
  p.set_step(7);
  auto cancelled = store_->ReportProgress(first.lease_id, p, nullptr, 900);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_FALSE(*cancelled);
  EXPECT_EQ(store_->ReapExpiredLeases(1500).value_or(-1), 1);  // only b
  EXPECT_TRUE(store_->ReportProgress(first.lease_id, p, nullptr, 1500).ok());
  EXPECT_EQ(Get(a).state(), hakd::v1::TASK_RUNNING);
  EXPECT_EQ(Get(a).progress().step(), 7);
  EXPECT_EQ(Get(b).state(), hakd::v1::TASK_QUEUED);
  auto held = store_->CheckLease(first.lease_id, 1500);
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(held->task_id, a);
  EXPECT_EQ(held->worker, "w1");
}

TEST_F(TrainingStoreTest, SaliencyAndPruneTasksCompleteWithTheirResults) {
  // A trained model to start from.
  Submit("teacher");
  LeaseGrant t = Lease("w1", 20);
  auto model = Commit(t.lease_id, "model", 21);
  ASSERT_TRUE(model.ok()) << model.status();
  ASSERT_TRUE(store_->Complete(t.lease_id, model->record.artifact_id, 22).ok());
  const std::string teacher = model->record.artifact_id;

  hakd::v1::TrainingSpec missing = Spec("s");
  missing.set_init_artifact_id("art-000000000000-9");
  EXPECT_EQ(store_->Submit(missing, 0, 23).status().code(),
            absl::StatusCode::kNotFound);

  hakd::v1::TrainingSpec saliency = Spec("saliency");
  saliency.set_kind(hakd::v1::TASK_KIND_SALIENCY);
  saliency.set_init_artifact_id(teacher);
  ASSERT_TRUE(store_->Submit(saliency, 0, 24).ok());
  LeaseGrant s = Lease("w1", 25);
  hakd::v1::CompleteTaskRequest done;
  done.set_lease_id(s.lease_id);
  // Without its saliency, or with a model, the completion is refused and
  // the task keeps running.
  EXPECT_EQ(store_->Complete(done, 26).code(), absl::StatusCode::kInvalidArgument);
  hakd::v1::BlockSaliency* b = done.add_saliency();
  b->set_stage(0);
  b->add_channels(0.5);
  b->add_channels(-1);
  auto st = store_->Complete(done, 26);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("saliency[0].channels"), std::string::npos) << st;
  b->set_channels(1, 0.25);
  done.set_model_artifact_id(teacher);
  EXPECT_EQ(store_->Complete(done, 26).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Get(s.task.task_id()).state(), hakd::v1::TASK_RUNNING);
  done.clear_model_artifact_id();
  ASSERT_TRUE(store_->Complete(done, 27).ok());
  TrainingTask got = Get(s.task.task_id());
  EXPECT_EQ(got.state(), hakd::v1::TASK_SUCCEEDED);
  ASSERT_EQ(got.saliency_size(), 1);
  EXPECT_EQ(got.saliency(0).channels(1), 0.25);

  hakd::v1::TrainingSpec prune = Spec("prune");
  prune.set_kind(hakd::v1::TASK_KIND_FISHER_PRUNE);
  prune.set_init_artifact_id(teacher);
  ASSERT_TRUE(store_->Submit(prune, 0, 28).ok());
  LeaseGrant p = Lease("w1", 29);
  auto pruned = store_->CommitArtifact(
      p.lease_id, "model", 10, std::string(64, 'c'), 30,
      [](const std::string&, const std::string&) { return absl::OkStatus(); });
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  hakd::v1::CompleteTaskRequest pdone;
  pdone.set_lease_id(p.lease_id);
  pdone.set_model_artifact_id(pruned->record.artifact_id);
  EXPECT_EQ(store_->Complete(pdone, 31).code(), absl::StatusCode::kInvalidArgument);
  pdone.mutable_result_network()->set_num_classes(10);  // not a valid network
  EXPECT_EQ(store_->Complete(pdone, 31).code(), absl::StatusCode::kInvalidArgument);
  *pdone.mutable_result_network() =
      *WideResNet(10, 1, FashionMnistInput(), 10);
  pdone.set_nonzero_params(1234);
  ASSERT_TRUE(store_->Complete(pdone, 32).ok());
  got = Get(p.task.task_id());
  EXPECT_EQ(got.result_network().stages_size(), 3);
  EXPECT_EQ(got.nonzero_params(), 1234);
  EXPECT_EQ(got.model_artifact_id(), pruned->record.artifact_id);
}

TEST_F(TrainingStoreTest, UnregisteredWorkerCannotLease) {
  Submit("a");
  auto grant = store_->LeaseTask("stranger", 100);
  EXPECT_EQ(grant.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(HasSubstr(grant.status().message(), "not registered"));
}

TEST_F(TrainingStoreTest, ExpiredLeaseIsRequeuedAndSuperseded) {
  const int64_t a = Submit("a");
  LeaseGrant first = Lease("w1", 50);
  EXPECT_EQ(store_->ReapExpiredLeases(kLeaseMs + 50).value_or(-1), 0);  // the edge
  EXPECT_EQ(store_->ReapExpiredLeases(kLeaseMs + 51).value_or(-1), 1);
  TrainingTask t = Get(a);
  EXPECT_EQ(t.state(), hakd::v1::TASK_QUEUED);
  EXPECT_EQ(t.error(), "lease of worker w1 expired at 1970-01-01T00:00:01.050Z");
  hakd::v1::TrainingProgress p;
  auto late = store_->ReportProgress(first.lease_id, p, nullptr, kLeaseMs + 52);
  EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(HasSubstr(late.status().message(), "lease expired; task requeued"));

  LeaseGrant second = Lease("w2", 2000);
  EXPECT_EQ(second.task.task_id(), a);
  EXPECT_EQ(second.task.attempts(), 2);
  EXPECT_EQ(second.task.started_unix_ms(), 50);  // the first start is kept
  EXPECT_NE(second.lease_id, first.lease_id);
  EXPECT_EQ(store_->ReportProgress(first.lease_id, p, nullptr, 2001).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store_->ReportProgress(second.lease_id, p, nullptr, 2001).ok());
}

TEST_F(TrainingStoreTest, ExpiredButNotYetReapedLeaseIsRejected) {
  Submit("a");
  LeaseGrant g = Lease("w1", 0);
  hakd::v1::TrainingProgress p;
  EXPECT_EQ(store_->ReportProgress(g.lease_id, p, nullptr, kLeaseMs + 5).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->CheckLease(g.lease_id, kLeaseMs + 5).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(TrainingStoreTest, LeaseReapsBeforeChoosing) {
  const int64_t a = Submit("a");
  Lease("w1", 0);
  // No reaper ran; the next lease still finds the expired task.
  LeaseGrant g = Lease("w2", 5000);
  EXPECT_EQ(g.task.task_id(), a);
  EXPECT_EQ(g.task.attempts(), 2);
  EXPECT_EQ(g.task.worker(), "w2");
}

TEST_F(TrainingStoreTest, ExhaustedAttemptsFailWithReason) {
  const int64_t a = Submit("a", 2);
  Lease("w1", 0);
  EXPECT_EQ(store_->ReapExpiredLeases(2000).value_or(-1), 1);
  EXPECT_EQ(Get(a).state(), hakd::v1::TASK_QUEUED);
  Lease("w1", 3000);
  EXPECT_EQ(store_->ReapExpiredLeases(5000).value_or(-1), 1);
  TrainingTask t = Get(a);
  EXPECT_EQ(t.state(), hakd::v1::TASK_FAILED);
  EXPECT_EQ(t.attempts(), 2);
  EXPECT_EQ(t.finished_unix_ms(), 5000);
  EXPECT_TRUE(HasSubstr(t.error(), "gave up after 2 attempts: lease of worker w1 expired"))
      << t.error();
  auto none = store_->LeaseTask("w1", 6000);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(TrainingStoreTest, RetryableFailRequeuesUntilAttemptsAreSpent) {
  const int64_t a = Submit("a", 2);
  LeaseGrant g = Lease("w1", 0);
  auto retry = store_->Fail(g.lease_id, "CUDA out of memory", true, 10);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(*retry);
  EXPECT_EQ(Get(a).state(), hakd::v1::TASK_QUEUED);
  EXPECT_EQ(Get(a).error(), "CUDA out of memory");
  // The failed lease is gone.
  EXPECT_EQ(store_->Fail(g.lease_id, "again", true, 11).status().code(),
            absl::StatusCode::kFailedPrecondition);
  g = Lease("w1", 20);
  retry = store_->Fail(g.lease_id, "CUDA out of memory", true, 30);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_FALSE(*retry);
  EXPECT_EQ(Get(a).state(), hakd::v1::TASK_FAILED);
  EXPECT_EQ(Get(a).error(), "gave up after 2 attempts: CUDA out of memory");
}

TEST_F(TrainingStoreTest, NonRetryableFailEndsAtOnce) {
  const int64_t a = Submit("a", 5);
  LeaseGrant g = Lease("w1", 0);
  auto retry = store_->Fail(g.lease_id, "dataset missing", false, 10);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_FALSE(*retry);
  TrainingTask t = Get(a);
  EXPECT_EQ(t.state(), hakd::v1::TASK_FAILED);
  EXPECT_EQ(t.error(), "dataset missing");
  EXPECT_EQ(t.attempts(), 1);
  EXPECT_EQ(t.finished_unix_ms(), 10);
}

TEST_F(TrainingStoreTest, CancelQueuedRunningAndEnded) {
  const int64_t queued = Submit("q");
  const int64_t running = Submit("r");
  auto c = store_->Cancel(queued, 5);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->state(), hakd::v1::TASK_CANCELLED);
  EXPECT_EQ(c->finished_unix_ms(), 5);
  // The cancelled task is never leased.
  LeaseGrant g = Lease("w1", 10);
  EXPECT_EQ(g.task.task_id(), running);
  c = store_->Cancel(running, 20);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->state(), hakd::v1::TASK_CANCELLED);
  hakd::v1::TrainingProgress p;
  auto cancelled = store_->ReportProgress(g.lease_id, p, nullptr, 30);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_TRUE(*cancelled);
  EXPECT_EQ(store_->Complete(g.lease_id, "art-x-1", 30).code(),
            absl::StatusCode::kFailedPrecondition);
  auto fail = store_->Fail(g.lease_id, "stopped", true, 30);
  ASSERT_TRUE(fail.ok()) << fail.status();
  EXPECT_FALSE(*fail);
  EXPECT_EQ(Get(running).state(), hakd::v1::TASK_CANCELLED);
  // The reaper leaves cancelled tasks alone.
  EXPECT_EQ(store_->ReapExpiredLeases(100000).value_or(-1), 0);
  auto again = store_->Cancel(running, 40);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(HasSubstr(again.status().message(), "TASK_CANCELLED"));
  EXPECT_EQ(store_->Cancel(999, 40).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(TrainingStoreTest, EpochsAreReplacedWhenAResumedTaskReportsThemAgain) {
  const int64_t a = Submit("a");
  LeaseGrant g = Lease("w1", 0);
  hakd::v1::TrainingProgress p;
  hakd::v1::EpochMetrics e1 = Epoch(1, 0.5);
  hakd::v1::EpochMetrics e2 = Epoch(2, 0.6);
  ASSERT_TRUE(store_->ReportProgress(g.lease_id, p, &e1, 100).ok());
  ASSERT_TRUE(store_->ReportProgress(g.lease_id, p, &e2, 200).ok());
  ASSERT_EQ(store_->ReapExpiredLeases(5000).value_or(-1), 1);
  g = Lease("w2", 6000);
  EXPECT_EQ(g.task.history_size(), 2);  // the resumed worker sees them
  hakd::v1::EpochMetrics e2b = Epoch(2, 0.65);
  hakd::v1::EpochMetrics e3 = Epoch(3, 0.7);
  ASSERT_TRUE(store_->ReportProgress(g.lease_id, p, &e2b, 6100).ok());
  ASSERT_TRUE(store_->ReportProgress(g.lease_id, p, &e3, 6200).ok());
  TrainingTask t = Get(a);
  ASSERT_EQ(t.history_size(), 3);
  EXPECT_EQ(t.history(0).epoch(), 1);
  EXPECT_DOUBLE_EQ(t.history(0).test_accuracy(), 0.5);
  EXPECT_EQ(t.history(1).epoch(), 2);
  EXPECT_DOUBLE_EQ(t.history(1).test_accuracy(), 0.65);
  EXPECT_EQ(t.history(2).epoch(), 3);
}

TEST_F(TrainingStoreTest, CompleteRequiresAModelArtifactOfTheTask) {
  const int64_t a = Submit("a");
  const int64_t b = Submit("b");
  LeaseGrant ga = Lease("w1", 0);
  LeaseGrant gb = Lease("w2", 0);
  auto missing = store_->Complete(ga.lease_id, "art-aaaaaaaaaaaa-99", 10);
  EXPECT_EQ(missing.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(HasSubstr(missing.message(), "model_artifact_id"));

  auto checkpoint = Commit(ga.lease_id, "checkpoint", 10);
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_EQ(store_->Complete(ga.lease_id, checkpoint->record.artifact_id, 10).code(),
            absl::StatusCode::kFailedPrecondition);
  auto other_model = Commit(gb.lease_id, "model", 10);
  ASSERT_TRUE(other_model.ok()) << other_model.status();
  EXPECT_EQ(store_->Complete(ga.lease_id, other_model->record.artifact_id, 10).code(),
            absl::StatusCode::kFailedPrecondition);

  auto model = Commit(ga.lease_id, "model", 20);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->record.task_id, a);
  EXPECT_EQ(model->record.path,
            absl::StrCat("task-", a, "/", model->record.artifact_id));
  ASSERT_TRUE(store_->Complete(ga.lease_id, model->record.artifact_id, 30).ok());
  TrainingTask t = Get(a);
  EXPECT_EQ(t.state(), hakd::v1::TASK_SUCCEEDED);
  EXPECT_EQ(t.model_artifact_id(), model->record.artifact_id);
  EXPECT_EQ(t.checkpoint_artifact_id(), checkpoint->record.artifact_id);
  EXPECT_EQ(t.finished_unix_ms(), 30);
  // A retried CompleteTask is answered OK; anything else on the lease is not.
  EXPECT_TRUE(store_->Complete(ga.lease_id, model->record.artifact_id, 40).ok());
  hakd::v1::TrainingProgress p;
  EXPECT_EQ(store_->ReportProgress(ga.lease_id, p, nullptr, 40).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Commit(ga.lease_id, "model", 40).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Cancel(a, 50).status().code(),
            absl::StatusCode::kFailedPrecondition);
  (void)b;
}

TEST_F(TrainingStoreTest, CommitArtifactReplacesCheckpointsAndNamesIds) {
  const int64_t a = Submit("a");
  LeaseGrant g = Lease("w1", 0);
  auto c1 = Commit(g.lease_id, "checkpoint", 10);
  ASSERT_TRUE(c1.ok()) << c1.status();
  EXPECT_EQ(c1->record.artifact_id.rfind("art-aaaaaaaaaaaa-", 0), 0u)
      << c1->record.artifact_id;
  EXPECT_TRUE(c1->superseded_paths.empty());
  auto c2 = Commit(g.lease_id, "checkpoint", 20);
  ASSERT_TRUE(c2.ok()) << c2.status();
  EXPECT_NE(c2->record.artifact_id, c1->record.artifact_id);
  ASSERT_EQ(c2->superseded_paths.size(), 1u);
  EXPECT_EQ(c2->superseded_paths[0], c1->record.path);
  EXPECT_EQ(store_->GetArtifact(c1->record.artifact_id).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Get(a).checkpoint_artifact_id(), c2->record.artifact_id);

  // A failing `place` indexes nothing.
  auto failed = store_->CommitArtifact(
      g.lease_id, "model", 10, std::string(64, 'b'), 30,
      [](const std::string&, const std::string&) {
        return absl::UnavailableError("disk gone");
      });
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  auto tasks_model = store_->Complete(g.lease_id, "art-bbbbbbbbbbbb-3", 40);
  EXPECT_EQ(tasks_model.code(), absl::StatusCode::kFailedPrecondition);
  // Uploading renews the lease (from 0 + 1000 to 20 + 1000).
  EXPECT_TRUE(store_->CheckLease(g.lease_id, kLeaseMs + 10).ok());
}

TEST_F(TrainingStoreTest, TeacherMustBeAnExistingModel) {
  Submit("teacher");
  LeaseGrant g = Lease("w1", 0);
  auto checkpoint = Commit(g.lease_id, "checkpoint", 10);
  auto model = Commit(g.lease_id, "model", 10);
  ASSERT_TRUE(checkpoint.ok() && model.ok());
  hakd::v1::TrainingSpec student = Spec("student");
  student.mutable_distillation()->set_teacher_artifact_id("art-000000000000-9");
  auto s = store_->Submit(student, 0, 20);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(HasSubstr(s.status().message(), "spec.distillation.teacher_artifact_id"));
  student.mutable_distillation()->set_teacher_artifact_id(checkpoint->record.artifact_id);
  s = store_->Submit(student, 0, 20);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(HasSubstr(s.status().message(), "not a model"));
  student.mutable_distillation()->set_teacher_artifact_id(model->record.artifact_id);
  s = store_->Submit(student, 0, 20);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->spec().distillation().teacher_artifact_id(), model->record.artifact_id);
}

TEST_F(TrainingStoreTest, ListsNewestFirstWithStateFilter) {
  const int64_t a = Submit("a");
  const int64_t b = Submit("b");
  const int64_t c = Submit("c");
  Lease("w1", 0);  // a runs
  auto all = store_->ListTasks(100, hakd::v1::TASK_STATE_UNSPECIFIED);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].task_id(), c);
  EXPECT_EQ((*all)[2].task_id(), a);
  auto two = store_->ListTasks(2, hakd::v1::TASK_STATE_UNSPECIFIED);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->size(), 2u);
  auto queued = store_->ListTasks(100, hakd::v1::TASK_QUEUED);
  ASSERT_TRUE(queued.ok());
  ASSERT_EQ(queued->size(), 2u);
  EXPECT_EQ((*queued)[0].task_id(), c);
  EXPECT_EQ((*queued)[1].task_id(), b);
  auto running = store_->ListTasks(100, hakd::v1::TASK_RUNNING);
  ASSERT_TRUE(running.ok());
  ASSERT_EQ(running->size(), 1u);
  EXPECT_EQ((*running)[0].task_id(), a);
}

TEST_F(TrainingStoreTest, WorkersAreOnlineWithinThreeLeases) {
  Submit("a");
  hakd::v1::WorkerCapabilities caps;
  caps.set_device("cuda:0");
  caps.set_device_name("H100");
  ASSERT_TRUE(store_->RegisterWorker("w1", caps, 100).ok());  // upsert
  const int64_t task = Lease("w1", 200).task.task_id();
  auto workers = store_->ListWorkers(200 + 3 * kLeaseMs);
  ASSERT_TRUE(workers.ok()) << workers.status();
  ASSERT_EQ(workers->size(), 2u);
  EXPECT_EQ((*workers)[0].name(), "w1");
  EXPECT_EQ((*workers)[0].capabilities().device(), "cuda:0");
  EXPECT_EQ((*workers)[0].last_seen_unix_ms(), 200);
  EXPECT_TRUE((*workers)[0].online());
  EXPECT_EQ((*workers)[0].current_task_id(), task);
  EXPECT_EQ((*workers)[1].name(), "w2");
  EXPECT_FALSE((*workers)[1].online());
  EXPECT_EQ((*workers)[1].current_task_id(), 0);
  workers = store_->ListWorkers(201 + 3 * kLeaseMs);
  ASSERT_TRUE(workers.ok());
  EXPECT_FALSE((*workers)[0].online());
}

TEST_F(TrainingStoreTest, WaitForChangeWakesOnChanges) {
  int64_t version = store_->version();
  store_->WaitForChange(&version, absl::Milliseconds(1));  // times out
  const int64_t before = version;
  Submit("a");
  store_->WaitForChange(&version, absl::Seconds(10));
  EXPECT_GT(version, before);
}

TEST_F(TrainingStoreTest, SurvivesReopenBesideTheLatencyStore) {
  const int64_t a = Submit("a");
  store_.reset();
  // The server opens the LatencyStore first, then the TrainingStore on the
  // same file; both must work on schema v6.
  StoreOptions latency_options;
  latency_options.path = dir_ + "/hakd.db";
  latency_options.synchronous_full = false;
  auto latency = LatencyStore::Open(latency_options);
  ASSERT_TRUE(latency.ok()) << latency.status();
  EXPECT_EQ((*latency)->schema_version(), kSchemaVersion);
  EXPECT_EQ(kSchemaVersion, 8);
  TrainingStoreOptions options;
  options.path = dir_ + "/hakd.db";
  options.synchronous_full = false;
  auto reopened = TrainingStore::Open(options);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  auto t = (*reopened)->GetTask(a);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->spec().name(), "a");
  hakd::v1::DeviceFacts facts;
  EXPECT_TRUE((*latency)->RegisterDevice("board", facts, 5).ok());
  EXPECT_TRUE((*reopened)->Submit(Spec("b"), 1, 6).ok());
}

TEST(SchemaMigrationV5Test, VersionFourDatabaseGainsTrainingTables) {
  const std::string path = hakd::testing::MakeTempDir() + "/v4.db";
  {
    auto db = SqliteDb::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 1000);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE(MigrateSchema(db->get(), 4).ok());
    ASSERT_TRUE((*db)->Exec("INSERT INTO devices VALUES(7, 'old', '{}', 1, 2)").ok());
  }
  TrainingStoreOptions options;
  options.path = path;
  options.synchronous_full = false;
  auto store = TrainingStore::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE((*store)->Submit(Spec("a"), 0, 1).ok());
  auto db = SqliteDb::Open(path, SQLITE_OPEN_READONLY, 1000);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ((*db)->QueryInt("PRAGMA user_version").value_or(-1), kSchemaVersion);
  EXPECT_EQ((*db)->QueryInt("SELECT COUNT(*) FROM devices").value_or(-1), 1);
  EXPECT_EQ((*db)->QueryInt("SELECT COUNT(*) FROM training_tasks").value_or(-1), 1);
}

TEST(SchemaMigrationV6Test, VersionFiveTasksKeepTheirRowsAndGainResults) {
  const std::string path = hakd::testing::MakeTempDir() + "/v5.db";
  {
    auto db = SqliteDb::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 1000);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE(MigrateSchema(db->get(), 5).ok());
    ASSERT_TRUE((*db)
                    ->Exec("INSERT INTO training_tasks(id, spec, state, max_attempts, "
                           "created_ms) VALUES(3, x'', 1, 3, 10)")
                    .ok());
  }
  TrainingStoreOptions options;
  options.path = path;
  options.synchronous_full = false;
  auto store = TrainingStore::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  auto task = (*store)->GetTask(3);
  ASSERT_TRUE(task.ok()) << task.status();
  EXPECT_EQ(task->state(), hakd::v1::TASK_QUEUED);
  EXPECT_EQ(task->saliency_size(), 0);
  auto db = SqliteDb::Open(path, SQLITE_OPEN_READONLY, 1000);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ((*db)->QueryInt("PRAGMA user_version").value_or(-1), kSchemaVersion);
  EXPECT_EQ((*db)->QueryInt("SELECT COUNT(*) FROM design_jobs").value_or(-1), 0);
  // Version 7: leases taken before it have no recorded identity.
  EXPECT_EQ((*db)->QueryInt("SELECT COUNT(*) FROM training_tasks WHERE "
                            "lease_identity = ''").value_or(-1),
            1);
  EXPECT_EQ((*db)->QueryInt("SELECT COUNT(*) FROM training_tasks WHERE result IS NULL")
                .value_or(-1),
            1);
}

}  // namespace
}  // namespace hakd
