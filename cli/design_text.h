// Text renderings of design jobs for `design list/watch/cancel/submit`, and
// the printer of a watched job: a line per stage as stages end, the stage in
// progress redrawn (terminal) or printed when it changes (log), or one JSON
// object per update for tools. The report lives in design_report.h.
#ifndef HAKD_CLI_DESIGN_TEXT_H_
#define HAKD_CLI_DESIGN_TEXT_H_

#include <cstdint>
#include <ostream>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "cli/live_display.h"
#include "hakd/v1/design.pb.h"

namespace hakd::cli {

// "running", "succeeded", "failed", "cancelled" (or "unknown").
std::string DesignStateName(hakd::v1::DesignState state);

// "teacher", "saliency", "coverage", "design", "distillation",
// "verification", "report" (or "unknown").
std::string DesignStageName(hakd::v1::DesignStage stage);

// "teacher", "hakd", "uniform", "fisher", "magnitude" (or "unknown").
std::string CandidateRoleName(hakd::v1::CandidateRole role);

// True for SUCCEEDED, FAILED and CANCELLED, after which nothing changes.
bool IsDesignFinished(const hakd::v1::DesignJob& job);

// A budget in ms as typed on the command line: "5", "2.5".
std::string FormatBudgetMs(double ms);

// The budgets as --budget takes them: "rpi4=5ms, nano=2.5ms".
std::string FormatBudgets(const hakd::v1::DesignSpec& spec);

// One stage: a mark (✓ done, … running, waiting, failed, skipped, pending)
// padded to 7 columns, the stage name padded to 12, "done/total" when there
// is a total, and the stage's message, e.g.
// "✓       teacher       10/10  trained WRN-16-2".
std::string FormatStageLine(const hakd::v1::StageStatus& stage);

// The stage the job is in when it is running, pending or waiting; null
// when none is (e.g. the job has ended).
const hakd::v1::StageStatus* CurrentStage(const hakd::v1::DesignJob& job);

// "distillation 2/5", "coverage (waiting)": the job's stage with its
// progress, for tables and one-line summaries ("-" before any stage).
std::string StageSummary(const hakd::v1::DesignJob& job);

// The latency of `candidate` on the spec's `device_index`-th budget device:
// the entry naming that device, else the entry at the same index (the
// coordinator may name a device other than as it was given), else null.
const hakd::v1::DeviceLatency* FindLatency(const hakd::v1::Candidate& candidate,
                                           const hakd::v1::DesignSpec& spec,
                                           int device_index);

// The `design list` table: ID NAME STATE STAGE BUDGETS CREATED RECOMMENDED.
std::string DesignsTable(const hakd::v1::ListDesignsResponse& jobs,
                         int64_t now_unix_ms);

// Seconds from the job's creation to its end, or to `now_unix_ms`.
double DesignElapsedSeconds(const hakd::v1::DesignJob& job,
                            int64_t now_unix_ms);

// The recommended student in one phrase, "hakd-2 (93.20% test accuracy;
// rpi4 4.81 ms of 5 ms)", or "" when there is none yet.
std::string RecommendedSummary(const hakd::v1::DesignJob& job);

// The closing lines of a watch: state, time, stage where it ended, the
// recommended student or the error, and where to read the report.
std::string FormatDesignFinal(const hakd::v1::DesignJob& job,
                              int64_t now_unix_ms);

// Prints the updates of one watched design job.
class DesignProgressPrinter {
 public:
  using Mode = LiveDisplay::Mode;

  // Prints to `out`, which must outlive the printer. Stages run for
  // minutes to hours, so in kLines mode an unchanged stage is reprinted at
  // most every `min_interval_s`.
  DesignProgressPrinter(std::ostream& out, Mode mode,
                        double min_interval_s = 60.0)
      : display_(out, mode, min_interval_s) {}

  // Shows `job` as seen at `now_unix_ms`: every stage that ended since the
  // last update gets its final line, once; then the stage in progress.
  absl::Status Update(const hakd::v1::DesignJob& job, int64_t now_unix_ms);

  // Ends the display after the last update (nothing in JSON mode).
  void Finish(const hakd::v1::DesignJob& job, int64_t now_unix_ms);

  // Ends the display early: closes a redrawn line.
  void Abort() { display_.Abort(); }

 private:
  LiveDisplay display_;
  std::set<int> ended_;  // stages whose final line is printed
  int last_stage_ = -1;
  int last_stage_state_ = -1;
};

}  // namespace hakd::cli

#endif  // HAKD_CLI_DESIGN_TEXT_H_
