#include "cli/progress.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/json_output.h"
#include "cli/time_format.h"

namespace hakd::cli {

using hakd::v1::Sweep;

std::string FormatProgressBar(int64_t done, int64_t total, int width) {
  width = std::max(width, 1);
  int64_t filled = 0;
  if (total > 0) {
    filled = std::clamp<int64_t>(done, 0, total) * width / total;
  }
  return absl::StrCat("[", std::string(filled, '#'),
                      std::string(width - filled, '.'), "]");
}

bool IsFinished(const Sweep& sweep) {
  return sweep.state() == Sweep::STATE_DONE ||
         sweep.state() == Sweep::STATE_CANCELLED;
}

std::string FormatProgressLine(const Sweep& sweep, int bar_width) {
  const int64_t done = int64_t{sweep.measured()} + sweep.failed();
  const int64_t total = sweep.total();
  const double percent =
      total > 0 ? 100.0 * std::min(done, total) / total
                : (sweep.state() == Sweep::STATE_DONE ? 100.0 : 0.0);
  std::string line = absl::StrFormat("%s %d/%d %.1f%%",
                                     FormatProgressBar(done, total, bar_width),
                                     done, total, percent);
  switch (sweep.state()) {
    case Sweep::STATE_RUNNING: {
      const double rate = sweep.layers_per_second();
      if (rate > 0) {
        absl::StrAppend(
            &line, absl::StrFormat("  %.1f layers/s", rate), "  ETA ",
            FormatDuration(std::max<int64_t>(0, total - done) / rate));
      } else {
        absl::StrAppend(&line, "  -- layers/s  ETA --");
      }
      break;
    }
    case Sweep::STATE_QUEUED:
      absl::StrAppend(&line, "  queued");
      break;
    case Sweep::STATE_DONE:
      absl::StrAppend(&line, "  done");
      break;
    case Sweep::STATE_CANCELLED:
      absl::StrAppend(&line, "  cancelled");
      break;
    default:
      break;
  }
  if (sweep.failed() > 0)
    absl::StrAppend(&line, "  ", sweep.failed(), " failed");
  if (!IsFinished(sweep)) {
    absl::StrAppend(
        &line, sweep.device_online() ? "  device online" : "  device offline");
  }
  return line;
}

double SweepElapsedSeconds(const Sweep& sweep, int64_t now_unix_ms) {
  const int64_t start = sweep.started_unix_ms() != 0 ? sweep.started_unix_ms()
                                                     : sweep.created_unix_ms();
  const int64_t end =
      sweep.finished_unix_ms() != 0 ? sweep.finished_unix_ms() : now_unix_ms;
  if (start == 0 || end < start) return 0;
  return (end - start) / 1000.0;
}

std::string FormatSweepFinal(const Sweep& sweep, int64_t now_unix_ms) {
  const char* state = sweep.state() == Sweep::STATE_DONE        ? "done"
                      : sweep.state() == Sweep::STATE_CANCELLED ? "cancelled"
                                                                : "stopped";
  return absl::StrCat("sweep ", sweep.id(), " ", state, ": ", sweep.measured(),
                      " of ", sweep.total(), " measured, ", sweep.failed(),
                      " failed in ",
                      FormatDuration(SweepElapsedSeconds(sweep, now_unix_ms)));
}

absl::Status ProgressPrinter::Update(const Sweep& sweep, int64_t now_unix_ms) {
  // A log should not get a line per layer, but a state change or the device
  // dropping off is news worth a line at once.
  const bool news = sweep.state() != last_state_ ||
                    sweep.device_online() != last_online_;
  last_state_ = sweep.state();
  last_online_ = sweep.device_online();
  return display_.Show([&] { return ToJson(sweep); },
                       FormatProgressLine(sweep, bar_width_), news,
                       now_unix_ms);
}

void ProgressPrinter::Finish(const Sweep& sweep, int64_t now_unix_ms) {
  display_.Finish(FormatSweepFinal(sweep, now_unix_ms) + "\n");
}

}  // namespace hakd::cli
