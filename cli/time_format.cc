#include "cli/time_format.h"

#include <cmath>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace hakd::cli {

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  const int64_t s = static_cast<int64_t>(std::llround(seconds));
  if (s < 60) return absl::StrFormat("%ds", s);
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  if (s < 86400) return absl::StrFormat("%dh%02dm", s / 3600, (s % 3600) / 60);
  return absl::StrFormat("%dd%02dh", s / 86400, (s % 86400) / 3600);
}

std::string FormatAgo(int64_t then_unix_ms, int64_t now_unix_ms) {
  if (then_unix_ms == 0) return "never";
  const int64_t s = std::max<int64_t>(0, (now_unix_ms - then_unix_ms) / 1000);
  if (s < 60) return absl::StrFormat("%ds ago", s);
  if (s < 3600) return absl::StrFormat("%dm ago", s / 60);
  if (s < 2 * 86400) return absl::StrFormat("%dh ago", s / 3600);
  return absl::StrFormat("%dd ago", s / 86400);
}

std::string FormatTimestamp(int64_t unix_ms) {
  if (unix_ms == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMillis(unix_ms),
                          absl::LocalTimeZone());
}

}  // namespace hakd::cli
