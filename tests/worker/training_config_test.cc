// From hakd.v1.TrainingSpec to TrainerConfig: defaults for zero values and
// INVALID_ARGUMENT naming the field for values out of range; the network /
// dataset and student / teacher compatibility checks.
#include "worker/training_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/network/network_builders.h"

namespace hakd::worker {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using hakd::v1::TrainingSpec;

TEST(ToTrainerConfigTest, EmptySpecGivesTheDocumentedDefaults) {
  auto c = ToTrainerConfig(TrainingSpec());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->epochs, 10);
  EXPECT_EQ(c->batch_size, 128);
  EXPECT_DOUBLE_EQ(c->learning_rate, 0.1);
  EXPECT_DOUBLE_EQ(c->momentum, 0.9);
  EXPECT_TRUE(c->nesterov);
  EXPECT_DOUBLE_EQ(c->weight_decay, 5e-4);
  EXPECT_EQ(c->schedule, LrSchedule::kCosine);
  EXPECT_TRUE(c->milestones.empty());
  EXPECT_DOUBLE_EQ(c->gamma, 0.2);
  EXPECT_EQ(c->warmup_epochs, 0);
  EXPECT_EQ(c->seed, 1u);
  EXPECT_EQ(c->steps_per_epoch, 0);
  EXPECT_FALSE(c->mixed_precision);
  EXPECT_DOUBLE_EQ(c->temperature, 4);
  EXPECT_DOUBLE_EQ(c->alpha, 0.9);
  EXPECT_DOUBLE_EQ(c->beta, 1000);
}

TEST(ToTrainerConfigTest, GivenValuesAreKept) {
  TrainingSpec spec;
  auto* s = spec.mutable_schedule();
  s->set_epochs(40);
  s->set_batch_size(64);
  s->set_learning_rate(0.05);
  s->set_momentum(0.8);
  s->set_no_nesterov(true);
  s->set_weight_decay(1e-4);
  s->set_lr_schedule("step");
  s->add_step_milestones(10);
  s->add_step_milestones(30);
  s->set_step_gamma(0.1);
  s->set_warmup_epochs(2);
  s->set_seed(77);
  s->set_steps_per_epoch(5);
  s->set_mixed_precision(true);
  auto* d = spec.mutable_distillation();
  d->set_temperature(2);
  d->set_alpha(0.5);
  d->set_beta(-1);
  auto c = ToTrainerConfig(spec);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->epochs, 40);
  EXPECT_EQ(c->batch_size, 64);
  EXPECT_DOUBLE_EQ(c->learning_rate, 0.05);
  EXPECT_DOUBLE_EQ(c->momentum, 0.8);
  EXPECT_FALSE(c->nesterov);
  EXPECT_DOUBLE_EQ(c->weight_decay, 1e-4);
  EXPECT_EQ(c->schedule, LrSchedule::kStep);
  EXPECT_EQ(c->milestones, (std::vector<int>{10, 30}));
  EXPECT_DOUBLE_EQ(c->gamma, 0.1);
  EXPECT_EQ(c->warmup_epochs, 2);
  EXPECT_EQ(c->seed, 77u);
  EXPECT_EQ(c->steps_per_epoch, 5);
  EXPECT_TRUE(c->mixed_precision);
  EXPECT_DOUBLE_EQ(c->temperature, 2);
  EXPECT_DOUBLE_EQ(c->alpha, 0.5);
  EXPECT_DOUBLE_EQ(c->beta, -1);
}

TEST(ToTrainerConfigTest, NegativeMomentumAndWeightDecayMeanNone) {
  TrainingSpec spec;
  spec.mutable_schedule()->set_momentum(-1);
  spec.mutable_schedule()->set_weight_decay(-1);
  auto c = ToTrainerConfig(spec);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->momentum, 0);
  EXPECT_EQ(c->weight_decay, 0);
}

TEST(ToTrainerConfigTest, ScheduleNames) {
  for (auto [name, want] : {std::pair{"cosine", LrSchedule::kCosine},
                            std::pair{"step", LrSchedule::kStep},
                            std::pair{"constant", LrSchedule::kConstant}}) {
    TrainingSpec spec;
    spec.mutable_schedule()->set_lr_schedule(name);
    auto c = ToTrainerConfig(spec);
    ASSERT_TRUE(c.ok()) << name << ": " << c.status();
    EXPECT_EQ(c->schedule, want) << name;
  }
}

TEST(ToTrainerConfigTest, StepDefaultMilestonesAreThirtySixtyEightyPercent) {
  TrainingSpec spec;
  spec.mutable_schedule()->set_lr_schedule("step");
  auto c = ToTrainerConfig(spec);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->milestones, (std::vector<int>{3, 6, 8}));

  spec.mutable_schedule()->set_epochs(200);
  c = ToTrainerConfig(spec);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->milestones, (std::vector<int>{60, 120, 160}));

  // Few epochs: strictly increasing milestones, at least epoch 1.
  spec.mutable_schedule()->set_epochs(2);
  c = ToTrainerConfig(spec);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->milestones, (std::vector<int>{1}));

  spec.mutable_schedule()->set_epochs(5);
  c = ToTrainerConfig(spec);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->milestones, (std::vector<int>{1, 3, 4}));
}

// One bad field: INVALID_ARGUMENT whose message starts with the field.
struct BadCase {
  const char* field;
  void (*set)(TrainingSpec*);
};

TEST(ToTrainerConfigTest, EachBadFieldIsNamed) {
  const std::vector<BadCase> cases = {
      {"schedule.epochs", [](TrainingSpec* s) { s->mutable_schedule()->set_epochs(-1); }},
      {"schedule.epochs", [](TrainingSpec* s) { s->mutable_schedule()->set_epochs(1001); }},
      {"schedule.batch_size", [](TrainingSpec* s) { s->mutable_schedule()->set_batch_size(-5); }},
      {"schedule.batch_size", [](TrainingSpec* s) { s->mutable_schedule()->set_batch_size(5000); }},
      {"schedule.learning_rate", [](TrainingSpec* s) { s->mutable_schedule()->set_learning_rate(-0.1); }},
      {"schedule.learning_rate", [](TrainingSpec* s) { s->mutable_schedule()->set_learning_rate(100); }},
      {"schedule.momentum", [](TrainingSpec* s) { s->mutable_schedule()->set_momentum(1.5); }},
      {"schedule.lr_schedule", [](TrainingSpec* s) { s->mutable_schedule()->set_lr_schedule("exponential"); }},
      {"schedule.step_milestones", [](TrainingSpec* s) {
         s->mutable_schedule()->add_step_milestones(5);
         s->mutable_schedule()->add_step_milestones(5);
       }},
      {"schedule.step_milestones", [](TrainingSpec* s) {
         s->mutable_schedule()->add_step_milestones(6);
         s->mutable_schedule()->add_step_milestones(3);
       }},
      {"schedule.step_milestones", [](TrainingSpec* s) { s->mutable_schedule()->add_step_milestones(11); }},
      {"schedule.step_milestones", [](TrainingSpec* s) { s->mutable_schedule()->add_step_milestones(0); }},
      {"schedule.step_gamma", [](TrainingSpec* s) { s->mutable_schedule()->set_step_gamma(1.5); }},
      {"schedule.step_gamma", [](TrainingSpec* s) { s->mutable_schedule()->set_step_gamma(-0.5); }},
      {"schedule.warmup_epochs", [](TrainingSpec* s) { s->mutable_schedule()->set_warmup_epochs(10); }},
      {"schedule.warmup_epochs", [](TrainingSpec* s) { s->mutable_schedule()->set_warmup_epochs(-1); }},
      {"schedule.steps_per_epoch", [](TrainingSpec* s) { s->mutable_schedule()->set_steps_per_epoch(-1); }},
      {"distillation.temperature", [](TrainingSpec* s) { s->mutable_distillation()->set_temperature(-2); }},
      {"distillation.alpha", [](TrainingSpec* s) { s->mutable_distillation()->set_alpha(1.5); }},
      {"distillation.alpha", [](TrainingSpec* s) { s->mutable_distillation()->set_alpha(-0.1); }},
  };
  for (const BadCase& bad : cases) {
    TrainingSpec spec;
    bad.set(&spec);
    SCOPED_TRACE(spec.ShortDebugString());
    auto c = ToTrainerConfig(spec);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(c.status().message()), StartsWith(std::string(bad.field) + ":"));
  }
}

TEST(ToTrainerConfigTest, WarmupBelowEpochsIsAccepted) {
  TrainingSpec spec;
  spec.mutable_schedule()->set_epochs(5);
  spec.mutable_schedule()->set_warmup_epochs(4);
  auto c = ToTrainerConfig(spec);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->warmup_epochs, 4);
}

TEST(CheckNetworkFitsDatasetTest, InputAndClassesMustMatch) {
  Dataset d;
  d.name = "fashion-mnist";
  d.channels = 1;
  d.height = 28;
  d.width = 28;
  d.num_classes = 10;
  auto fashion = WideResNet(10, 1, FashionMnistInput(), 10);
  ASSERT_TRUE(fashion.ok());
  EXPECT_TRUE(CheckNetworkFitsDataset(*fashion, d).ok());
  auto cifar = WideResNet(10, 1, CifarInput(), 10);
  ASSERT_TRUE(cifar.ok());
  absl::Status st = CheckNetworkFitsDataset(*cifar, d);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(st.message()), HasSubstr("spec.network.input"));
  auto hundred = WideResNet(10, 1, FashionMnistInput(), 100);
  ASSERT_TRUE(hundred.ok());
  st = CheckNetworkFitsDataset(*hundred, d);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(st.message()), HasSubstr("spec.network.num_classes"));
}

TEST(CheckDistillationPairTest, AttentionPointsMustPairUp) {
  auto teacher = WideResNet(16, 2, CifarInput(), 10);
  auto student = WideResNet(10, 1, CifarInput(), 10);
  ASSERT_TRUE(teacher.ok() && student.ok());
  EXPECT_TRUE(CheckDistillationPair(*student, *teacher, true).ok());

  // A student with one stage fewer.
  hakd::v1::NetworkSpec short_student = *student;
  short_student.mutable_stages()->RemoveLast();
  absl::Status st = CheckDistillationPair(short_student, *teacher, true);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(st.message()), HasSubstr("spec.network.stages"));
  EXPECT_TRUE(CheckDistillationPair(short_student, *teacher, false).ok())
      << "without attention transfer only input and classes matter";

  // Same number of stages, a different resolution at stage 1.
  hakd::v1::NetworkSpec strided = *student;
  strided.mutable_stages(1)->mutable_blocks(0)->mutable_residual()->set_stride(1);
  ASSERT_TRUE(CheckDistillationPair(strided, *teacher, false).ok());
  st = CheckDistillationPair(strided, *teacher, true);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(st.message()), HasSubstr("spec.network.stages[1]"));

  // Different classes or input.
  auto other_classes = WideResNet(10, 1, CifarInput(), 100);
  st = CheckDistillationPair(*other_classes, *teacher, false);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  auto other_input = WideResNet(10, 1, FashionMnistInput(), 10);
  st = CheckDistillationPair(*other_input, *teacher, false);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hakd::worker
