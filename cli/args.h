// A small, strict command-line parser for "word word ARG --flag value" style
// commands. absl flags are process-global and know nothing of subcommands, so
// hakdctl describes its grammar as data and parses it here. Flags may appear
// anywhere, before or after the command words; --flag=value is accepted.
#ifndef HAKD_CLI_ARGS_H_
#define HAKD_CLI_ARGS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hakd::cli {

// What a flag's value must be. Numbers are checked while parsing so that a
// typo fails before anything is sent to the coordinator.
enum class FlagType {
  kBool,            // no value: present or not
  kString,          // any value
  kCount,           // integer >= 0 that fits int32
  kPositiveInt,     // integer >= 1 that fits int32
  kNumber,          // finite decimal >= 0
  kPositiveNumber,  // finite decimal > 0
};

// One flag the grammar knows.
struct FlagSpec {
  std::string name;  // without dashes: "device" for --device
  FlagType type = FlagType::kString;
  bool repeatable = false;  // may be given more than once (e.g. --family)
  std::string value_name;   // placeholder in usage text, e.g. "N"
  std::string help;         // one line for usage text
};

// One command: its words, positional arguments and accepted flags.
struct CommandSpec {
  std::vector<std::string> words;      // e.g. {"sweep", "start"}
  std::vector<std::string> arguments;  // positional names, e.g. {"ID"}
  bool variadic = false;               // accepts any number of arguments
  std::vector<std::string> flags;      // names of command flags it accepts
  std::string summary;                 // one line for usage text
  std::vector<std::string> required;   // flags (among `flags`) it needs
};

// Everything the parser needs to know. A flag name means the same (same
// type) for every command that accepts it, which is what lets flags appear
// before the command words.
struct Grammar {
  std::vector<FlagSpec> global_flags;   // accepted by every command
  std::vector<FlagSpec> command_flags;  // accepted by commands listing them
  std::vector<CommandSpec> commands;
  // Single-dash short names of command flags, e.g. {"o", "output"} for -o.
  std::map<std::string, std::string, std::less<>> short_flags;

  // The spec of a flag by name, or null when the grammar has none.
  const FlagSpec* FindFlag(absl::string_view name) const;
  // True when `name` is one of global_flags.
  bool IsGlobalFlag(absl::string_view name) const;
};

// The flags given on a command line, already checked against their types.
class FlagValues {
 public:
  // Records one occurrence of a flag ("" for a boolean flag).
  void Add(absl::string_view name, std::string value);
  // True when the flag was given.
  bool Has(absl::string_view name) const;
  // The last value given, or nullopt.
  std::optional<std::string> String(absl::string_view name) const;
  // Every value given, in order.
  std::vector<std::string> Strings(absl::string_view name) const;
  // The value of an integer flag (kCount, kPositiveInt), or nullopt.
  std::optional<int32_t> Int(absl::string_view name) const;
  // The value of a decimal flag (kNumber, kPositiveNumber), or nullopt.
  std::optional<double> Number(absl::string_view name) const;

 private:
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
};

// A parsed command line.
struct CommandLine {
  // The command named by the words; null only when help was asked for
  // without a complete command (then `arguments` holds the words given).
  const CommandSpec* command = nullptr;
  std::vector<std::string> arguments;  // positional arguments after the words
  FlagValues flags;                    // global and command flags together
};

// Parses `args` (without the program name). Errors are usage errors (exit 2)
// that name the offending flag or word. `help_flag` names the flag that asks
// for usage text: with it, incomplete commands are not errors.
absl::StatusOr<CommandLine> ParseCommandLine(
    const Grammar& grammar, const std::vector<std::string>& args,
    absl::string_view help_flag = "help");

// Checks `value` against `type` and returns an error naming --`name` when it
// does not fit. Exposed for flags whose values are parsed again later.
absl::Status CheckFlagValue(absl::string_view name, FlagType type,
                            absl::string_view value);

}  // namespace hakd::cli

#endif  // HAKD_CLI_ARGS_H_
