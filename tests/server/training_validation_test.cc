#include "server/training_validation.h"

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "common/network/network_builders.h"
#include "gtest/gtest.h"

namespace hakd {
namespace {

using hakd::v1::SubmitTrainingRequest;

SubmitTrainingRequest Valid() {
  SubmitTrainingRequest r;
  hakd::v1::TrainingSpec* spec = r.mutable_spec();
  spec->set_name("wrn-16-1 teacher");
  spec->set_dataset("cifar10");
  *spec->mutable_network() = WideResNet(16, 1, CifarInput(), 10).value();
  hakd::v1::Schedule* s = spec->mutable_schedule();
  s->set_epochs(20);
  s->set_batch_size(128);
  s->set_learning_rate(0.1);
  s->set_lr_schedule("step");
  s->add_step_milestones(5);
  s->add_step_milestones(10);
  s->add_step_milestones(20);
  s->set_warmup_epochs(2);
  return r;
}

struct Case {
  const char* field;  // expected at the start of the message
  std::function<void(SubmitTrainingRequest*)> mutate;
};

TEST(TrainingValidationTest, ValidRequestsPass) {
  EXPECT_TRUE(ValidateSubmitTraining(Valid()).ok()) << ValidateSubmitTraining(Valid());
  {
    SubmitTrainingRequest dp = Valid();
    dp.mutable_spec()->set_world_size(4);  // default batch 128
    EXPECT_TRUE(ValidateSubmitTraining(dp).ok()) << ValidateSubmitTraining(dp);
  }
  // Every default (zero) is fine.
  SubmitTrainingRequest r = Valid();
  r.mutable_spec()->clear_schedule();
  r.mutable_spec()->set_name("");
  EXPECT_TRUE(ValidateSubmitTraining(r).ok());
  // A student with a teacher and explicit distillation settings.
  r.mutable_spec()->mutable_distillation()->set_teacher_artifact_id("art-0123456789ab-4");
  r.mutable_spec()->mutable_distillation()->set_temperature(4);
  r.mutable_spec()->mutable_distillation()->set_alpha(1);
  r.mutable_spec()->mutable_distillation()->set_beta(-1);
  r.set_max_attempts(20);
  EXPECT_TRUE(ValidateSubmitTraining(r).ok()) << ValidateSubmitTraining(r);
  // Fashion-MNIST wants its own input shape.
  r = Valid();
  r.mutable_spec()->set_dataset("fashion-mnist");
  *r.mutable_spec()->mutable_network() =
      WideResNet(16, 1, FashionMnistInput(), 10).value();
  EXPECT_TRUE(ValidateSubmitTraining(r).ok()) << ValidateSubmitTraining(r);
}

TEST(TrainingValidationTest, EachBadFieldIsNamed) {
  const std::vector<Case> cases = {
      {"spec:", [](auto* r) { r->clear_spec(); }},
      {"spec.name:", [](auto* r) { r->mutable_spec()->set_name(std::string(129, 'x')); }},
      {"spec.dataset:", [](auto* r) { r->mutable_spec()->set_dataset("mnist"); }},
      {"spec.dataset:", [](auto* r) { r->mutable_spec()->set_dataset(""); }},
      {"spec.network:", [](auto* r) { r->mutable_spec()->clear_network(); }},
      {"spec.network.num_classes:",
       [](auto* r) { r->mutable_spec()->mutable_network()->set_num_classes(0); }},
      {"spec.network.num_classes:",
       [](auto* r) { r->mutable_spec()->mutable_network()->set_num_classes(100); }},
      {"spec.network.stages",
       [](auto* r) { r->mutable_spec()->mutable_network()->clear_stages(); }},
      {"spec.network.input:",
       [](auto* r) { r->mutable_spec()->set_dataset("fashion-mnist"); }},
      {"spec.schedule.epochs:",
       [](auto* r) { r->mutable_spec()->mutable_schedule()->set_epochs(1001); }},
      {"spec.schedule.epochs:",
       [](auto* r) { r->mutable_spec()->mutable_schedule()->set_epochs(-1); }},
      {"spec.schedule.batch_size:",
       [](auto* r) { r->mutable_spec()->mutable_schedule()->set_batch_size(4097); }},
      {"spec.schedule.batch_size:",
       [](auto* r) { r->mutable_spec()->mutable_schedule()->set_batch_size(-5); }},
      {"spec.schedule.learning_rate:",
       [](auto* r) { r->mutable_spec()->mutable_schedule()->set_learning_rate(-0.1); }},
      {"spec.schedule.learning_rate:",
       [](auto* r) {
         r->mutable_spec()->mutable_schedule()->set_learning_rate(std::nan(""));
       }},
      {"spec.schedule.momentum:",
       [](auto* r) { r->mutable_spec()->mutable_schedule()->set_momentum(1.5); }},
      {"spec.schedule.lr_schedule:",
       [](auto* r) { r->mutable_spec()->mutable_schedule()->set_lr_schedule("linear"); }},
      {"spec.schedule.step_milestones[2]:",
       [](auto* r) { r->mutable_spec()->mutable_schedule()->set_step_milestones(2, 21); }},
      {"spec.schedule.step_milestones[1]:",
       [](auto* r) { r->mutable_spec()->mutable_schedule()->set_step_milestones(1, 5); }},
      {"spec.schedule.step_milestones[0]:",
       [](auto* r) { r->mutable_spec()->mutable_schedule()->set_step_milestones(0, 0); }},
      {"spec.schedule.step_gamma:",
       [](auto* r) { r->mutable_spec()->mutable_schedule()->set_step_gamma(-1); }},
      {"spec.schedule.warmup_epochs:",
       [](auto* r) { r->mutable_spec()->mutable_schedule()->set_warmup_epochs(20); }},
      {"spec.schedule.warmup_epochs:",
       [](auto* r) { r->mutable_spec()->mutable_schedule()->set_warmup_epochs(-1); }},
      {"spec.schedule.steps_per_epoch:",
       [](auto* r) { r->mutable_spec()->mutable_schedule()->set_steps_per_epoch(-1); }},
      {"spec.schedule.train_limit:",
       [](auto* r) { r->mutable_spec()->mutable_schedule()->set_train_limit(-1); }},
      {"spec.schedule.test_limit:",
       [](auto* r) { r->mutable_spec()->mutable_schedule()->set_test_limit(-1); }},
      {"spec.distillation.temperature:",
       [](auto* r) {
         r->mutable_spec()->mutable_distillation()->set_teacher_artifact_id("art-a-1");
         r->mutable_spec()->mutable_distillation()->set_temperature(-2);
       }},
      {"spec.distillation.alpha:",
       [](auto* r) {
         r->mutable_spec()->mutable_distillation()->set_teacher_artifact_id("art-a-1");
         r->mutable_spec()->mutable_distillation()->set_alpha(1.5);
       }},
      {"spec.distillation.alpha:",
       [](auto* r) {
         r->mutable_spec()->mutable_distillation()->set_teacher_artifact_id("art-a-1");
         r->mutable_spec()->mutable_distillation()->set_alpha(-0.1);
       }},
      {"spec.distillation.teacher_artifact_id:",
       [](auto* r) {
         r->mutable_spec()->mutable_distillation()->set_teacher_artifact_id("model.pt");
       }},
      {"spec.distillation.teacher_artifact_id:",
       [](auto* r) { r->mutable_spec()->mutable_distillation()->set_temperature(4); }},
      {"max_attempts:", [](auto* r) { r->set_max_attempts(21); }},
      {"max_attempts:", [](auto* r) { r->set_max_attempts(-1); }},
      {"spec.world_size:", [](auto* r) { r->mutable_spec()->set_world_size(65); }},
      {"spec.world_size:", [](auto* r) { r->mutable_spec()->set_world_size(-1); }},
      // Analyses run on one worker.
      {"spec.world_size:",
       [](auto* r) {
         r->mutable_spec()->set_world_size(2);
         r->mutable_spec()->set_kind(hakd::v1::TASK_KIND_SALIENCY);
       }},
      // More workers than images in a global batch.
      {"spec.world_size:",
       [](auto* r) {
         r->mutable_spec()->set_world_size(8);
         r->mutable_spec()->mutable_schedule()->set_batch_size(4);
       }},
  };
  for (const Case& c : cases) {
    SubmitTrainingRequest r = Valid();
    c.mutate(&r);
    const absl::Status st = ValidateSubmitTraining(r);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_EQ(st.message().find(c.field), 0u)
        << "expected '" << c.field << "' first in: " << st.message();
  }
}

// A Fisher-pruning task on WRN-16-1 (inner widths 16, 16, 32, 32, 64, 64)
// with one table: 100 us fixed plus 1 us per channel, budget 300 us (324 us
// unpruned).
SubmitTrainingRequest Pruning() {
  SubmitTrainingRequest r = Valid();
  hakd::v1::TrainingSpec* spec = r.mutable_spec();
  spec->set_kind(hakd::v1::TASK_KIND_FISHER_PRUNE);
  spec->set_init_artifact_id("art-0123456789ab-4");
  hakd::v1::LatencyTable* t = spec->mutable_fisher()->add_tables();
  t->set_device("cpu");
  t->set_budget_us(300);
  t->set_fixed_us(100);
  for (int stage = 0; stage < 3; ++stage) {
    for (int block = 0; block < 2; ++block) {
      hakd::v1::BlockLatencyCurve* c = t->add_blocks();
      c->set_stage(stage);
      c->set_block(block);
      for (int w = 1; w <= 16 << stage; ++w) c->add_us_by_width(w);
    }
  }
  return r;
}

// Convolution and linear weights of WRN-16-1 on CIFAR: stem 3*16*9 = 432;
// stage 1: 4 convs of 16*16*9 = 9216; stage 2: 16*32*9 + 3*32*32*9 +
// 16*32 (shortcut) = 32768; stage 3: 32*64*9 + 3*64*64*9 + 32*64 = 131072;
// fc 64*10 = 640.
constexpr int64_t kWrn161Weights = 432 + 9216 + 32768 + 131072 + 640;

TEST(TrainingValidationTest, ValidTaskKindsPass) {
  SubmitTrainingRequest r = Pruning();
  EXPECT_TRUE(ValidateSubmitTraining(r).ok()) << ValidateSubmitTraining(r);
  // Every FisherPruneSpec default, two tables, a block left out of one.
  r.mutable_spec()->mutable_fisher()->add_tables()->CopyFrom(
      r.spec().fisher().tables(0));
  r.mutable_spec()->mutable_fisher()->mutable_tables(1)->mutable_blocks()->RemoveLast();
  r.mutable_spec()->mutable_fisher()->set_steps_between_prunes(100000);
  r.mutable_spec()->mutable_fisher()->set_channels_per_prune(1024);
  r.mutable_spec()->mutable_fisher()->set_min_width(4);
  EXPECT_TRUE(ValidateSubmitTraining(r).ok()) << ValidateSubmitTraining(r);
  // An unreachable budget is the worker's to refuse (FAILED_PRECONDITION):
  // 106 us at width 1 everywhere.
  r.mutable_spec()->mutable_fisher()->mutable_tables(0)->set_budget_us(100);
  EXPECT_TRUE(ValidateSubmitTraining(r).ok()) << ValidateSubmitTraining(r);

  r = Valid();
  r.mutable_spec()->set_kind(hakd::v1::TASK_KIND_SALIENCY);
  r.mutable_spec()->set_init_artifact_id("art-0123456789ab-4");
  EXPECT_TRUE(ValidateSubmitTraining(r).ok()) << ValidateSubmitTraining(r);
  r.mutable_spec()->set_saliency_examples(10000000);
  EXPECT_TRUE(ValidateSubmitTraining(r).ok()) << ValidateSubmitTraining(r);

  // Magnitude pruning keeping every weight, or one; a student may start
  // from a model too.
  r = Valid();
  r.mutable_spec()->set_init_artifact_id("art-0123456789ab-4");
  EXPECT_TRUE(ValidateSubmitTraining(r).ok()) << ValidateSubmitTraining(r);
  r.mutable_spec()->set_keep_weights(kWrn161Weights);
  EXPECT_TRUE(ValidateSubmitTraining(r).ok()) << ValidateSubmitTraining(r);
  r.mutable_spec()->set_keep_weights(1);
  r.mutable_spec()->mutable_distillation()->set_teacher_artifact_id("art-0123456789ab-5");
  EXPECT_TRUE(ValidateSubmitTraining(r).ok()) << ValidateSubmitTraining(r);
}

TEST(TrainingValidationTest, EachBadTaskKindFieldIsNamed) {
  using hakd::v1::TASK_KIND_SALIENCY;
  auto fisher = [](SubmitTrainingRequest* r) { return r->mutable_spec()->mutable_fisher(); };
  auto table = [&](SubmitTrainingRequest* r) { return fisher(r)->mutable_tables(0); };
  const std::vector<Case> cases = {
      {"spec.kind:",
       [](auto* r) { r->mutable_spec()->set_kind(static_cast<hakd::v1::TaskKind>(7)); }},
      {"spec.init_artifact_id:",
       [](auto* r) { r->mutable_spec()->clear_init_artifact_id(); }},
      {"spec.init_artifact_id:",
       [](auto* r) { r->mutable_spec()->set_init_artifact_id("../model"); }},
      {"spec.init_artifact_id:",
       [](auto* r) {
         r->mutable_spec()->set_kind(TASK_KIND_SALIENCY);
         r->mutable_spec()->clear_fisher();
         r->mutable_spec()->clear_init_artifact_id();
       }},
      {"spec.distillation.teacher_artifact_id:",
       [](auto* r) {
         r->mutable_spec()->mutable_distillation()->set_teacher_artifact_id("art-a-1");
       }},
      {"spec.distillation.teacher_artifact_id:",
       [](auto* r) {
         r->mutable_spec()->set_kind(TASK_KIND_SALIENCY);
         r->mutable_spec()->clear_fisher();
         r->mutable_spec()->mutable_distillation()->set_teacher_artifact_id("art-a-1");
       }},
      {"spec.keep_weights:", [](auto* r) { r->mutable_spec()->set_keep_weights(10); }},
      {"spec.keep_weights:",
       [](auto* r) {
         r->mutable_spec()->set_kind(hakd::v1::TASK_KIND_TRAIN);
         r->mutable_spec()->clear_fisher();
         r->mutable_spec()->set_keep_weights(-1);
       }},
      {"spec.keep_weights:",
       [](auto* r) {
         r->mutable_spec()->set_kind(hakd::v1::TASK_KIND_TRAIN);
         r->mutable_spec()->clear_fisher();
         r->mutable_spec()->set_keep_weights(kWrn161Weights + 1);
       }},
      {"spec.keep_weights:",
       [](auto* r) {
         r->mutable_spec()->set_kind(hakd::v1::TASK_KIND_TRAIN);
         r->mutable_spec()->clear_fisher();
         r->mutable_spec()->clear_init_artifact_id();
         r->mutable_spec()->set_keep_weights(100);
       }},
      {"spec.saliency_examples:",
       [](auto* r) { r->mutable_spec()->set_saliency_examples(100); }},
      {"spec.saliency_examples:",
       [](auto* r) {
         r->mutable_spec()->set_kind(TASK_KIND_SALIENCY);
         r->mutable_spec()->clear_fisher();
         r->mutable_spec()->set_saliency_examples(10000001);
       }},
      {"spec.saliency_examples:",
       [](auto* r) {
         r->mutable_spec()->set_kind(TASK_KIND_SALIENCY);
         r->mutable_spec()->clear_fisher();
         r->mutable_spec()->set_saliency_examples(-1);
       }},
      {"spec.fisher:",
       [](auto* r) { r->mutable_spec()->set_kind(TASK_KIND_SALIENCY); }},
      {"spec.network:",
       [](auto* r) {
         *r->mutable_spec()->mutable_network() =
             MobileNetV1(0.25, CifarInput(), 10).value();
         r->mutable_spec()->clear_fisher();
         r->mutable_spec()->set_kind(TASK_KIND_SALIENCY);
       }},
      {"spec.network.stages[1].blocks[1].residual.cheap:",
       [](auto* r) {
         r->mutable_spec()->mutable_network()->mutable_stages(1)->mutable_blocks(1)
             ->mutable_residual()->mutable_cheap()->set_type(hakd::v1::CheapConv::TYPE_GROUPED);
         r->mutable_spec()->mutable_network()->mutable_stages(1)->mutable_blocks(1)
             ->mutable_residual()->mutable_cheap()->set_groups(2);
       }},
      {"spec.fisher.tables:", [&](auto* r) { fisher(r)->clear_tables(); }},
      {"spec.fisher.steps_between_prunes:",
       [&](auto* r) { fisher(r)->set_steps_between_prunes(100001); }},
      {"spec.fisher.steps_between_prunes:",
       [&](auto* r) { fisher(r)->set_steps_between_prunes(-1); }},
      {"spec.fisher.channels_per_prune:",
       [&](auto* r) { fisher(r)->set_channels_per_prune(1025); }},
      {"spec.fisher.channels_per_prune:",
       [&](auto* r) { fisher(r)->set_channels_per_prune(-1); }},
      {"spec.fisher.min_width:", [&](auto* r) { fisher(r)->set_min_width(-1); }},
      {"spec.fisher.tables[0].budget_us:", [&](auto* r) { table(r)->set_budget_us(0); }},
      {"spec.fisher.tables[0].budget_us:",
       [&](auto* r) { table(r)->set_budget_us(std::nan("")); }},
      {"spec.fisher.tables[0].budget_us:", [&](auto* r) { table(r)->set_budget_us(-3); }},
      {"spec.fisher.tables[0].fixed_us:", [&](auto* r) { table(r)->set_fixed_us(-1); }},
      {"spec.fisher.tables[0].device:",
       [&](auto* r) { table(r)->set_device(std::string("a\nb")); }},
      {"spec.fisher.tables[0].blocks[3].stage:",
       [&](auto* r) { table(r)->mutable_blocks(3)->set_stage(3); }},
      {"spec.fisher.tables[0].blocks[3].stage:",
       [&](auto* r) { table(r)->mutable_blocks(3)->set_block(2); }},
      {"spec.fisher.tables[0].blocks[3].stage:",  // a second curve of stages[1].blocks[0]
       [&](auto* r) { table(r)->mutable_blocks(3)->set_block(0); }},
      {"spec.fisher.tables[0].blocks[2].us_by_width:",
       [&](auto* r) { table(r)->mutable_blocks(2)->mutable_us_by_width()->RemoveLast(); }},
      {"spec.fisher.tables[0].blocks[2].us_by_width[5]:",
       [&](auto* r) { table(r)->mutable_blocks(2)->set_us_by_width(5, -1); }},
      {"spec.fisher.tables[0].blocks[2].us_by_width[0]:",
       [&](auto* r) { table(r)->mutable_blocks(2)->set_us_by_width(0, INFINITY); }},
  };
  for (const Case& c : cases) {
    SubmitTrainingRequest r = Pruning();
    c.mutate(&r);
    const absl::Status st = ValidateSubmitTraining(r);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_EQ(st.message().find(c.field), 0u)
        << "expected '" << c.field << "' first in: " << st.message();
  }
}

TEST(TrainingValidationTest, CurveOfTheWrongWidthSaysBoth) {
  SubmitTrainingRequest r = Pruning();
  hakd::v1::BlockLatencyCurve* c =
      r.mutable_spec()->mutable_fisher()->mutable_tables(0)->mutable_blocks(2);
  c->mutable_us_by_width()->Truncate(12);
  EXPECT_EQ(ValidateSubmitTraining(r).message(),
            "spec.fisher.tables[0].blocks[2].us_by_width: has 12 values, "
            "block stages[1].blocks[0] has inner width 32");
  // An explicit mid width is the inner width.
  r = Pruning();
  r.mutable_spec()->mutable_network()->mutable_stages(1)->mutable_blocks(0)
      ->mutable_residual()->set_mid_channels(12);
  EXPECT_EQ(ValidateSubmitTraining(r).message(),
            "spec.fisher.tables[0].blocks[2].us_by_width: has 32 values, "
            "block stages[1].blocks[0] has inner width 12");
  r.mutable_spec()->mutable_fisher()->mutable_tables(0)->mutable_blocks(2)
      ->mutable_us_by_width()->Truncate(12);
  EXPECT_TRUE(ValidateSubmitTraining(r).ok()) << ValidateSubmitTraining(r);
}

TEST(TrainingValidationTest, GroupEndpoints) {
  EXPECT_TRUE(ValidateGroupJoin("", 0, "").ok());
  EXPECT_TRUE(ValidateGroupJoin("10.0.0.5", 29500, "").ok());
  EXPECT_TRUE(ValidateGroupJoin("fe80::1", 1, "").ok());
  EXPECT_TRUE(ValidateGroupJoin("gpu-node-3.cluster.local", 65535, "").ok());
  EXPECT_EQ(ValidateGroupJoin("", 65536, "").message().find("group_port:"), 0u);
  EXPECT_EQ(ValidateGroupJoin("", -1, "").message().find("group_port:"), 0u);
  EXPECT_EQ(ValidateGroupJoin("a b", 1, "").message().find("group_host:"), 0u);
  EXPECT_EQ(ValidateGroupJoin(std::string(256, 'a'), 1, "").message().find("group_host:"), 0u);
}

TEST(TrainingValidationTest, WorkerNamesAndCapabilities) {
  EXPECT_TRUE(ValidateWorkerName("gpu-box_1.a", "name").ok());
  EXPECT_TRUE(ValidateWorkerName(std::string(64, 'w'), "name").ok());
  for (const std::string& bad : std::vector<std::string>{
           "", "1box", "-box", "box/1", "box 1", std::string(65, 'w')}) {
    const absl::Status st = ValidateWorkerName(bad, "name");
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(st.message().find("name:"), 0u) << st.message();
  }
  hakd::v1::WorkerCapabilities caps;
  for (const std::string good : {"cpu", "cuda:0", "cuda:7", "cuda:12"}) {
    caps.set_device(good);
    EXPECT_TRUE(ValidateWorkerCapabilities(caps, "capabilities").ok()) << good;
  }
  for (const std::string bad : {"", "gpu", "cuda", "cuda:", "cuda:x", "cuda:-1",
                                "CPU", "cuda:0 "}) {
    caps.set_device(bad);
    const absl::Status st = ValidateWorkerCapabilities(caps, "capabilities");
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(st.message().find("capabilities.device:"), 0u) << st.message();
  }
  caps.set_device("cpu");
  caps.set_memory_bytes(-1);
  EXPECT_EQ(ValidateWorkerCapabilities(caps, "capabilities").message().find(
                "capabilities.memory_bytes:"),
            0u);
}

TEST(TrainingValidationTest, LeaseIdsDigestsAndReports) {
  EXPECT_TRUE(ValidateLeaseId(std::string(32, 'a'), "lease_id").ok());
  EXPECT_EQ(ValidateLeaseId("", "lease_id").message().find("lease_id:"), 0u);
  EXPECT_FALSE(ValidateLeaseId(std::string(32, 'A'), "lease_id").ok());
  EXPECT_FALSE(ValidateLeaseId(std::string(31, 'a'), "lease_id").ok());
  EXPECT_TRUE(ValidateSha256Hex(std::string(64, '0'), "sha256").ok());
  EXPECT_FALSE(ValidateSha256Hex(std::string(64, 'g'), "sha256").ok());
  EXPECT_FALSE(ValidateSha256Hex(std::string(63, '0'), "sha256").ok());
  EXPECT_TRUE(ValidateArtifactId("art-0123456789ab-12", "artifact_id").ok());
  EXPECT_FALSE(ValidateArtifactId("art-../../etc", "artifact_id").ok());
  EXPECT_FALSE(ValidateArtifactId("", "artifact_id").ok());

  hakd::v1::TrainingProgress p;
  p.set_epoch(3);
  p.set_phase("train");
  p.set_loss(std::nan(""));  // a diverged run is reported, not refused
  EXPECT_TRUE(ValidateProgress(p, "progress").ok());
  p.set_phase("saliency");
  EXPECT_TRUE(ValidateProgress(p, "progress").ok());
  p.set_phase("prune");
  EXPECT_TRUE(ValidateProgress(p, "progress").ok());
  p.set_phase("sleep");
  EXPECT_EQ(ValidateProgress(p, "progress").message().find("progress.phase:"), 0u);
  p.set_phase("eval");
  p.set_step(-1);
  EXPECT_EQ(ValidateProgress(p, "progress").message().find("progress.step:"), 0u);

  hakd::v1::EpochMetrics m;
  m.set_epoch(1);
  m.set_test_accuracy(0.9);
  EXPECT_TRUE(ValidateEpochMetrics(m, "finished_epoch").ok());
  m.set_epoch(1001);
  EXPECT_EQ(ValidateEpochMetrics(m, "finished_epoch").message().find(
                "finished_epoch.epoch:"),
            0u);
  m.set_epoch(2);
  m.set_test_accuracy(std::nan(""));
  EXPECT_EQ(ValidateEpochMetrics(m, "finished_epoch").message().find(
                "finished_epoch.test_accuracy:"),
            0u);
}

}  // namespace
}  // namespace hakd
