#include "cli/live_display.h"

namespace hakd::cli {

absl::Status LiveDisplay::Show(
    const std::function<absl::StatusOr<std::string>()>& json,
    const std::string& line, bool news, int64_t now_unix_ms) {
  switch (mode_) {
    case Mode::kJson: {
      absl::StatusOr<std::string> text = json();
      if (!text.ok()) return text.status();
      out_ << *text << "\n" << std::flush;
      break;
    }
    case Mode::kTerminal:
      // "\x1b[K" clears what a longer previous line left behind.
      out_ << "\r" << line << "\x1b[K" << std::flush;
      line_open_ = true;
      break;
    case Mode::kLines: {
      // A log should not get a line per step, but news is worth a line at
      // once; repeating an unchanged line says nothing, however much time
      // passed.
      const bool due = now_unix_ms - last_print_ms_ >=
                       static_cast<int64_t>(min_interval_s_ * 1000);
      if ((news || !printed_any_ || due) && line != last_line_) {
        out_ << line << "\n" << std::flush;
        last_print_ms_ = now_unix_ms;
        last_line_ = line;
        printed_any_ = true;
      }
      break;
    }
  }
  return out_ ? absl::OkStatus()
              : absl::DataLossError("cannot write to standard output");
}

void LiveDisplay::Finish(const std::string& text) {
  if (mode_ == Mode::kJson) return;
  if (line_open_) out_ << "\n";
  line_open_ = false;
  out_ << text << std::flush;
}

void LiveDisplay::Abort() {
  if (line_open_) out_ << "\n" << std::flush;
  line_open_ = false;
}

}  // namespace hakd::cli
