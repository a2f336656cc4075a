// A full database seen through the coordinator's RPCs: the agent's batch
// is not acknowledged (its stream ends RESOURCE_EXHAUSTED, so it keeps the
// batch and resends it), queries keep working, StartSweep says the database
// is full, and once space returns the resent batch is stored whole, without
// a restart.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <sqlite3.h>

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "hakd/v1/agent_service.grpc.pb.h"
#include "hakd/v1/latency_service.grpc.pb.h"
#include "server/server.h"
#include "tests/server/test_util.h"

namespace hakd {
namespace {

using hakd::testing::ConvLayer;
using hakd::testing::MeasurementOf;
using hakd::v1::AgentMessage;
using hakd::v1::CoordinatorMessage;
using ::testing::HasSubstr;

int64_t PageCount(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &st, nullptr);
  const int64_t pages =
      sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_finalize(st);
  sqlite3_close(db);
  return pages;
}

hakd::v1::MeasurementBatch Batch(int index) {
  hakd::v1::MeasurementBatch b;
  b.set_batch_id("b-" + std::to_string(index));
  for (int j = 0; j < 40; ++j) {
    *b.add_measurements() =
        MeasurementOf(ConvLayer((index * 40 + j) % 1000 + 1, 16), 10 + j);
  }
  return b;
}

// One agent stream: hello, welcome, then batches and their acks.
class FakeAgent {
 public:
  explicit FakeAgent(hakd::v1::AgentService::Stub* stub)
      : stream_(stub->Connect(&context_)) {
    AgentMessage hello;
    hello.mutable_hello()->set_name("board");
    hello.mutable_hello()->mutable_facts()->set_hostname("host");
    EXPECT_TRUE(stream_->Write(hello));
    CoordinatorMessage welcome;
    EXPECT_TRUE(stream_->Read(&welcome));
    EXPECT_TRUE(welcome.has_welcome());
  }

  // Sends a batch; its ack, or nothing when the stream ended first.
  std::optional<hakd::v1::BatchAck> Send(const hakd::v1::MeasurementBatch& b) {
    AgentMessage m;
    *m.mutable_batch() = b;
    if (!stream_->Write(m)) return std::nullopt;
    CoordinatorMessage reply;
    while (stream_->Read(&reply)) {
      if (reply.has_ack()) return reply.ack();  // tasks are skipped
    }
    return std::nullopt;
  }

  grpc::Status Finish() {
    stream_->WritesDone();
    CoordinatorMessage ignored;
    while (stream_->Read(&ignored)) {
    }
    return stream_->Finish();
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<AgentMessage, CoordinatorMessage>>
      stream_;
};

TEST(DatabaseFullServerTest, AgentKeepsItsBatchReadsGoOnWritesResume) {
  const std::string dir = hakd::testing::MakeTempDir();
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.db_path = dir + "/hakd.db";
  options.no_auth = true;
  options.synchronous_full = false;
  auto server = HakdServer::BuildAndStart(options);
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                          grpc::InsecureChannelCredentials());
  auto agents = hakd::v1::AgentService::NewStub(channel);
  auto latency = hakd::v1::LatencyService::NewStub(channel);
  auto count = [&]() -> int {
    grpc::ClientContext context;
    hakd::v1::QueryMeasurementsRequest request;
    request.set_device("board");
    request.set_limit(100000);
    hakd::v1::QueryMeasurementsResponse response;
    const grpc::Status st =
        latency->QueryMeasurements(&context, request, &response);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return response.measurements_size();
  };

  auto agent = std::make_unique<FakeAgent>(agents.get());
  ASSERT_EQ(agent->Send(Batch(0))->code(), 0);
  ASSERT_TRUE(
      (*server)->SetDatabaseMaxPages(PageCount(options.db_path) + 2).ok());
  int acked = 1;
  int failed = -1;
  for (int i = 1; i < 200 && failed < 0; ++i) {
    std::optional<hakd::v1::BatchAck> ack = agent->Send(Batch(i));
    if (ack.has_value()) {
      ASSERT_EQ(ack->code(), 0) << ack->message();
      ++acked;
    } else {
      failed = i;
    }
  }
  ASSERT_GT(failed, 0) << "the database never filled up";
  const grpc::Status ended = agent->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(ended.error_message(),
              HasSubstr("database full: cannot store measurement batch 'b-" +
                        std::to_string(failed) +
                        "' (disk or PRAGMA max_page_count limit reached); "
                        "nothing of this batch was stored"));

  // Reads go on, and show nothing of the refused batch.
  EXPECT_EQ(count(), 40 * acked);
  {
    grpc::ClientContext context;
    hakd::v1::ListDevicesResponse devices;
    ASSERT_TRUE(latency->ListDevices(&context, {}, &devices).ok());
    EXPECT_EQ(devices.devices_size(), 1);
  }
  hakd::v1::StartSweepRequest sweep;
  sweep.set_device("board");
  sweep.set_preset("default");
  {
    grpc::ClientContext context;
    hakd::v1::Sweep response;
    const grpc::Status st = latency->StartSweep(&context, sweep, &response);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_THAT(st.error_message(),
                HasSubstr("database full: cannot create a sweep"));
  }

  // Space returns: the agent reconnects and resends; nothing was half there.
  ASSERT_TRUE((*server)->SetDatabaseMaxPages(0).ok());
  agent = std::make_unique<FakeAgent>(agents.get());
  std::optional<hakd::v1::BatchAck> ack = agent->Send(Batch(failed));
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->code(), 0) << ack->message();
  EXPECT_FALSE(ack->duplicate());
  EXPECT_EQ(count(), 40 * (acked + 1));
  {
    grpc::ClientContext context;
    hakd::v1::Sweep response;
    const grpc::Status st = latency->StartSweep(&context, sweep, &response);
    EXPECT_TRUE(st.ok()) << st.error_message();
  }
  agent->Finish();
  (*server)->Shutdown(absl::Milliseconds(100));
}

}  // namespace
}  // namespace hakd
