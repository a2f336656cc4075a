#include "cli/errors.h"


#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"

namespace hakd::cli {
namespace {

// The payload key under which the exit code rides on a status. A payload
// rather than a code mapping because INVALID_ARGUMENT from the server must
// not look like a usage error.
constexpr char kExitCodeUrl[] = "type.hakd.dev/hakdctl.exit_code";

}  // namespace

absl::Status UsageError(absl::string_view message) {
  return WithExitCode(absl::InvalidArgumentError(message), kExitUsage);
}

absl::Status WithExitCode(absl::Status status, int exit_code) {
  if (status.ok()) return status;
  status.SetPayload(kExitCodeUrl, absl::Cord(std::to_string(exit_code)));
  return status;
}

int ExitCodeOf(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  const auto payload = status.GetPayload(kExitCodeUrl);  // absl::optional
  int code = 0;
  if (payload.has_value() && absl::SimpleAtoi(std::string(*payload), &code) &&
      code > 0) {
    return code;
  }
  return kExitFailure;
}

std::string ErrorLine(const absl::Status& status) {
  std::string line =
      absl::StrReplaceAll(absl::StripAsciiWhitespace(status.message()),
                          {{"\r\n", " "}, {"\n", " "}, {"\r", " "}});
  if (line.empty()) line = std::string(absl::StatusCodeToString(status.code()));
  return line;
}

}  // namespace hakd::cli
