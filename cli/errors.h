// How hakdctl fails: every failure travels as an absl::Status and becomes one
// "hakdctl: ..." line and an exit code in a single place (run.cc), so scripts
// can rely on the codes below whatever command failed.
#ifndef HAKD_CLI_ERRORS_H_
#define HAKD_CLI_ERRORS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace hakd::cli {

// Process exit codes. Stable: scripts branch on them.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,      // anything not listed below
  kExitUsage = 2,        // the command line (or its files) is wrong
  kExitUnavailable = 3,  // the coordinator cannot be reached
  kExitAuth = 4,         // token refused or role not allowed
  kExitNotFound = 5,     // the named device or sweep does not exist
};

// Returns an error meaning "the command line is wrong" (exit 2).
absl::Status UsageError(absl::string_view message);

// Returns `status` carrying an explicit exit code.
absl::Status WithExitCode(absl::Status status, int exit_code);

// The exit code for `status`: 0 when OK, the attached code if any, else 1.
int ExitCodeOf(const absl::Status& status);

// The text after "hakdctl: " for a failed status, always a single line
// because scripts and people read stderr line by line.
std::string ErrorLine(const absl::Status& status);

}  // namespace hakd::cli

#endif  // HAKD_CLI_ERRORS_H_
