// The command-line parser against the real hakdctl grammar: flags anywhere,
// strict errors that name the flag, and global options from the environment.
#include "cli/args.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "cli/errors.h"
#include "cli/global_options.h"
#include "cli/grammar.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hakd::cli {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<CommandLine> Parse(std::vector<std::string> args) {
  return ParseCommandLine(HakdctlGrammar(), args);
}

std::string CommandOf(const CommandLine& line) {
  std::string name;
  for (const std::string& w : line.command->words)
    name += (name.empty() ? "" : " ") + w;
  return name;
}

// Asserts a usage error (exit 2) whose message contains `fragment`.
void ExpectUsageError(std::vector<std::string> args,
                      const std::string& fragment) {
  absl::StatusOr<CommandLine> line = Parse(args);
  ASSERT_FALSE(line.ok()) << "parsed: " << ::testing::PrintToString(args);
  EXPECT_EQ(ExitCodeOf(line.status()), kExitUsage);
  EXPECT_THAT(std::string(line.status().message()), HasSubstr(fragment));
}

TEST(ArgsTest, GlobalFlagsBeforeBetweenAndAfterCommandWords) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--json", "--server", "h:1", "devices",
                                 "list"},
        std::vector<std::string>{"devices", "--json", "list", "--server",
                                 "h:1"},
        std::vector<std::string>{"devices", "list", "--server=h:1",
                                 "--json"}}) {
    absl::StatusOr<CommandLine> line = Parse(args);
    ASSERT_TRUE(line.ok()) << line.status();
    EXPECT_EQ(CommandOf(*line), "devices list");
    EXPECT_TRUE(line->arguments.empty());
    EXPECT_TRUE(line->flags.Has("json"));
    EXPECT_EQ(line->flags.String("server"), "h:1");
  }
}

TEST(ArgsTest, CommandFlagsAndArguments) {
  absl::StatusOr<CommandLine> line =
      Parse({"--timeout", "2.5", "sweep", "start", "--device", "rpi4",
             "--family", "conv2d:k=3:c=8:res=8", "--family=linear:c=8",
             "--chunk-size", "16", "--watch"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(CommandOf(*line), "sweep start");
  EXPECT_EQ(line->flags.String("device"), "rpi4");
  EXPECT_EQ(line->flags.Strings("family"),
            (std::vector<std::string>{"conv2d:k=3:c=8:res=8", "linear:c=8"}));
  EXPECT_EQ(line->flags.Int("chunk-size"), 16);
  EXPECT_EQ(line->flags.Number("timeout"), 2.5);
  EXPECT_TRUE(line->flags.Has("watch"));
  EXPECT_FALSE(line->flags.Has("preset"));

  line = Parse({"sweep", "watch", "42", "--json"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->arguments, std::vector<std::string>{"42"});
}

TEST(ArgsTest, DoubleDashEndsFlags) {
  absl::StatusOr<CommandLine> line = Parse({"devices", "show", "--", "--odd"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->arguments, std::vector<std::string>{"--odd"});
}

TEST(ArgsTest, UnknownFlagsAreNamed) {
  ExpectUsageError({"devices", "list", "--bogus"}, "unknown flag --bogus");
  ExpectUsageError({"--bogus=1", "devices", "list"}, "unknown flag --bogus");
  ExpectUsageError({"devices", "list", "-x"}, "unknown flag -x");
}

TEST(ArgsTest, MissingValuesAreNamed) {
  ExpectUsageError({"latency", "query", "--device"}, "--device: missing value");
  ExpectUsageError({"latency", "query", "--device", "--json"},
                   "--device: missing value");
  ExpectUsageError({"latency", "query", "--device="},
                   "--device: missing value");
  ExpectUsageError({"devices", "list", "--server"}, "--server: missing value");
}

TEST(ArgsTest, BadNumbersAreNamed) {
  ExpectUsageError({"latency", "query", "--device", "d", "--limit", "abc"},
                   "--limit: expected a whole number >= 1, got 'abc'");
  ExpectUsageError({"latency", "query", "--device", "d", "--limit", "0"},
                   "--limit");
  ExpectUsageError({"latency", "query", "--device", "d", "--limit", "-3"},
                   "--limit");
  ExpectUsageError({"latency", "query", "--device", "d", "--limit", "1.5"},
                   "--limit");
  ExpectUsageError(
      {"latency", "query", "--device", "d", "--limit", "99999999999"},
      "fits 32 bits");
  ExpectUsageError({"latency", "query", "--device", "d", "--padding", "x"},
                   "--padding: expected a whole number >= 0");
  ExpectUsageError({"devices", "list", "--timeout", "0"},
                   "--timeout: expected a number > 0");
  ExpectUsageError({"devices", "list", "--timeout", "nan"}, "--timeout");
  ExpectUsageError({"devices", "list", "--timeout", "inf"}, "--timeout");
  ExpectUsageError({"devices", "list", "--timeout", " 3"}, "--timeout");
  // Zero is a valid count.
  EXPECT_TRUE(
      Parse({"latency", "query", "--device", "d", "--padding", "0"}).ok());
}

TEST(ArgsTest, StrictAboutWhereFlagsBelong) {
  ExpectUsageError({"devices", "list", "--limit", "3"},
                   "--limit does not apply to 'devices list'");
  ExpectUsageError({"devices", "list", "--json=yes"}, "--json takes no value");
  ExpectUsageError({"latency", "query", "--device", "a", "--device", "b"},
                   "--device given more than once");
}

TEST(ArgsTest, CommandsAndArgumentsAreChecked) {
  ExpectUsageError({}, "no command given");
  ExpectUsageError({"frobnicate"}, "unknown command 'frobnicate'");
  ExpectUsageError(
      {"sweep"},
      "'sweep' needs a subcommand: start, watch, list, show, cancel");
  ExpectUsageError({"sweep", "frob"}, "unknown command 'sweep frob'");
  ExpectUsageError({"sweep", "watch"}, "'sweep watch' needs ID");
  ExpectUsageError({"sweep", "watch", "1", "2"}, "unexpected argument '2'");
  ExpectUsageError({"latency", "export", "--device", "d"},
                   "--format is required for 'latency export'");
}

TEST(ArgsTest, HelpNeedsNoCompleteCommand) {
  absl::StatusOr<CommandLine> line = Parse({"sweep", "-h"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->command, nullptr);
  EXPECT_EQ(line->arguments, std::vector<std::string>{"sweep"});
  line = Parse({"latency", "export", "--help"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(CommandOf(*line), "latency export");
  line = Parse({"help", "sweep", "start"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->arguments, (std::vector<std::string>{"sweep", "start"}));
}

// The grammar is data; these invariants keep it parseable.
TEST(ArgsTest, GrammarIsConsistent) {
  const Grammar& g = HakdctlGrammar();
  std::set<std::string> names;
  for (const auto* list : {&g.global_flags, &g.command_flags}) {
    for (const FlagSpec& f : *list) {
      EXPECT_TRUE(names.insert(f.name).second) << "duplicate flag " << f.name;
      EXPECT_FALSE(f.help.empty()) << f.name;
    }
  }
  for (const CommandSpec& c : g.commands) {
    for (const std::string& f : c.flags) {
      EXPECT_NE(g.FindFlag(f), nullptr) << f;
      EXPECT_FALSE(g.IsGlobalFlag(f)) << f;
    }
    for (const std::string& f : c.required) {
      EXPECT_NE(std::find(c.flags.begin(), c.flags.end(), f), c.flags.end())
          << f;
    }
  }
}

TEST(GlobalOptionsTest, FlagsWinOverEnvironmentWhichWinsOverDefaults) {
  std::map<std::string, std::string> vars;
  const EnvLookup env = [&](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  absl::StatusOr<CommandLine> line = Parse({"devices", "list"});
  ASSERT_TRUE(line.ok());
  GlobalOptions o = ResolveGlobalOptions(line->flags, env);
  EXPECT_EQ(o.client.server, "127.0.0.1:50051");
  EXPECT_EQ(o.token_file, "");
  EXPECT_EQ(o.timeout_seconds, 30);
  EXPECT_FALSE(o.json);

  vars = {{"HAKD_SERVER", "env:1"}, {"HAKD_TOKEN_FILE", "/env/token"}};
  o = ResolveGlobalOptions(line->flags, env);
  EXPECT_EQ(o.client.server, "env:1");
  EXPECT_EQ(o.token_file, "/env/token");

  vars = {{"HAKD_SERVER", ""}};  // empty counts as unset
  o = ResolveGlobalOptions(line->flags, env);
  EXPECT_EQ(o.client.server, "127.0.0.1:50051");

  vars = {{"HAKD_SERVER", "env:1"}, {"HAKD_TOKEN_FILE", "/env/token"}};
  line = Parse({"devices", "list", "--server", "flag:2", "--token-file",
                "/flag/t", "--timeout", "4", "--tls-ca", "ca.pem",
                "--tls-server-name", "coord", "--allow-insecure", "--json"});
  ASSERT_TRUE(line.ok());
  o = ResolveGlobalOptions(line->flags, env);
  EXPECT_EQ(o.client.server, "flag:2");
  EXPECT_EQ(o.token_file, "/flag/t");
  EXPECT_EQ(o.timeout_seconds, 4);
  EXPECT_EQ(o.client.tls_ca_file, "ca.pem");
  EXPECT_EQ(o.client.tls_server_name, "coord");
  EXPECT_TRUE(o.client.allow_insecure);
  EXPECT_TRUE(o.json);
}

}  // namespace
}  // namespace hakd::cli
