#include "cli/number_format.h"

#include <cmath>

#include "absl/strings/str_format.h"

namespace hakd::cli {

std::string FormatMicros(double us) {
  const double a = std::fabs(us);
  if (a >= 100) return absl::StrFormat("%.0f", us);
  if (a >= 10) return absl::StrFormat("%.1f", us);
  if (a >= 1) return absl::StrFormat("%.2f", us);
  return absl::StrFormat("%.3f", us);
}

std::string FormatMillis(double us) { return FormatMicros(us / 1000); }

std::string FormatCount(int64_t n) {
  static constexpr const char* kSuffixes[] = {"K", "M", "G", "T"};
  if (n < 1000 && n > -1000) return absl::StrFormat("%d", n);
  double value = static_cast<double>(n);
  int suffix = -1;
  while (std::fabs(value) >= 999.95 && suffix < 3) {
    value /= 1000;
    ++suffix;
  }
  return absl::StrFormat("%.1f%s", value, kSuffixes[suffix]);
}

std::string FormatBytes(int64_t bytes) {
  if (bytes <= 0) return "-";
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  if (unit == 0) return absl::StrFormat("%d B", bytes);
  return absl::StrFormat("%.1f %s", value, kUnits[unit]);
}

}  // namespace hakd::cli
