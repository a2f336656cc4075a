#include "cli/usage.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/errors.h"

namespace hakd::cli {
namespace {

constexpr char kSpecHelp[] =
    "Family SPEC (for --family):\n"
    "  KIND:k=K:c=FROM-TO[/STEP]:res=R[,R...][:s=S][:dw][:g=G][:in=C][:b=B]\n"
    "  KIND            conv2d, linear, maxpool, avgpool or bnrelu\n"
    "  k=K             kernel size; required for conv2d, maxpool, avgpool\n"
    "  c=FROM-TO/STEP  channel counts FROM, FROM+STEP, ... <= TO (STEP\n"
    "                  default 1); c=N is the one count N; required\n"
    "  res=R,R,...     square input sizes; required for all kinds but linear\n"
    "  s=S             stride, default 1 (conv2d, maxpool, avgpool)\n"
    "  dw              depthwise, groups = c (conv2d)\n"
    "  g=G             fixed groups (conv2d)\n"
    "  in=C            fixed input channels, default = c (conv2d, linear)\n"
    "  b=B             batch, default 1\n"
    "  e.g. conv2d:k=3:c=8-256/8:res=32,16:dw   linear:c=64-4096/64:b=8\n";

constexpr char kTrailer[] =
    "D is a device's numeric id or its name; ID is a sweep id (sweep\n"
    "commands) or a training task id (tasks commands); JOB is a design job\n"
    "id; ARTIFACT is an artifact id (art-...); FILE after --spec, --network,\n"
    "--units-of and --teacher-network is a network spec in JSON (see\n"
    "docs/network-spec.md); FILE after admin backup is where the snapshot\n"
    "goes (written whole or not at all).\n"
    "\n"
    "Exit codes: 0 ok, 1 failure (or sweep cancelled, prediction\n"
    "incomplete, training task or design job failed or cancelled, artifact\n"
    "or backup corrupt), 2 usage error, 3 coordinator unreachable, 4 token refused or\n"
    "role not allowed, 5 device, sweep, task, design job or artifact not\n"
    "found.\n";

std::string FlagLabel(const FlagSpec& f) {
  std::string label = absl::StrCat("--", f.name);
  if (f.type != FlagType::kBool) absl::StrAppend(&label, " ", f.value_name);
  return label;
}

std::string Synopsis(const Grammar& grammar, const CommandSpec& c) {
  std::string s = absl::StrJoin(c.words, " ");
  for (const std::string& a : c.arguments) absl::StrAppend(&s, " ", a);
  for (const std::string& name : c.required) {
    const FlagSpec* f = grammar.FindFlag(name);
    if (f != nullptr) absl::StrAppend(&s, " ", FlagLabel(*f));
  }
  if (c.flags.size() > c.required.size()) absl::StrAppend(&s, " [FLAGS]");
  return s;
}

// Two-column "label  text" lines with the text column aligned.
std::string Columns(
    const std::vector<std::pair<std::string, std::string>>& rows) {
  size_t width = 0;
  for (const auto& r : rows) width = std::max(width, r.first.size());
  std::string out;
  for (const auto& r : rows) {
    absl::StrAppend(&out, "  ", r.first,
                    std::string(width - r.first.size() + 2, ' '), r.second,
                    "\n");
  }
  return out;
}

std::string FlagLines(const Grammar& grammar,
                      const std::vector<std::string>& names) {
  std::vector<std::pair<std::string, std::string>> rows;
  for (const std::string& name : names) {
    const FlagSpec* f = grammar.FindFlag(name);
    if (f != nullptr) rows.emplace_back(FlagLabel(*f), f->help);
  }
  return Columns(rows);
}

std::string GlobalFlagLines(const Grammar& grammar) {
  std::vector<std::string> names;
  for (const FlagSpec& f : grammar.global_flags) names.push_back(f.name);
  return FlagLines(grammar, names);
}

bool UsesFlag(const std::vector<const CommandSpec*>& commands,
              absl::string_view flag) {
  return std::any_of(
      commands.begin(), commands.end(), [&](const CommandSpec* c) {
        return std::find(c->flags.begin(), c->flags.end(), flag) !=
               c->flags.end();
      });
}

}  // namespace

std::string UsageText(const Grammar& grammar) {
  std::vector<std::pair<std::string, std::string>> commands;
  for (const CommandSpec& c : grammar.commands) {
    commands.emplace_back(Synopsis(grammar, c), c.summary);
  }
  std::vector<std::string> command_flags;
  for (const FlagSpec& f : grammar.command_flags)
    command_flags.push_back(f.name);
  return absl::StrCat(
      "usage: hakdctl COMMAND [ARGS] [FLAGS]   (flags may come anywhere)\n\n",
      "Commands:\n", Columns(commands), "\nGlobal flags:\n",
      GlobalFlagLines(grammar), "\nCommand flags:\n",
      FlagLines(grammar, command_flags),
      "  (latency query and staircase filter on --kind ... --dtype; unset\n"
      "  flags match anything; --channels sets in and out, --res height and\n"
      "  width)\n\n",
      kSpecHelp, "\n", kTrailer);
}

absl::StatusOr<std::string> UsageTextFor(
    const Grammar& grammar, const std::vector<std::string>& topic) {
  if (topic.empty()) return UsageText(grammar);
  std::vector<const CommandSpec*> matches;
  for (const CommandSpec& c : grammar.commands) {
    if (c.words.size() >= topic.size() &&
        std::equal(topic.begin(), topic.end(), c.words.begin())) {
      matches.push_back(&c);
    }
  }
  if (matches.empty()) {
    return UsageError(absl::StrCat("no command '", absl::StrJoin(topic, " "),
                                   "' (see 'hakdctl help')"));
  }
  std::string out;
  for (const CommandSpec* c : matches) {
    absl::StrAppend(&out, "usage: hakdctl ", Synopsis(grammar, *c), "\n  ",
                    c->summary, "\n");
    if (!c->flags.empty()) absl::StrAppend(&out, FlagLines(grammar, c->flags));
    absl::StrAppend(&out, "\n");
  }
  if (UsesFlag(matches, "family")) absl::StrAppend(&out, kSpecHelp, "\n");
  absl::StrAppend(&out, "Global flags:\n", GlobalFlagLines(grammar), "\n",
                  kTrailer);
  return out;
}

}  // namespace hakd::cli
