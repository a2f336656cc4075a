// The whole of hakdctl behind main(): parse, show usage or dispatch to a
// command, and turn any failure into one "hakdctl: ..." line on standard
// error and an exit code (see errors.h).
#ifndef HAKD_CLI_RUN_H_
#define HAKD_CLI_RUN_H_

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "cli/command_context.h"
#include "cli/global_options.h"

namespace hakd::cli {

// What hakdctl runs against; main passes the real process, tests fakes.
struct RunEnvironment {
  std::ostream* out = nullptr;     // standard output
  std::ostream* err = nullptr;     // standard error
  EnvLookup env;                   // environment variables
  bool out_is_terminal = false;    // stdout is a TTY
  std::function<int64_t()> clock;  // wall clock, Unix ms
  Connector connect;               // opens the coordinator client
};

// Runs hakdctl with `args` (without the program name); returns the exit code.
int RunHakdctl(const std::vector<std::string>& args, const RunEnvironment& env);

}  // namespace hakd::cli

#endif  // HAKD_CLI_RUN_H_
