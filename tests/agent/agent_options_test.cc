#include "agent/agent_options.h"

#include <string>
#include <vector>

#include "common/layer_spec.h"
#include "gtest/gtest.h"

namespace hakd::agent {
namespace {

AgentOptions Valid() {
  AgentOptions o;
  o.token_file = "/etc/hakd/token";
  return o;
}

TEST(AgentOptionsTest, DefaultsAreValidOnceATokenFileIsGiven) {
  AgentOptions o;
  absl::Status st = ValidateAgentOptions(o);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("--token-file"), std::string::npos);
  EXPECT_TRUE(ValidateAgentOptions(Valid()).ok());
  EXPECT_EQ(o.server, "127.0.0.1:50051");
  EXPECT_EQ(o.device, "cpu");
  EXPECT_EQ(o.threads, 1);
  EXPECT_EQ(o.interop_threads, 1);
  EXPECT_EQ(o.heartbeat_ms, 5000);
  EXPECT_EQ(o.batch_size, 16);
  EXPECT_EQ(o.batch_flush_ms, 1000);
  EXPECT_EQ(o.max_backoff_ms, 30000);
  EXPECT_EQ(o.drain_timeout_ms, 10000);
}

TEST(AgentOptionsTest, OutOfRangeValuesNameTheFlag) {
  AgentOptions o = Valid();
  o.threads = 0;
  EXPECT_NE(ValidateAgentOptions(o).message().find("--threads"),
            std::string::npos);
  o = Valid();
  o.batch_size = 5000;  // the coordinator takes at most 4096 per batch
  EXPECT_NE(ValidateAgentOptions(o).message().find("--batch-size"),
            std::string::npos);
  o = Valid();
  o.heartbeat_ms = 0;
  EXPECT_FALSE(ValidateAgentOptions(o).ok());
  o = Valid();
  o.name = "9board";
  EXPECT_NE(ValidateAgentOptions(o).message().find("--name"),
            std::string::npos);
  o.name = "board-7";
  EXPECT_TRUE(ValidateAgentOptions(o).ok());
}

TEST(AgentOptionsTest, SanitizedHostNamesAreValidDeviceNames) {
  EXPECT_EQ(SanitizeDeviceName("raspberrypi"), "raspberrypi");
  EXPECT_EQ(SanitizeDeviceName("jetson-07.lab.example.org"), "jetson-07");
  EXPECT_EQ(SanitizeDeviceName("1234"), "h1234");
  EXPECT_EQ(SanitizeDeviceName("odd name!"), "odd-name-");
  EXPECT_EQ(SanitizeDeviceName(""), "agent");
  EXPECT_EQ(SanitizeDeviceName(std::string(100, 'x')).size(), 64u);
  for (const char* host : {"raspberrypi", "jetson-07.lab", "1234", "odd name!",
                           "", "_x", "-", "\xc3\xa9t\xc3\xa9"}) {
    EXPECT_TRUE(ValidateDeviceName(SanitizeDeviceName(host), "name").ok())
        << host;
  }
}

TEST(AgentOptionsTest, FlagNamesWithDashesBecomeAbseilNames) {
  std::vector<std::string> in = {"hakd-agent",
                                 "--token-file=/a-b/t-k",
                                 "--max-backoff-ms",
                                 "100",
                                 "--name",
                                 "my-board",
                                 "-interop-threads=2",
                                 "--allow-insecure",
                                 "--",
                                 "--not-a-flag"};
  std::vector<char*> argv;
  for (std::string& s : in) argv.push_back(s.data());
  EXPECT_EQ(NormalizeFlagNames(static_cast<int>(argv.size()), argv.data()),
            (std::vector<std::string>{
                "hakd-agent", "--token_file=/a-b/t-k", "--max_backoff_ms",
                "100", "--name", "my-board", "-interop_threads=2",
                "--allow_insecure", "--", "--not-a-flag"}));
}

}  // namespace
}  // namespace hakd::agent
