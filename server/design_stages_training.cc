// The stages of a design job that run on workers: training the teacher,
// its saliency, and training the students (distillation, with the Fisher
// and magnitude baselines' pruning).
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/network/network_analysis.h"
#include "common/status_macros.h"
#include "server/design_job_util.h"
#include "server/design_manager.h"

namespace hakd {
namespace {

using hakd::v1::Candidate;
using hakd::v1::DesignJob;
using hakd::v1::StageStatus;
using hakd::v1::TrainingTask;

double LastTestAccuracy(const TrainingTask& task) {
  return task.history_size() == 0
             ? 0
             : task.history(task.history_size() - 1).test_accuracy();
}

// One phrase on where a task is, e.g. "task 7 on w1: epoch 2/5, 412 img/s".
std::string TaskText(const TrainingTask& task, int workers_online) {
  switch (task.state()) {
    case hakd::v1::TASK_QUEUED:
      return workers_online == 0
                 ? absl::StrCat("task ", task.task_id(),
                                " queued: no worker online")
                 : absl::StrCat("task ", task.task_id(),
                                " queued for a worker");
    case hakd::v1::TASK_RUNNING: {
      const hakd::v1::TrainingProgress& p = task.progress();
      std::string text = absl::StrCat("task ", task.task_id(), " on ",
                                      task.worker());
      if (p.phase() == "prune") {
        absl::StrAppend(&text, ": pruning, ", p.step(), " channels removed");
      } else if (p.phase() == "saliency") {
        absl::StrAppend(&text, ": computing saliency");
      } else if (p.epochs() > 0) {
        absl::StrAppend(&text, ": epoch ", p.epoch(), "/", p.epochs());
        if (p.images_per_second() > 0) {
          absl::StrAppend(&text, absl::StrFormat(", %.0f img/s",
                                                 p.images_per_second()));
        }
      } else {
        absl::StrAppend(&text, ": starting");
      }
      return text;
    }
    case hakd::v1::TASK_SUCCEEDED:
      return absl::StrCat("task ", task.task_id(), " done");
    case hakd::v1::TASK_FAILED:
      return absl::StrCat("task ", task.task_id(), " failed: ", task.error());
    case hakd::v1::TASK_CANCELLED:
      return absl::StrCat("task ", task.task_id(), " was cancelled");
    default:
      return absl::StrCat("task ", task.task_id());
  }
}

// Marks the stage waiting when the task waits for a worker that is not
// there, running otherwise.
void ShowTask(StageStatus* stage, const TrainingTask& task, int online,
              const std::string& prefix) {
  stage->set_message(absl::StrCat(prefix, TaskText(task, online)));
  stage->set_state(task.state() == hakd::v1::TASK_QUEUED && online == 0
                       ? hakd::v1::STAGE_WAITING
                       : hakd::v1::STAGE_RUNNING);
}

absl::Status TaskFailed(const std::string& what, const TrainingTask& task) {
  return absl::FailedPreconditionError(
      absl::StrCat(what, " (training task ", task.task_id(), ") ",
                   task.state() == hakd::v1::TASK_CANCELLED
                       ? "was cancelled"
                       : absl::StrCat("failed: ", task.error())));
}

// Conv and linear weights (what magnitude pruning prunes) of a network.
int64_t PrunableWeights(const hakd::v1::NetworkSpec& network) {
  absl::StatusOr<NetworkAnalysis> a = AnalyzeNetwork(network);
  if (!a.ok()) return 0;
  int64_t n = 0;
  for (const NetworkLayer& l : a->layers) {
    if (l.layer.kind() == hakd::v1::LAYER_KIND_CONV2D) n += l.params;
    if (l.layer.kind() == hakd::v1::LAYER_KIND_LINEAR) {
      n += l.params - l.layer.out_channels();  // without the biases
    }
  }
  return n;
}

// A network's latency by a pruning table: fixed_us plus every listed
// block's curve at the network's inner width of that block.
absl::StatusOr<double> TableLatencyUs(const hakd::v1::LatencyTable& table,
                                      const hakd::v1::NetworkSpec& network) {
  double us = table.fixed_us();
  for (const hakd::v1::BlockLatencyCurve& curve : table.blocks()) {
    if (curve.stage() >= network.stages_size() ||
        curve.block() >= network.stages(curve.stage()).blocks_size()) {
      return absl::InvalidArgumentError("table and network disagree");
    }
    const hakd::v1::ResidualBlock& r =
        network.stages(curve.stage()).blocks(curve.block()).residual();
    const int width = r.mid_channels() > 0 ? r.mid_channels() : r.out_channels();
    if (width < 1 || width > curve.us_by_width_size()) {
      return absl::InvalidArgumentError("width outside the table");
    }
    us += curve.us_by_width(width - 1);
  }
  return us;
}

}  // namespace

absl::StatusOr<bool> DesignManager::StepTeacher(DesignJob* job) {
  StageStatus* stage = CurrentStage(job);
  Candidate* teacher = job->mutable_candidates(0);
  if (!job->spec().teacher_artifact_id().empty()) {
    job->set_teacher_artifact_id(job->spec().teacher_artifact_id());
    stage->set_state(hakd::v1::STAGE_SKIPPED);
    stage->set_message(absl::StrCat("trained teacher given: ",
                                    job->teacher_artifact_id()));
    return true;
  }
  if (job->teacher_task_id() == 0) {
    hakd::v1::TrainingSpec spec;
    *spec.mutable_network() = teacher->network();
    *spec.mutable_schedule() = job->spec().teacher_schedule();
    HAKD_ASSIGN_OR_RETURN(int64_t id, SubmitTask(*job, "teacher", spec));
    job->set_teacher_task_id(id);
    teacher->set_training_task_id(id);
  }
  HAKD_ASSIGN_OR_RETURN(TrainingTask task,
                        training_->GetTask(job->teacher_task_id()));
  const int epochs = task.spec().schedule().epochs() > 0
                         ? task.spec().schedule().epochs()
                         : 10;
  stage->set_total(epochs);
  stage->set_done(task.history_size());
  if (task.state() == hakd::v1::TASK_SUCCEEDED) {
    job->set_teacher_artifact_id(task.model_artifact_id());
    teacher->set_model_artifact_id(task.model_artifact_id());
    teacher->set_test_accuracy(LastTestAccuracy(task));
    stage->set_message(absl::StrFormat("trained: %.2f%% test accuracy (%s)",
                                       100 * teacher->test_accuracy(),
                                       task.model_artifact_id()));
    return true;
  }
  if (TaskEnded(task.state())) return TaskFailed("the teacher", task);
  ShowTask(stage, task, OnlineWorkers(), "training the teacher: ");
  return false;
}

absl::StatusOr<bool> DesignManager::StepSaliency(DesignJob* job) {
  StageStatus* stage = CurrentStage(job);
  if (job->saliency_task_id() == 0) {
    hakd::v1::TrainingSpec spec;
    spec.set_kind(hakd::v1::TASK_KIND_SALIENCY);
    *spec.mutable_network() = job->candidates(0).network();
    spec.set_init_artifact_id(job->teacher_artifact_id());
    spec.set_saliency_examples(job->spec().saliency_examples());
    spec.mutable_schedule()->set_batch_size(
        job->spec().student_schedule().batch_size());
    spec.mutable_schedule()->set_train_limit(
        job->spec().student_schedule().train_limit());
    HAKD_ASSIGN_OR_RETURN(int64_t id, SubmitTask(*job, "saliency", spec));
    job->set_saliency_task_id(id);
  }
  HAKD_ASSIGN_OR_RETURN(TrainingTask task,
                        training_->GetTask(job->saliency_task_id()));
  stage->set_total(1);
  if (task.state() == hakd::v1::TASK_SUCCEEDED) {
    if (task.saliency_size() == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "saliency task ", task.task_id(), " returned no saliency"));
    }
    *job->mutable_saliency() = task.saliency();
    int channels = 0;
    for (const auto& b : task.saliency()) channels += b.channels_size();
    stage->set_done(1);
    stage->set_message(absl::StrCat("Fisher saliency of ", channels,
                                     " channels in ", task.saliency_size(),
                                     " blocks"));
    return true;
  }
  if (TaskEnded(task.state())) return TaskFailed("the saliency", task);
  ShowTask(stage, task, OnlineWorkers(), "");
  return false;
}

absl::StatusOr<bool> DesignManager::StepDistillation(DesignJob* job) {
  StageStatus* stage = CurrentStage(job);
  const int online = OnlineWorkers();
  int total = 0;
  int finished = 0;
  int succeeded_hakd = 0;
  std::vector<std::string> running;
  // The magnitude baseline prunes to the parameter count of the best-ranked
  // student (the recommended one is known only after verification).
  int64_t target_params = 0;
  for (const Candidate& c : job->candidates()) {
    if (c.role() == hakd::v1::ROLE_HAKD && c.selected()) {
      target_params = c.params();
      break;
    }
  }
  // A network the queue refuses (say, a baseline whose spec is not
  // trainable) gets a note instead of ending the job; only the database
  // being unavailable is worth retrying.
  auto try_submit = [&](Candidate* c, const std::string& what,
                        const hakd::v1::TrainingSpec& spec,
                        int64_t* id) -> absl::StatusOr<bool> {
    absl::StatusOr<int64_t> submitted = SubmitTask(*job, what, spec);
    if (submitted.ok()) {
      *id = *submitted;
      return true;
    }
    if (submitted.status().code() == absl::StatusCode::kUnavailable ||
        submitted.status().code() == absl::StatusCode::kInternal) {
      return submitted.status();
    }
    c->set_note(absl::StrCat("cannot submit ", what, ": ",
                             submitted.status().message()));
    return false;
  };
  const hakd::v1::NetworkSpec& teacher_net = job->candidates(0).network();
  const int64_t teacher_params = job->candidates(0).params();
  for (int i = 1; i < job->candidates_size(); ++i) {
    Candidate* c = job->mutable_candidates(i);
    if (!c->selected()) continue;
    ++total;
    if (!c->note().empty() && c->training_task_id() == 0 &&
        c->prune_task_id() == 0) {
      ++finished;  // could not be built (the note says why)
      continue;
    }
    // Fisher pruning first prunes, then distills the pruned network.
    if (c->role() == hakd::v1::ROLE_FISHER && c->training_task_id() == 0) {
      if (c->prune_task_id() == 0) {
        HAKD_ASSIGN_OR_RETURN(std::vector<DeviceProfile> profiles,
                              BuildProfiles(*job));
        absl::StatusOr<std::vector<hakd::v1::LatencyTable>> tables =
            FisherLatencyTables(teacher_net, profiles, OptionsOf(job->spec()));
        if (!tables.ok()) {
          c->set_note(absl::StrCat("cannot build latency tables: ",
                                   tables.status().message()));
          c->set_selected(false);
          --total;
          continue;
        }
        hakd::v1::TrainingSpec spec;
        spec.set_kind(hakd::v1::TASK_KIND_FISHER_PRUNE);
        *spec.mutable_network() = teacher_net;
        spec.set_init_artifact_id(job->teacher_artifact_id());
        *spec.mutable_schedule() = job->spec().student_schedule();
        *spec.mutable_fisher() = job->spec().fisher();
        for (auto& t : *tables) *spec.mutable_fisher()->add_tables() = t;
        int64_t id = 0;
        HAKD_ASSIGN_OR_RETURN(bool submitted,
                              try_submit(c, "fisher prune", spec, &id));
        if (!submitted) {
          ++finished;
          continue;
        }
        c->set_prune_task_id(id);
      }
      HAKD_ASSIGN_OR_RETURN(TrainingTask prune,
                            training_->GetTask(c->prune_task_id()));
      if (!TaskEnded(prune.state())) {
        running.push_back(absl::StrCat("fisher ", TaskText(prune, online)));
        continue;
      }
      if (prune.state() != hakd::v1::TASK_SUCCEEDED) {
        c->set_note(absl::StrCat("pruning ", TaskText(prune, online)));
        ++finished;
        continue;
      }
      if (c->note().empty() || !c->has_network()) {
        *c->mutable_network() = prune.result_network();
        HAKD_ASSIGN_OR_RETURN(std::vector<DeviceProfile> profiles,
                              BuildProfiles(*job));
        absl::StatusOr<NetworkAnalysis> a = AnalyzeNetwork(c->network());
        if (a.ok()) {
          c->set_params(a->total_params);
          c->set_macs(a->total_macs);
        }
        c->set_saliency_kept(SaliencyKept(c->network(), SaliencyOf(*job)));
        c->set_description(DescribeStudent(c->network()));
        c->clear_latency();
        // Pruned widths are rarely on the measured grid: where the profile
        // cannot predict the network, the pruning's own tables (measured
        // widths interpolated) do.
        absl::StatusOr<std::vector<hakd::v1::LatencyTable>> tables =
            FisherLatencyTables(teacher_net, profiles, OptionsOf(job->spec()));
        for (size_t d = 0; d < profiles.size(); ++d) {
          const DeviceProfile& p = profiles[d];
          hakd::v1::DeviceLatency* l = c->add_latency();
          l->set_device(p.device);
          l->set_budget_ms(p.budget_us / 1000);
          absl::StatusOr<double> us = PredictFromProfile(c->network(), p);
          if (!us.ok() && tables.ok() && d < tables->size()) {
            us = TableLatencyUs((*tables)[d], c->network());
          }
          if (us.ok()) {
            l->set_predicted_ms(*us / 1000);
            l->set_meets_budget(*us <= p.budget_us);
          }
        }
      }
      hakd::v1::TrainingSpec spec;
      *spec.mutable_network() = c->network();
      spec.set_init_artifact_id(prune.model_artifact_id());
      *spec.mutable_schedule() = job->spec().student_schedule();
      *spec.mutable_distillation() = job->spec().distillation();
      spec.mutable_distillation()->set_teacher_artifact_id(
          job->teacher_artifact_id());
      int64_t id = 0;
      HAKD_ASSIGN_OR_RETURN(bool submitted, try_submit(c, c->name(), spec, &id));
      if (!submitted) {
        ++finished;
        continue;
      }
      c->set_training_task_id(id);
    }
    if (c->training_task_id() == 0) {
      hakd::v1::TrainingSpec spec;
      *spec.mutable_network() = c->network();
      *spec.mutable_schedule() = job->spec().student_schedule();
      *spec.mutable_distillation() = job->spec().distillation();
      spec.mutable_distillation()->set_teacher_artifact_id(
          job->teacher_artifact_id());
      if (c->role() == hakd::v1::ROLE_MAGNITUDE) {
        // The same nonzero count as the best student: keep that many conv
        // and linear weights (BatchNorm and biases stay dense).
        const int64_t dense_rest = teacher_params - PrunableWeights(teacher_net);
        const int64_t keep = target_params - dense_rest;
        if (target_params <= 0 || keep <= 0) {
          c->set_note("no HAKD student to match in size");
          ++finished;
          continue;
        }
        spec.set_init_artifact_id(job->teacher_artifact_id());
        spec.set_keep_weights(keep);
      }
      int64_t id = 0;
      HAKD_ASSIGN_OR_RETURN(bool submitted, try_submit(c, c->name(), spec, &id));
      if (!submitted) {
        ++finished;
        continue;
      }
      c->set_training_task_id(id);
    }
    HAKD_ASSIGN_OR_RETURN(TrainingTask task,
                          training_->GetTask(c->training_task_id()));
    if (!TaskEnded(task.state())) {
      running.push_back(absl::StrCat(c->name(), " ", TaskText(task, online)));
      continue;
    }
    ++finished;
    if (task.state() == hakd::v1::TASK_SUCCEEDED) {
      c->set_model_artifact_id(task.model_artifact_id());
      c->set_test_accuracy(LastTestAccuracy(task));
      if (c->role() == hakd::v1::ROLE_MAGNITUDE && task.nonzero_params() > 0) {
        c->set_params(task.nonzero_params());
      }
      if (c->role() == hakd::v1::ROLE_HAKD) ++succeeded_hakd;
    } else {
      c->set_note(absl::StrCat("training ", TaskText(task, online)));
    }
  }
  stage->set_total(total);
  stage->set_done(finished);
  if (finished < total) {
    stage->set_message(absl::StrCat(finished, "/", total, " trained; ",
                                    absl::StrJoin(running, "; ")));
    stage->set_state(online == 0 ? hakd::v1::STAGE_WAITING
                                 : hakd::v1::STAGE_RUNNING);
    if (online == 0) {
      stage->set_message(absl::StrCat(stage->message(), " (no worker online)"));
    }
    return false;
  }
  if (succeeded_hakd == 0) {
    return absl::FailedPreconditionError(
        "no HAKD student finished training (see the candidates' notes)");
  }
  stage->set_message(absl::StrCat(total, " networks trained (", succeeded_hakd,
                                   " HAKD students)"));
  return true;
}

}  // namespace hakd
