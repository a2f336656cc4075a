// What a hakdctl command runs with: its parsed command line, the global
// options, where to print, the clock, and the coordinator client. Commands
// take everything from here, never from process globals, so the same code
// runs in main and in tests.
#ifndef HAKD_CLI_COMMAND_CONTEXT_H_
#define HAKD_CLI_COMMAND_CONTEXT_H_

#include <google/protobuf/message.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cli/args.h"
#include "cli/global_options.h"
#include "cli/latency_client.h"

namespace hakd::cli {

// Opens a client for the options (LatencyClient::Create outside tests).
using Connector = std::function<absl::StatusOr<std::unique_ptr<LatencyClient>>(
    const GlobalOptions&)>;

// The environment of one command run.
class CommandContext {
 public:
  // All references must outlive the context.
  CommandContext(const CommandLine& line, const GlobalOptions& options,
                 std::ostream& out, std::ostream& err, bool out_is_terminal,
                 std::function<int64_t()> clock, Connector connect);

  // Flags given (global and command).
  const FlagValues& flags() const { return line_.flags; }
  // Positional arguments after the command words.
  const std::vector<std::string>& arguments() const { return line_.arguments; }
  // Resolved global options.
  const GlobalOptions& options() const { return options_; }
  // Standard output and standard error.
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }
  // True when standard output is a terminal (progress is redrawn in place).
  bool out_is_terminal() const { return out_is_terminal_; }
  // Wall-clock time now.
  int64_t NowUnixMs() const { return clock_(); }

  // The coordinator client, opened on first use so that usage errors are
  // reported before the token file is even read.
  absl::StatusOr<LatencyClient*> Client();

  // The value of a flag the command cannot do without; a usage error naming
  // it when absent.
  absl::StatusOr<std::string> RequiredFlag(absl::string_view name) const;

  // Prints `message` as one line of JSON on standard output.
  absl::Status PrintJson(const google::protobuf::Message& message);

 private:
  const CommandLine& line_;
  const GlobalOptions& options_;
  std::ostream& out_;
  std::ostream& err_;
  bool out_is_terminal_;
  std::function<int64_t()> clock_;
  Connector connect_;
  std::unique_ptr<LatencyClient> client_;
};

// Parses a sweep id argument; a usage error unless it is a whole number >= 1.
absl::StatusOr<int64_t> ParseSweepId(absl::string_view text);

}  // namespace hakd::cli

#endif  // HAKD_CLI_COMMAND_CONTEXT_H_
