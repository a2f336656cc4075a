#include "cli/training_request.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/errors.h"
#include "common/network/network_json.h"
#include "common/status_macros.h"

namespace hakd::cli {
namespace {

constexpr size_t kMaxNameLength = 128;
constexpr int32_t kMaxAttempts = 20;
constexpr int32_t kMaxWorkers = 64;  // server/training_validation.h kMaxWorldSize

// Distillation flags, which mean nothing without --teacher.
constexpr const char* kStudentFlags[] = {"temperature", "alpha", "beta",
                                         "no-attention"};

bool AllDigits(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c));
  });
}

}  // namespace

absl::Status CheckFlagAtMost(const FlagValues& flags, absl::string_view name,
                             int32_t max) {
  std::optional<int32_t> v = flags.Int(name);
  if (v.has_value() && *v > max) {
    return UsageError(absl::StrCat("--", name, ": at most ", max, ", got ", *v));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int32_t>> ParseMilestones(absl::string_view text,
                                                     int32_t epochs) {
  std::vector<int32_t> out;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    part = absl::StripAsciiWhitespace(part);
    int32_t e = 0;
    if (!AllDigits(part) || !absl::SimpleAtoi(part, &e) || e < 1) {
      return UsageError(absl::StrCat(
          "--milestones: expected epochs like 3,6,8 (whole numbers >= 1), "
          "got '",
          text, "'"));
    }
    if (!out.empty() && e <= out.back()) {
      return UsageError(absl::StrCat(
          "--milestones: epochs must increase, got '", text, "'"));
    }
    if (e > epochs) {
      return UsageError(absl::StrCat("--milestones: epoch ", e,
                                     " is past the last epoch (", epochs,
                                     ")"));
    }
    out.push_back(e);
  }
  return out;
}

absl::StatusOr<int64_t> ParseTaskId(absl::string_view text) {
  return ParseWholeId(text, "task");
}

absl::StatusOr<hakd::v1::TaskState> ParseTaskState(absl::string_view text) {
  if (text == "queued") return hakd::v1::TASK_QUEUED;
  if (text == "running") return hakd::v1::TASK_RUNNING;
  if (text == "succeeded") return hakd::v1::TASK_SUCCEEDED;
  if (text == "failed") return hakd::v1::TASK_FAILED;
  if (text == "cancelled") return hakd::v1::TASK_CANCELLED;
  return UsageError(absl::StrCat(
      "--state: unknown state '", text,
      "' (queued, running, succeeded, failed, cancelled)"));
}

absl::StatusOr<int64_t> ParseWholeId(absl::string_view text,
                                     absl::string_view what) {
  int64_t id = 0;
  if (!AllDigits(text) || !absl::SimpleAtoi(text, &id) || id < 1) {
    return UsageError(absl::StrCat(
        "expected a ", what, " ID (a whole number >= 1), got '", text, "'"));
  }
  return id;
}

absl::StatusOr<std::string> DatasetFromFlags(const FlagValues& flags) {
  std::optional<std::string> dataset = flags.String("dataset");
  if (!dataset.has_value()) return UsageError("--dataset is required");
  if (*dataset != "fashion-mnist" && *dataset != "cifar10") {
    return UsageError(absl::StrCat("--dataset: unknown dataset '", *dataset,
                                   "' (fashion-mnist, cifar10)"));
  }
  return *dataset;
}

absl::StatusOr<std::string> NameFromFlags(const FlagValues& flags) {
  std::string name = flags.String("name").value_or("");
  if (name.size() > kMaxNameLength) {
    return UsageError(
        absl::StrCat("--name: longer than ", kMaxNameLength, " characters"));
  }
  return name;
}

absl::StatusOr<hakd::v1::Schedule> ScheduleFromFlags(const FlagValues& flags) {
  hakd::v1::Schedule schedule;
  HAKD_RETURN_IF_ERROR(CheckFlagAtMost(flags, "epochs", kMaxScheduleEpochs));
  HAKD_RETURN_IF_ERROR(CheckFlagAtMost(flags, "batch-size", kMaxBatchSize));
  const int32_t epochs = flags.Int("epochs").value_or(kDefaultScheduleEpochs);
  if (auto v = flags.Int("epochs")) schedule.set_epochs(*v);
  if (auto v = flags.Int("batch-size")) schedule.set_batch_size(*v);
  if (auto v = flags.Number("lr")) schedule.set_learning_rate(*v);
  if (auto v = flags.Number("momentum")) {
    if (*v > 1) {
      return UsageError(absl::StrCat("--momentum: expected a number from 0 "
                                     "to 1, got '",
                                     *flags.String("momentum"), "'"));
    }
    // 0 on the wire is "the default 0.9"; negative is "none".
    schedule.set_momentum(*v == 0 ? -1 : *v);
  }
  if (flags.Has("no-nesterov")) schedule.set_no_nesterov(true);
  if (auto v = flags.Number("weight-decay")) {
    schedule.set_weight_decay(*v == 0 ? -1 : *v);
  }
  std::optional<std::string> lr_schedule = flags.String("schedule");
  if (lr_schedule.has_value()) {
    if (*lr_schedule != "cosine" && *lr_schedule != "step" &&
        *lr_schedule != "constant") {
      return UsageError(absl::StrCat("--schedule: unknown schedule '",
                                     *lr_schedule,
                                     "' (cosine, step, constant)"));
    }
    schedule.set_lr_schedule(*lr_schedule);
  }
  const bool step = lr_schedule.has_value() && *lr_schedule == "step";
  for (const char* name : {"milestones", "gamma"}) {
    if (flags.Has(name) && !step) {
      return UsageError(absl::StrCat("--", name, " needs --schedule step"));
    }
  }
  if (std::optional<std::string> m = flags.String("milestones")) {
    HAKD_ASSIGN_OR_RETURN(std::vector<int32_t> milestones,
                          ParseMilestones(*m, epochs));
    for (int32_t e : milestones) schedule.add_step_milestones(e);
  }
  if (auto v = flags.Number("gamma")) schedule.set_step_gamma(*v);
  if (auto v = flags.Int("warmup-epochs")) {
    if (*v >= epochs) {
      return UsageError(absl::StrCat("--warmup-epochs: must be below the ",
                                     epochs, " epochs, got ", *v));
    }
    schedule.set_warmup_epochs(*v);
  }
  if (std::optional<std::string> seed = flags.String("seed")) {
    uint64_t n = 0;
    if (!AllDigits(*seed) || !absl::SimpleAtoi(*seed, &n) || n < 1) {
      return UsageError(absl::StrCat(
          "--seed: expected a whole number >= 1 that fits 64 bits, got '",
          *seed, "'"));
    }
    schedule.set_seed(n);
  }
  if (auto v = flags.Int("steps-per-epoch")) schedule.set_steps_per_epoch(*v);
  if (auto v = flags.Int("train-limit")) schedule.set_train_limit(*v);
  if (auto v = flags.Int("test-limit")) schedule.set_test_limit(*v);
  if (flags.Has("mixed-precision")) schedule.set_mixed_precision(true);
  return schedule;
}

absl::Status DistillationFromFlags(const FlagValues& flags,
                                   hakd::v1::Distillation* d) {
  if (auto v = flags.Number("temperature")) d->set_temperature(*v);
  if (auto v = flags.Number("alpha")) {
    if (*v == 0 || *v > 1) {
      return UsageError(absl::StrCat(
          "--alpha: expected a number over 0 and at most 1, got '",
          *flags.String("alpha"), "'"));
    }
    d->set_alpha(*v);
  }
  if (flags.Has("beta") && flags.Has("no-attention")) {
    return UsageError("--beta and --no-attention exclude each other");
  }
  if (auto v = flags.Number("beta")) d->set_beta(*v == 0 ? -1 : *v);
  if (flags.Has("no-attention")) d->set_beta(-1);
  return absl::OkStatus();
}

absl::StatusOr<hakd::v1::SubmitTrainingRequest> TrainingRequestFromFlags(
    const FlagValues& flags) {
  hakd::v1::SubmitTrainingRequest request;
  hakd::v1::TrainingSpec& spec = *request.mutable_spec();

  // --network: exactly one spec file (the flag is repeatable for sweeps).
  const std::vector<std::string> networks = flags.Strings("network");
  if (networks.empty()) return UsageError("--network is required");
  if (networks.size() > 1) {
    return UsageError("--network given more than once (train one network)");
  }
  absl::StatusOr<hakd::v1::NetworkSpec> network =
      ReadNetworkSpecFile(networks[0]);
  if (!network.ok()) return WithExitCode(network.status(), kExitUsage);
  *spec.mutable_network() = *std::move(network);

  HAKD_ASSIGN_OR_RETURN(*spec.mutable_dataset(), DatasetFromFlags(flags));
  HAKD_ASSIGN_OR_RETURN(*spec.mutable_name(), NameFromFlags(flags));
  HAKD_ASSIGN_OR_RETURN(*spec.mutable_schedule(), ScheduleFromFlags(flags));

  std::optional<std::string> teacher = flags.String("teacher");
  if (!teacher.has_value()) {
    for (const char* name : kStudentFlags) {
      if (flags.Has(name)) {
        return UsageError(absl::StrCat(
            "--", name,
            " needs --teacher (it sets how a student is distilled)"));
      }
    }
  } else {
    if (teacher->empty()) return UsageError("--teacher: empty artifact id");
    hakd::v1::Distillation& d = *spec.mutable_distillation();
    d.set_teacher_artifact_id(*teacher);
    HAKD_RETURN_IF_ERROR(DistillationFromFlags(flags, &d));
  }

  HAKD_RETURN_IF_ERROR(CheckFlagAtMost(flags, "max-attempts", kMaxAttempts));
  if (auto v = flags.Int("max-attempts")) request.set_max_attempts(*v);
  HAKD_RETURN_IF_ERROR(CheckFlagAtMost(flags, "workers", kMaxWorkers));
  if (auto v = flags.Int("workers")) spec.set_world_size(*v);
  return request;
}

}  // namespace hakd::cli
