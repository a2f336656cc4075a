// Text renderings of training tasks and workers for `tasks list/show/watch/
// cancel`, `train submit` and `workers list`, and the printer of a watched
// task's progress (a redrawn bar on a terminal, plain lines in a log, JSON
// lines for tools), built like the sweep's (progress.h).
#ifndef HAKD_CLI_TRAINING_TEXT_H_
#define HAKD_CLI_TRAINING_TEXT_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "cli/progress.h"
#include "hakd/v1/training.pb.h"

namespace hakd::cli {

// "queued", "running", "succeeded", "failed", "cancelled" (or "unknown").
std::string TaskStateName(hakd::v1::TaskState state);

// "student" when the task distills from a teacher artifact, else "teacher".
std::string TaskKind(const hakd::v1::TrainingTask& task);

// True for SUCCEEDED, FAILED and CANCELLED, after which nothing changes.
bool IsTaskFinished(const hakd::v1::TrainingTask& task);

// The task's epoch count: the worker's report, else the spec's, else the
// default 10.
int32_t TaskEpochs(const hakd::v1::TrainingTask& task);

// "3/10": the epoch in progress while running, else the finished epochs.
std::string TaskEpochText(const hakd::v1::TrainingTask& task);

// An accuracy 0..1 as a percentage, "91.23%".
std::string FormatAccuracy(double accuracy);

// The `tasks list` table: ID NAME KIND DATASET STATE EPOCH TEST ACC WORKER
// ATTEMPTS AGE (TEST ACC of the last finished epoch, AGE since creation).
std::string TasksTable(const hakd::v1::ListTrainingTasksResponse& tasks,
                       int64_t now_unix_ms);

// Every field of one task, "key: value" per line, then the per-epoch
// history table (EPOCH TRAIN LOSS TRAIN ACC TEST LOSS TEST ACC IMG/S SECONDS
// LR) when there is one.
std::string TaskDetails(const hakd::v1::TrainingTask& task,
                        int64_t now_unix_ms);

// The `workers list` table: NAME DEVICE DEVICE NAME MEMORY ONLINE TASK
// LAST SEEN.
std::string WorkersTable(const hakd::v1::ListWorkersResponse& workers,
                         int64_t now_unix_ms);

// One status line of a watched task, e.g. "[####........] epoch 3/10 step
// 120/469  loss 0.4321  acc 85.2%  1234 img/s  test acc 83.10%  on w1".
std::string FormatTrainingProgressLine(const hakd::v1::TrainingTask& task,
                                       int bar_width);

// Seconds the task has run: from its start (or creation) to its end, or to
// `now_unix_ms` while unfinished.
double TaskElapsedSeconds(const hakd::v1::TrainingTask& task,
                          int64_t now_unix_ms);

// The closing lines of a watch: state, time, final and best test accuracy,
// the model artifact (or the error).
std::string FormatTrainingFinal(const hakd::v1::TrainingTask& task,
                                int64_t now_unix_ms);

// Prints the updates of one watched task.
class TrainingProgressPrinter {
 public:
  using Mode = LiveDisplay::Mode;

  // Prints to `out`, which must outlive the printer. In kLines mode a line
  // is printed when the state, epoch, phase or history changes, otherwise
  // at most one per `min_interval_s`, and never the same line twice.
  TrainingProgressPrinter(std::ostream& out, Mode mode, int bar_width = 20,
                          double min_interval_s = 10.0)
      : display_(out, mode, min_interval_s), bar_width_(bar_width) {}

  // Shows `task` as seen at `now_unix_ms`.
  absl::Status Update(const hakd::v1::TrainingTask& task, int64_t now_unix_ms);

  // Ends the display after the last update: the final lines (not in JSON
  // mode, where the last object already says everything).
  void Finish(const hakd::v1::TrainingTask& task, int64_t now_unix_ms);

  // Ends the display early: closes a redrawn line.
  void Abort() { display_.Abort(); }

 private:
  LiveDisplay display_;
  int bar_width_;
  int last_state_ = -1;
  int last_epoch_ = -1;
  int last_history_ = -1;
  std::string last_phase_;
};

}  // namespace hakd::cli

#endif  // HAKD_CLI_TRAINING_TEXT_H_
