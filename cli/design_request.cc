#include "cli/design_request.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/errors.h"
#include "cli/sweep_request.h"
#include "cli/training_request.h"
#include "common/network/network_builders.h"
#include "common/network/network_json.h"
#include "common/status_macros.h"

namespace hakd::cli {
namespace {

using hakd::v1::DesignSpec;
using hakd::v1::NetworkSpec;

constexpr int32_t kMaxCandidates = 32;
constexpr int kMaxDevices = 16;
constexpr int32_t kMaxStepsBetweenPrunes = 100000;
constexpr int kDatasetClasses = 10;  // fashion-mnist and cifar10 alike

// Flags that reshape the teacher's training, which a given artifact has
// finished already.
constexpr const char* kTeacherScheduleFlags[] = {
    "teacher-epochs", "teacher-batch-size", "teacher-lr"};

// A whole number written the canonical way ("16", not "+16" or "016"), so
// that "wrn-16-2" means exactly one network.
bool ParseCanonicalInt(absl::string_view text, int* out) {
  return absl::SimpleAtoi(text, out) && absl::StrCat(*out) == text;
}

std::string ShapeText(const hakd::v1::InputShape& s) {
  return absl::StrCat(s.channels(), "x", s.height(), "x", s.width());
}

hakd::v1::InputShape DatasetInput(absl::string_view dataset) {
  return dataset == "fashion-mnist" ? FashionMnistInput() : CifarInput();
}

absl::StatusOr<NetworkSpec> WideResNetShorthand(absl::string_view spec,
                                                absl::string_view dataset) {
  const std::vector<absl::string_view> parts = absl::StrSplit(spec, '-');
  int depth = 0;
  int width = 0;
  if (parts.size() != 3 || !ParseCanonicalInt(parts[1], &depth) ||
      !ParseCanonicalInt(parts[2], &width)) {
    return UsageError(absl::StrCat(
        "--teacher-network: expected wrn-DEPTH-WIDTH like wrn-16-2, got '",
        spec, "'"));
  }
  absl::StatusOr<NetworkSpec> network =
      WideResNet(depth, width, DatasetInput(dataset), kDatasetClasses);
  if (!network.ok()) {
    return UsageError(absl::StrCat("--teacher-network ", spec, ": ",
                                   network.status().message()));
  }
  return network;
}

absl::Status TeacherFromFlags(const FlagValues& flags, DesignSpec* spec) {
  std::optional<std::string> artifact = flags.String("teacher");
  std::optional<std::string> network = flags.String("teacher-network");
  if (artifact.has_value() && network.has_value()) {
    return UsageError(
        "--teacher and --teacher-network exclude each other (a trained "
        "teacher, or one to train first)");
  }
  if (!artifact.has_value() && !network.has_value()) {
    return UsageError(
        "a teacher is required: --teacher ARTIFACT (trained) or "
        "--teacher-network SPEC (trained first)");
  }
  if (network.has_value()) {
    HAKD_ASSIGN_OR_RETURN(*spec->mutable_teacher_network(),
                          TeacherNetworkFromSpec(*network, spec->dataset()));
    return absl::OkStatus();
  }
  if (artifact->empty()) return UsageError("--teacher: empty artifact id");
  for (const char* name : kTeacherScheduleFlags) {
    if (flags.Has(name)) {
      return UsageError(absl::StrCat(
          "--", name,
          " needs --teacher-network (the --teacher artifact is trained "
          "already)"));
    }
  }
  spec->set_teacher_artifact_id(*artifact);
  return absl::OkStatus();
}

// The student's schedule with the --teacher-* overrides. Milestones and
// warm-up come from the student's flags but must fit the teacher's epochs.
absl::StatusOr<hakd::v1::Schedule> TeacherSchedule(
    const FlagValues& flags, hakd::v1::Schedule schedule) {
  HAKD_RETURN_IF_ERROR(
      CheckFlagAtMost(flags, "teacher-epochs", kMaxScheduleEpochs));
  HAKD_RETURN_IF_ERROR(
      CheckFlagAtMost(flags, "teacher-batch-size", kMaxBatchSize));
  if (std::optional<int32_t> epochs = flags.Int("teacher-epochs")) {
    const auto& milestones = schedule.step_milestones();
    if (!milestones.empty() && *milestones.rbegin() > *epochs) {
      return UsageError(absl::StrCat(
          "--teacher-epochs: --milestones epoch ", *milestones.rbegin(),
          " is past the teacher's last epoch (", *epochs, ")"));
    }
    if (schedule.warmup_epochs() >= *epochs) {
      return UsageError(absl::StrCat("--teacher-epochs: must be above the ",
                                     schedule.warmup_epochs(),
                                     " --warmup-epochs, got ", *epochs));
    }
    schedule.set_epochs(*epochs);
  }
  if (auto v = flags.Int("teacher-batch-size")) schedule.set_batch_size(*v);
  if (auto v = flags.Number("teacher-lr")) schedule.set_learning_rate(*v);
  return schedule;
}

absl::Status BudgetsFromFlags(const FlagValues& flags, DesignSpec* spec) {
  const std::vector<std::string> budgets = flags.Strings("budget");
  if (budgets.empty()) {
    return UsageError("--budget DEVICE=MS is required (once per device)");
  }
  if (budgets.size() > kMaxDevices) {
    return UsageError(absl::StrCat("--budget: at most ", kMaxDevices,
                                   " devices, got ", budgets.size()));
  }
  for (const std::string& text : budgets) {
    HAKD_ASSIGN_OR_RETURN(hakd::v1::DeviceBudget budget, ParseBudget(text));
    for (const hakd::v1::DeviceBudget& seen : spec->budgets()) {
      if (seen.device() == budget.device()) {
        return UsageError(absl::StrCat("--budget: device '", budget.device(),
                                       "' given twice"));
      }
    }
    *spec->add_budgets() = std::move(budget);
  }
  return absl::OkStatus();
}

// --candidates, --baselines, --saliency-examples, --width-step and
// --prune-every: how much the designer tries and trains.
absl::Status SearchFromFlags(const FlagValues& flags, DesignSpec* spec) {
  HAKD_RETURN_IF_ERROR(CheckFlagAtMost(flags, "candidates", kMaxCandidates));
  if (auto v = flags.Int("candidates")) spec->set_candidates(*v);
  if (std::optional<std::string> text = flags.String("baselines")) {
    HAKD_ASSIGN_OR_RETURN(std::vector<hakd::v1::Baseline> baselines,
                          ParseBaselines(*text));
    for (hakd::v1::Baseline b : baselines) spec->add_baselines(b);
  }
  if (auto v = flags.Int("saliency-examples")) {
    spec->set_saliency_examples(*v);
  }
  if (auto v = flags.Int("width-step")) spec->set_width_step(*v);
  HAKD_RETURN_IF_ERROR(
      CheckFlagAtMost(flags, "prune-every", kMaxStepsBetweenPrunes));
  if (auto v = flags.Int("prune-every")) {
    spec->mutable_fisher()->set_steps_between_prunes(*v);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<hakd::v1::DeviceBudget> ParseBudget(absl::string_view text) {
  const size_t eq = text.rfind('=');
  if (eq == absl::string_view::npos || eq == 0 || eq + 1 == text.size()) {
    return UsageError(absl::StrCat(
        "--budget: expected DEVICE=MS (e.g. rpi4=5.5), got '", text, "'"));
  }
  const absl::string_view ms_text = text.substr(eq + 1);
  double ms = 0;
  const bool plain = std::none_of(ms_text.begin(), ms_text.end(), [](char c) {
    return absl::ascii_isspace(static_cast<unsigned char>(c));
  });
  if (!plain || !absl::SimpleAtod(ms_text, &ms) || !std::isfinite(ms) ||
      ms <= 0) {
    return UsageError(
        absl::StrCat("--budget ", text,
                     ": the budget must be a number of milliseconds > 0, got '",
                     ms_text, "'"));
  }
  hakd::v1::DeviceBudget budget;
  budget.set_device(std::string(text.substr(0, eq)));
  budget.set_budget_ms(ms);
  return budget;
}

absl::StatusOr<std::vector<hakd::v1::Baseline>> ParseBaselines(
    absl::string_view text) {
  std::vector<hakd::v1::Baseline> out;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    part = absl::StripAsciiWhitespace(part);
    hakd::v1::Baseline b = hakd::v1::BASELINE_UNSPECIFIED;
    if (part == "uniform") b = hakd::v1::BASELINE_UNIFORM;
    if (part == "fisher") b = hakd::v1::BASELINE_FISHER;
    if (part == "magnitude") b = hakd::v1::BASELINE_MAGNITUDE;
    if (b == hakd::v1::BASELINE_UNSPECIFIED) {
      return UsageError(absl::StrCat("--baselines: unknown baseline '", part,
                                     "' (uniform, fisher, magnitude)"));
    }
    if (std::find(out.begin(), out.end(), b) != out.end()) {
      return UsageError(absl::StrCat("--baselines: '", part, "' given twice"));
    }
    out.push_back(b);
  }
  return out;
}

absl::StatusOr<NetworkSpec> TeacherNetworkFromSpec(absl::string_view spec,
                                                   absl::string_view dataset) {
  if (absl::StartsWithIgnoreCase(spec, "wrn-")) {
    return WideResNetShorthand(spec, dataset);
  }
  absl::StatusOr<NetworkSpec> network = ReadNetworkSpecFile(std::string(spec));
  if (!network.ok()) return WithExitCode(network.status(), kExitUsage);
  const hakd::v1::InputShape want = DatasetInput(dataset);
  if (ShapeText(network->input()) != ShapeText(want)) {
    return UsageError(absl::StrCat("--teacher-network ", spec,
                                   ": the network takes ",
                                   ShapeText(network->input()), " inputs but ",
                                   dataset, " images are ", ShapeText(want)));
  }
  if (network->num_classes() != kDatasetClasses) {
    return UsageError(absl::StrCat("--teacher-network ", spec, ": ",
                                   network->num_classes(), " classes, but ",
                                   dataset, " has ", kDatasetClasses));
  }
  return network;
}

absl::StatusOr<int64_t> ParseDesignId(absl::string_view text) {
  return ParseWholeId(text, "design job");
}

absl::StatusOr<hakd::v1::SubmitDesignRequest> DesignRequestFromFlags(
    const FlagValues& flags) {
  hakd::v1::SubmitDesignRequest request;
  DesignSpec& spec = *request.mutable_spec();
  HAKD_ASSIGN_OR_RETURN(*spec.mutable_dataset(), DatasetFromFlags(flags));
  HAKD_ASSIGN_OR_RETURN(*spec.mutable_name(), NameFromFlags(flags));
  HAKD_RETURN_IF_ERROR(TeacherFromFlags(flags, &spec));
  HAKD_RETURN_IF_ERROR(BudgetsFromFlags(flags, &spec));
  HAKD_RETURN_IF_ERROR(SearchFromFlags(flags, &spec));
  HAKD_ASSIGN_OR_RETURN(*spec.mutable_student_schedule(),
                        ScheduleFromFlags(flags));
  if (spec.has_teacher_network()) {
    HAKD_ASSIGN_OR_RETURN(*spec.mutable_teacher_schedule(),
                          TeacherSchedule(flags, spec.student_schedule()));
  }
  HAKD_RETURN_IF_ERROR(
      DistillationFromFlags(flags, spec.mutable_distillation()));
  HAKD_ASSIGN_OR_RETURN(*spec.mutable_settings(),
                        MeasurementSettingsFromFlags(flags));
  return request;
}

}  // namespace hakd::cli
