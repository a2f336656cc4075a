// SubmitTrainingRequest from `train submit` flags: every bad flag is a usage
// error naming it; good flags land in the right fields.
#include "cli/training_request.h"

#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "cli/errors.h"
#include "cli/grammar.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hakd::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kSpec[] = R"({
  "name": "tiny",
  "input": {"channels": 1, "height": 28, "width": 28},
  "num_classes": 10,
  "stem": {"out_channels": 8},
  "stages": [
    {"name": "group1", "blocks": [{"residual": {"out_channels": 8}}]}
  ],
  "head": {"batchnorm_relu": true}
})";

class TrainingRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/hakdctl-train-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    spec_ = dir_ + "/tiny.json";
    std::ofstream(spec_) << kSpec;
    bad_spec_ = dir_ + "/bad.json";
    std::ofstream(bad_spec_) << "{\"name\": ";
  }
  void TearDown() override {
    unlink(spec_.c_str());
    unlink(bad_spec_.c_str());
    rmdir(dir_.c_str());
  }

  // Parses `train submit --network tiny.json --dataset cifar10 FLAGS...`.
  absl::StatusOr<hakd::v1::SubmitTrainingRequest> RequestFor(
      std::vector<std::string> flags, bool with_base = true) {
    std::vector<std::string> args = {"train", "submit"};
    if (with_base) {
      args.insert(args.end(),
                  {"--network", spec_, "--dataset", "cifar10"});
    }
    args.insert(args.end(), flags.begin(), flags.end());
    absl::StatusOr<CommandLine> line = ParseCommandLine(HakdctlGrammar(), args);
    if (!line.ok()) return line.status();
    return TrainingRequestFromFlags(line->flags);
  }

  // Expects a usage error (exit 2) whose message starts with `prefix`.
  void ExpectUsage(std::vector<std::string> flags, const std::string& prefix,
                   bool with_base = true) {
    absl::StatusOr<hakd::v1::SubmitTrainingRequest> r =
        RequestFor(flags, with_base);
    ASSERT_FALSE(r.ok()) << ::testing::PrintToString(flags);
    EXPECT_EQ(ExitCodeOf(r.status()), kExitUsage) << r.status();
    EXPECT_THAT(std::string(r.status().message()), StartsWith(prefix))
        << ::testing::PrintToString(flags);
  }

  std::string dir_;
  std::string spec_;
  std::string bad_spec_;
};

TEST_F(TrainingRequestTest, TeacherWithDefaults) {
  absl::StatusOr<hakd::v1::SubmitTrainingRequest> r = RequestFor({});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->spec().network().name(), "tiny");
  EXPECT_EQ(r->spec().dataset(), "cifar10");
  EXPECT_EQ(r->spec().name(), "");
  EXPECT_FALSE(r->spec().has_distillation());
  const hakd::v1::Schedule& s = r->spec().schedule();
  EXPECT_EQ(s.epochs(), 0);
  EXPECT_EQ(s.batch_size(), 0);
  EXPECT_EQ(s.learning_rate(), 0);
  EXPECT_EQ(s.momentum(), 0);
  EXPECT_FALSE(s.no_nesterov());
  EXPECT_EQ(s.lr_schedule(), "");
  EXPECT_EQ(s.seed(), 0u);
  EXPECT_EQ(r->max_attempts(), 0);
}

TEST_F(TrainingRequestTest, EveryScheduleFlag) {
  absl::StatusOr<hakd::v1::SubmitTrainingRequest> r = RequestFor(
      {"--name", "resnet teacher", "--epochs", "12", "--batch-size", "256",
       "--lr", "0.05", "--momentum", "0.8", "--no-nesterov", "--weight-decay",
       "1e-4", "--schedule", "step", "--milestones", "3,6,8", "--gamma", "0.1",
       "--warmup-epochs", "2", "--seed", "18446744073709551615",
       "--steps-per-epoch", "50", "--train-limit", "1000", "--test-limit",
       "500", "--mixed-precision", "--max-attempts", "5", "--workers", "4"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->spec().name(), "resnet teacher");
  const hakd::v1::Schedule& s = r->spec().schedule();
  EXPECT_EQ(s.epochs(), 12);
  EXPECT_EQ(s.batch_size(), 256);
  EXPECT_DOUBLE_EQ(s.learning_rate(), 0.05);
  EXPECT_DOUBLE_EQ(s.momentum(), 0.8);
  EXPECT_TRUE(s.no_nesterov());
  EXPECT_DOUBLE_EQ(s.weight_decay(), 1e-4);
  EXPECT_EQ(s.lr_schedule(), "step");
  EXPECT_THAT(s.step_milestones(), ::testing::ElementsAre(3, 6, 8));
  EXPECT_DOUBLE_EQ(s.step_gamma(), 0.1);
  EXPECT_EQ(s.warmup_epochs(), 2);
  EXPECT_EQ(s.seed(), 18446744073709551615ull);
  EXPECT_EQ(s.steps_per_epoch(), 50);
  EXPECT_EQ(s.train_limit(), 1000);
  EXPECT_EQ(s.test_limit(), 500);
  EXPECT_TRUE(s.mixed_precision());
  EXPECT_EQ(r->max_attempts(), 5);
  EXPECT_EQ(r->spec().world_size(), 4);
  EXPECT_FALSE(r->spec().has_distillation());
}

TEST_F(TrainingRequestTest, ExplicitZerosTravelAsNegative) {
  absl::StatusOr<hakd::v1::SubmitTrainingRequest> r = RequestFor(
      {"--momentum", "0", "--weight-decay", "0", "--teacher", "art-ab-1",
       "--beta", "0"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->spec().schedule().momentum(), -1);
  EXPECT_EQ(r->spec().schedule().weight_decay(), -1);
  EXPECT_EQ(r->spec().distillation().beta(), -1);
}

TEST_F(TrainingRequestTest, Student) {
  absl::StatusOr<hakd::v1::SubmitTrainingRequest> r =
      RequestFor({"--teacher", "art-0123abcd-1", "--temperature", "3",
                  "--alpha", "0.5", "--beta", "250"});
  ASSERT_TRUE(r.ok()) << r.status();
  const hakd::v1::Distillation& d = r->spec().distillation();
  EXPECT_EQ(d.teacher_artifact_id(), "art-0123abcd-1");
  EXPECT_DOUBLE_EQ(d.temperature(), 3);
  EXPECT_DOUBLE_EQ(d.alpha(), 0.5);
  EXPECT_DOUBLE_EQ(d.beta(), 250);

  r = RequestFor({"--teacher", "art-0123abcd-1", "--no-attention"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->spec().distillation().beta(), -1);
  EXPECT_EQ(r->spec().distillation().temperature(), 0);
}

TEST_F(TrainingRequestTest, FashionMnistAndOtherSchedules) {
  absl::StatusOr<hakd::v1::SubmitTrainingRequest> r = RequestFor(
      {"--network", spec_, "--dataset", "fashion-mnist", "--schedule",
       "constant"},
      /*with_base=*/false);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->spec().dataset(), "fashion-mnist");
  EXPECT_EQ(r->spec().schedule().lr_schedule(), "constant");
  r = RequestFor({"--schedule", "step"});  // default milestones
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->spec().schedule().step_milestones_size(), 0);
}

TEST_F(TrainingRequestTest, BadFlagsAreNamed) {
  // Required flags.
  ExpectUsage({"--dataset", "cifar10"},
              "--network is required for 'train submit'", false);
  ExpectUsage({"--network", spec_}, "--dataset is required for 'train submit'",
              false);
  ExpectUsage({"--network", spec_, "--dataset", "mnist"},
              "--dataset: unknown dataset 'mnist' (fashion-mnist, cifar10)",
              false);
  ExpectUsage({"--network", spec_}, "--network given more than once");
  ExpectUsage({"--network", dir_ + "/missing.json", "--dataset", "cifar10"},
              "", false);
  // Types checked while parsing.
  ExpectUsage({"--epochs", "0"}, "--epochs: expected a whole number >= 1");
  ExpectUsage({"--epochs", "ten"}, "--epochs: expected a whole number >= 1");
  ExpectUsage({"--batch-size", "-1"},
              "--batch-size: expected a whole number >= 1");
  ExpectUsage({"--lr", "0"}, "--lr: expected a number > 0");
  ExpectUsage({"--momentum", "x"}, "--momentum: expected a number >= 0");
  ExpectUsage({"--weight-decay", "nan"},
              "--weight-decay: expected a number >= 0");
  ExpectUsage({"--gamma", "0", "--schedule", "step"},
              "--gamma: expected a number > 0");
  ExpectUsage({"--temperature", "0"}, "--temperature: expected a number > 0");
  ExpectUsage({"--max-attempts", "0"},
              "--max-attempts: expected a whole number >= 1");
  ExpectUsage({"--no-nesterov=yes"}, "--no-nesterov takes no value");
  ExpectUsage({"--state", "queued"},
              "--state does not apply to 'train submit'");
  // Ranges checked by the request builder.
  ExpectUsage({"--epochs", "1001"}, "--epochs: at most 1000, got 1001");
  ExpectUsage({"--batch-size", "4097"}, "--batch-size: at most 4096");
  ExpectUsage({"--max-attempts", "21"}, "--max-attempts: at most 20");
  ExpectUsage({"--workers", "65"}, "--workers: at most 64");
  ExpectUsage({"--workers", "0"}, "--workers: expected a whole number >= 1");
  ExpectUsage({"--momentum", "1.5"}, "--momentum: expected a number from 0");
  ExpectUsage({"--name", std::string(129, 'n')},
              "--name: longer than 128 characters");
  ExpectUsage({"--schedule", "linear"},
              "--schedule: unknown schedule 'linear' (cosine, step, "
              "constant)");
  ExpectUsage({"--milestones", "3,6"}, "--milestones needs --schedule step");
  ExpectUsage({"--gamma", "0.5", "--schedule", "cosine"},
              "--gamma needs --schedule step");
  ExpectUsage({"--schedule", "step", "--milestones", "3,x"},
              "--milestones: expected epochs like 3,6,8");
  ExpectUsage({"--schedule", "step", "--milestones", "6,3"},
              "--milestones: epochs must increase");
  ExpectUsage({"--schedule", "step", "--milestones", "3,11"},
              "--milestones: epoch 11 is past the last epoch (10)");
  ExpectUsage({"--schedule", "step", "--epochs", "5", "--milestones", "0"},
              "--milestones: expected epochs");
  ExpectUsage({"--warmup-epochs", "10"},
              "--warmup-epochs: must be below the 10 epochs, got 10");
  ExpectUsage({"--epochs", "3", "--warmup-epochs", "3"},
              "--warmup-epochs: must be below the 3 epochs");
  ExpectUsage({"--seed", "0"}, "--seed: expected a whole number >= 1");
  ExpectUsage({"--seed", "-3"}, "--seed: expected a whole number >= 1");
  ExpectUsage({"--seed", "99999999999999999999"},
              "--seed: expected a whole number >= 1 that fits 64 bits");
  // Distillation flags need a teacher.
  for (const char* flag : {"--temperature", "--alpha", "--beta"}) {
    ExpectUsage({flag, "0.5"},
                std::string(flag) + " needs --teacher");
  }
  ExpectUsage({"--no-attention"}, "--no-attention needs --teacher");
  ExpectUsage({"--teacher", "art-1", "--alpha", "0"},
              "--alpha: expected a number over 0 and at most 1, got '0'");
  ExpectUsage({"--teacher", "art-1", "--alpha", "1.5"}, "--alpha: expected");
  ExpectUsage({"--teacher", "art-1", "--beta", "5", "--no-attention"},
              "--beta and --no-attention exclude each other");
}

TEST_F(TrainingRequestTest, UnreadableSpecNamesTheFile) {
  absl::StatusOr<hakd::v1::SubmitTrainingRequest> r = RequestFor(
      {"--network", bad_spec_, "--dataset", "cifar10"}, /*with_base=*/false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ExitCodeOf(r.status()), kExitUsage);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr(bad_spec_));
}

TEST(TaskArgumentsTest, TaskIdAndState) {
  EXPECT_EQ(*ParseTaskId("7"), 7);
  for (const char* bad : {"0", "x", "-1", "", "1.5"}) {
    absl::StatusOr<int64_t> id = ParseTaskId(bad);
    ASSERT_FALSE(id.ok()) << bad;
    EXPECT_EQ(ExitCodeOf(id.status()), kExitUsage);
    EXPECT_THAT(std::string(id.status().message()),
                StartsWith("expected a task ID (a whole number >= 1)"));
  }
  EXPECT_EQ(*ParseTaskState("running"), hakd::v1::TASK_RUNNING);
  EXPECT_EQ(*ParseTaskState("cancelled"), hakd::v1::TASK_CANCELLED);
  absl::StatusOr<hakd::v1::TaskState> s = ParseTaskState("done");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(),
            "--state: unknown state 'done' (queued, running, succeeded, "
            "failed, cancelled)");
}

}  // namespace
}  // namespace hakd::cli
