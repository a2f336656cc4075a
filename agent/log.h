// Progress lines of the agent on stderr, through common/log.h:
// "<UTC time> hakd-agent: <line>".
#ifndef HAKD_AGENT_LOG_H_
#define HAKD_AGENT_LOG_H_

#include "absl/strings/str_format.h"
#include "common/log.h"

namespace hakd::agent {

// Logs one line, formatted as absl::StrFormat. Thread-safe.
template <typename... Args>
void Logf(const absl::FormatSpec<Args...>& format, const Args&... args) {
  hakd::LogLine("hakd-agent", absl::StrFormat(format, args...));
}

}  // namespace hakd::agent

#endif  // HAKD_AGENT_LOG_H_
