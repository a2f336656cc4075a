// `hakdctl admin token create`: runs without a coordinator, prints a fresh
// token once with the auth line that holds only its digest, and refuses
// flags the auth file would refuse.
#include <sstream>
#include <string>
#include <vector>

#include "cli/run.h"
#include "common/auth_token.h"
#include "common/sha256.h"
#include "absl/strings/ascii.h"
#include "cli/latency_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hakd::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct Result {
  int code;
  std::string out;
  std::string err;
};

Result RunCtl(const std::vector<std::string>& args) {
  std::ostringstream out;
  std::ostringstream err;
  RunEnvironment env;
  env.out = &out;
  env.err = &err;
  env.env = [](const char*) -> std::optional<std::string> { return std::nullopt; };
  env.clock = [] { return int64_t{1'700'000'000'000}; };
  env.connect = [](const GlobalOptions&) -> absl::StatusOr<std::unique_ptr<LatencyClient>> {
    return absl::InternalError("admin token create must not connect");
  };
  const int code = RunHakdctl(args, env);
  return {code, out.str(), err.str()};
}

// The token from the human output's second line.
std::string TokenOf(const std::string& out) {
  std::istringstream in(out);
  std::string line;
  std::getline(in, line);
  std::getline(in, line);
  return std::string(absl::StripAsciiWhitespace(line));
}

TEST(AdminTokenTest, PrintsTheTokenOnceAndItsDigestLine) {
  Result r = RunCtl({"admin", "token", "create", "--role", "agent", "--device", "pi4-1",
                  "--name", "pi4-1"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string token = TokenOf(r.out);
  ASSERT_EQ(token.size(), 69u) << r.out;
  EXPECT_EQ(token.rfind("hakd_", 0), 0u);
  const std::string line = "agent sha256:" + Sha256Hex(token) + " name=pi4-1 device=pi4-1";
  EXPECT_THAT(r.out, HasSubstr(line));
  EXPECT_EQ(AuthFileLine("agent", token, "pi4-1", "pi4-1"), line);
  // The token appears once only: the auth line never holds it.
  EXPECT_EQ(r.out.find(token), r.out.rfind(token));
  // A second token differs.
  EXPECT_NE(TokenOf(RunCtl({"admin", "token", "create", "--role", "agent"}).out), token);
}

TEST(AdminTokenTest, JsonHasTheTokenAndTheLine) {
  Result r = RunCtl({"--json", "admin", "token", "create", "--role", "reader"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"role\":\"reader\""));
  EXPECT_THAT(r.out, HasSubstr("\"token\":\"hakd_"));
  EXPECT_THAT(r.out, HasSubstr("\"auth_line\":\"reader sha256:"));
}

TEST(AdminTokenTest, BadFlagsAreUsageErrorsNamingTheFlag) {
  Result r = RunCtl({"admin", "token", "create"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--role"));
  r = RunCtl({"admin", "token", "create", "--role", "root"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--role: 'root'"));
  r = RunCtl({"admin", "token", "create", "--role", "reader", "--device", "pi"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--device: only agent"));
  r = RunCtl({"admin", "token", "create", "--role", "agent", "--device", "a b"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--device"));
  EXPECT_THAT(r.out, Not(HasSubstr("hakd_")));
}

}  // namespace
}  // namespace hakd::cli
