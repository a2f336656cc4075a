#include "cli/args.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/errors.h"

namespace hakd::cli {
namespace {

bool AllDigits(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c));
  });
}

// True for a word that is itself a flag, so it cannot be the value of the
// flag before it ("--device --json" is a missing value, not a device).
bool LooksLikeFlag(absl::string_view word) {
  return word == "-h" || (absl::StartsWith(word, "--") && word.size() > 2);
}

std::string JoinWords(const std::vector<std::string>& words) {
  return absl::StrJoin(words, " ");
}

// Subcommand words that follow `group` in the grammar, for error messages.
std::vector<std::string> SubcommandsOf(const Grammar& grammar,
                                       absl::string_view group) {
  std::vector<std::string> subs;
  for (const CommandSpec& c : grammar.commands) {
    if (c.words.size() >= 2 && c.words[0] == group &&
        std::find(subs.begin(), subs.end(), c.words[1]) == subs.end()) {
      subs.push_back(c.words[1]);
    }
  }
  return subs;
}

// The command whose words are the longest prefix of `words`, or null.
const CommandSpec* MatchCommand(const Grammar& grammar,
                                const std::vector<std::string>& words) {
  const CommandSpec* best = nullptr;
  for (const CommandSpec& c : grammar.commands) {
    if (c.words.size() > words.size()) continue;
    if (!std::equal(c.words.begin(), c.words.end(), words.begin())) continue;
    if (best == nullptr || c.words.size() > best->words.size()) best = &c;
  }
  return best;
}

absl::Status UnknownCommand(const Grammar& grammar,
                            const std::vector<std::string>& words) {
  const std::vector<std::string> subs = SubcommandsOf(grammar, words[0]);
  if (subs.empty()) {
    return UsageError(
        absl::StrCat("unknown command '", words[0], "' (see 'hakdctl help')"));
  }
  if (words.size() == 1) {
    return UsageError(absl::StrCat(
        "'", words[0], "' needs a subcommand: ", absl::StrJoin(subs, ", ")));
  }
  return UsageError(
      absl::StrCat("unknown command '", words[0], " ", words[1], "' (",
                   words[0], " commands: ", absl::StrJoin(subs, ", "), ")"));
}

}  // namespace

const FlagSpec* Grammar::FindFlag(absl::string_view name) const {
  for (const std::vector<FlagSpec>* list : {&global_flags, &command_flags}) {
    for (const FlagSpec& f : *list) {
      if (f.name == name) return &f;
    }
  }
  return nullptr;
}

bool Grammar::IsGlobalFlag(absl::string_view name) const {
  return std::any_of(global_flags.begin(), global_flags.end(),
                     [&](const FlagSpec& f) { return f.name == name; });
}

void FlagValues::Add(absl::string_view name, std::string value) {
  values_[std::string(name)].push_back(std::move(value));
}

bool FlagValues::Has(absl::string_view name) const {
  return values_.find(name) != values_.end();
}

std::optional<std::string> FlagValues::String(absl::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> FlagValues::Strings(absl::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return {};
  return it->second;
}

std::optional<int32_t> FlagValues::Int(absl::string_view name) const {
  std::optional<std::string> s = String(name);
  int32_t value = 0;
  if (!s.has_value() || !absl::SimpleAtoi(*s, &value)) return std::nullopt;
  return value;
}

std::optional<double> FlagValues::Number(absl::string_view name) const {
  std::optional<std::string> s = String(name);
  double value = 0;
  if (!s.has_value() || !absl::SimpleAtod(*s, &value)) return std::nullopt;
  return value;
}

absl::Status CheckFlagValue(absl::string_view name, FlagType type,
                            absl::string_view value) {
  switch (type) {
    case FlagType::kBool:
    case FlagType::kString:
      return absl::OkStatus();
    case FlagType::kCount:
    case FlagType::kPositiveInt: {
      const bool positive = type == FlagType::kPositiveInt;
      int32_t n = 0;
      if (!AllDigits(value) || !absl::SimpleAtoi(value, &n) ||
          (positive && n < 1)) {
        return UsageError(absl::StrCat(
            "--", name, ": expected ",
            positive ? "a whole number >= 1" : "a whole number >= 0",
            AllDigits(value) ? " that fits 32 bits" : "", ", got '", value,
            "'"));
      }
      return absl::OkStatus();
    }
    case FlagType::kNumber:
    case FlagType::kPositiveNumber: {
      const bool positive = type == FlagType::kPositiveNumber;
      double x = 0;
      const bool plain =
          !value.empty() &&
          std::none_of(value.begin(), value.end(), [](char c) {
            return absl::ascii_isspace(static_cast<unsigned char>(c));
          });
      if (!plain || !absl::SimpleAtod(value, &x) || !std::isfinite(x) ||
          x < 0 || (positive && x == 0)) {
        return UsageError(absl::StrCat("--", name, ": expected a number ",
                                       positive ? "> 0" : ">= 0", ", got '",
                                       value, "'"));
      }
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<CommandLine> ParseCommandLine(
    const Grammar& grammar, const std::vector<std::string>& args,
    absl::string_view help_flag) {
  CommandLine line;
  std::vector<std::string> positionals;
  std::vector<std::string> given;  // flag names in order, for the apply check
  bool only_positionals = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (only_positionals) {
      positionals.push_back(word);
      continue;
    }
    if (word == "--") {
      only_positionals = true;
      continue;
    }
    std::string name;
    std::optional<std::string> inline_value;
    if (word == "-h") {
      name = std::string(help_flag);
    } else if (absl::StartsWith(word, "--") && word.size() > 2) {
      const size_t eq = word.find('=');
      name =
          word.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      if (eq != std::string::npos) inline_value = word.substr(eq + 1);
    } else if (absl::StartsWith(word, "-") && word.size() > 1 &&
               grammar.short_flags.count(word.substr(1)) > 0) {
      name = grammar.short_flags.find(word.substr(1))->second;
    } else if (absl::StartsWith(word, "-") && word.size() > 1) {
      return UsageError(absl::StrCat("unknown flag ", word));
    } else {
      positionals.push_back(word);
      continue;
    }
    const FlagSpec* spec = grammar.FindFlag(name);
    if (spec == nullptr)
      return UsageError(absl::StrCat("unknown flag --", name));
    std::string value;
    if (spec->type == FlagType::kBool) {
      if (inline_value.has_value()) {
        return UsageError(absl::StrCat("--", name, " takes no value"));
      }
    } else if (inline_value.has_value()) {
      if (inline_value->empty()) {
        return UsageError(absl::StrCat("--", name, ": missing value"));
      }
      value = *inline_value;
    } else {
      if (i + 1 >= args.size()) {
        return UsageError(absl::StrCat("--", name, ": missing value"));
      }
      if (LooksLikeFlag(args[i + 1])) {
        return UsageError(absl::StrCat("--", name, ": missing value (got ",
                                       args[i + 1], ")"));
      }
      value = args[++i];
    }
    absl::Status valid = CheckFlagValue(name, spec->type, value);
    if (!valid.ok()) return valid;
    if (!spec->repeatable && line.flags.Has(name)) {
      return UsageError(absl::StrCat("--", name, " given more than once"));
    }
    line.flags.Add(name, std::move(value));
    given.push_back(name);
  }

  const bool help = line.flags.Has(help_flag);
  if (positionals.empty()) {
    if (help) return line;
    return UsageError("no command given (see 'hakdctl help')");
  }
  const CommandSpec* command = MatchCommand(grammar, positionals);
  if (command == nullptr) {
    if (help) {
      line.arguments = positionals;
      return line;
    }
    return UnknownCommand(grammar, positionals);
  }
  const std::string command_name = JoinWords(command->words);
  for (const std::string& name : given) {
    if (grammar.IsGlobalFlag(name)) continue;
    if (std::find(command->flags.begin(), command->flags.end(), name) ==
        command->flags.end()) {
      return UsageError(
          absl::StrCat("--", name, " does not apply to '", command_name, "'"));
    }
  }
  line.command = command;
  line.arguments.assign(positionals.begin() + command->words.size(),
                        positionals.end());
  if (help) return line;
  for (const std::string& name : command->required) {
    if (!line.flags.Has(name)) {
      return UsageError(
          absl::StrCat("--", name, " is required for '", command_name, "'"));
    }
  }
  if (command->variadic) return line;
  if (line.arguments.size() < command->arguments.size()) {
    return UsageError(absl::StrCat(
        "'", command_name, "' needs ",
        absl::StrJoin(command->arguments.begin() + line.arguments.size(),
                      command->arguments.end(), " ")));
  }
  if (line.arguments.size() > command->arguments.size()) {
    return UsageError(
        absl::StrCat("'", command_name, "': unexpected argument '",
                     line.arguments[command->arguments.size()], "'"));
  }
  return line;
}

}  // namespace hakd::cli
