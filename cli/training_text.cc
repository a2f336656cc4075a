#include "cli/training_text.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/json_output.h"
#include "cli/number_format.h"
#include "cli/table.h"
#include "cli/time_format.h"

namespace hakd::cli {

using hakd::v1::TaskState;
using hakd::v1::TrainingTask;

namespace {

constexpr int32_t kDefaultEpochs = 10;

// "key: value" lines with the values aligned.
std::string KeyValues(
    const std::vector<std::pair<std::string, std::string>>& rows) {
  size_t width = 0;
  for (const auto& r : rows) width = std::max(width, r.first.size());
  std::string out;
  for (const auto& r : rows) {
    absl::StrAppend(&out, r.first, ":",
                    std::string(width - r.first.size() + 1, ' '), r.second,
                    "\n");
  }
  return out;
}

// The finished epoch with the best test accuracy, or null.
const hakd::v1::EpochMetrics* BestEpoch(const TrainingTask& task) {
  const hakd::v1::EpochMetrics* best = nullptr;
  for (const hakd::v1::EpochMetrics& m : task.history()) {
    if (best == nullptr || m.test_accuracy() > best->test_accuracy()) {
      best = &m;
    }
  }
  return best;
}

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

}  // namespace

std::string TaskStateName(TaskState state) {
  switch (state) {
    case hakd::v1::TASK_QUEUED:
      return "queued";
    case hakd::v1::TASK_RUNNING:
      return "running";
    case hakd::v1::TASK_SUCCEEDED:
      return "succeeded";
    case hakd::v1::TASK_FAILED:
      return "failed";
    case hakd::v1::TASK_CANCELLED:
      return "cancelled";
    default:
      return "unknown";
  }
}

std::string TaskKind(const TrainingTask& task) {
  return task.spec().distillation().teacher_artifact_id().empty() ? "teacher"
                                                                  : "student";
}

bool IsTaskFinished(const TrainingTask& task) {
  return task.state() == hakd::v1::TASK_SUCCEEDED ||
         task.state() == hakd::v1::TASK_FAILED ||
         task.state() == hakd::v1::TASK_CANCELLED;
}

int32_t TaskEpochs(const TrainingTask& task) {
  if (task.progress().epochs() > 0) return task.progress().epochs();
  if (task.spec().schedule().epochs() > 0) {
    return task.spec().schedule().epochs();
  }
  return kDefaultEpochs;
}

std::string TaskEpochText(const TrainingTask& task) {
  int32_t epoch = task.history_size();
  if (task.state() == hakd::v1::TASK_RUNNING && task.progress().epoch() > 0) {
    epoch = task.progress().epoch();
  }
  return absl::StrCat(epoch, "/", TaskEpochs(task));
}

std::string FormatAccuracy(double accuracy) {
  return absl::StrFormat("%.2f%%", 100.0 * accuracy);
}

std::string TasksTable(const hakd::v1::ListTrainingTasksResponse& tasks,
                       int64_t now_unix_ms) {
  Table table({"ID", "NAME", "KIND", "DATASET", "STATE", "EPOCH", "TEST ACC",
               "WORKER", "ATTEMPTS", "AGE"});
  for (size_t c : {0, 5, 6, 8}) table.AlignRight(c);
  for (const TrainingTask& t : tasks.tasks()) {
    const std::string name = !t.spec().name().empty() ? t.spec().name()
                             : !t.spec().network().name().empty()
                                 ? t.spec().network().name()
                                 : "-";
    table.AddRow(
        {absl::StrCat(t.task_id()), name, TaskKind(t), OrDash(t.spec().dataset()),
         TaskStateName(t.state()), TaskEpochText(t),
         t.history_size() > 0
             ? FormatAccuracy(t.history(t.history_size() - 1).test_accuracy())
             : "-",
         OrDash(t.worker()),
         absl::StrCat(t.attempts(), "/", t.max_attempts()),
         FormatAgo(t.created_unix_ms(), now_unix_ms)});
  }
  return table.Render();
}

std::string FormatTrainingProgressLine(const TrainingTask& task,
                                       int bar_width) {
  const hakd::v1::TrainingProgress& p = task.progress();
  const int64_t epochs = TaskEpochs(task);
  int64_t done = 0;
  int64_t total = epochs;
  if (task.state() == hakd::v1::TASK_SUCCEEDED) {
    done = total;
  } else if (p.epoch() > 0 && p.steps_per_epoch() > 0) {
    total = epochs * p.steps_per_epoch();
    done = (p.epoch() - 1) * p.steps_per_epoch() +
           std::min(p.step(), p.steps_per_epoch());
  } else {
    done = task.history_size();
  }
  std::string line = FormatProgressBar(done, total, bar_width);
  switch (task.state()) {
    case hakd::v1::TASK_QUEUED:
      absl::StrAppend(&line, " queued");
      if (task.attempts() > 0) {
        absl::StrAppend(&line, " (", task.attempts(), " of ",
                        task.max_attempts(), " attempts used)");
      }
      break;
    case hakd::v1::TASK_RUNNING:
      if (p.epoch() == 0) {
        absl::StrAppend(&line, " starting");
        break;
      }
      absl::StrAppend(&line, " epoch ", p.epoch(), "/", epochs);
      if (p.steps_per_epoch() > 0) {
        absl::StrAppend(&line, " step ", p.step(), "/", p.steps_per_epoch());
      }
      absl::StrAppend(&line, absl::StrFormat("  loss %.4f  acc %.1f%%",
                                             p.loss(),
                                             100.0 * p.train_accuracy()));
      if (p.images_per_second() > 0) {
        absl::StrAppend(&line,
                        absl::StrFormat("  %.0f img/s", p.images_per_second()));
      }
      if (!p.phase().empty() && p.phase() != "train") {
        absl::StrAppend(&line, "  ", p.phase());
      }
      break;
    default:
      absl::StrAppend(&line, " ", TaskStateName(task.state()), " ",
                      task.history_size(), "/", epochs, " epochs");
      break;
  }
  if (task.history_size() > 0) {
    const hakd::v1::EpochMetrics& last = task.history(task.history_size() - 1);
    absl::StrAppend(&line, "  test acc ", FormatAccuracy(last.test_accuracy()),
                    " (epoch ", last.epoch(), ")");
  }
  if (task.state() == hakd::v1::TASK_RUNNING && !task.worker().empty()) {
    absl::StrAppend(&line, "  on ", task.worker());
  }
  return line;
}

double TaskElapsedSeconds(const TrainingTask& task, int64_t now_unix_ms) {
  const int64_t start = task.started_unix_ms() != 0 ? task.started_unix_ms()
                                                    : task.created_unix_ms();
  const int64_t end =
      task.finished_unix_ms() != 0 ? task.finished_unix_ms() : now_unix_ms;
  if (start == 0 || end < start) return 0;
  return (end - start) / 1000.0;
}

std::string FormatTrainingFinal(const TrainingTask& task,
                                int64_t now_unix_ms) {
  std::string out = absl::StrCat(
      "task ", task.task_id(), " ", TaskStateName(task.state()), " after ",
      task.history_size(), " of ", TaskEpochs(task), " epochs in ",
      FormatDuration(TaskElapsedSeconds(task, now_unix_ms)), "\n");
  std::vector<std::pair<std::string, std::string>> rows;
  if (task.history_size() > 0) {
    const hakd::v1::EpochMetrics& last = task.history(task.history_size() - 1);
    const hakd::v1::EpochMetrics* best = BestEpoch(task);
    rows.emplace_back("  final test accuracy",
                      FormatAccuracy(last.test_accuracy()));
    rows.emplace_back("  best test accuracy",
                      absl::StrCat(FormatAccuracy(best->test_accuracy()),
                                   " (epoch ", best->epoch(), ")"));
  }
  if (!task.model_artifact_id().empty()) {
    rows.emplace_back("  model artifact", task.model_artifact_id());
  }
  if (task.state() != hakd::v1::TASK_SUCCEEDED && !task.error().empty()) {
    rows.emplace_back("  error", task.error());
  }
  absl::StrAppend(&out, KeyValues(rows));
  return out;
}

std::string TaskDetails(const TrainingTask& t, int64_t now_unix_ms) {
  const hakd::v1::TrainingSpec& spec = t.spec();
  const hakd::v1::Schedule& s = spec.schedule();
  const hakd::v1::Distillation& d = spec.distillation();
  std::string schedule = absl::StrCat(
      TaskEpochs(t), " epochs, batch ",
      s.batch_size() > 0 ? absl::StrCat(s.batch_size()) : "default",
      ", lr ", s.learning_rate() > 0 ? absl::StrCat(s.learning_rate())
                                     : "default",
      ", ", s.lr_schedule().empty() ? "cosine" : s.lr_schedule());
  if (s.warmup_epochs() > 0) {
    absl::StrAppend(&schedule, ", warm-up ", s.warmup_epochs());
  }
  if (s.mixed_precision()) absl::StrAppend(&schedule, ", mixed precision");
  std::vector<std::pair<std::string, std::string>> rows = {
      {"id", absl::StrCat(t.task_id())},
      {"name", OrDash(spec.name())},
      {"kind", d.teacher_artifact_id().empty()
                   ? "teacher"
                   : absl::StrCat("student of ", d.teacher_artifact_id())},
      {"network", OrDash(spec.network().name())},
      {"dataset", OrDash(spec.dataset())},
      {"schedule", schedule},
      {"state", TaskStateName(t.state())},
      {"progress", FormatTrainingProgressLine(t, 20)},
      {"attempts", absl::StrCat(t.attempts(), " of ", t.max_attempts())},
      {"worker", t.group_workers_size() > 0
                     ? absl::StrCat(absl::StrJoin(t.group_workers(), ", "), " (",
                                    t.group_workers_size(), " of ",
                                    t.spec().world_size(), ")")
                     : OrDash(t.worker())},
      {"created", FormatTimestamp(t.created_unix_ms())},
      {"started", FormatTimestamp(t.started_unix_ms())},
      {"finished", FormatTimestamp(t.finished_unix_ms())},
      {"elapsed", FormatDuration(TaskElapsedSeconds(t, now_unix_ms))},
      {"error", OrDash(t.error())},
      {"model artifact", OrDash(t.model_artifact_id())},
      {"checkpoint artifact", OrDash(t.checkpoint_artifact_id())},
  };
  if (const hakd::v1::EpochMetrics* best = BestEpoch(t)) {
    rows.insert(rows.begin() + 8,
                {"best test acc", absl::StrCat(FormatAccuracy(
                                                   best->test_accuracy()),
                                               " (epoch ", best->epoch(), ")")});
  }
  std::string out = KeyValues(rows);
  if (t.history_size() == 0) return out;
  Table table({"EPOCH", "TRAIN LOSS", "TRAIN ACC", "TEST LOSS", "TEST ACC",
               "IMG/S", "SECONDS", "LR"});
  for (size_t c = 0; c < 8; ++c) table.AlignRight(c);
  for (const hakd::v1::EpochMetrics& m : t.history()) {
    table.AddRow({absl::StrCat(m.epoch()),
                  absl::StrFormat("%.4f", m.train_loss()),
                  FormatAccuracy(m.train_accuracy()),
                  absl::StrFormat("%.4f", m.test_loss()),
                  FormatAccuracy(m.test_accuracy()),
                  absl::StrFormat("%.0f", m.images_per_second()),
                  absl::StrFormat("%.1f", m.seconds()),
                  absl::StrFormat("%.4g", m.learning_rate())});
  }
  absl::StrAppend(&out, "\nhistory:\n", table.Render());
  return out;
}

std::string WorkersTable(const hakd::v1::ListWorkersResponse& workers,
                         int64_t now_unix_ms) {
  Table table({"NAME", "DEVICE", "DEVICE NAME", "MEMORY", "ONLINE", "TASK",
               "LAST SEEN"});
  for (size_t c : {3, 5}) table.AlignRight(c);
  for (const hakd::v1::WorkerInfo& w : workers.workers()) {
    table.AddRow({w.name(), OrDash(w.capabilities().device()),
                  OrDash(w.capabilities().device_name()),
                  FormatBytes(w.capabilities().memory_bytes()),
                  w.online() ? "yes" : "no",
                  w.current_task_id() != 0 ? absl::StrCat(w.current_task_id())
                                           : "-",
                  FormatAgo(w.last_seen_unix_ms(), now_unix_ms)});
  }
  return table.Render();
}

absl::Status TrainingProgressPrinter::Update(const TrainingTask& task,
                                             int64_t now_unix_ms) {
  const bool news = task.state() != last_state_ ||
                    task.progress().epoch() != last_epoch_ ||
                    task.history_size() != last_history_ ||
                    task.progress().phase() != last_phase_;
  last_state_ = task.state();
  last_epoch_ = task.progress().epoch();
  last_history_ = task.history_size();
  last_phase_ = task.progress().phase();
  return display_.Show([&] { return ToJson(task); },
                       FormatTrainingProgressLine(task, bar_width_), news,
                       now_unix_ms);
}

void TrainingProgressPrinter::Finish(const TrainingTask& task,
                                     int64_t now_unix_ms) {
  display_.Finish(FormatTrainingFinal(task, now_unix_ms));
}

}  // namespace hakd::cli
