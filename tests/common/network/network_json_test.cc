// JSON reading and writing of network specs.
#include "common/network/network_json.h"

#include <gtest/gtest.h>
#include <google/protobuf/util/message_differencer.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "common/network/network_builders.h"

namespace hakd {
namespace {

using google::protobuf::util::MessageDifferencer;

hakd::v1::NetworkSpec Student() {
  auto spec = *WideResNet(16, 2, FashionMnistInput(), 10);
  auto* cheap =
      spec.mutable_stages(2)->mutable_blocks(1)->mutable_residual()->mutable_cheap();
  cheap->set_type(hakd::v1::CheapConv::TYPE_BOTTLENECK_GROUPED);
  cheap->set_groups(4);
  cheap->set_bottleneck(2);
  spec.mutable_stages(0)->mutable_blocks(0)->mutable_residual()->set_mid_channels(20);
  return spec;
}

TEST(NetworkJsonTest, RoundTrip) {
  const auto spec = Student();
  auto json = NetworkSpecToJson(spec);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_TRUE(absl::StrContains(*json, "\"TYPE_BOTTLENECK_GROUPED\""));
  EXPECT_TRUE(absl::StrContains(*json, "\"mid_channels\": 20"));
  auto back = NetworkSpecFromJson(*json, "mem");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(MessageDifferencer::Equals(spec, *back));
}

TEST(NetworkJsonTest, AcceptsHandWrittenCamelCase) {
  const char* json = R"({
    "input": {"channels": 3, "height": 32, "width": 32},
    "numClasses": 10,
    "stem": {"outChannels": 16},
    "stages": [{"blocks": [
      {"residual": {"outChannels": 32, "stride": 2,
                    "cheap": {"type": "TYPE_GROUPED", "groups": 4}}}]}],
    "head": {"batchnormRelu": true}
  })";
  auto spec = NetworkSpecFromJson(json, "hand.json");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->stages(0).blocks(0).residual().cheap().groups(), 4);
}

TEST(NetworkJsonTest, ErrorsNameTheSource) {
  auto bad_syntax = NetworkSpecFromJson("{\"stages\": [", "a.json");
  EXPECT_EQ(bad_syntax.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(bad_syntax.status().message(), "a.json: "));
  auto unknown = NetworkSpecFromJson("{\"depth\": 40}", "b.json");
  EXPECT_FALSE(unknown.ok());
  EXPECT_TRUE(absl::StartsWith(unknown.status().message(), "b.json: "));
  auto invalid = NetworkSpecFromJson("{\"num_classes\": 10}", "c.json");
  EXPECT_EQ(invalid.status().message(),
            "c.json: input.channels: 0 is not in [1, 65536]");
}

TEST(NetworkJsonTest, Files) {
  const std::string path =
      ::testing::TempDir() + "/network_json_test_spec.json";
  ASSERT_TRUE(WriteNetworkSpecFile(path, Student()).ok());
  auto back = ReadNetworkSpecFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(MessageDifferencer::Equals(Student(), *back));
  std::ofstream(path) << "{\"input\": 7}";
  auto bad = ReadNetworkSpecFile(path);
  EXPECT_TRUE(absl::StartsWith(bad.status().message(), path + ": "));
  std::remove(path.c_str());
  auto missing = ReadNetworkSpecFile(path);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StartsWith(missing.status().message(), path));
}

}  // namespace
}  // namespace hakd
