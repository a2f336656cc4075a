// SubmitDesignRequest from `design submit` flags: every bad flag is a usage
// error naming it; good flags land in the right fields.
#include "cli/design_request.h"

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

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A residual network for Fashion-MNIST images (1x28x28, 10 classes).
constexpr char kFashionSpec[] = R"({
  "name": "tiny-teacher",
  "input": {"channels": 1, "height": 28, "width": 28},
  "num_classes": 10,
  "stem": {"out_channels": 8},
  "stages": [
    {"name": "group1", "blocks": [{"residual": {"out_channels": 8}}]}
  ],
  "head": {"batchnorm_relu": true}
})";

class DesignRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/hakdctl-design-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    spec_ = dir_ + "/tiny.json";
    std::ofstream(spec_) << kFashionSpec;
  }
  void TearDown() override {
    unlink(spec_.c_str());
    rmdir(dir_.c_str());
  }

  // Parses `design submit FLAGS...`, by default with a teacher artifact,
  // cifar10 and one budget in front.
  absl::StatusOr<hakd::v1::SubmitDesignRequest> RequestFor(
      std::vector<std::string> flags, bool with_base = true) {
    std::vector<std::string> args = {"design", "submit"};
    if (with_base) {
      args.insert(args.end(), {"--teacher", "art-ab-1", "--dataset", "cifar10",
                               "--budget", "rpi4=5"});
    }
    args.insert(args.end(), flags.begin(), flags.end());
    absl::StatusOr<CommandLine> line = ParseCommandLine(HakdctlGrammar(), args);
    if (!line.ok()) return line.status();
    return DesignRequestFromFlags(line->flags);
  }

  // Expects a usage error (exit 2) whose message starts with `prefix`.
  void ExpectUsage(std::vector<std::string> flags, const std::string& prefix,
                   bool with_base = true) {
    absl::StatusOr<hakd::v1::SubmitDesignRequest> r =
        RequestFor(flags, with_base);
    ASSERT_FALSE(r.ok()) << ::testing::PrintToString(flags);
    EXPECT_EQ(ExitCodeOf(r.status()), kExitUsage) << r.status();
    EXPECT_THAT(std::string(r.status().message()), StartsWith(prefix))
        << ::testing::PrintToString(flags);
  }

  std::string dir_;
  std::string spec_;
};

TEST_F(DesignRequestTest, GivenTeacherWithDefaults) {
  absl::StatusOr<hakd::v1::SubmitDesignRequest> r = RequestFor({});
  ASSERT_TRUE(r.ok()) << r.status();
  const hakd::v1::DesignSpec& s = r->spec();
  EXPECT_EQ(s.teacher_artifact_id(), "art-ab-1");
  EXPECT_FALSE(s.has_teacher_network());
  EXPECT_FALSE(s.has_teacher_schedule());
  EXPECT_EQ(s.dataset(), "cifar10");
  ASSERT_EQ(s.budgets_size(), 1);
  EXPECT_EQ(s.budgets(0).device(), "rpi4");
  EXPECT_EQ(s.budgets(0).budget_ms(), 5);
  // Unset means "the coordinator's default".
  EXPECT_EQ(s.candidates(), 0);
  EXPECT_EQ(s.baselines_size(), 0);
  EXPECT_EQ(s.student_schedule().epochs(), 0);
  EXPECT_EQ(s.distillation().temperature(), 0);
  EXPECT_EQ(s.distillation().teacher_artifact_id(), "");
  EXPECT_EQ(s.saliency_examples(), 0);
  EXPECT_EQ(s.width_step(), 0);
  EXPECT_EQ(s.fisher().steps_between_prunes(), 0);
  EXPECT_EQ(s.settings().min_samples(), 0);
}

TEST_F(DesignRequestTest, EverySearchAndStudentFlag) {
  absl::StatusOr<hakd::v1::SubmitDesignRequest> r =
      RequestFor({"--budget",
                  "3=2.5",
                  "--candidates",
                  "32",
                  "--baselines",
                  "fisher, uniform,magnitude",
                  "--name",
                  "kd on the edge",
                  "--epochs",
                  "30",
                  "--lr",
                  "0.05",
                  "--schedule",
                  "step",
                  "--milestones",
                  "10,20",
                  "--train-limit",
                  "1000",
                  "--temperature",
                  "3",
                  "--alpha",
                  "0.5",
                  "--no-attention",
                  "--saliency-examples",
                  "512",
                  "--width-step",
                  "4",
                  "--prune-every",
                  "100000",
                  "--min-samples",
                  "20",
                  "--keep-samples"});
  ASSERT_TRUE(r.ok()) << r.status();
  const hakd::v1::DesignSpec& s = r->spec();
  ASSERT_EQ(s.budgets_size(), 2);
  EXPECT_EQ(s.budgets(1).device(), "3");
  EXPECT_EQ(s.budgets(1).budget_ms(), 2.5);
  EXPECT_EQ(s.candidates(), 32);
  EXPECT_THAT(s.baselines(),
              ElementsAre(hakd::v1::BASELINE_FISHER, hakd::v1::BASELINE_UNIFORM,
                          hakd::v1::BASELINE_MAGNITUDE));
  EXPECT_EQ(s.name(), "kd on the edge");
  EXPECT_EQ(s.student_schedule().epochs(), 30);
  EXPECT_DOUBLE_EQ(s.student_schedule().learning_rate(), 0.05);
  EXPECT_THAT(s.student_schedule().step_milestones(), ElementsAre(10, 20));
  EXPECT_EQ(s.student_schedule().train_limit(), 1000);
  // Distillation flags need no --teacher here: every student is distilled.
  EXPECT_DOUBLE_EQ(s.distillation().temperature(), 3);
  EXPECT_DOUBLE_EQ(s.distillation().alpha(), 0.5);
  EXPECT_EQ(s.distillation().beta(), -1);
  EXPECT_EQ(s.saliency_examples(), 512);
  EXPECT_EQ(s.width_step(), 4);
  EXPECT_EQ(s.fisher().steps_between_prunes(), 100000);
  EXPECT_EQ(s.settings().min_samples(), 20);
  EXPECT_TRUE(s.settings().keep_samples());
}

TEST_F(DesignRequestTest, TeacherNetworkShorthandAndTeacherSchedule) {
  absl::StatusOr<hakd::v1::SubmitDesignRequest> r =
      RequestFor({"--teacher-network", "wrn-16-2", "--dataset", "fashion-mnist",
                  "--budget", "rpi4=5", "--epochs", "20", "--batch-size", "64",
                  "--lr", "0.02", "--teacher-epochs", "40", "--teacher-lr",
                  "0.1", "--teacher-batch-size", "256"},
                 /*with_base=*/false);
  ASSERT_TRUE(r.ok()) << r.status();
  const hakd::v1::DesignSpec& s = r->spec();
  EXPECT_EQ(s.teacher_artifact_id(), "");
  EXPECT_EQ(s.teacher_network().name(), "WRN-16-2");
  EXPECT_EQ(s.teacher_network().input().channels(), 1);
  EXPECT_EQ(s.teacher_network().input().height(), 28);
  EXPECT_EQ(s.teacher_network().num_classes(), 10);
  ASSERT_EQ(s.teacher_network().stages_size(), 3);
  EXPECT_EQ(s.teacher_network().stages(2).blocks(0).residual().out_channels(),
            128);
  EXPECT_EQ(s.student_schedule().epochs(), 20);
  EXPECT_EQ(s.student_schedule().batch_size(), 64);
  EXPECT_EQ(s.teacher_schedule().epochs(), 40);
  EXPECT_EQ(s.teacher_schedule().batch_size(), 256);
  EXPECT_DOUBLE_EQ(s.teacher_schedule().learning_rate(), 0.1);

  // Without overrides the teacher trains on the student's schedule.
  r = RequestFor({"--teacher-network", "WRN-10-1", "--dataset", "cifar10",
                  "--budget", "rpi4=5", "--epochs", "7", "--mixed-precision"},
                 /*with_base=*/false);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->spec().teacher_network().input().channels(), 3);
  EXPECT_EQ(r->spec().teacher_schedule().epochs(), 7);
  EXPECT_TRUE(r->spec().teacher_schedule().mixed_precision());
}

TEST_F(DesignRequestTest, TeacherNetworkFromAFile) {
  absl::StatusOr<hakd::v1::SubmitDesignRequest> r =
      RequestFor({"--teacher-network", spec_, "--dataset", "fashion-mnist",
                  "--budget", "nano=1"},
                 /*with_base=*/false);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->spec().teacher_network().name(), "tiny-teacher");
  ExpectUsage({"--teacher-network", spec_, "--dataset", "cifar10", "--budget",
               "nano=1"},
              "--teacher-network " + spec_ +
                  ": the network takes 1x28x28 inputs but cifar10 images are "
                  "3x32x32",
              /*with_base=*/false);
  absl::StatusOr<hakd::v1::SubmitDesignRequest> missing =
      RequestFor({"--teacher-network", dir_ + "/none.json", "--dataset",
                  "cifar10", "--budget", "nano=1"},
                 /*with_base=*/false);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(ExitCodeOf(missing.status()), kExitUsage);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("none.json"));
}

TEST_F(DesignRequestTest, TeacherFlagsAreExclusiveAndRequired) {
  ExpectUsage({"--teacher-network", "wrn-16-2"},
              "--teacher and --teacher-network exclude each other");
  ExpectUsage({"--dataset", "cifar10", "--budget", "rpi4=5"},
              "a teacher is required: --teacher ARTIFACT (trained) or "
              "--teacher-network SPEC (trained first)",
              /*with_base=*/false);
  ExpectUsage({"--teacher-epochs", "5"},
              "--teacher-epochs needs --teacher-network (the --teacher "
              "artifact is trained already)");
  ExpectUsage({"--teacher-lr", "0.1"}, "--teacher-lr needs --teacher-network");
  for (const char* bad :
       {"wrn-16", "wrn-16-2-1", "wrn-x-2", "wrn-016-2", "wrn-+16-2"}) {
    ExpectUsage({"--teacher-network", bad, "--dataset", "cifar10", "--budget",
                 "rpi4=5"},
                "--teacher-network: expected wrn-DEPTH-WIDTH like wrn-16-2",
                /*with_base=*/false);
  }
  ExpectUsage({"--teacher-network", "wrn-15-2", "--dataset", "cifar10",
               "--budget", "rpi4=5"},
              "--teacher-network wrn-15-2: WRN depth 15 must be at least 10",
              /*with_base=*/false);
}

TEST_F(DesignRequestTest, TeacherScheduleMustFitTheStudentsMilestones) {
  const std::vector<std::string> base = {"--teacher-network", "wrn-16-1",
                                         "--dataset",         "cifar10",
                                         "--budget",          "rpi4=5"};
  auto with = [&](std::vector<std::string> more) {
    more.insert(more.begin(), base.begin(), base.end());
    return more;
  };
  ExpectUsage(with({"--epochs", "20", "--schedule", "step", "--milestones",
                    "5,15", "--teacher-epochs", "10"}),
              "--teacher-epochs: --milestones epoch 15 is past the teacher's "
              "last epoch (10)",
              false);
  ExpectUsage(with({"--warmup-epochs", "5", "--teacher-epochs", "5"}),
              "--teacher-epochs: must be above the 5 --warmup-epochs, got 5",
              false);
  ExpectUsage(with({"--teacher-epochs", "1001"}),
              "--teacher-epochs: at most 1000, got 1001", false);
  ExpectUsage(with({"--teacher-batch-size", "4097"}),
              "--teacher-batch-size: at most 4096", false);
  ExpectUsage(with({"--teacher-lr", "0"}),
              "--teacher-lr: expected a number > 0", false);
}

TEST_F(DesignRequestTest, BadSearchFlagsAreNamed) {
  ExpectUsage({"--teacher", "art-ab-1", "--budget", "rpi4=5"},
              "--dataset is required for 'design submit'", false);
  ExpectUsage({"--teacher", "art-ab-1", "--dataset", "cifar10"},
              "--budget is required for 'design submit'", false);
  ExpectUsage(
      {"--teacher", "art-ab-1", "--dataset", "imagenet", "--budget", "rpi4=5"},
      "--dataset: unknown dataset 'imagenet'", false);
  ExpectUsage({"--teacher", "", "--dataset", "cifar10", "--budget", "rpi4=5"},
              "--teacher: empty artifact id", false);
  ExpectUsage({"--budget", "rpi4=2"}, "--budget: device 'rpi4' given twice");
  ExpectUsage({"--candidates", "33"}, "--candidates: at most 32, got 33");
  ExpectUsage({"--candidates", "0"},
              "--candidates: expected a whole number >= 1");
  ExpectUsage({"--baselines", "uniform,pruned"},
              "--baselines: unknown baseline 'pruned' (uniform, fisher, "
              "magnitude)");
  ExpectUsage({"--baselines="}, "--baselines: missing value");
  ExpectUsage({"--baselines", ""}, "--baselines: unknown baseline ''");
  ExpectUsage({"--baselines", "fisher,"}, "--baselines: unknown baseline ''");
  ExpectUsage({"--baselines", "fisher,fisher"},
              "--baselines: 'fisher' given twice");
  ExpectUsage({"--prune-every", "100001"},
              "--prune-every: at most 100000, got 100001");
  ExpectUsage({"--width-step", "0"},
              "--width-step: expected a whole number >= 1");
  ExpectUsage({"--alpha", "2"}, "--alpha: expected a number over 0");
  ExpectUsage({"--schedule", "step", "--milestones", "3,11"},
              "--milestones: epoch 11 is past the last epoch (10)");
  ExpectUsage({"--min-samples", "9", "--max-samples", "3"},
              "--min-samples 9 exceeds --max-samples 3");
  ExpectUsage({"--plot", "x.svg"}, "--plot does not apply to 'design submit'");
  std::vector<std::string> many;
  for (int i = 0; i < 16; ++i) {
    many.insert(many.end(), {"--budget", "d" + std::to_string(i) + "=1"});
  }
  ExpectUsage(many, "--budget: at most 16 devices, got 17");
}

TEST(DesignArgumentsTest, Budgets) {
  absl::StatusOr<hakd::v1::DeviceBudget> b = ParseBudget("rpi4=5.5");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->device(), "rpi4");
  EXPECT_EQ(b->budget_ms(), 5.5);
  // The last '=' splits, so a device name may hold one.
  b = ParseBudget("lab=3=0.25");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->device(), "lab=3");
  EXPECT_EQ(b->budget_ms(), 0.25);
  for (const char* bad : {"rpi4", "=5", "rpi4=", ""}) {
    b = ParseBudget(bad);
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_EQ(ExitCodeOf(b.status()), kExitUsage);
    EXPECT_EQ(b.status().message(),
              "--budget: expected DEVICE=MS (e.g. rpi4=5.5), got '" +
                  std::string(bad) + "'");
  }
  for (const char* ms : {"0", "-1", "inf", "nan", "5ms", " 5", "1e999"}) {
    b = ParseBudget(std::string("rpi4=") + ms);
    ASSERT_FALSE(b.ok()) << ms;
    EXPECT_EQ(b.status().message(),
              "--budget rpi4=" + std::string(ms) +
                  ": the budget must be a number of milliseconds > 0, got '" +
                  ms + "'");
  }
}

TEST(DesignArgumentsTest, DesignId) {
  EXPECT_EQ(*ParseDesignId("12"), 12);
  for (const char* bad : {"0", "x", "-1", "", "1.5"}) {
    absl::StatusOr<int64_t> id = ParseDesignId(bad);
    ASSERT_FALSE(id.ok()) << bad;
    EXPECT_EQ(ExitCodeOf(id.status()), kExitUsage);
    EXPECT_EQ(id.status().message(),
              "expected a design job ID (a whole number >= 1), got '" +
                  std::string(bad) + "'");
  }
}

}  // namespace
}  // namespace hakd::cli
