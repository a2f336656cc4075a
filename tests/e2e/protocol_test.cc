// End-to-end at the wire: a hand-driven agent stream and raw calls against
// the real hakd-server, for what the real agent and CLI never send.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cmath>
#include <future>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/auth_token.h"
#include "common/grpc_client.h"
#include "gtest/gtest.h"
#include "hakd/v1/agent_service.grpc.pb.h"
#include "hakd/v1/latency_service.grpc.pb.h"
#include "tests/e2e/farm.h"

namespace hakd::testing {
namespace {

using hakd::v1::AgentMessage;
using hakd::v1::CoordinatorMessage;

hakd::v1::Measurement GoodMeasurement(int channels) {
  hakd::v1::Measurement m;
  auto* l = m.mutable_layer();
  l->set_kind(hakd::v1::LAYER_KIND_CONV2D);
  l->set_batch(1);
  l->set_in_channels(channels);
  l->set_out_channels(channels);
  l->set_height(16);
  l->set_width(16);
  l->set_kernel(3);
  l->set_stride(1);
  l->set_padding(1);
  l->set_groups(1);
  m.set_backend("cpu");
  m.set_threads(1);
  m.set_median_us(100);
  m.set_p10_us(90);
  m.set_p90_us(110);
  m.set_mean_us(101);
  m.set_stddev_us(3);
  m.set_samples(15);
  m.set_runs_per_sample(2);
  return m;
}

class ProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(farm_.StartServer(0, {"--max-message-bytes", "1048576"}));
    channel_ = grpc::CreateChannel(farm_.address(), grpc::InsecureChannelCredentials());
    agent_stub_ = hakd::v1::AgentService::NewStub(channel_);
    latency_stub_ = hakd::v1::LatencyService::NewStub(channel_);
  }

  // Opens an agent stream with `role`'s token and says hello as `name`.
  std::unique_ptr<grpc::ClientReaderWriter<AgentMessage, CoordinatorMessage>> Open(
      grpc::ClientContext* ctx, const std::string& role, const std::string& name) {
    if (!role.empty()) AddBearerToken(ctx, farm_.Token(role));
    auto stream = agent_stub_->Connect(ctx);
    AgentMessage hello;
    hello.mutable_hello()->set_name(name);
    hello.mutable_hello()->mutable_facts()->set_hostname("fake");
    hello.mutable_hello()->mutable_facts()->set_arch("x86_64");
    stream->Write(hello);
    return stream;
  }

  hakd::v1::BatchAck SendBatch(
      grpc::ClientReaderWriter<AgentMessage, CoordinatorMessage>* stream,
      const hakd::v1::MeasurementBatch& batch) {
    AgentMessage msg;
    *msg.mutable_batch() = batch;
    EXPECT_TRUE(stream->Write(msg));
    CoordinatorMessage reply;
    while (stream->Read(&reply)) {
      if (reply.has_ack()) return reply.ack();
    }
    ADD_FAILURE() << "stream ended without an ack";
    return {};
  }

  Farm farm_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<hakd::v1::AgentService::Stub> agent_stub_;
  std::unique_ptr<hakd::v1::LatencyService::Stub> latency_stub_;
};

TEST_F(ProtocolTest, ConnectNeedsAnAgentOrAdminToken) {
  for (const auto& [role, code] : std::vector<std::pair<std::string, grpc::StatusCode>>{
           {"", grpc::StatusCode::UNAUTHENTICATED},
           {"wrong", grpc::StatusCode::UNAUTHENTICATED},
           {"reader", grpc::StatusCode::PERMISSION_DENIED}}) {
    grpc::ClientContext ctx;
    auto stream = Open(&ctx, role, "intruder");
    CoordinatorMessage reply;
    EXPECT_FALSE(stream->Read(&reply));
    EXPECT_EQ(stream->Finish().error_code(), code) << "role '" << role << "'";
  }
  grpc::ClientContext ctx;
  hakd::v1::ListDevicesRequest req;
  hakd::v1::ListDevicesResponse resp;
  EXPECT_EQ(latency_stub_->ListDevices(&ctx, req, &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(farm_.SqlInt("SELECT count(*) FROM devices"), 0);
}

// A token bound to one device may connect only as that device; nothing of
// the refused connection reaches the database.
TEST_F(ProtocolTest, DeviceBoundTokenConnectsOnlyAsItsDevice) {
  {
    grpc::ClientContext ctx;
    auto stream = Open(&ctx, "bound", "someone-else");
    CoordinatorMessage reply;
    EXPECT_FALSE(stream->Read(&reply));
    grpc::Status st = stream->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_NE(st.error_message().find("bound-board"), std::string::npos)
        << st.error_message();
    EXPECT_EQ(farm_.SqlInt("SELECT count(*) FROM devices"), 0);
  }
  grpc::ClientContext ctx;
  auto stream = Open(&ctx, "bound", "bound-board");
  CoordinatorMessage reply;
  ASSERT_TRUE(stream->Read(&reply));
  EXPECT_TRUE(reply.has_welcome());
  hakd::v1::MeasurementBatch batch;
  batch.set_batch_id("bound-1");
  *batch.add_measurements() = GoodMeasurement(8);
  EXPECT_EQ(SendBatch(stream.get(), batch).code(), 0);
  EXPECT_EQ(farm_.SqlInt("SELECT count(*) FROM measurements m JOIN devices d "
                         "ON d.id = m.device_id WHERE d.name = 'bound-board'"),
            1);
  ctx.TryCancel();
}

// SIGHUP reloads the auth file: a new token works, a removed one stops
// working, and a broken file leaves the credentials in force.
TEST_F(ProtocolTest, SighupReloadsTheAuthFile) {
  auto list = [&](const std::string& token) {
    grpc::ClientContext ctx;
    AddBearerToken(&ctx, token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    hakd::v1::ListDevicesRequest req;
    hakd::v1::ListDevicesResponse resp;
    return latency_stub_->ListDevices(&ctx, req, &resp).error_code();
  };
  const std::string auth = farm_.dir() + "/auth.txt";
  const std::string original = ReadFileOrEmpty(auth);
  const std::string fresh = "fresh-reader-token-0123456789abcdef";
  EXPECT_EQ(list(fresh), grpc::StatusCode::UNAUTHENTICATED);
  std::ofstream(auth) << original << AuthFileLine("reader", fresh, "fresh", "") << "\n";
  farm_.server().Signal(SIGHUP);
  EXPECT_TRUE(Farm::WaitFor([&] { return list(fresh) == grpc::StatusCode::OK; }, 10000));
  // Revoked: the reader's own line removed.
  std::string without_reader;
  for (absl::string_view line : absl::StrSplit(original, '\n')) {
    if (!absl::StartsWith(line, "reader ") && !line.empty()) {
      absl::StrAppend(&without_reader, line, "\n");
    }
  }
  std::ofstream(auth) << without_reader << AuthFileLine("reader", fresh, "fresh", "") << "\n";
  farm_.server().Signal(SIGHUP);
  EXPECT_TRUE(Farm::WaitFor(
      [&] { return list(farm_.Token("reader")) == grpc::StatusCode::UNAUTHENTICATED; },
      10000));
  EXPECT_EQ(list(fresh), grpc::StatusCode::OK);
  // A broken file is refused; what was in force stays.
  std::ofstream(auth) << "reader " << fresh << "\n";
  farm_.server().Signal(SIGHUP);
  EXPECT_TRUE(Farm::WaitFor(
      [&] { return farm_.server().Stderr().find("not reloaded") != std::string::npos; },
      10000))
      << farm_.server().Stderr();
  EXPECT_EQ(list(fresh), grpc::StatusCode::OK);
  EXPECT_EQ(list(farm_.Token("admin")), grpc::StatusCode::OK);
}

TEST_F(ProtocolTest, InvalidBatchesAreRefusedWholeAndLeaveTheDatabaseUnchanged) {
  grpc::ClientContext ctx;
  auto stream = Open(&ctx, "agent", "fakeboard");
  CoordinatorMessage welcome;
  ASSERT_TRUE(stream->Read(&welcome));
  ASSERT_TRUE(welcome.has_welcome());

  struct Case {
    std::string what, field;
    std::function<void(hakd::v1::MeasurementBatch*)> spoil;
  };
  const std::vector<Case> cases = {
      {"groups not dividing", "batch.measurements[1].layer.groups",
       [](auto* b) { b->mutable_measurements(1)->mutable_layer()->set_groups(5); }},
      {"zero height", "batch.measurements[0].layer.height",
       [](auto* b) { b->mutable_measurements(0)->mutable_layer()->set_height(0); }},
      {"unknown kind", "batch.measurements[1].layer.kind",
       [](auto* b) {
         b->mutable_measurements(1)->mutable_layer()->set_kind(
             static_cast<hakd::v1::LayerKind>(42));
       }},
      {"NaN latency", "batch.measurements[0].median_us",
       [](auto* b) { b->mutable_measurements(0)->set_median_us(std::nan("")); }},
      {"negative latency", "batch.measurements[1].p10_us",
       [](auto* b) { b->mutable_measurements(1)->set_p10_us(-5); }},
      {"absurd latency", "batch.measurements[0]",
       [](auto* b) {
         b->mutable_measurements(0)->set_median_us(1e15);
         b->mutable_measurements(0)->set_p90_us(1e15);
       }},
      {"another device's measurement", "batch.measurements[0].device_id",
       [](auto* b) { b->mutable_measurements(0)->set_device_id(999); }},
      {"bad batch id", "batch.batch_id", [](auto* b) { b->set_batch_id("a b"); }},
  };
  int n = 0;
  for (const Case& c : cases) {
    hakd::v1::MeasurementBatch batch;
    batch.set_batch_id("bad-" + std::to_string(n++));
    *batch.add_measurements() = GoodMeasurement(16);
    *batch.add_measurements() = GoodMeasurement(24);
    c.spoil(&batch);
    hakd::v1::BatchAck ack = SendBatch(stream.get(), batch);
    EXPECT_TRUE(ack.code() == grpc::StatusCode::INVALID_ARGUMENT ||
                ack.code() == grpc::StatusCode::PERMISSION_DENIED)
        << c.what << ": code " << ack.code();
    EXPECT_NE(ack.message().find(c.field), std::string::npos)
        << c.what << ": " << ack.message();
  }
  EXPECT_EQ(farm_.SqlInt("SELECT count(*) FROM measurements"), 0);
  EXPECT_EQ(farm_.SqlInt("SELECT count(*) FROM layers"), 0);
  EXPECT_EQ(farm_.SqlInt("SELECT count(*) FROM batches"), 0);

  // The stream survives refusals: a good batch is stored, its resend is not.
  hakd::v1::MeasurementBatch good;
  good.set_batch_id("good-1");
  *good.add_measurements() = GoodMeasurement(16);
  *good.add_measurements() = GoodMeasurement(24);
  hakd::v1::BatchAck ack = SendBatch(stream.get(), good);
  EXPECT_EQ(ack.code(), 0) << ack.message();
  EXPECT_FALSE(ack.duplicate());
  ack = SendBatch(stream.get(), good);
  EXPECT_EQ(ack.code(), 0);
  EXPECT_TRUE(ack.duplicate());
  EXPECT_EQ(farm_.SqlInt("SELECT count(*) FROM measurements"), 2);

  // An oversized message is refused by the transport; nothing more is stored.
  hakd::v1::MeasurementBatch huge;
  huge.set_batch_id("huge");
  for (int i = 0; i < 20000; ++i) *huge.add_measurements() = GoodMeasurement(16);
  AgentMessage msg;
  *msg.mutable_batch() = huge;
  stream->Write(msg);
  CoordinatorMessage reply;
  while (stream->Read(&reply)) {
  }
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(farm_.SqlInt("SELECT count(*) FROM measurements"), 2);
}

TEST_F(ProtocolTest, FirstMessageMustBeHelloAndNamesAreChecked) {
  {
    grpc::ClientContext ctx;
    AddBearerToken(&ctx, farm_.Token("agent"));
    auto stream = agent_stub_->Connect(&ctx);
    AgentMessage hb;
    hb.mutable_heartbeat();
    stream->Write(hb);
    CoordinatorMessage reply;
    EXPECT_FALSE(stream->Read(&reply));
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  grpc::ClientContext ctx;
  auto stream = Open(&ctx, "agent", "9-starts-with-digit");
  CoordinatorMessage reply;
  EXPECT_FALSE(stream->Read(&reply));
  grpc::Status st = stream->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("hello.name"), std::string::npos);
}

TEST_F(ProtocolTest, SilentAgentGoesOfflineAndKeepsItsIdWhenBack) {
  auto online = [&](const std::string& name) {
    grpc::ClientContext ctx;
    AddBearerToken(&ctx, farm_.Token("reader"));
    hakd::v1::GetDeviceRequest req;
    req.set_device(name);
    hakd::v1::Device device;
    EXPECT_TRUE(latency_stub_->GetDevice(&ctx, req, &device).ok());
    return std::make_pair(device.online(), device.id());
  };
  int64_t first_id = 0;
  {
    grpc::ClientContext ctx;
    // Fail fast, not hang, should the coordinator never end the stream.
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
    auto stream = Open(&ctx, "agent", "quietboard");
    CoordinatorMessage welcome;
    ASSERT_TRUE(stream->Read(&welcome));
    first_id = welcome.welcome().device_id();
    EXPECT_EQ(welcome.welcome().heartbeat_timeout_ms(), 3000);
    EXPECT_TRUE(online("quietboard").first);
    // No heartbeat: after the 3 s timeout the coordinator ends the stream.
    const auto start = std::chrono::steady_clock::now();
    CoordinatorMessage msg;
    while (stream->Read(&msg)) {
    }
    const double waited =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_GE(waited, 2.0);
    EXPECT_LT(waited, 10.0);
    EXPECT_FALSE(online("quietboard").first);
    stream->Finish();
  }
  grpc::ClientContext ctx;
  auto stream = Open(&ctx, "agent", "quietboard");
  CoordinatorMessage welcome;
  ASSERT_TRUE(stream->Read(&welcome));
  EXPECT_EQ(welcome.welcome().device_id(), first_id);
  EXPECT_EQ(online("quietboard"), std::make_pair(true, first_id));
  ctx.TryCancel();
}

TEST_F(ProtocolTest, SecondMachineWithTheSameNameIsRefusedWithoutTouchingTheDevice) {
  grpc::ClientContext first_ctx;
  auto first = Open(&first_ctx, "agent", "twin");
  CoordinatorMessage welcome;
  ASSERT_TRUE(first->Read(&welcome));
  grpc::ClientContext ctx;
  AddBearerToken(&ctx, farm_.Token("agent"));
  auto second = agent_stub_->Connect(&ctx);
  AgentMessage hello;
  hello.mutable_hello()->set_name("twin");
  hello.mutable_hello()->mutable_facts()->set_hostname("other-host");
  hello.mutable_hello()->mutable_facts()->set_arch("aarch64");
  second->Write(hello);
  CoordinatorMessage reply;
  EXPECT_FALSE(second->Read(&reply));
  grpc::Status st = second->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_NE(st.error_message().find("another machine"), std::string::npos);
  EXPECT_EQ(farm_.SqlInt("SELECT count(*) FROM devices WHERE facts_json LIKE '%aarch64%'"), 0);
  first_ctx.TryCancel();
}

TEST_F(ProtocolTest, QueriesValidateTheirInput) {
  grpc::ClientContext ctx;
  AddBearerToken(&ctx, farm_.Token("reader"));
  hakd::v1::QueryMeasurementsRequest req;
  req.set_device("someone");
  req.set_limit(-3);
  hakd::v1::QueryMeasurementsResponse resp;
  grpc::Status st = latency_stub_->QueryMeasurements(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("limit"), std::string::npos);

  grpc::ClientContext ctx2;
  AddBearerToken(&ctx2, farm_.Token("reader"));
  req.set_limit(10);
  st = latency_stub_->QueryMeasurements(&ctx2, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("someone"), std::string::npos);
}

// grpc.health.v1.Health/Check with an empty request answers SERVING (1),
// encoded as field 1 varint 1: bytes 08 01.
TEST_F(ProtocolTest, HealthCheckingAndReflectionAreServed) {
  grpc::GenericStub generic(channel_);
  grpc::ByteBuffer request, response;
  grpc::Slice empty("", 0);
  request = grpc::ByteBuffer(&empty, 1);
  std::promise<grpc::Status> done;
  grpc::ClientContext ctx;
  generic.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                    &response, [&](grpc::Status s) { done.set_value(s); });
  grpc::Status st = done.get_future().get();
  ASSERT_TRUE(st.ok()) << st.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));

  // Reflection: list_services (field 7, empty string) on the bidi stream.
  grpc::CompletionQueue cq;
  grpc::ClientContext rctx;
  auto call = generic.PrepareCall(
      &rctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag;
  bool ok;
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  grpc::Slice list(std::string("\x3a\x00", 2));
  grpc::ByteBuffer req(&list, 1);
  call->Write(req, reinterpret_cast<void*>(2));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  grpc::ByteBuffer reply;
  call->Read(&reply, reinterpret_cast<void*>(3));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  slices.clear();
  ASSERT_TRUE(reply.Dump(&slices).ok());
  bytes.clear();
  for (auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_NE(bytes.find("hakd.v1.LatencyService"), std::string::npos);
  EXPECT_NE(bytes.find("hakd.v1.AgentService"), std::string::npos);
  rctx.TryCancel();
  grpc::Status fin;
  call->Finish(&fin, reinterpret_cast<void*>(4));
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

}  // namespace
}  // namespace hakd::testing
