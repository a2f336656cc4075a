// Minimal process logging: one timestamped line per event on stderr.
// (The Debian Abseil 20220623 predates absl/log.)
#ifndef HAKD_COMMON_LOG_H_
#define HAKD_COMMON_LOG_H_

#include "absl/strings/string_view.h"

namespace hakd {

// Writes "<UTC time> <component>: <message>\n" to stderr atomically.
void LogLine(absl::string_view component, absl::string_view message);

}  // namespace hakd

#endif  // HAKD_COMMON_LOG_H_
