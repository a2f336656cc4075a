#include "server/design_validation.h"

#include <cmath>
#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/training_validation.h"

namespace hakd {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("spec.", field, ": ", problem));
}

bool IsPrintable(absl::string_view text) {
  for (char c : text) {
    if (!absl::ascii_isprint(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

absl::Status ValidateDesignSpec(const hakd::v1::DesignSpec& spec) {
  if (spec.name().size() > static_cast<size_t>(kMaxTaskNameLength)) {
    return Invalid("name", absl::StrCat(spec.name().size(), " bytes; at most ",
                                        kMaxTaskNameLength));
  }
  if (!IsPrintable(spec.name())) {
    return Invalid("name", "must be printable ASCII");
  }
  const bool has_artifact = !spec.teacher_artifact_id().empty();
  const bool has_network = spec.has_teacher_network();
  if (has_artifact == has_network) {
    return Invalid("teacher_artifact_id",
                   has_artifact ? "give a trained teacher or a teacher_network "
                                  "to train, not both"
                                : "missing: give a trained teacher (a model "
                                  "artifact) or a teacher_network to train");
  }
  if (has_artifact) {
    if (absl::Status st = ValidateArtifactId(spec.teacher_artifact_id(),
                                             "spec.teacher_artifact_id");
        !st.ok()) {
      return st;
    }
    if (spec.has_teacher_schedule()) {
      return Invalid("teacher_schedule",
                     "only with teacher_network (the given teacher is "
                     "already trained)");
    }
  }
  if (spec.budgets_size() == 0) {
    return Invalid("budgets",
                   "missing: give at least one device and its latency budget");
  }
  if (spec.budgets_size() > kMaxDesignDevices) {
    return Invalid("budgets", absl::StrCat(spec.budgets_size(),
                                           " devices; at most ",
                                           kMaxDesignDevices));
  }
  std::set<std::string> devices;
  for (int i = 0; i < spec.budgets_size(); ++i) {
    const hakd::v1::DeviceBudget& b = spec.budgets(i);
    const std::string field = absl::StrCat("budgets[", i, "]");
    if (b.device().empty()) return Invalid(field + ".device", "is empty");
    if (b.device().size() > 128 || !IsPrintable(b.device())) {
      return Invalid(field + ".device", "is not a device name or id");
    }
    if (!devices.insert(b.device()).second) {
      return Invalid(field + ".device",
                     absl::StrCat("'", b.device(), "' has two budgets"));
    }
    if (!std::isfinite(b.budget_ms()) || b.budget_ms() <= 0 ||
        b.budget_ms() > kMaxBudgetMs) {
      return Invalid(field + ".budget_ms",
                     absl::StrCat(b.budget_ms(),
                                  " must be a positive number of milliseconds "
                                  "(at most ",
                                  kMaxBudgetMs, ")"));
    }
  }
  if (spec.candidates() < 0 || spec.candidates() > kMaxDesignCandidates) {
    return Invalid("candidates",
                   absl::StrCat(spec.candidates(), " is not in [1, ",
                                kMaxDesignCandidates, "] (0: default ",
                                kDefaultDesignCandidates, ")"));
  }
  std::set<int> baselines;
  for (int i = 0; i < spec.baselines_size(); ++i) {
    const int b = spec.baselines(i);
    const std::string field = absl::StrCat("baselines[", i, "]");
    if (!hakd::v1::Baseline_IsValid(b) || b == hakd::v1::BASELINE_UNSPECIFIED) {
      return Invalid(field, absl::StrCat("unknown baseline ", b));
    }
    if (!baselines.insert(b).second) {
      return Invalid(field, absl::StrCat(hakd::v1::Baseline_Name(b),
                                         " is listed twice"));
    }
  }
  if (spec.saliency_examples() < 0 || spec.saliency_examples() > 10000000) {
    return Invalid("saliency_examples",
                   absl::StrCat(spec.saliency_examples(),
                                " is not in [1, 10000000] (0: default 1024)"));
  }
  if (spec.width_step() < 0 || spec.width_step() > 4096) {
    return Invalid("width_step",
                   absl::StrCat(spec.width_step(),
                                " is not in [1, 4096] (0: teacher width / 8)"));
  }
  if (spec.fisher().tables_size() > 0) {
    return Invalid("fisher.tables",
                   "are built by the designer from the latency database; "
                   "leave them empty");
  }
  if (spec.distillation().teacher_artifact_id().size() > 0) {
    return Invalid("distillation.teacher_artifact_id",
                   "leave empty: the job's teacher is used");
  }
  return absl::OkStatus();
}

}  // namespace hakd
