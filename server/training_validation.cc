#include "server/training_validation.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

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

// Join of a path prefix and a field name.
std::string Path(absl::string_view prefix, absl::string_view field) {
  return absl::StrCat(prefix, prefix.empty() ? "" : ".", field);
}

const char* KindName(hakd::v1::TaskKind kind) {
  switch (kind) {
    case hakd::v1::TASK_KIND_SALIENCY:
      return "SALIENCY";
    case hakd::v1::TASK_KIND_FISHER_PRUNE:
      return "FISHER_PRUNE";
    default:
      return "TRAIN";
  }
}

// The width a residual block's saliency and pruning are about: the channels
// between its convolutions (the narrow ones of a bottleneck).
int InnerWidth(const hakd::v1::ResidualBlock& r) {
  const hakd::v1::CheapConv::Type type = r.cheap().type();
  if ((type == hakd::v1::CheapConv::TYPE_BOTTLENECK ||
       type == hakd::v1::CheapConv::TYPE_BOTTLENECK_GROUPED) &&
      r.cheap().bottleneck() > 0) {
    return r.out_channels() / r.cheap().bottleneck();
  }
  return r.mid_channels() != 0 ? r.mid_channels() : r.out_channels();
}

// The residual block at (stage, block), or null when there is none.
const hakd::v1::ResidualBlock* ResidualAt(const hakd::v1::NetworkSpec& net,
                                          int stage, int block) {
  if (stage < 0 || stage >= net.stages_size()) return nullptr;
  if (block < 0 || block >= net.stages(stage).blocks_size()) return nullptr;
  const hakd::v1::Block& b = net.stages(stage).blocks(block);
  return b.has_residual() ? &b.residual() : nullptr;
}

// Convolution and linear weights (no biases, no BatchNorm): what magnitude
// pruning ranks. The worker counts the same tensors (every parameter of two
// or more dimensions).
int64_t PrunableWeights(const NetworkAnalysis& analysis) {
  int64_t count = 0;
  for (const NetworkLayer& layer : analysis.layers) {
    if (layer.layer.kind() == hakd::v1::LAYER_KIND_CONV2D) {
      count += layer.params;
    } else if (layer.layer.kind() == hakd::v1::LAYER_KIND_LINEAR) {
      count += layer.params - layer.layer.out_channels();  // minus the bias
    }
  }
  return count;
}

// One latency table of a Fisher-pruning task against the network; `p` is
// its path ("spec.fisher.tables[0]"). Whether the budget is reachable is the
// worker's to say (FAILED_PRECONDITION before any training): a design job
// submits tables it built itself and handles a failed task, not a refusal.
absl::Status ValidateLatencyTable(const hakd::v1::LatencyTable& t,
                                  const hakd::v1::NetworkSpec& net,
                                  absl::string_view p) {
  if (t.device().size() > kMaxTextLength || !IsPrintable(t.device())) {
    return Invalid(p, "device",
                   absl::StrCat("must be printable and at most ",
                                kMaxTextLength, " bytes"));
  }
  if (!std::isfinite(t.budget_us()) || t.budget_us() <= 0) {
    return Invalid(p, "budget_us", absl::StrCat(t.budget_us(), " must be > 0"));
  }
  if (!std::isfinite(t.fixed_us()) || t.fixed_us() < 0) {
    return Invalid(p, "fixed_us",
                   absl::StrCat(t.fixed_us(), " must be a number >= 0"));
  }
  std::vector<std::pair<int, int>> seen;
  for (int i = 0; i < t.blocks_size(); ++i) {
    const hakd::v1::BlockLatencyCurve& c = t.blocks(i);
    const std::string f = absl::StrCat(p, ".blocks[", i, "]");
    const std::string block =
        absl::StrCat("stages[", c.stage(), "].blocks[", c.block(), "]");
    const hakd::v1::ResidualBlock* r = ResidualAt(net, c.stage(), c.block());
    if (r == nullptr) {
      return Invalid(f, "stage", absl::StrCat(block, " is not a residual block of spec.network"));
    }
    if (std::find(seen.begin(), seen.end(), std::make_pair(c.stage(), c.block())) != seen.end()) {
      return Invalid(f, "stage", absl::StrCat(block, " has a curve already"));
    }
    seen.emplace_back(c.stage(), c.block());
    const int width = InnerWidth(*r);
    if (c.us_by_width_size() != width) {
      return Invalid(f, "us_by_width",
                     absl::StrCat("has ", c.us_by_width_size(), " values, block ",
                                  block, " has inner width ", width));
    }
    for (int w = 0; w < width; ++w) {
      const double v = c.us_by_width(w);
      if (!std::isfinite(v) || v < 0) {
        return Invalid(f, absl::StrCat("us_by_width[", w, "]"),
                       absl::StrCat(v, " must be a number >= 0"));
      }
    }
  }
  return absl::OkStatus();
}

// The fisher field of a FISHER_PRUNE task.
absl::Status ValidateFisher(const hakd::v1::FisherPruneSpec& f,
                            const hakd::v1::NetworkSpec& net,
                            absl::string_view p) {
  if (f.steps_between_prunes() < 0 || f.steps_between_prunes() > 100000) {
    return Invalid(p, "steps_between_prunes",
                   absl::StrCat(f.steps_between_prunes(),
                                " is not in [1, 100000] (0: default 10)"));
  }
  if (f.channels_per_prune() < 0 || f.channels_per_prune() > 1024) {
    return Invalid(p, "channels_per_prune",
                   absl::StrCat(f.channels_per_prune(),
                                " is not in [1, 1024] (0: default 1)"));
  }
  if (f.min_width() < 0 || f.min_width() > 65536) {
    return Invalid(p, "min_width",
                   absl::StrCat(f.min_width(),
                                " is not in [1, 65536] (0: default 1)"));
  }
  if (f.tables_size() == 0) {
    return Invalid(p, "tables", "a pruning task needs at least one latency table");
  }
  for (int i = 0; i < f.tables_size(); ++i) {
    if (absl::Status st = ValidateLatencyTable(
            f.tables(i), net, absl::StrCat(p, ".tables[", i, "]"));
        !st.ok()) {
      return st;
    }
  }
  return absl::OkStatus();
}

// What depends on the task kind: the initial model, magnitude pruning,
// saliency and Fisher pruning. `field` prefixes every path ("spec").
absl::Status ValidateTaskKind(const hakd::v1::TrainingSpec& spec,
                              const NetworkAnalysis& analysis,
                              absl::string_view field) {
  const hakd::v1::TaskKind kind = spec.kind();
  if (!hakd::v1::TaskKind_IsValid(kind)) {
    return Invalid(field, "kind",
                   absl::StrCat(static_cast<int>(kind),
                                " is not TRAIN (0), SALIENCY (1) or FISHER_PRUNE (2)"));
  }
  const char* name = KindName(kind);
  const bool analyses = kind != hakd::v1::TASK_KIND_TRAIN;
  if (!spec.init_artifact_id().empty()) {
    if (absl::Status st = ValidateArtifactId(spec.init_artifact_id(),
                                             Path(field, "init_artifact_id"));
        !st.ok()) {
      return st;
    }
  } else if (analyses) {
    return Invalid(field, "init_artifact_id",
                   absl::StrCat("required: a ", name, " task starts from a trained model"));
  }
  if (analyses && !spec.distillation().teacher_artifact_id().empty()) {
    return Invalid(Path(field, "distillation"), "teacher_artifact_id",
                   absl::StrCat("a ", name, " task takes no teacher (",
                                kind == hakd::v1::TASK_KIND_FISHER_PRUNE
                                    ? "it fine-tunes with plain cross-entropy"
                                    : "it trains nothing",
                                ")"));
  }
  if (spec.keep_weights() < 0) {
    return Invalid(field, "keep_weights", "must not be negative (0: off)");
  }
  if (spec.keep_weights() > 0) {
    if (analyses) {
      return Invalid(field, "keep_weights",
                     absl::StrCat("magnitude pruning is for TRAIN tasks, not ", name));
    }
    if (spec.init_artifact_id().empty()) {
      return Invalid(field, "keep_weights",
                     "needs init_artifact_id (the trained model to prune)");
    }
    const int64_t weights = PrunableWeights(analysis);
    if (spec.keep_weights() > weights) {
      return Invalid(field, "keep_weights",
                     absl::StrCat(spec.keep_weights(), " is more than the ", weights,
                                  " convolution and linear weights of spec.network"));
    }
  }
  if (spec.saliency_examples() != 0) {
    if (kind != hakd::v1::TASK_KIND_SALIENCY) {
      return Invalid(field, "saliency_examples",
                     absl::StrCat("only for SALIENCY tasks, not ", name));
    }
    if (spec.saliency_examples() < 0 || spec.saliency_examples() > 10000000) {
      return Invalid(field, "saliency_examples",
                     absl::StrCat(spec.saliency_examples(),
                                  " is not in [1, 10000000] (0: default 1024)"));
    }
  }
  if (spec.has_fisher() && kind != hakd::v1::TASK_KIND_FISHER_PRUNE) {
    return Invalid(field, "fisher", absl::StrCat("only for FISHER_PRUNE tasks, not ", name));
  }
  if (!analyses) return absl::OkStatus();
  const hakd::v1::NetworkSpec& net = spec.network();
  bool residual = false;
  for (int s = 0; s < net.stages_size(); ++s) {
    for (int b = 0; b < net.stages(s).blocks_size(); ++b) {
      const hakd::v1::Block& block = net.stages(s).blocks(b);
      if (!block.has_residual()) continue;
      residual = true;
      if (kind == hakd::v1::TASK_KIND_FISHER_PRUNE &&
          block.residual().cheap().type() != hakd::v1::CheapConv::TYPE_STANDARD) {
        return Invalid(Path(field, "network"),
                       absl::StrCat("stages[", s, "].blocks[", b, "].residual.cheap"),
                       "Fisher pruning removes mid channels of standard residual "
                       "blocks only");
      }
    }
  }
  if (!residual) {
    return Invalid(field, "network",
                   absl::StrCat("has no residual block; a ", name,
                                " task works on residual blocks' mid channels"));
  }
  if (kind != hakd::v1::TASK_KIND_FISHER_PRUNE) return absl::OkStatus();
  return ValidateFisher(spec.fisher(), net, Path(field, "fisher"));
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
  absl::StatusOr<NetworkAnalysis> analysis = AnalyzeNetwork(spec.network());
  if (!analysis.ok()) {
    return absl::Status(analysis.status().code(),
                        absl::StrCat(net, ".", analysis.status().message()));
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
  if (absl::Status st = ValidateDistillation(
          spec.distillation(),
          absl::StrCat(field, field.empty() ? "" : ".", "distillation"));
      !st.ok()) {
    return st;
  }
  if (spec.world_size() < 0 || spec.world_size() > kMaxWorldSize) {
    return Invalid(field, "world_size",
                   absl::StrCat(spec.world_size(), " is not in [0, ",
                                kMaxWorldSize, "] (0 or 1: one worker)"));
  }
  if (spec.world_size() > 1) {
    if (spec.kind() != hakd::v1::TASK_KIND_TRAIN) {
      return Invalid(field, "world_size",
                     absl::StrCat(spec.world_size(), ": only TRAIN tasks run "
                                  "data-parallel; ", KindName(spec.kind()),
                                  " tasks run on one worker"));
    }
    const int batch =
        spec.schedule().batch_size() == 0 ? 128 : spec.schedule().batch_size();
    if (batch < spec.world_size()) {
      return Invalid(field, "world_size",
                     absl::StrCat(spec.world_size(), " workers cannot share a ",
                                  "global batch of ", batch,
                                  " (schedule.batch_size must be >= world_size)"));
    }
  }
  return ValidateTaskKind(spec, *analysis, field);
}

absl::Status ValidateGroupJoin(absl::string_view host, int port,
                               absl::string_view field) {
  if (port < 0 || port > 65535) {
    return Invalid(field, "group_port",
                   absl::StrCat(port, " is not in [0, 65535] (0: no groups)"));
  }
  if (host.size() > 255) {
    return Invalid(field, "group_host",
                   absl::StrCat(host.size(), " bytes; at most 255"));
  }
  for (char c : host) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
          c == '-' || c == ':' || c == '_')) {
      return Invalid(field, "group_host",
                     absl::StrCat("'", absl::CHexEscape(host),
                                  "' is not a host name or IP address"));
    }
  }
  return absl::OkStatus();
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
      p.phase() != "upload" && p.phase() != "saliency" &&
      p.phase() != "prune") {
    return Invalid(field, "phase",
                   absl::StrCat("'", absl::CHexEscape(p.phase()),
                                "' is not one of train, eval, upload, "
                                "saliency, prune"));
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
