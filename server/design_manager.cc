#include "server/design_manager.h"

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/log.h"
#include "common/network/unit_key.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "server/design_job_util.h"
#include "server/design_validation.h"
#include "server/training_validation.h"

namespace hakd {
namespace {

using hakd::v1::DesignJob;
using hakd::v1::DesignStage;
using hakd::v1::StageStatus;

constexpr int kStages = 7;

// How far back SubmitTask looks for a task it submitted before a crash.
constexpr int kRecentTasks = 500;

std::string StageName(DesignStage stage) {
  switch (stage) {
    case hakd::v1::DESIGN_STAGE_TEACHER: return "teacher";
    case hakd::v1::DESIGN_STAGE_SALIENCY: return "saliency";
    case hakd::v1::DESIGN_STAGE_COVERAGE: return "coverage";
    case hakd::v1::DESIGN_STAGE_DESIGN: return "design";
    case hakd::v1::DESIGN_STAGE_DISTILLATION: return "distillation";
    case hakd::v1::DESIGN_STAGE_VERIFICATION: return "verification";
    case hakd::v1::DESIGN_STAGE_REPORT: return "report";
    default: return "?";
  }
}

// Prefixes a Status message with `field` + ".".
absl::Status Prefixed(const absl::Status& st, absl::string_view field) {
  return absl::Status(st.code(), absl::StrCat(field, ".", st.message()));
}

}  // namespace

DesignManager::DesignManager(DesignStore* designs, TrainingStore* training,
                             LatencyStore* latency, SweepManager* sweeps,
                             AgentRegistry* registry,
                             DesignManagerOptions options)
    : designs_(designs),
      training_(training),
      latency_(latency),
      sweeps_(sweeps),
      registry_(registry),
      options_(options) {
  if (options_.run_thread) thread_ = std::thread([this] { Loop(); });
}

DesignManager::~DesignManager() { Stop(); }

void DesignManager::Stop() {
  absl::MutexLock lock(&stop_mu_);
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

void DesignManager::Loop() {
  int64_t training_version = training_->version();
  int64_t sweep_version = sweeps_->version();
  while (!stop_.HasBeenNotified()) {
    StepAll();
    // Whatever changes first wakes the next pass: a task or a sweep moving
    // on, or a new job. Each wait is short so that one source's silence
    // never delays another's news by more than a tick.
    const absl::Time deadline = absl::Now() + options_.poll;
    while (!stop_.HasBeenNotified() && absl::Now() < deadline) {
      const int64_t t = training_version;
      const int64_t s = sweep_version;
      training_->WaitForChange(&training_version, absl::Milliseconds(50));
      if (training_version != t) break;
      sweeps_->WaitForChange(&sweep_version, absl::Milliseconds(50));
      if (sweep_version != s) break;
    }
  }
}

void DesignManager::StepAll() {
  absl::StatusOr<std::vector<int64_t>> ids = designs_->RunningIds();
  if (!ids.ok()) {
    LogLine("hakd-server", absl::StrCat("design jobs: ", ids.status().message()));
    return;
  }
  for (int64_t id : *ids) {
    if (stop_.HasBeenNotified()) return;
    absl::MutexLock lock(&mu_);
    StepJob(id);
  }
}

void DesignManager::StepJob(int64_t job_id) {
  absl::StatusOr<DesignJob> loaded = designs_->Get(job_id);
  if (!loaded.ok() || loaded->state() != hakd::v1::DESIGN_RUNNING) return;
  DesignJob job = *std::move(loaded);
  const std::string before = job.SerializeAsString();
  while (job.state() == hakd::v1::DESIGN_RUNNING) {
    StageStatus* stage = CurrentStage(&job);
    if (stage->started_unix_ms() == 0) stage->set_started_unix_ms(NowUnixMs());
    if (stage->state() == hakd::v1::STAGE_PENDING) {
      stage->set_state(hakd::v1::STAGE_RUNNING);
    }
    absl::StatusOr<bool> done = StepStage(&job);
    stage = CurrentStage(&job);
    if (!done.ok()) {
      // A database hiccup (busy, or full until space returns) is retried on
      // the next pass; anything else is the job's own problem and ends it,
      // saying where.
      if (done.status().code() == absl::StatusCode::kUnavailable ||
          done.status().code() == absl::StatusCode::kInternal ||
          done.status().code() == absl::StatusCode::kResourceExhausted) {
        LogLine("hakd-server",
                absl::StrCat("design job ", job_id, ": ", StageName(job.stage()),
                             ": ", done.status().message(), " (will retry)"));
        break;
      }
      stage->set_state(hakd::v1::STAGE_FAILED);
      stage->set_message(std::string(done.status().message()));
      stage->set_finished_unix_ms(NowUnixMs());
      job.set_state(hakd::v1::DESIGN_FAILED);
      job.set_error(absl::StrCat(StageName(job.stage()), ": ",
                                 done.status().message()));
      job.set_finished_unix_ms(NowUnixMs());
      LogLine("hakd-server",
              absl::StrCat("design job ", job_id, " failed: ", job.error()));
      break;
    }
    if (!*done) break;
    if (stage->state() != hakd::v1::STAGE_SKIPPED) {
      stage->set_state(hakd::v1::STAGE_DONE);
    }
    stage->set_finished_unix_ms(NowUnixMs());
    LogLine("hakd-server",
            absl::StrCat("design job ", job_id, ": ", StageName(job.stage()),
                         " done: ", stage->message()));
    if (job.stage() == hakd::v1::DESIGN_STAGE_REPORT) {
      job.set_state(hakd::v1::DESIGN_SUCCEEDED);
      job.set_finished_unix_ms(NowUnixMs());
      break;
    }
    job.set_stage(static_cast<DesignStage>(job.stage() + 1));
  }
  if (job.SerializeAsString() == before) return;
  if (absl::Status st = designs_->Save(job, NowUnixMs()); !st.ok()) {
    LogLine("hakd-server", absl::StrCat("design job ", job_id,
                                        ": cannot save: ", st.message()));
  }
}

absl::StatusOr<bool> DesignManager::StepStage(DesignJob* job) {
  switch (job->stage()) {
    case hakd::v1::DESIGN_STAGE_TEACHER: return StepTeacher(job);
    case hakd::v1::DESIGN_STAGE_SALIENCY: return StepSaliency(job);
    case hakd::v1::DESIGN_STAGE_COVERAGE: return StepCoverage(job);
    case hakd::v1::DESIGN_STAGE_DESIGN: return StepDesign(job);
    case hakd::v1::DESIGN_STAGE_DISTILLATION: return StepDistillation(job);
    case hakd::v1::DESIGN_STAGE_VERIFICATION: return StepVerification(job);
    case hakd::v1::DESIGN_STAGE_REPORT: return StepReport(job);
    default:
      return absl::DataLossError(
          absl::StrCat("stored job has unknown stage ", job->stage()));
  }
}

absl::StatusOr<DesignJob> DesignManager::Submit(
    const hakd::v1::DesignSpec& spec) {
  HAKD_RETURN_IF_ERROR(ValidateDesignSpec(spec));
  for (int i = 0; i < spec.budgets_size(); ++i) {
    absl::StatusOr<DeviceRecord> d = latency_->FindDevice(spec.budgets(i).device());
    if (!d.ok()) {
      return absl::Status(d.status().code(),
                          absl::StrCat("spec.budgets[", i, "].device: ",
                                       d.status().message()));
    }
  }
  DesignJob job;
  *job.mutable_spec() = spec;
  hakd::v1::Candidate* teacher = job.add_candidates();
  teacher->set_name("teacher");
  teacher->set_role(hakd::v1::ROLE_TEACHER);
  teacher->set_selected(true);
  teacher->set_saliency_kept(1);
  if (!spec.teacher_artifact_id().empty()) {
    absl::StatusOr<ArtifactRecord> art =
        training_->GetArtifact(spec.teacher_artifact_id());
    if (!art.ok()) {
      return absl::Status(art.status().code(),
                          absl::StrCat("spec.teacher_artifact_id: ",
                                       art.status().message()));
    }
    if (art->kind != "model") {
      return absl::InvalidArgumentError(absl::StrCat(
          "spec.teacher_artifact_id: '", art->artifact_id, "' is a ",
          art->kind, ", not a model"));
    }
    HAKD_ASSIGN_OR_RETURN(hakd::v1::TrainingTask task,
                          training_->GetTask(art->task_id));
    *teacher->mutable_network() =
        task.spec().kind() == hakd::v1::TASK_KIND_FISHER_PRUNE
            ? task.result_network()
            : task.spec().network();
    teacher->set_model_artifact_id(art->artifact_id);
    teacher->set_training_task_id(art->task_id);
    if (task.history_size() > 0) {
      teacher->set_test_accuracy(
          task.history(task.history_size() - 1).test_accuracy());
    }
  } else {
    *teacher->mutable_network() = spec.teacher_network();
  }
  const std::string teacher_field = spec.teacher_artifact_id().empty()
                                        ? "spec.teacher_network"
                                        : "teacher (from the artifact)";
  // The teacher must be a network the designer can work on, and the
  // schedules must be ones the training queue accepts.
  bool uniform = false;
  for (int b : spec.baselines()) uniform |= b == hakd::v1::BASELINE_UNIFORM;
  if (absl::StatusOr<std::vector<hakd::v1::BlockUnit>> units =
          CoverageUnits(teacher->network(), uniform, OptionsOf(spec));
      !units.ok()) {
    return Prefixed(units.status(), teacher_field);
  }
  {
    hakd::v1::TrainingSpec t;
    *t.mutable_network() = teacher->network();
    t.set_dataset(spec.dataset());
    *t.mutable_schedule() = spec.teacher_schedule();
    if (absl::Status st = ValidateTrainingSpec(t, "spec"); !st.ok()) {
      return absl::InvalidArgumentError(absl::StrReplaceAll(
          st.message(), {{"spec.schedule", "spec.teacher_schedule"},
                         {"spec.network", teacher_field}}));
    }
    hakd::v1::TrainingSpec s = t;
    *s.mutable_schedule() = spec.student_schedule();
    *s.mutable_distillation() = spec.distillation();
    s.mutable_distillation()->set_teacher_artifact_id(
        spec.teacher_artifact_id().empty() ? "art-teacher"
                                           : spec.teacher_artifact_id());
    if (absl::Status st = ValidateTrainingSpec(s, "spec"); !st.ok()) {
      return absl::InvalidArgumentError(absl::StrReplaceAll(
          st.message(), {{"spec.schedule", "spec.student_schedule"},
                         {"spec.network", teacher_field}}));
    }
  }
  HAKD_RETURN_IF_ERROR(CheckBudgetsReachable(spec, teacher->network()));
  job.set_state(hakd::v1::DESIGN_RUNNING);
  job.set_stage(hakd::v1::DESIGN_STAGE_TEACHER);
  for (int i = 1; i <= kStages; ++i) {
    StageStatus* s = job.add_stages();
    s->set_stage(static_cast<DesignStage>(i));
    s->set_state(hakd::v1::STAGE_PENDING);
  }
  absl::MutexLock lock(&mu_);
  HAKD_ASSIGN_OR_RETURN(DesignJob stored, designs_->Create(job, NowUnixMs()));
  LogLine("hakd-server", absl::StrCat("design job ", stored.job_id(),
                                      " submitted (", spec.budgets_size(),
                                      " device(s))"));
  // The first steps (e.g. submitting the teacher's training) happen at once.
  StepJob(stored.job_id());
  return designs_->Get(stored.job_id());
}

absl::Status DesignManager::CheckBudgetsReachable(
    const hakd::v1::DesignSpec& spec, const hakd::v1::NetworkSpec& teacher) {
  DesignJob probe;  // the job as BuildProfiles sees it before coverage
  *probe.mutable_spec() = spec;
  *probe.add_candidates()->mutable_network() = teacher;
  HAKD_ASSIGN_OR_RETURN(std::vector<DeviceProfile> profiles,
                        BuildProfiles(probe));
  bool uniform = false;
  for (int b : spec.baselines()) uniform |= b == hakd::v1::BASELINE_UNIFORM;
  HAKD_ASSIGN_OR_RETURN(std::vector<hakd::v1::BlockUnit> units,
                        CoverageUnits(teacher, uniform, OptionsOf(spec)));
  std::set<std::string> keys;
  for (const auto& u : units) keys.insert(BlockUnitKey(u));
  for (const DeviceProfile& p : profiles) {
    // Only a device measured completely, with a fitted overhead, can be
    // judged now; otherwise the design stage judges it once measured.
    if (p.unit_us.size() < keys.size() || p.overhead.networks() == 0) {
      return absl::OkStatus();
    }
  }
  // Any saliency will do: reachability depends on latency alone.
  std::vector<hakd::v1::BlockSaliency> saliency;
  for (int s = 0; s < teacher.stages_size(); ++s) {
    for (int b = 0; b < teacher.stages(s).blocks_size(); ++b) {
      const hakd::v1::ResidualBlock& r = teacher.stages(s).blocks(b).residual();
      hakd::v1::BlockSaliency& bs = saliency.emplace_back();
      bs.set_stage(s);
      bs.set_block(b);
      const int width = r.mid_channels() > 0 ? r.mid_channels() : r.out_channels();
      for (int c = 0; c < width; ++c) bs.add_channels(1);
    }
  }
  absl::StatusOr<DesignOutcome> outcome =
      DesignStudents(teacher, saliency, profiles, OptionsOf(spec));
  if (outcome.status().code() == absl::StatusCode::kFailedPrecondition) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.budgets: ", outcome.status().message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<DesignJob> DesignManager::Cancel(int64_t job_id) {
  absl::MutexLock lock(&mu_);
  HAKD_ASSIGN_OR_RETURN(DesignJob job, designs_->Get(job_id));
  if (job.state() != hakd::v1::DESIGN_RUNNING) return job;
  const int64_t now = NowUnixMs();
  // Stop what the job started; a task or sweep that already ended is left
  // as it is.
  std::vector<int64_t> tasks = {job.teacher_task_id(), job.saliency_task_id()};
  for (const hakd::v1::Candidate& c : job.candidates()) {
    if (c.role() == hakd::v1::ROLE_TEACHER) continue;
    tasks.push_back(c.training_task_id());
    tasks.push_back(c.prune_task_id());
  }
  for (int64_t id : tasks) {
    if (id <= 0) continue;
    absl::StatusOr<hakd::v1::TrainingTask> t = training_->GetTask(id);
    if (t.ok() && !TaskEnded(t->state())) {
      if (absl::Status st = training_->Cancel(id, now).status(); !st.ok()) {
        LogLine("hakd-server", absl::StrCat("design job ", job_id,
                                            ": cancel task ", id, ": ",
                                            st.message()));
      }
    }
  }
  std::vector<int64_t> sweeps(job.coverage_sweep_ids().begin(),
                              job.coverage_sweep_ids().end());
  sweeps.insert(sweeps.end(), job.verification_sweep_ids().begin(),
                job.verification_sweep_ids().end());
  for (int64_t id : sweeps) {
    absl::StatusOr<SweepRecord> s = latency_->GetSweep(id);
    if (s.ok() && (s->state == hakd::v1::Sweep::STATE_QUEUED ||
                   s->state == hakd::v1::Sweep::STATE_RUNNING)) {
      if (absl::Status st = sweeps_->Cancel(id).status(); !st.ok()) {
        LogLine("hakd-server", absl::StrCat("design job ", job_id,
                                            ": cancel sweep ", id, ": ",
                                            st.message()));
      }
    }
  }
  StageStatus* stage = CurrentStage(&job);
  stage->set_state(hakd::v1::STAGE_FAILED);
  stage->set_message("cancelled");
  stage->set_finished_unix_ms(now);
  job.set_state(hakd::v1::DESIGN_CANCELLED);
  job.set_error(absl::StrCat("cancelled during ", StageName(job.stage())));
  job.set_finished_unix_ms(now);
  HAKD_RETURN_IF_ERROR(designs_->Save(job, now));
  LogLine("hakd-server", absl::StrCat("design job ", job_id, " cancelled"));
  return job;
}

DesignerOptions DesignManager::OptionsOf(const hakd::v1::DesignSpec& spec) {
  DesignerOptions options;
  options.candidates =
      spec.candidates() > 0 ? spec.candidates() : kDefaultDesignCandidates;
  options.width_step = spec.width_step();
  return options;
}

int DesignManager::OnlineWorkers() {
  absl::StatusOr<std::vector<hakd::v1::WorkerInfo>> workers =
      training_->ListWorkers(NowUnixMs());
  if (!workers.ok()) return 0;
  int online = 0;
  for (const hakd::v1::WorkerInfo& w : *workers) online += w.online() ? 1 : 0;
  return online;
}

absl::StatusOr<int64_t> DesignManager::SubmitTask(const DesignJob& job,
                                                  const std::string& what,
                                                  hakd::v1::TrainingSpec spec) {
  spec.set_name(absl::StrCat("design-", job.job_id(), " ", what));
  spec.set_dataset(job.spec().dataset());
  HAKD_RETURN_IF_ERROR(ValidateTrainingSpec(spec, "spec"));
  // A coordinator that died between submitting a task and saving the job
  // finds the task again by its name instead of training it twice.
  HAKD_ASSIGN_OR_RETURN(
      std::vector<hakd::v1::TrainingTask> recent,
      training_->ListTasks(kRecentTasks, hakd::v1::TASK_STATE_UNSPECIFIED));
  for (const hakd::v1::TrainingTask& t : recent) {
    if (t.spec().name() == spec.name() &&
        t.state() != hakd::v1::TASK_FAILED &&
        t.state() != hakd::v1::TASK_CANCELLED) {
      LogLine("hakd-server", absl::StrCat("design job ", job.job_id(), ": ",
                                          what, " is training task ",
                                          t.task_id(), " (found again)"));
      return t.task_id();
    }
  }
  HAKD_ASSIGN_OR_RETURN(hakd::v1::TrainingTask task,
                        training_->Submit(spec, 0, NowUnixMs()));
  LogLine("hakd-server", absl::StrCat("design job ", job.job_id(), ": ", what,
                                      " is training task ", task.task_id()));
  return task.task_id();
}

}  // namespace hakd
