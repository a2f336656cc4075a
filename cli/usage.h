// Usage text of hakdctl, generated from the grammar so it lists exactly the
// commands and flags the parser accepts.
#ifndef HAKD_CLI_USAGE_H_
#define HAKD_CLI_USAGE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/args.h"

namespace hakd::cli {

// The complete usage text: commands, flags, SPEC syntax and exit codes.
std::string UsageText(const Grammar& grammar);

// Usage of the commands whose words begin with `topic` (e.g. {"sweep"} or
// {"sweep", "start"}); an empty topic gives UsageText. A usage error when no
// command matches.
absl::StatusOr<std::string> UsageTextFor(const Grammar& grammar,
                                         const std::vector<std::string>& topic);

}  // namespace hakd::cli

#endif  // HAKD_CLI_USAGE_H_
