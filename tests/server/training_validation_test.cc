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
