// The flags every hakdctl command shares, resolved against the environment:
// a flag wins over HAKD_SERVER / HAKD_TOKEN_FILE, which win over defaults.
#ifndef HAKD_CLI_GLOBAL_OPTIONS_H_
#define HAKD_CLI_GLOBAL_OPTIONS_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "cli/args.h"
#include "common/grpc_client.h"

namespace hakd::cli {

// Looks up an environment variable; nullopt when unset. Injected so tests do
// not depend on (or change) the real environment.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;

// The process environment.
EnvLookup ProcessEnv();

// Options shared by every command.
struct GlobalOptions {
  ClientOptions client;         // server address and TLS
  std::string token_file;       // empty when neither flag nor env gave one
  bool json = false;            // machine-readable output
  double timeout_seconds = 30;  // deadline of each unary call
  bool help = false;            // usage asked for
};

// Resolves the global flags of a parsed command line. Never fails on a
// missing token file: only commands that call the coordinator need one.
GlobalOptions ResolveGlobalOptions(const FlagValues& flags,
                                   const EnvLookup& env);

}  // namespace hakd::cli

#endif  // HAKD_CLI_GLOBAL_OPTIONS_H_
