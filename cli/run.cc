#include "cli/run.h"

#include <map>

#include "absl/strings/str_join.h"
#include "cli/admin_commands.h"
#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/grammar.h"
#include "cli/usage.h"

namespace hakd::cli {
namespace {

using Handler = absl::Status (*)(CommandContext&);

// Command words -> implementation. Every grammar command but "help" must be
// here; RunHakdctl reports a missing one rather than doing nothing.
const std::map<std::string, Handler>& Handlers() {
  static const auto* const handlers = [] {
    auto* h = new std::map<std::string, Handler>{
      {"devices list", RunDevicesList},
      {"devices show", RunDevicesShow},
      {"sweep start", RunSweepStart},
      {"sweep watch", RunSweepWatch},
      {"sweep list", RunSweepList},
      {"sweep show", RunSweepShow},
      {"sweep cancel", RunSweepCancel},
      {"latency query", RunLatencyQuery},
      {"latency export", RunLatencyExport},
      {"latency staircase", RunLatencyStaircase},
      {"latency summary", RunLatencySummary},
      {"latency predict", RunLatencyPredict},
      {"latency fit-overhead", RunLatencyFitOverhead},
      {"train submit", RunTrainSubmit},
      {"tasks list", RunTasksList},
      {"tasks show", RunTasksShow},
      {"tasks watch", RunTasksWatch},
      {"tasks cancel", RunTasksCancel},
      {"artifact get", RunArtifactGet},
      {"workers list", RunWorkersList},
      {"design submit", RunDesignSubmit},
      {"design watch", RunDesignWatch},
      {"design report", RunDesignReport},
      {"design list", RunDesignList},
      {"design cancel", RunDesignCancel},
    };
    // The admin subcommands come with their own table (admin_commands.h).
    for (const AdminCommand& c : AdminCommands()) {
      h->emplace(absl::StrJoin(c.spec.words, " "), c.run);
    }
    return h;
  }();
  return *handlers;
}

absl::Status Run(const std::vector<std::string>& args,
                 const RunEnvironment& env) {
  const Grammar& grammar = HakdctlGrammar();
  absl::StatusOr<CommandLine> line = ParseCommandLine(grammar, args);
  if (!line.ok()) return line.status();
  const GlobalOptions options = ResolveGlobalOptions(line->flags, env.env);

  const bool help_command =
      line->command != nullptr &&
      line->command->words == std::vector<std::string>{"help"};
  if (options.help || help_command) {
    std::vector<std::string> topic = line->arguments;
    if (line->command != nullptr && !help_command) topic = line->command->words;
    absl::StatusOr<std::string> usage = UsageTextFor(grammar, topic);
    if (!usage.ok()) return usage.status();
    *env.out << *usage;
    return absl::OkStatus();
  }

  const std::string name = absl::StrJoin(line->command->words, " ");
  auto handler = Handlers().find(name);
  if (handler == Handlers().end()) {
    return absl::InternalError("command '" + name + "' has no implementation");
  }
  CommandContext ctx(*line, options, *env.out, *env.err, env.out_is_terminal,
                     env.clock, env.connect);
  absl::Status status = handler->second(ctx);
  env.out->flush();
  if (status.ok() && !*env.out) {
    return absl::DataLossError("cannot write to standard output");
  }
  return status;
}

}  // namespace

int RunHakdctl(const std::vector<std::string>& args,
               const RunEnvironment& env) {
  const absl::Status status = Run(args, env);
  if (status.ok()) return kExitOk;
  env.out->flush();
  *env.err << "hakdctl: " << ErrorLine(status) << "\n" << std::flush;
  return ExitCodeOf(status);
}

}  // namespace hakd::cli
