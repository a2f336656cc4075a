#include "server/training_validation.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/network/network_analysis.h"

namespace hakd {
namespace {

constexpr int kDefaultEpochs = 10;
constexpr int kMaxTextLength = 256;

absl::Status Invalid(absl::string_view prefix, absl::string_view field,
                     absl::string_view message) {
  return absl::InvalidArgumentError(
      absl::StrCat(prefix, prefix.empty() ? "" : ".", field, ": ", message));
}

// The dataset's image shape and class count.
struct DatasetShape {
  int channels;
  int size;
  int classes;
};

bool DatasetShapeOf(absl::string_view dataset, DatasetShape* out) {
  if (dataset == "fashion-mnist") {
    *out = {1, 28, 10};
    return true;
  }
  if (dataset == "cifar10") {
    *out = {3, 32, 10};
    return true;
  }
  return false;
}

bool IsPrintable(absl::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

absl::Status ValidateSchedule(const hakd::v1::Schedule& s,
                              absl::string_view p) {
  if (s.epochs() < 0 || s.epochs() > kMaxTrainingEpochs) {
    return Invalid(p, "epochs",
                   absl::StrCat(s.epochs(), " is not in [1, ",
                                kMaxTrainingEpochs, "] (0: default ",
                                kDefaultEpochs, ")"));
  }
  const int epochs = s.epochs() == 0 ? kDefaultEpochs : s.epochs();
  if (s.batch_size() < 0 || s.batch_size() > kMaxBatchSize) {
    return Invalid(p, "batch_size",
                   absl::StrCat(s.batch_size(), " is not in [1, ",
                                kMaxBatchSize, "] (0: default 128)"));
  }
  if (!std::isfinite(s.learning_rate()) || s.learning_rate() < 0) {
    return Invalid(p, "learning_rate",
                   absl::StrCat(s.learning_rate(),
                                " must be > 0 (0: default 0.1)"));
  }
  if (!std::isfinite(s.momentum()) || s.momentum() > 1) {
    return Invalid(p, "momentum",
                   absl::StrCat(s.momentum(), " is not in [0, 1]"));
  }
  if (!std::isfinite(s.weight_decay()) || s.weight_decay() > 1) {
    return Invalid(p, "weight_decay",
                   absl::StrCat(s.weight_decay(), " must be <= 1"));
  }
  const std::string& sched = s.lr_schedule();
  if (!sched.empty() && sched != "cosine" && sched != "step" &&
      sched != "constant") {
    return Invalid(p, "lr_schedule",
                   absl::StrCat("'", absl::CHexEscape(sched),
                                "' is not one of cosine, step, constant"));
  }
  int previous = 0;
  for (int i = 0; i < s.step_milestones_size(); ++i) {
    const int m = s.step_milestones(i);
    if (m < 1 || m > epochs) {
      return Invalid(p, absl::StrCat("step_milestones[", i, "]"),
                     absl::StrCat(m, " is not in [1, ", epochs, "] (epochs)"));
    }
    if (m <= previous) {
      return Invalid(p, absl::StrCat("step_milestones[", i, "]"),
                     absl::StrCat(m, " does not follow ", previous,
                                  " (milestones must increase)"));
    }
    previous = m;
  }
  if (!std::isfinite(s.step_gamma()) || s.step_gamma() < 0) {
    return Invalid(p, "step_gamma",
                   absl::StrCat(s.step_gamma(), " must be > 0 (0: default 0.2)"));
  }
  if (s.warmup_epochs() < 0 || s.warmup_epochs() >= epochs) {
    return Invalid(p, "warmup_epochs",
                   absl::StrCat(s.warmup_epochs(), " is not in [0, ", epochs,
                                ") (fewer than epochs)"));
  }
  if (s.steps_per_epoch() < 0) {
    return Invalid(p, "steps_per_epoch", "must not be negative");
  }
  if (s.train_limit() < 0) return Invalid(p, "train_limit", "must not be negative");
  if (s.test_limit() < 0) return Invalid(p, "test_limit", "must not be negative");
  return absl::OkStatus();
}

absl::Status ValidateDistillation(const hakd::v1::Distillation& d,
                                  absl::string_view p) {
  if (!std::isfinite(d.temperature()) || d.temperature() < 0) {
    return Invalid(p, "temperature",
                   absl::StrCat(d.temperature(), " must be > 0 (0: default 4)"));
  }
  if (!std::isfinite(d.alpha()) || d.alpha() < 0 || d.alpha() > 1) {
    return Invalid(p, "alpha", absl::StrCat(d.alpha(), " is not in [0, 1]"));
  }
  if (!std::isfinite(d.beta())) {
    return Invalid(p, "beta", "must be finite");
  }
  if (d.teacher_artifact_id().empty()) {
    if (d.temperature() != 0 || d.alpha() != 0 || d.beta() != 0) {
      return Invalid(p, "teacher_artifact_id",
                     "required when temperature, alpha or beta is set "
                     "(without a teacher the task trains a teacher)");
    }
    return absl::OkStatus();
  }
  return ValidateArtifactId(d.teacher_artifact_id(),
                            absl::StrCat(p, ".teacher_artifact_id"));
}

}  // namespace

absl::Status ValidateTrainingSpec(const hakd::v1::TrainingSpec& spec,
                                  absl::string_view field) {
  if (spec.name().size() > static_cast<size_t>(kMaxTaskNameLength)) {
    return Invalid(field, "name",
                   absl::StrCat(spec.name().size(), " bytes; at most ",
                                kMaxTaskNameLength));
  }
  if (!IsPrintable(spec.name())) {
    return Invalid(field, "name", "holds control characters");
  }
  DatasetShape shape;
  if (!DatasetShapeOf(spec.dataset(), &shape)) {
    return Invalid(field, "dataset",
                   absl::StrCat("'", absl::CHexEscape(spec.dataset()),
                                "' is not one of fashion-mnist, cifar10"));
  }
  const std::string net = absl::StrCat(field, field.empty() ? "" : ".", "network");
  if (!spec.has_network()) return Invalid(field, "network", "required");
  if (absl::Status st = ValidateNetworkSpec(spec.network()); !st.ok()) {
    return absl::Status(st.code(), absl::StrCat(net, ".", st.message()));
  }
  const hakd::v1::InputShape& in = spec.network().input();
  if (in.channels() != shape.channels || in.height() != shape.size ||
      in.width() != shape.size) {
    return Invalid(net, "input",
                   absl::StrCat(in.channels(), "x", in.height(), "x", in.width(),
                                " does not match ", spec.dataset(), " (",
                                shape.channels, "x", shape.size, "x",
                                shape.size, ")"));
  }
  if (spec.network().num_classes() != shape.classes) {
    return Invalid(net, "num_classes",
                   absl::StrCat(spec.network().num_classes(),
                                " does not match ", spec.dataset(), " (",
                                shape.classes, " classes)"));
  }
  if (absl::Status st = ValidateSchedule(
          spec.schedule(), absl::StrCat(field, field.empty() ? "" : ".", "schedule"));
      !st.ok()) {
    return st;
  }
  return ValidateDistillation(
      spec.distillation(),
      absl::StrCat(field, field.empty() ? "" : ".", "distillation"));
}

absl::Status ValidateSubmitTraining(
    const hakd::v1::SubmitTrainingRequest& request) {
  if (!request.has_spec()) return Invalid("", "spec", "required");
  if (absl::Status st = ValidateTrainingSpec(request.spec(), "spec"); !st.ok()) {
    return st;
  }
  if (request.max_attempts() < 0 || request.max_attempts() > kMaxMaxAttempts) {
    return Invalid("", "max_attempts",
                   absl::StrCat(request.max_attempts(), " is not in [1, ",
                                kMaxMaxAttempts, "] (0: default ",
                                kDefaultMaxAttempts, ")"));
  }
  return absl::OkStatus();
}

absl::Status ValidateWorkerName(absl::string_view name,
                                absl::string_view field) {
  if (name.empty()) return Invalid("", field, "required");
  if (name.size() > 64) {
    return Invalid("", field, absl::StrCat(name.size(), " characters; at most 64"));
  }
  if (!absl::ascii_isalpha(static_cast<unsigned char>(name[0]))) {
    return Invalid("", field,
                   absl::StrCat("'", absl::CHexEscape(name),
                                "' must start with a letter"));
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '_' && c != '-') {
      return Invalid("", field,
                     absl::StrCat("'", absl::CHexEscape(name),
                                  "' may hold only letters, digits, '.', '_' "
                                  "and '-'"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateWorkerCapabilities(
    const hakd::v1::WorkerCapabilities& caps, absl::string_view field) {
  const std::string& device = caps.device();
  bool device_ok = device == "cpu";
  if (!device_ok && absl::StartsWith(device, "cuda:")) {
    absl::string_view index = absl::string_view(device).substr(5);
    int n = -1;
    device_ok = !index.empty() && index.size() <= 3 &&
                std::all_of(index.begin(), index.end(),
                            [](char c) { return absl::ascii_isdigit(c); }) &&
                absl::SimpleAtoi(index, &n) && n >= 0;
  }
  if (!device_ok) {
    return Invalid(field, "device",
                   absl::StrCat("'", absl::CHexEscape(device),
                                "' is not 'cpu' or 'cuda:N'"));
  }
  if (caps.device_name().size() > kMaxTextLength || !IsPrintable(caps.device_name())) {
    return Invalid(field, "device_name",
                   absl::StrCat("must be printable and at most ", kMaxTextLength,
                                " bytes"));
  }
  if (caps.torch_version().size() > kMaxTextLength ||
      !IsPrintable(caps.torch_version())) {
    return Invalid(field, "torch_version",
                   absl::StrCat("must be printable and at most ", kMaxTextLength,
                                " bytes"));
  }
  if (caps.memory_bytes() < 0) return Invalid(field, "memory_bytes", "must not be negative");
  if (caps.cpu_threads() < 0) return Invalid(field, "cpu_threads", "must not be negative");
  return absl::OkStatus();
}

absl::Status ValidateLeaseId(absl::string_view lease_id,
                             absl::string_view field) {
  if (lease_id.empty()) return Invalid("", field, "required");
  bool ok = lease_id.size() == 32;
  for (char c : lease_id) {
    ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  }
  if (!ok) {
    return Invalid("", field, "must be the 32 lowercase hex digits LeaseTask returned");
  }
  return absl::OkStatus();
}

absl::Status ValidateSha256Hex(absl::string_view sha256,
                               absl::string_view field) {
  bool ok = sha256.size() == 64;
  for (char c : sha256) {
    ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  }
  if (!ok) {
    return Invalid("", field,
                   absl::StrCat("must be 64 lowercase hex digits, got ",
                                sha256.size(), " characters"));
  }
  return absl::OkStatus();
}

absl::Status ValidateArtifactId(absl::string_view artifact_id,
                                absl::string_view field) {
  if (artifact_id.empty()) return Invalid("", field, "required");
  if (!absl::StartsWith(artifact_id, "art-") || artifact_id.size() > 128) {
    return Invalid("", field,
                   absl::StrCat("'", absl::CHexEscape(artifact_id.substr(0, 128)),
                                "' is not an artifact id (art-...)"));
  }
  for (char c : artifact_id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') {
      return Invalid("", field,
                     absl::StrCat("'", absl::CHexEscape(artifact_id),
                                  "' is not an artifact id (art-...)"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateProgress(const hakd::v1::TrainingProgress& p,
                              absl::string_view field) {
  if (p.epoch() < 0 || p.epoch() > kMaxTrainingEpochs) {
    return Invalid(field, "epoch",
                   absl::StrCat(p.epoch(), " is not in [0, ", kMaxTrainingEpochs, "]"));
  }
  if (p.epochs() < 0 || p.epochs() > kMaxTrainingEpochs) {
    return Invalid(field, "epochs",
                   absl::StrCat(p.epochs(), " is not in [0, ", kMaxTrainingEpochs, "]"));
  }
  if (p.step() < 0) return Invalid(field, "step", "must not be negative");
  if (p.steps_per_epoch() < 0) {
    return Invalid(field, "steps_per_epoch", "must not be negative");
  }
  // A diverged run's loss is NaN or inf: a result to show, not an error.
  if (p.loss() < 0) return Invalid(field, "loss", "must not be negative");
  const std::pair<const char*, double> values[] = {
      {"train_accuracy", p.train_accuracy()},
      {"images_per_second", p.images_per_second()}};
  for (const auto& [name, v] : values) {
    if (std::isnan(v) || v < 0) {
      return Invalid(field, name, absl::StrCat(v, " must be a number >= 0"));
    }
  }
  if (!p.phase().empty() && p.phase() != "train" && p.phase() != "eval" &&
      p.phase() != "upload") {
    return Invalid(field, "phase",
                   absl::StrCat("'", absl::CHexEscape(p.phase()),
                                "' is not one of train, eval, upload"));
  }
  return absl::OkStatus();
}

absl::Status ValidateEpochMetrics(const hakd::v1::EpochMetrics& m,
                                  absl::string_view field) {
  if (m.epoch() < 1 || m.epoch() > kMaxTrainingEpochs) {
    return Invalid(field, "epoch",
                   absl::StrCat(m.epoch(), " is not in [1, ", kMaxTrainingEpochs, "]"));
  }
  // A diverged run's loss is NaN or inf: a result to show, not an error.
  if (m.train_loss() < 0) return Invalid(field, "train_loss", "must not be negative");
  if (m.test_loss() < 0) return Invalid(field, "test_loss", "must not be negative");
  const std::pair<const char*, double> values[] = {
      {"train_accuracy", m.train_accuracy()},
      {"test_accuracy", m.test_accuracy()},
      {"images_per_second", m.images_per_second()},
      {"seconds", m.seconds()},
      {"learning_rate", m.learning_rate()}};
  for (const auto& [name, v] : values) {
    if (std::isnan(v) || v < 0) {
      return Invalid(field, name, absl::StrCat(v, " must be a number >= 0"));
    }
  }
  return absl::OkStatus();
}

}  // namespace hakd
