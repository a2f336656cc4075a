// train submit, tasks list / show / watch / cancel, artifact get and
// workers list: the TrainingService side of hakdctl.
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cli/artifact_download.h"
#include "cli/atomic_file.h"
#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/training_request.h"
#include "cli/training_text.h"
#include "common/status_macros.h"

namespace hakd::cli {

absl::Status RunTrainSubmit(CommandContext& ctx) {
  HAKD_ASSIGN_OR_RETURN(hakd::v1::SubmitTrainingRequest request,
                        TrainingRequestFromFlags(ctx.flags()));
  HAKD_ASSIGN_OR_RETURN(LatencyClient * client, ctx.Client());
  HAKD_ASSIGN_OR_RETURN(hakd::v1::TrainingTask task,
                        client->SubmitTraining(request));
  if (ctx.options().json) {
    HAKD_RETURN_IF_ERROR(ctx.PrintJson(task));
  } else {
    const hakd::v1::TrainingSpec& spec = request.spec();
    ctx.out() << "task " << task.task_id() << " "
              << TaskStateName(task.state()) << ": " << TaskKind(task) << " "
              << (spec.network().name().empty() ? "network"
                                                : spec.network().name())
              << " on " << spec.dataset() << ", " << TaskEpochs(task)
              << " epochs";
    if (!spec.distillation().teacher_artifact_id().empty()) {
      ctx.out() << ", teacher " << spec.distillation().teacher_artifact_id();
    }
    ctx.out() << "\n";
  }
  if (!ctx.flags().Has("watch")) return absl::OkStatus();
  ctx.out() << std::flush;
  return WatchTaskUntilFinished(ctx, task.task_id());
}

absl::Status RunTasksList(CommandContext& ctx) {
  hakd::v1::ListTrainingTasksRequest request;
  if (std::optional<std::string> state = ctx.flags().String("state")) {
    HAKD_ASSIGN_OR_RETURN(hakd::v1::TaskState s, ParseTaskState(*state));
    request.set_state(s);
  }
  if (auto limit = ctx.flags().Int("limit")) request.set_limit(*limit);
  HAKD_ASSIGN_OR_RETURN(LatencyClient * client, ctx.Client());
  HAKD_ASSIGN_OR_RETURN(hakd::v1::ListTrainingTasksResponse tasks,
                        client->ListTrainingTasks(request));
  if (ctx.options().json) return ctx.PrintJson(tasks);
  if (tasks.tasks_size() == 0) {
    ctx.out() << "no training tasks\n";
    return absl::OkStatus();
  }
  ctx.out() << TasksTable(tasks, ctx.NowUnixMs());
  return absl::OkStatus();
}

absl::Status RunTasksShow(CommandContext& ctx) {
  HAKD_ASSIGN_OR_RETURN(int64_t id, ParseTaskId(ctx.arguments()[0]));
  HAKD_ASSIGN_OR_RETURN(LatencyClient * client, ctx.Client());
  HAKD_ASSIGN_OR_RETURN(hakd::v1::TrainingTask task,
                        client->GetTrainingTask(id));
  if (ctx.options().json) return ctx.PrintJson(task);
  ctx.out() << TaskDetails(task, ctx.NowUnixMs());
  return absl::OkStatus();
}

absl::Status RunTasksCancel(CommandContext& ctx) {
  HAKD_ASSIGN_OR_RETURN(int64_t id, ParseTaskId(ctx.arguments()[0]));
  HAKD_ASSIGN_OR_RETURN(LatencyClient * client, ctx.Client());
  HAKD_ASSIGN_OR_RETURN(hakd::v1::TrainingTask task,
                        client->CancelTrainingTask(id));
  if (ctx.options().json) return ctx.PrintJson(task);
  ctx.out() << "task " << task.task_id() << " is "
            << TaskStateName(task.state()) << " after " << task.history_size()
            << " of " << TaskEpochs(task) << " epochs\n";
  return absl::OkStatus();
}

absl::Status WatchTaskUntilFinished(CommandContext& ctx, int64_t task_id) {
  const TrainingProgressPrinter::Mode mode =
      ctx.options().json      ? ProgressPrinter::Mode::kJson
      : ctx.out_is_terminal() ? ProgressPrinter::Mode::kTerminal
                              : ProgressPrinter::Mode::kLines;
  HAKD_ASSIGN_OR_RETURN(LatencyClient * client, ctx.Client());
  TrainingProgressPrinter printer(ctx.out(), mode);
  hakd::v1::TrainingTask last;
  bool seen = false;
  const absl::Status watched = client->WatchTrainingTask(
      task_id,
      [&](const hakd::v1::TrainingTask& task) -> absl::StatusOr<bool> {
        last = task;
        seen = true;
        HAKD_RETURN_IF_ERROR(printer.Update(task, ctx.NowUnixMs()));
        return !IsTaskFinished(task);  // the server ends the stream too
      });
  if (!watched.ok() || !seen || !IsTaskFinished(last)) {
    printer.Abort();
    if (!watched.ok()) return watched;
    return absl::UnavailableError(
        absl::StrCat("the coordinator ended the watch of task ", task_id,
                     " before the task finished; run 'hakdctl tasks watch ",
                     task_id, "' again"));
  }
  printer.Finish(last, ctx.NowUnixMs());
  switch (last.state()) {
    case hakd::v1::TASK_SUCCEEDED:
      return absl::OkStatus();
    case hakd::v1::TASK_CANCELLED:
      return WithExitCode(
          absl::CancelledError(absl::StrCat("task ", task_id, " was cancelled")),
          kExitFailure);
    default:
      return WithExitCode(
          absl::AbortedError(absl::StrCat(
              "task ", task_id, " failed",
              last.error().empty() ? "" : absl::StrCat(": ", last.error()))),
          kExitFailure);
  }
}

absl::Status RunTasksWatch(CommandContext& ctx) {
  HAKD_ASSIGN_OR_RETURN(int64_t id, ParseTaskId(ctx.arguments()[0]));
  return WatchTaskUntilFinished(ctx, id);
}

absl::Status RunArtifactGet(CommandContext& ctx) {
  const std::string& id = ctx.arguments()[0];
  if (id.empty()) return UsageError("expected an artifact ID, got ''");
  std::string path;
  if (std::optional<std::string> output = ctx.flags().String("output")) {
    path = *output;
  } else {
    if (absl::StrContains(id, '/') || id == "." || id == "..") {
      return UsageError(absl::StrCat("artifact ID '", id,
                                     "' is no file name; name one with -o"));
    }
    path = absl::StrCat(id, ".hakd");
  }
  HAKD_ASSIGN_OR_RETURN(LatencyClient * client, ctx.Client());
  // Created before the call so that an unwritable path fails first; the
  // temporary file goes away unless everything arrived intact.
  HAKD_ASSIGN_OR_RETURN(std::unique_ptr<AtomicFile> file,
                        AtomicFile::Create(path));
  ArtifactReceiver receiver(id, file->stream());
  HAKD_RETURN_IF_ERROR(client->GetArtifact(
      id, [&](const hakd::v1::ArtifactChunk& chunk) -> absl::StatusOr<bool> {
        HAKD_RETURN_IF_ERROR(receiver.Add(chunk));
        return true;
      }));
  HAKD_RETURN_IF_ERROR(receiver.Finish());
  HAKD_RETURN_IF_ERROR(file->Commit());
  if (ctx.options().json) return ctx.PrintJson(receiver.info());
  ctx.out() << "saved " << receiver.info().artifact_id() << " ("
            << receiver.bytes() << " bytes, sha256 " << receiver.sha256()
            << ") to " << path << "\n";
  return absl::OkStatus();
}

absl::Status RunWorkersList(CommandContext& ctx) {
  HAKD_ASSIGN_OR_RETURN(LatencyClient * client, ctx.Client());
  HAKD_ASSIGN_OR_RETURN(hakd::v1::ListWorkersResponse workers,
                        client->ListWorkers());
  if (ctx.options().json) return ctx.PrintJson(workers);
  if (workers.workers_size() == 0) {
    ctx.out() << "no workers\n";
    return absl::OkStatus();
  }
  ctx.out() << WorkersTable(workers, ctx.NowUnixMs());
  return absl::OkStatus();
}

}  // namespace hakd::cli
