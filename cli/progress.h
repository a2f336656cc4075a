// How `sweep watch` shows a sweep's progress: a redrawn bar on a terminal,
// throttled plain lines in a log, or one JSON object per update for tools.
#ifndef HAKD_CLI_PROGRESS_H_
#define HAKD_CLI_PROGRESS_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "cli/live_display.h"
#include "hakd/v1/latency_service.pb.h"

namespace hakd::cli {

// "[#####.....]": `done` of `total` in `width` cells, rounded down so the bar
// is full only when everything is done.
std::string FormatProgressBar(int64_t done, int64_t total, int width);

// One status line, e.g.
// "[#####.....] 123/2241 5.5%  3.1 layers/s  ETA 11m20s  device online".
// Done counts measured and failed layers; failures and non-running states
// ("queued", "done", "cancelled") are named; "device offline" when the agent
// is gone.
std::string FormatProgressLine(const hakd::v1::Sweep& sweep, int bar_width);

// Seconds the sweep has run: from its start (or creation, if it never
// started) to its end, or to `now_unix_ms` while unfinished.
double SweepElapsedSeconds(const hakd::v1::Sweep& sweep, int64_t now_unix_ms);

// The closing line, e.g.
// "sweep 7 done: 2230 of 2241 measured, 11 failed in 12m03s".
std::string FormatSweepFinal(const hakd::v1::Sweep& sweep, int64_t now_unix_ms);

// True for DONE and CANCELLED, after which nothing changes.
bool IsFinished(const hakd::v1::Sweep& sweep);

// Prints the updates of one watched sweep.
class ProgressPrinter {
 public:
  // How updates are shown; in kLines mode a change of state or of the
  // device's presence is news, printed at once.
  using Mode = LiveDisplay::Mode;

  // Prints to `out`, which must outlive the printer.
  ProgressPrinter(std::ostream& out, Mode mode, int bar_width = 20,
                  double min_interval_s = 2.0)
      : display_(out, mode, min_interval_s), bar_width_(bar_width) {}

  // Shows `sweep` as seen at `now_unix_ms`.
  absl::Status Update(const hakd::v1::Sweep& sweep, int64_t now_unix_ms);

  // Ends the display after the last update: the final line (not in JSON
  // mode, where the last object already says everything).
  void Finish(const hakd::v1::Sweep& sweep, int64_t now_unix_ms);

  // Ends the display early (the watch failed): closes a redrawn line so the
  // error printed next starts on a line of its own.
  void Abort() { display_.Abort(); }

 private:
  LiveDisplay display_;
  int bar_width_;
  int last_state_ = -1;
  bool last_online_ = false;
};

}  // namespace hakd::cli

#endif  // HAKD_CLI_PROGRESS_H_
