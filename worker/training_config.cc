#include "worker/training_config.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/network/network_analysis.h"

namespace hakd::worker {
namespace {

absl::Status Bad(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

}  // namespace

absl::StatusOr<TrainerConfig> ToTrainerConfig(const hakd::v1::TrainingSpec& spec) {
  const hakd::v1::Schedule& s = spec.schedule();
  TrainerConfig c;
  if (s.epochs() < 0 || s.epochs() > 1000) return Bad("schedule.epochs", absl::StrCat(s.epochs(), " outside 1..1000"));
  if (s.epochs() > 0) c.epochs = s.epochs();
  if (s.batch_size() < 0 || s.batch_size() > 4096) return Bad("schedule.batch_size", absl::StrCat(s.batch_size(), " outside 1..4096"));
  if (s.batch_size() > 0) c.batch_size = s.batch_size();
  if (s.learning_rate() < 0 || !(s.learning_rate() < 100)) return Bad("schedule.learning_rate", absl::StrCat(s.learning_rate(), " must be > 0 and < 100"));
  if (s.learning_rate() > 0) c.learning_rate = s.learning_rate();
  if (s.momentum() > 1) return Bad("schedule.momentum", absl::StrCat(s.momentum(), " above 1"));
  if (s.momentum() != 0) c.momentum = std::max(0.0, s.momentum());
  c.nesterov = !s.no_nesterov();
  if (s.weight_decay() != 0) c.weight_decay = std::max(0.0, s.weight_decay());
  if (s.lr_schedule().empty() || s.lr_schedule() == "cosine") {
    c.schedule = LrSchedule::kCosine;
  } else if (s.lr_schedule() == "step") {
    c.schedule = LrSchedule::kStep;
  } else if (s.lr_schedule() == "constant") {
    c.schedule = LrSchedule::kConstant;
  } else {
    return Bad("schedule.lr_schedule", absl::StrCat("\"", s.lr_schedule(), "\" (cosine, step or constant)"));
  }
  int last = 0;
  for (int m : s.step_milestones()) {
    if (m <= last || m > c.epochs) return Bad("schedule.step_milestones", absl::StrCat(m, " must increase and lie within 1..", c.epochs));
    last = m;
    c.milestones.push_back(m);
  }
  if (c.schedule == LrSchedule::kStep && c.milestones.empty()) {
    for (double f : {0.3, 0.6, 0.8}) {
      int m = std::max(1, static_cast<int>(c.epochs * f));
      if (c.milestones.empty() || m > c.milestones.back()) c.milestones.push_back(m);
    }
  }
  if (s.step_gamma() < 0 || s.step_gamma() > 1) return Bad("schedule.step_gamma", absl::StrCat(s.step_gamma(), " outside 0..1"));
  if (s.step_gamma() > 0) c.gamma = s.step_gamma();
  if (s.warmup_epochs() < 0 || s.warmup_epochs() >= c.epochs) {
    if (s.warmup_epochs() != 0) return Bad("schedule.warmup_epochs", absl::StrCat(s.warmup_epochs(), " must be below epochs (", c.epochs, ")"));
  }
  c.warmup_epochs = s.warmup_epochs();
  c.seed = s.seed() != 0 ? s.seed() : 1;
  if (s.steps_per_epoch() < 0) return Bad("schedule.steps_per_epoch", "negative");
  c.steps_per_epoch = s.steps_per_epoch();
  c.mixed_precision = s.mixed_precision();
  const hakd::v1::Distillation& d = spec.distillation();
  if (d.temperature() < 0) return Bad("distillation.temperature", "negative");
  if (d.temperature() > 0) c.temperature = d.temperature();
  if (d.alpha() < 0 || d.alpha() > 1) return Bad("distillation.alpha", absl::StrCat(d.alpha(), " outside 0..1"));
  if (d.alpha() > 0) c.alpha = d.alpha();
  if (d.beta() != 0) c.beta = d.beta();
  return c;
}

absl::StatusOr<SaliencyOptions> ToSaliencyOptions(const hakd::v1::TrainingSpec& spec,
                                                  const TrainerConfig& config) {
  if (spec.saliency_examples() < 0 || spec.saliency_examples() > 10000000) {
    return Bad("saliency_examples", absl::StrCat(spec.saliency_examples(), " outside 1..10000000"));
  }
  SaliencyOptions o;
  o.batch_size = config.batch_size;
  o.examples = spec.saliency_examples() > 0 ? spec.saliency_examples() : 1024;
  o.loader_threads = config.loader_threads;
  return o;
}

absl::StatusOr<FisherPruneOptions> ToFisherPruneOptions(const hakd::v1::TrainingSpec& spec,
                                                        const TrainerConfig& config) {
  const hakd::v1::FisherPruneSpec& f = spec.fisher();
  if (f.steps_between_prunes() < 0 || f.steps_between_prunes() > 100000) {
    return Bad("fisher.steps_between_prunes", absl::StrCat(f.steps_between_prunes(), " outside 1..100000"));
  }
  if (f.channels_per_prune() < 0 || f.channels_per_prune() > 1024) {
    return Bad("fisher.channels_per_prune", absl::StrCat(f.channels_per_prune(), " outside 1..1024"));
  }
  if (f.min_width() < 0) return Bad("fisher.min_width", "negative");
  if (f.tables_size() == 0) return Bad("fisher.tables", "at least one latency table");
  FisherPruneOptions o;
  for (int i = 0; i < f.tables_size(); ++i) {
    const hakd::v1::LatencyTable& t = f.tables(i);
    if (!(t.budget_us() > 0) || !std::isfinite(t.budget_us())) {
      return Bad(absl::StrCat("fisher.tables[", i, "].budget_us"), absl::StrCat(t.budget_us(), " must be > 0"));
    }
    LatencyBudget table;
    table.device = t.device();
    table.budget_us = t.budget_us();
    table.fixed_us = t.fixed_us();
    for (const hakd::v1::BlockLatencyCurve& c : t.blocks()) {
      table.blocks.push_back(BlockLatency{c.stage(), c.block(), {c.us_by_width().begin(), c.us_by_width().end()}});
    }
    o.tables.push_back(std::move(table));
  }
  if (f.steps_between_prunes() > 0) o.steps_between_prunes = f.steps_between_prunes();
  if (f.channels_per_prune() > 0) o.channels_per_prune = f.channels_per_prune();
  if (f.min_width() > 0) o.min_width = f.min_width();
  o.batch_size = config.batch_size;
  o.learning_rate = config.learning_rate;
  o.momentum = config.momentum;
  o.nesterov = config.nesterov;
  o.weight_decay = config.weight_decay;
  o.seed = config.seed;
  o.loader_threads = config.loader_threads;
  return o;
}

absl::Status CheckNetworkFitsDataset(const hakd::v1::NetworkSpec& network,
                                     const Dataset& dataset) {
  const hakd::v1::InputShape& in = network.input();
  if (in.channels() != dataset.channels || in.height() != dataset.height ||
      in.width() != dataset.width) {
    return Bad("spec.network.input", absl::StrCat(in.channels(), "x", in.height(), "x", in.width(), " does not match ", dataset.name, " images (", dataset.channels, "x", dataset.height, "x", dataset.width, ")"));
  }
  if (network.num_classes() != dataset.num_classes) {
    return Bad("spec.network.num_classes", absl::StrCat(network.num_classes(), ", ", dataset.name, " has ", dataset.num_classes, " classes"));
  }
  return absl::OkStatus();
}

absl::Status CheckDistillationPair(const hakd::v1::NetworkSpec& student,
                                   const hakd::v1::NetworkSpec& teacher,
                                   bool attention_transfer) {
  absl::StatusOr<NetworkAnalysis> s = AnalyzeNetwork(student);
  if (!s.ok()) return Bad("spec.network", s.status().message());
  absl::StatusOr<NetworkAnalysis> t = AnalyzeNetwork(teacher);
  if (!t.ok()) return Bad("teacher network", t.status().message());
  if (student.input().SerializeAsString() != teacher.input().SerializeAsString() ||
      student.num_classes() != teacher.num_classes()) {
    return Bad("spec.network", "student and teacher differ in input shape or number of classes");
  }
  if (!attention_transfer) return absl::OkStatus();
  if (s->attention_points.size() != t->attention_points.size()) {
    return Bad("spec.network.stages", absl::StrCat("student has ", s->attention_points.size(), " stages, teacher ", t->attention_points.size(), " (attention transfer pairs stage ends; or turn it off with a negative beta)"));
  }
  for (size_t i = 0; i < s->attention_points.size(); ++i) {
    const AttentionPoint& a = s->attention_points[i];
    const AttentionPoint& b = t->attention_points[i];
    if (a.height != b.height || a.width != b.width) {
      return Bad(absl::StrCat("spec.network.stages[", i, "]"), absl::StrCat("ends at ", a.height, "x", a.width, ", the teacher's at ", b.height, "x", b.width));
    }
  }
  return absl::OkStatus();
}

}  // namespace hakd::worker
