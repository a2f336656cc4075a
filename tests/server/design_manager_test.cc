// The design job's stage machine with real stores on a temporary database:
// the test plays the worker (leasing and completing tasks through the
// TrainingStore) and the agent (answering sweep items through the
// LatencyStore), so every stage runs its real code, including a coordinator
// restart in the middle of a job and cancellation.
#include "server/design_manager.h"

#include <algorithm>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/network/network_analysis.h"
#include "common/network/network_builders.h"
#include "gtest/gtest.h"
#include "server/agent_registry.h"
#include "server/design_store.h"
#include "server/latency_store.h"
#include "server/sweep_manager.h"
#include "server/training_store.h"
#include "tests/server/test_util.h"

namespace hakd {
namespace {

using hakd::v1::DesignJob;

// Synthetic latency: proportional to work, plus a fixed cost per unit.
double SyntheticUs(const hakd::v1::UnitSpec& unit) {
  if (unit.has_network()) {
    absl::StatusOr<NetworkAnalysis> a = AnalyzeNetwork(unit.network());
    double sum = 0;
    for (const NetworkUnit& u : a->units) {
      hakd::v1::UnitSpec s;
      *s.mutable_block() = u.unit;
      sum += SyntheticUs(s);
    }
    return sum + 20;  // the end-to-end overhead
  }
  absl::StatusOr<NetworkAnalysis> a = AnalyzeUnit(unit.block());
  return 5 + static_cast<double>(a->total_macs) / 1000;
}

hakd::v1::NetworkSpec Teacher() {
  return *WideResNet(10, 2, FashionMnistInput(), 10);
}

class DesignManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = hakd::testing::MakeTempDir() + "/hakd.db";
    Open();
    auto device = latency_->RegisterDevice("board", {}, 1000);
    ASSERT_TRUE(device.ok()) << device.status();
    device_ = device->id;
    ASSERT_TRUE(training_->RegisterWorker("w1", {}, Now()).ok());
  }
  void TearDown() override { Close(); }

  // The coordinator's parts, as HakdServer builds them (without gRPC).
  void Open() {
    StoreOptions lo;
    lo.path = path_;
    lo.synchronous_full = false;
    latency_ = *LatencyStore::Open(lo);
    TrainingStoreOptions to;
    to.path = path_;
    to.synchronous_full = false;
    training_ = *TrainingStore::Open(to);
    DesignStoreOptions d;
    d.path = path_;
    d.synchronous_full = false;
    designs_ = *DesignStore::Open(d);
    registry_ = std::make_unique<AgentRegistry>();
    sweeps_ = std::make_unique<SweepManager>(latency_.get(), registry_.get(),
                                             SweepManagerOptions());
    DesignManagerOptions mo;
    mo.run_thread = false;
    mo.retime_pause = absl::ZeroDuration();
    manager_ = std::make_unique<DesignManager>(designs_.get(), training_.get(),
                                               latency_.get(), sweeps_.get(),
                                               registry_.get(), mo);
  }
  void Close() {
    manager_.reset();
    sweeps_.reset();
    registry_.reset();
    designs_.reset();
    training_.reset();
    latency_.reset();
  }

  int64_t Now() { return ++clock_ + 1700000000000; }

  DesignJob Get(int64_t id) {
    auto job = designs_->Get(id);
    EXPECT_TRUE(job.ok()) << job.status();
    return job.ok() ? *job : DesignJob();
  }

  // Plays the agent: answers every pending item of every sweep.
  int AnswerSweeps() {
    int answered = 0;
    auto sweeps = latency_->ListSweeps(device_);
    for (const SweepRecord& s : *sweeps) {
      auto chunks = latency_->PendingChunks(s.id, 10000);
      for (const SweepChunk& c : *chunks) {
        hakd::v1::MeasurementBatch b;
        b.set_batch_id(absl::StrCat("b-", s.id, "-", c.chunk_index));
        for (const hakd::v1::TaskItem& item : c.pending_items) {
          hakd::v1::Measurement m =
              hakd::testing::MeasurementOf(hakd::testing::ConvLayer(8, 8), 1);
          m.clear_layer();
          *m.mutable_unit() = item.unit();
          const double us = SyntheticUs(item.unit());
          m.set_median_us(us);
          m.set_p10_us(us);
          m.set_p90_us(us);
          m.set_mean_us(us);
          m.set_sweep_id(s.id);
          m.set_item_index(item.item_index());
          if (item.unit().has_network() && throttle_networks_ > 0) {
            --throttle_networks_;
            m.set_throttled(true);
            m.set_median_us(us * 3);  // a neighbour stole the CPU
          }
          *b.add_measurements() = m;
          ++answered;
        }
        PendingBatch p[] = {{device_, &b}};
        auto summary = latency_->CommitBatches(p, Now());
        EXPECT_TRUE(summary.ok()) << summary.status();
      }
    }
    return answered;
  }

  // Plays the worker: leases one task and completes it as its kind asks.
  // Returns the task's kind, or -1 when none was queued.
  int WorkOne(bool fail = false) {
    auto grant = training_->LeaseTask("w1", Now());
    EXPECT_TRUE(grant.ok()) << grant.status();
    if (!grant.ok() || !grant->has_value()) return -1;
    const hakd::v1::TrainingTask& task = (*grant)->task;
    const std::string& lease = (*grant)->lease_id;
    if (fail) {
      EXPECT_TRUE(training_->Fail(lease, "out of memory", false, Now()).ok());
      return task.spec().kind();
    }
    hakd::v1::CompleteTaskRequest done;
    done.set_lease_id(lease);
    if (task.spec().kind() == hakd::v1::TASK_KIND_SALIENCY) {
      const hakd::v1::NetworkSpec& n = task.spec().network();
      for (int s = 0; s < n.stages_size(); ++s) {
        for (int b = 0; b < n.stages(s).blocks_size(); ++b) {
          hakd::v1::BlockSaliency* bs = done.add_saliency();
          bs->set_stage(s);
          bs->set_block(b);
          const int mid = n.stages(s).blocks(b).residual().out_channels();
          for (int c = 0; c < mid; ++c) bs->add_channels(1.0 / (1 + c) * (s + 1));
        }
      }
    } else {
      const std::string sha = absl::StrCat(std::string(40, 'a'),
                                           absl::StrFormat("%024d", ++shas_));
      auto art = training_->CommitArtifact(
          lease, "model", 10, sha, Now(),
          [](const std::string&, const std::string&) {
            return absl::OkStatus();
          });
      EXPECT_TRUE(art.ok()) << art.status();
      done.set_model_artifact_id(art->record.artifact_id);
      hakd::v1::EpochMetrics epoch;
      epoch.set_epoch(1);
      // Accuracy grows with size, so the best student is the biggest.
      epoch.set_test_accuracy(
          0.5 + 0.4 * std::min(1.0, static_cast<double>(
                                        AnalyzeNetwork(task.spec().network())
                                            ->total_params) /
                                        1e6));
      EXPECT_TRUE(
          training_->ReportProgress(lease, {}, &epoch, Now()).ok());
    }
    EXPECT_TRUE(training_->Complete(done, Now()).ok());
    return task.spec().kind();
  }

  hakd::v1::DesignSpec Spec(double budget_fraction) {
    hakd::v1::DesignSpec spec;
    spec.set_name("test");
    *spec.mutable_teacher_network() = Teacher();
    spec.set_dataset("fashion-mnist");
    spec.set_candidates(2);
    spec.mutable_student_schedule()->set_epochs(1);
    spec.mutable_teacher_schedule()->set_epochs(1);
    hakd::v1::UnitSpec t;
    *t.mutable_network() = Teacher();
    hakd::v1::DeviceBudget* b = spec.add_budgets();
    b->set_device("board");
    b->set_budget_ms(budget_fraction * SyntheticUs(t) / 1000);
    return spec;
  }

  std::string path_;
  int throttle_networks_ = 0;  // next network results flagged throttled
  int64_t clock_ = 0;
  int shas_ = 0;
  int64_t device_ = 0;
  std::unique_ptr<LatencyStore> latency_;
  std::unique_ptr<TrainingStore> training_;
  std::unique_ptr<DesignStore> designs_;
  std::unique_ptr<AgentRegistry> registry_;
  std::unique_ptr<SweepManager> sweeps_;
  std::unique_ptr<DesignManager> manager_;
};

TEST_F(DesignManagerTest, RunsAllSevenStagesAcrossARestart) {
  hakd::v1::DesignSpec spec = Spec(0.6);
  spec.add_baselines(hakd::v1::BASELINE_UNIFORM);
  auto submitted = manager_->Submit(spec);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  const int64_t id = submitted->job_id();
  EXPECT_EQ(submitted->stage(), hakd::v1::DESIGN_STAGE_TEACHER);
  EXPECT_GT(submitted->teacher_task_id(), 0);
  ASSERT_EQ(submitted->stages_size(), 7);
  // No worker has leased it yet, but one is registered: running, queued.
  EXPECT_NE(submitted->stages(0).message().find("queued"), std::string::npos)
      << submitted->stages(0).message();

  ASSERT_EQ(WorkOne(), hakd::v1::TASK_KIND_TRAIN);  // the teacher
  manager_->StepAll();
  EXPECT_EQ(Get(id).stage(), hakd::v1::DESIGN_STAGE_SALIENCY);
  ASSERT_EQ(WorkOne(), hakd::v1::TASK_KIND_SALIENCY);
  manager_->StepAll();
  DesignJob job = Get(id);
  ASSERT_EQ(job.stage(), hakd::v1::DESIGN_STAGE_COVERAGE) << job.error();
  EXPECT_EQ(job.saliency_size(), 3);
  ASSERT_EQ(job.coverage_sweep_ids_size(), 1);
  // The agent is offline: the stage says so instead of hanging silently.
  EXPECT_EQ(job.stages(2).state(), hakd::v1::STAGE_WAITING);
  EXPECT_NE(job.stages(2).message().find("board has no agent online"),
            std::string::npos)
      << job.stages(2).message();
  EXPECT_GT(job.stages(2).total(), 10);

  // The coordinator restarts in the middle of coverage.
  Close();
  Open();
  manager_->StepAll();
  EXPECT_EQ(Get(id).stage(), hakd::v1::DESIGN_STAGE_COVERAGE);
  EXPECT_GT(AnswerSweeps(), 10);
  manager_->StepAll();
  job = Get(id);
  ASSERT_EQ(job.stage(), hakd::v1::DESIGN_STAGE_DISTILLATION) << job.error();
  EXPECT_GT(job.configurations(), 1);
  // Teacher, two HAKD students, the uniform baseline (and unselected front
  // members, if any).
  int trained = 0;
  for (const auto& c : job.candidates()) trained += c.selected() ? 1 : 0;
  EXPECT_EQ(trained, 4);
  for (const auto& c : job.candidates()) {
    if (c.role() == hakd::v1::ROLE_TEACHER) continue;
    ASSERT_EQ(c.latency_size(), 1) << c.name();
    EXPECT_LE(c.latency(0).predicted_ms(), spec.budgets(0).budget_ms()) << c.name();
    EXPECT_EQ(c.training_task_id() > 0, c.selected()) << c.name();
  }
  for (int i = 0; i < 3; ++i) ASSERT_EQ(WorkOne(), hakd::v1::TASK_KIND_TRAIN);
  EXPECT_EQ(WorkOne(), -1);
  manager_->StepAll();
  job = Get(id);
  ASSERT_EQ(job.stage(), hakd::v1::DESIGN_STAGE_VERIFICATION) << job.error();
  EXPECT_EQ(job.verification_sweep_ids_size(), 1);
  // The first network is timed while the device is disturbed: it alone is
  // timed again, and the clean time is the one reported.
  throttle_networks_ = 1;
  EXPECT_EQ(AnswerSweeps(), 4);
  manager_->StepAll();
  job = Get(id);
  ASSERT_EQ(job.stage(), hakd::v1::DESIGN_STAGE_VERIFICATION) << job.error();
  ASSERT_EQ(job.verification_sweep_ids_size(), 2);
  EXPECT_NE(job.stages(5).message().find("timing 1 network(s) again"),
            std::string::npos)
      << job.stages(5).message();
  EXPECT_EQ(AnswerSweeps(), 1);
  manager_->StepAll();
  job = Get(id);
  ASSERT_EQ(job.state(), hakd::v1::DESIGN_SUCCEEDED) << job.error();
  for (const auto& s : job.stages()) {
    EXPECT_EQ(s.state(), hakd::v1::STAGE_DONE) << s.stage() << ": " << s.message();
  }
  ASSERT_FALSE(job.recommended().empty());
  for (const auto& c : job.candidates()) {
    if (!c.selected()) continue;
    ASSERT_EQ(c.latency_size(), 1);
    EXPECT_GT(c.latency(0).measured_ms(), 0) << c.name();
    EXPECT_GT(c.test_accuracy(), 0) << c.name();
    if (c.role() == hakd::v1::ROLE_TEACHER) continue;
    EXPECT_FALSE(c.misses_budget()) << c.name();
    EXPECT_TRUE(c.latency(0).meets_budget()) << c.name();
    if (c.name() == job.recommended()) EXPECT_TRUE(c.recommended());
  }
  // The teacher was timed end to end (its clean time) and is slower than
  // the budget.
  hakd::v1::UnitSpec teacher_unit;
  *teacher_unit.mutable_network() = Teacher();
  EXPECT_NEAR(job.candidates(0).latency(0).measured_ms(),
              SyntheticUs(teacher_unit) / 1000, 1e-9);
  EXPECT_GT(job.candidates(0).latency(0).measured_ms(),
            spec.budgets(0).budget_ms());
  EXPECT_TRUE(job.candidates(0).note().empty()) << job.candidates(0).note();
}

TEST_F(DesignManagerTest, CancelStopsTheJobAndItsTasks) {
  auto job = manager_->Submit(Spec(0.6));
  ASSERT_TRUE(job.ok()) << job.status();
  auto cancelled = manager_->Cancel(job->job_id());
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->state(), hakd::v1::DESIGN_CANCELLED);
  EXPECT_EQ(training_->GetTask(job->teacher_task_id())->state(),
            hakd::v1::TASK_CANCELLED);
  manager_->StepAll();
  EXPECT_EQ(Get(job->job_id()).state(), hakd::v1::DESIGN_CANCELLED);
  EXPECT_EQ(WorkOne(), -1);  // nothing left queued
  // Cancelling again returns the job unchanged.
  EXPECT_EQ(manager_->Cancel(job->job_id())->state(),
            hakd::v1::DESIGN_CANCELLED);
  EXPECT_EQ(manager_->Cancel(999).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(DesignManagerTest, ATaskSubmittedBeforeACrashIsFoundAgainNotDuplicated) {
  auto job = manager_->Submit(Spec(0.6));
  ASSERT_TRUE(job.ok()) << job.status();
  const int64_t task = job->teacher_task_id();
  ASSERT_GT(task, 0);
  // The coordinator died after submitting the task, before saving the job.
  DesignJob stale = Get(job->job_id());
  stale.set_teacher_task_id(0);
  stale.mutable_candidates(0)->set_training_task_id(0);
  ASSERT_TRUE(designs_->Save(stale, Now()).ok());
  Close();
  Open();
  manager_->StepAll();
  EXPECT_EQ(Get(job->job_id()).teacher_task_id(), task);
  EXPECT_EQ(training_->ListTasks(10, hakd::v1::TASK_STATE_UNSPECIFIED)->size(), 1u);
}

TEST_F(DesignManagerTest, AFailedTeacherFailsTheJobSayingWhy) {
  auto job = manager_->Submit(Spec(0.6));
  ASSERT_TRUE(job.ok()) << job.status();
  WorkOne(/*fail=*/true);
  manager_->StepAll();
  DesignJob j = Get(job->job_id());
  EXPECT_EQ(j.state(), hakd::v1::DESIGN_FAILED);
  EXPECT_EQ(j.stages(0).state(), hakd::v1::STAGE_FAILED);
  EXPECT_NE(j.error().find("teacher"), std::string::npos) << j.error();
  EXPECT_NE(j.error().find("out of memory"), std::string::npos) << j.error();
}

TEST_F(DesignManagerTest, AnUnreachableBudgetFailsAtDesignWithTheFastestReachable) {
  auto job = manager_->Submit(Spec(0.01));
  ASSERT_TRUE(job.ok()) << job.status();
  WorkOne();
  manager_->StepAll();
  WorkOne();
  manager_->StepAll();
  AnswerSweeps();
  manager_->StepAll();
  DesignJob j = Get(job->job_id());
  EXPECT_EQ(j.state(), hakd::v1::DESIGN_FAILED);
  EXPECT_EQ(j.stage(), hakd::v1::DESIGN_STAGE_DESIGN);
  EXPECT_NE(j.error().find("board"), std::string::npos) << j.error();

  // Now every unit is measured; with a fitted overhead the same request is
  // refused up front, and a reachable one is not.
  hakd::v1::OverheadModel model;
  model.set_device_id(device_);
  model.set_scale(1);
  model.set_networks(4);
  ASSERT_TRUE(latency_->SaveOverheadModel(model).ok());
  auto refused = manager_->Submit(Spec(0.01));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("spec.budgets: no student meets"),
            std::string::npos)
      << refused.status();
  EXPECT_TRUE(manager_->Submit(Spec(0.6)).ok());
}

TEST_F(DesignManagerTest, BadRequestsAreRefusedUpFront) {
  hakd::v1::DesignSpec spec = Spec(0.5);
  spec.mutable_budgets(0)->set_device("nowhere");
  auto r = manager_->Submit(spec);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("spec.budgets[0].device"),
            std::string::npos)
      << r.status();

  spec = Spec(0.5);
  spec.set_teacher_artifact_id("art-0123456789ab-1");
  r = manager_->Submit(spec);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();

  spec = Spec(0.5);
  spec.clear_teacher_network();
  spec.clear_teacher_schedule();
  spec.set_teacher_artifact_id("art-0123456789ab-1");
  r = manager_->Submit(spec);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound) << r.status();
  EXPECT_NE(r.status().message().find("spec.teacher_artifact_id"),
            std::string::npos)
      << r.status();

  spec = Spec(0.5);
  *spec.mutable_teacher_network() = *MobileNetV1(0.25, FashionMnistInput(), 10);
  r = manager_->Submit(spec);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("residual"), std::string::npos)
      << r.status();

  spec = Spec(0.5);
  spec.set_dataset("mnist");
  r = manager_->Submit(spec);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("dataset"), std::string::npos)
      << r.status();

  spec = Spec(0.5);
  spec.mutable_budgets(0)->set_budget_ms(-1);
  r = manager_->Submit(spec);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("spec.budgets[0].budget_ms"),
            std::string::npos)
      << r.status();
  // Nothing was stored by the refused requests.
  EXPECT_TRUE(designs_->List(10)->empty());
}

}  // namespace
}  // namespace hakd
