// HealthServer: readiness and liveness as a grpc.health.v1 client sees them.
// The requests and answers are encoded by hand (HealthCheckRequest: field 1
// string service; HealthCheckResponse: field 1 enum status, SERVING = 1,
// NOT_SERVING = 2), as no generated health stub ships with Debian's gRPC.
#include "common/health_server.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/byte_buffer.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace hakd {
namespace {

constexpr int kServing = 1;
constexpr int kNotServing = 2;

// The answer to one Check: the gRPC status, and the serving status when OK.
struct CheckResult {
  grpc::Status status;
  int serving = 0;
};

CheckResult Check(int port, const std::string& service,
                  const std::string& method = "/grpc.health.v1.Health/Check") {
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  std::string request_bytes;
  if (!service.empty()) {
    request_bytes.push_back('\x0a');
    request_bytes.push_back(static_cast<char>(service.size()));
    request_bytes += service;
  }
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, method,
                 grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) { done.set_value(s); });
  CheckResult result;
  result.status = done.get_future().get();
  if (!result.status.ok()) return result;
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  // Field 1 varint; an absent field is UNKNOWN (0).
  if (bytes.size() == 2 && bytes[0] == '\x08') result.serving = bytes[1];
  return result;
}

// Polls until readiness reads `want` or 5 s pass.
int AwaitReadiness(int port, int want) {
  int got = 0;
  for (int i = 0; i < 100; ++i) {
    got = Check(port, "").serving;
    if (got == want) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return got;
}

TEST(HealthServerTest, StartsNotReadyButAlive) {
  absl::StatusOr<std::unique_ptr<HealthServer>> health =
      HealthServer::Start("127.0.0.1:0");
  ASSERT_TRUE(health.ok()) << health.status();
  ASSERT_GT((*health)->port(), 0);
  CheckResult liveness = Check((*health)->port(), "liveness");
  ASSERT_TRUE(liveness.status.ok()) << liveness.status.error_message();
  EXPECT_EQ(liveness.serving, kServing);
  CheckResult readiness = Check((*health)->port(), "");
  ASSERT_TRUE(readiness.status.ok()) << readiness.status.error_message();
  EXPECT_EQ(readiness.serving, kNotServing);
}

TEST(HealthServerTest, SetServingTogglesReadinessOnly) {
  absl::StatusOr<std::unique_ptr<HealthServer>> health =
      HealthServer::Start("127.0.0.1:0");
  ASSERT_TRUE(health.ok()) << health.status();
  const int port = (*health)->port();
  (*health)->SetServing(true);
  EXPECT_EQ(Check(port, "").serving, kServing);
  EXPECT_EQ(Check(port, "liveness").serving, kServing);
  (*health)->SetServing(false);
  EXPECT_EQ(Check(port, "").serving, kNotServing);
  EXPECT_EQ(Check(port, "liveness").serving, kServing);
  (*health)->SetServing(true);
  EXPECT_EQ(Check(port, "").serving, kServing);
}

TEST(HealthServerTest, UnknownServiceIsNotFound) {
  absl::StatusOr<std::unique_ptr<HealthServer>> health =
      HealthServer::Start("127.0.0.1:0");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(Check((*health)->port(), "hakd.v1.Nothing").status.error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST(HealthServerTest, AnswersNothingButHealth) {
  absl::StatusOr<std::unique_ptr<HealthServer>> health =
      HealthServer::Start("127.0.0.1:0");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(Check((*health)->port(), "", "/hakd.v1.LatencyService/ListDevices")
                .status.error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

TEST(HealthServerTest, FollowTracksTheProbe) {
  absl::StatusOr<std::unique_ptr<HealthServer>> health =
      HealthServer::Start("127.0.0.1:0");
  ASSERT_TRUE(health.ok()) << health.status();
  std::atomic<bool> connected{false};
  (*health)->Follow([&connected] { return connected.load(); },
                    absl::Milliseconds(10));
  const int port = (*health)->port();
  EXPECT_EQ(AwaitReadiness(port, kNotServing), kNotServing);
  connected = true;
  EXPECT_EQ(AwaitReadiness(port, kServing), kServing);
  connected = false;
  EXPECT_EQ(AwaitReadiness(port, kNotServing), kNotServing);
  // Destruction stops the follower before `connected` goes away.
  health->reset();
}

TEST(HealthServerTest, PortInUseIsAnError) {
  absl::StatusOr<std::unique_ptr<HealthServer>> first =
      HealthServer::Start("127.0.0.1:0");
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<std::unique_ptr<HealthServer>> second = HealthServer::Start(
      absl::StrCat("127.0.0.1:", (*first)->port()));
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("--health-port"),
            std::string::npos);
}

TEST(HealthServerTest, StoppedServerNoLongerAnswers) {
  absl::StatusOr<std::unique_ptr<HealthServer>> health =
      HealthServer::Start("127.0.0.1:0");
  ASSERT_TRUE(health.ok()) << health.status();
  const int port = (*health)->port();
  health->reset();
  EXPECT_EQ(Check(port, "liveness").status.error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST(HealthServerTest, AddressForPortIsTheWildcard) {
  EXPECT_EQ(HealthServer::AddressForPort(8081), "0.0.0.0:8081");
}

}  // namespace
}  // namespace hakd
