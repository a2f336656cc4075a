// `hakdctl admin ...`: administration of the coordinator itself (admin token
// only). The admin subcommands are listed once, in the table behind
// AdminCommands(): each entry is a subcommand's grammar and its function.
// The grammar (grammar.cc) and the dispatcher (run.cc) take them from
// there, so adding one, say `admin token create`, is one entry in
// admin_commands.cc plus its function (and any new flag in grammar.cc).
#ifndef HAKD_CLI_ADMIN_COMMANDS_H_
#define HAKD_CLI_ADMIN_COMMANDS_H_

#include <vector>

#include "absl/status/status.h"
#include "cli/args.h"
#include "cli/command_context.h"

namespace hakd::cli {

// One admin subcommand.
struct AdminCommand {
  CommandSpec spec;                          // words begin with "admin"
  absl::Status (*run)(CommandContext& ctx);  // what it does
};

// Every admin subcommand, in the order usage lists them.
const std::vector<AdminCommand>& AdminCommands();

}  // namespace hakd::cli

#endif  // HAKD_CLI_ADMIN_COMMANDS_H_
