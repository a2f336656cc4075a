// Human renderings of times for tables and progress lines: compact durations
// ("11m20s"), ages ("3s ago") and local timestamps.
#ifndef HAKD_CLI_TIME_FORMAT_H_
#define HAKD_CLI_TIME_FORMAT_H_

#include <cstdint>
#include <string>

namespace hakd::cli {

// A duration in the two largest units: "45s", "11m20s", "2h05m", "3d04h".
// Negative durations print as "0s".
std::string FormatDuration(double seconds);

// How long before `now_unix_ms` the moment `then_unix_ms` was, in its largest
// unit: "3s ago", "5m ago", "7h ago", "12d ago". 0 (never set) is "never";
// moments in the future (clock skew between hosts) are "0s ago".
std::string FormatAgo(int64_t then_unix_ms, int64_t now_unix_ms);

// Local wall-clock time "2024-05-01 12:34:56", or "-" for 0 (never set).
std::string FormatTimestamp(int64_t unix_ms);

}  // namespace hakd::cli

#endif  // HAKD_CLI_TIME_FORMAT_H_
