// The hakdctl commands. Each reads its flags from the context, calls the
// coordinator and prints a human table or, with --json, protobuf JSON.
#ifndef HAKD_CLI_COMMANDS_H_
#define HAKD_CLI_COMMANDS_H_

#include <cstdint>
#include <ostream>

#include "absl/status/status.h"
#include "cli/command_context.h"
#include "cli/progress.h"

namespace hakd::cli {

// devices list: every device in a table.
absl::Status RunDevicesList(CommandContext& ctx);
// devices show D: every fact of one device.
absl::Status RunDevicesShow(CommandContext& ctx);

// sweep start: starts a sweep (then watches it with --watch).
absl::Status RunSweepStart(CommandContext& ctx);
// sweep watch ID: follows a sweep until DONE (OK) or CANCELLED (exit 1).
absl::Status RunSweepWatch(CommandContext& ctx);
// sweep list [--device D].
absl::Status RunSweepList(CommandContext& ctx);
// sweep show ID.
absl::Status RunSweepShow(CommandContext& ctx);
// sweep cancel ID.
absl::Status RunSweepCancel(CommandContext& ctx);

// Follows sweep `sweep_id` (shared by `sweep watch` and `sweep start --watch`).
absl::Status WatchSweepUntilFinished(CommandContext& ctx, int64_t sweep_id);
// The same with the progress shown on `progress` in `mode` (e.g. standard
// error when standard output must hold a single JSON document).
absl::Status WatchSweepUntilFinished(CommandContext& ctx, int64_t sweep_id,
                                     std::ostream& progress,
                                     ProgressPrinter::Mode mode);

// latency query: measurements matching the layer flags.
absl::Status RunLatencyQuery(CommandContext& ctx);
// latency export: every measurement of a device as CSV or JSON.
absl::Status RunLatencyExport(CommandContext& ctx);
// latency staircase: latency steps, optionally plotted to SVG.
absl::Status RunLatencyStaircase(CommandContext& ctx);
// latency summary: device facts, totals and every family's steps.
absl::Status RunLatencySummary(CommandContext& ctx);
// latency predict: a network's predicted latency, unit by unit; with
// --measure-missing, measures what cannot be predicted and predicts again.
// Exit 1 when the prediction it ends with is incomplete.
absl::Status RunLatencyPredict(CommandContext& ctx);
// latency fit-overhead: fits and shows a device's overhead model.
absl::Status RunLatencyFitOverhead(CommandContext& ctx);

// train submit: queues a training task (then watches it with --watch).
absl::Status RunTrainSubmit(CommandContext& ctx);
// tasks list [--state S] [--limit N].
absl::Status RunTasksList(CommandContext& ctx);
// tasks show ID: details and per-epoch history.
absl::Status RunTasksShow(CommandContext& ctx);
// tasks watch ID: follows a task until it ends; OK when it SUCCEEDED, exit 1
// with the error when it FAILED or was CANCELLED.
absl::Status RunTasksWatch(CommandContext& ctx);
// tasks cancel ID.
absl::Status RunTasksCancel(CommandContext& ctx);
// artifact get ID [-o FILE]: downloads, checks size and SHA-256, and only
// then renames the file into place.
absl::Status RunArtifactGet(CommandContext& ctx);
// workers list.
absl::Status RunWorkersList(CommandContext& ctx);

// Follows training task `task_id` (shared by `tasks watch` and
// `train submit --watch`).
absl::Status WatchTaskUntilFinished(CommandContext& ctx, int64_t task_id);

// design submit: validates the flags, queues a design job (then watches it
// with --watch).
absl::Status RunDesignSubmit(CommandContext& ctx);
// design watch JOB: follows a job stage by stage; OK when it SUCCEEDED, exit
// 1 with the error when it FAILED or was CANCELLED.
absl::Status RunDesignWatch(CommandContext& ctx);
// design report JOB [--plot FILE]: teacher, students and baselines side by
// side, optionally plotted to SVG.
absl::Status RunDesignReport(CommandContext& ctx);
// design list [--limit N].
absl::Status RunDesignList(CommandContext& ctx);
// design cancel JOB.
absl::Status RunDesignCancel(CommandContext& ctx);

// Follows design job `job_id` (shared by `design watch` and
// `design submit --watch`).
absl::Status WatchDesignUntilFinished(CommandContext& ctx, int64_t job_id);

// admin backup FILE: streams a consistent snapshot of the coordinator's
// database into FILE, checks its size and SHA-256, fsyncs it and only then
// renames it into place. Listed in the admin table (admin_commands.h).
absl::Status RunAdminBackup(CommandContext& ctx);
// admin token create --role R [--device NAME] [--name ID]: a new random
// token, printed once, and the auth-file line holding only its SHA-256.
// Local: calls no coordinator.
absl::Status RunAdminTokenCreate(CommandContext& ctx);

}  // namespace hakd::cli

#endif  // HAKD_CLI_COMMANDS_H_
