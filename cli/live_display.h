// The display machinery shared by `sweep watch` and `tasks watch`: a line
// redrawn in place on a terminal, throttled plain lines in a log, or one
// JSON object per update for tools. The watchers decide what a line says
// and what counts as news; this decides when and how it is written.
#ifndef HAKD_CLI_LIVE_DISPLAY_H_
#define HAKD_CLI_LIVE_DISPLAY_H_

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace hakd::cli {

class LiveDisplay {
 public:
  // How updates are shown.
  enum class Mode {
    kTerminal,  // one line redrawn in place with '\r'
    kLines,     // a new line per changed update, at most one per
                // min_interval_s unless the update is news
    kJson,      // every update as one line of JSON
  };

  // Writes to `out`, which must outlive the display.
  LiveDisplay(std::ostream& out, Mode mode, double min_interval_s)
      : out_(out), mode_(mode), min_interval_s_(min_interval_s) {}

  // Shows one update: `json` (called only in kJson mode) or `line`. In
  // kLines mode the line is printed when it is `news` (the first update is
  // always news) or min_interval_s has passed, and never twice in a row.
  // DATA_LOSS when the output cannot be written.
  absl::Status Show(const std::function<absl::StatusOr<std::string>()>& json,
                    const std::string& line, bool news, int64_t now_unix_ms);

  // Ends the display with `text` printed as given (nothing in kJson mode,
  // where the last object already says everything).
  void Finish(const std::string& text);

  // Ends the display early: closes a redrawn line so that what is printed
  // next starts on a line of its own.
  void Abort();

  Mode mode() const { return mode_; }

 private:
  std::ostream& out_;
  const Mode mode_;
  const double min_interval_s_;
  bool printed_any_ = false;
  int64_t last_print_ms_ = 0;
  bool line_open_ = false;  // a terminal line awaits its newline
  std::string last_line_;   // the last line printed in kLines mode
};

}  // namespace hakd::cli

#endif  // HAKD_CLI_LIVE_DISPLAY_H_
