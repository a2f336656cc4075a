// The agent's wire behaviour against a scripted in-process coordinator:
// Hello/Welcome, results and acknowledgements, resend after reconnect,
// dedup of resent tasks, cancellation, refusal and drain on stop, and the
// spool's batches sent first after a restart.
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "agent/agent.h"
#include "agent/spool.h"
#include "gtest/gtest.h"
#include "hakd/v1/agent_service.grpc.pb.h"

namespace hakd::agent {
namespace {

using hakd::v1::AgentMessage;
using hakd::v1::CoordinatorMessage;
using hakd::v1::TaskStatus;
using Stream = grpc::ServerReaderWriter<CoordinatorMessage, AgentMessage>;
using Script = std::function<grpc::Status(grpc::ServerContext*, Stream*)>;

// Runs scripts[i] for the i-th Connect; the last one repeats.
class FakeCoordinator final : public hakd::v1::AgentService::Service {
 public:
  void AddScript(Script script) {
    absl::MutexLock lock(&mu_);
    scripts_.push_back(std::move(script));
  }
  int connections() const {
    absl::MutexLock lock(&mu_);
    return connections_;
  }
  grpc::Status Connect(grpc::ServerContext* context, Stream* stream) override {
    Script script;
    {
      absl::MutexLock lock(&mu_);
      const size_t i = std::min<size_t>(connections_++, scripts_.size() - 1);
      script = scripts_[i];
    }
    return script(context, stream);
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Script> scripts_;
  int connections_ = 0;
};

// Reads until pred(message) holds; heartbeats are counted and skipped.
// Batches seen on the way are acknowledged when ack_code >= 0 and stored in
// *batches. False when the stream ended first.
struct Reader {
  Stream* stream;
  int ack_code = 0;  // < 0: do not acknowledge
  std::vector<hakd::v1::MeasurementBatch>* batches = nullptr;
  std::vector<TaskStatus>* statuses = nullptr;
  int heartbeats = 0;

  bool Until(const std::function<bool(const AgentMessage&)>& pred) {
    AgentMessage m;
    while (stream->Read(&m)) {
      if (m.has_heartbeat()) {
        ++heartbeats;
      } else if (m.has_batch()) {
        if (batches != nullptr) batches->push_back(m.batch());
        if (ack_code >= 0) {
          CoordinatorMessage ack;
          ack.mutable_ack()->set_batch_id(m.batch().batch_id());
          ack.mutable_ack()->set_code(ack_code);
          if (ack_code != 0) ack.mutable_ack()->set_message("refused by test");
          stream->Write(ack);
        }
      } else if (m.has_task_status() && statuses != nullptr) {
        statuses->push_back(m.task_status());
      }
      if (pred(m)) return true;
    }
    return false;
  }
  bool UntilStatus(const std::string& task_id, TaskStatus::State state) {
    return Until([&](const AgentMessage& m) {
      return m.has_task_status() && m.task_status().task_id() == task_id &&
             m.task_status().state() == state;
    });
  }
  void UntilEnd() {
    Until([](const AgentMessage&) { return false; });
  }
};

bool ReadHelloAndWelcome(Stream* stream, hakd::v1::Hello* hello,
                         int64_t device_id) {
  AgentMessage first;
  if (!stream->Read(&first) || !first.has_hello()) return false;
  if (hello != nullptr) *hello = first.hello();
  CoordinatorMessage welcome;
  welcome.mutable_welcome()->set_device_id(device_id);
  welcome.mutable_welcome()->set_heartbeat_timeout_ms(15000);
  return stream->Write(welcome);
}

hakd::v1::LayerSpec Linear(int in) {
  hakd::v1::LayerSpec l;
  l.set_kind(hakd::v1::LAYER_KIND_LINEAR);
  l.set_batch(1);
  l.set_in_channels(in);
  l.set_out_channels(8);
  return l;
}

// A task whose items are Linear(in) for in in `ins` (0 is an invalid layer).
// The throttling detector is off unless `reference_interval_s` is given.
CoordinatorMessage Task(int64_t sweep, int chunk, const std::vector<int>& ins,
                        int first_index = 0, double reference_interval_s = -1) {
  CoordinatorMessage m;
  hakd::v1::ProfilingTask* t = m.mutable_task();
  t->set_task_id("sweep-" + std::to_string(sweep) + "/chunk-" +
                 std::to_string(chunk));
  t->set_sweep_id(sweep);
  t->set_chunk_index(chunk);
  for (size_t i = 0; i < ins.size(); ++i) {
    hakd::v1::TaskItem* item = t->add_items();
    item->set_item_index(first_index + static_cast<int>(i));
    *item->mutable_layer() = Linear(ins[i]);
  }
  t->mutable_settings()->set_min_samples(3);
  t->mutable_settings()->set_reference_interval_s(reference_interval_s);
  return m;
}

class AgentStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_file_ = ::testing::TempDir() + "/agent_stream_test_token";
    std::ofstream(token_file_) << "test-token\n";
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&coordinator_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }

  void TearDown() override {
    if (agent_ != nullptr) agent_->Stop();
    if (runner_.joinable()) runner_.join();
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(1));
  }

  AgentOptions Options() const {
    AgentOptions o;
    o.server = "127.0.0.1:" + std::to_string(port_);
    o.token_file = token_file_;
    o.name = "test-agent";
    o.heartbeat_ms = 100;
    o.batch_size = 2;
    o.batch_flush_ms = 20;
    o.initial_backoff_ms = 10;
    o.max_backoff_ms = 50;
    o.drain_timeout_ms = 3000;
    return o;
  }

  // A fake timer: fixed statistics, counts calls, optionally slow.
  MeasureFn FakeMeasure(absl::Duration per_layer = absl::ZeroDuration()) {
    return [this, per_layer](
               const hakd::v1::TaskItem&,
               const TimingOptions& options) -> absl::StatusOr<LayerTiming> {
      ++measure_calls_;
      absl::SleepFor(per_layer);
      LayerTiming t;
      t.median_us = 10;
      t.p10_us = 9;
      t.p90_us = 12;
      t.mean_us = 10.5;
      t.stddev_us = 1;
      t.samples = options.min_samples;
      t.runs_per_sample = 100;
      return t;
    };
  }

  void Start(AgentOptions options, MeasureFn measure) {
    absl::StatusOr<std::unique_ptr<Agent>> agent =
        Agent::Create(options, measure);
    ASSERT_TRUE(agent.ok()) << agent.status();
    agent_ = std::move(*agent);
    runner_ = std::thread([this] { run_status_ = agent_->Run(); });
  }

  absl::Status StopAndJoin() {
    agent_->Stop();
    if (runner_.joinable()) runner_.join();
    return run_status_;
  }

  // Waits for a script's notification; on timeout the test fails (and the
  // agent is stopped in TearDown, which also ends the script).
  static bool Wait(absl::Notification& n) {
    return n.WaitForNotificationWithTimeout(absl::Seconds(20));
  }

  FakeCoordinator coordinator_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string token_file_;
  std::atomic<int> measure_calls_{0};
  std::unique_ptr<Agent> agent_;
  std::thread runner_;
  absl::Status run_status_;
};

TEST_F(AgentStreamTest, MeasuresSendsBatchesAndIgnoresAResentTask) {
  absl::Notification done;
  std::string authorization;
  hakd::v1::Hello hello;
  std::vector<hakd::v1::MeasurementBatch> batches;
  std::vector<TaskStatus> statuses;
  coordinator_.AddScript([&](grpc::ServerContext* ctx, Stream* stream) {
    auto auth = ctx->client_metadata().find("authorization");
    if (auth != ctx->client_metadata().end()) {
      authorization = std::string(auth->second.data(), auth->second.size());
    }
    if (!ReadHelloAndWelcome(stream, &hello, 7)) return grpc::Status::CANCELLED;
    stream->Write(Task(5, 0, {16, 32, 0}, 10));  // item 12 is invalid
    Reader r{stream, 0, &batches, &statuses};
    EXPECT_TRUE(r.UntilStatus("sweep-5/chunk-0", TaskStatus::STATE_FINISHED));
    stream->Write(Task(5, 0, {16, 32, 0}, 10));  // the resend after reconnect
    EXPECT_TRUE(r.UntilStatus("sweep-5/chunk-0", TaskStatus::STATE_FINISHED));
    done.Notify();
    r.UntilEnd();  // the agent half-closes after Stop()
    return grpc::Status::OK;
  });
  Start(Options(), FakeMeasure());
  ASSERT_TRUE(Wait(done));
  EXPECT_TRUE(StopAndJoin().ok()) << run_status_;

  EXPECT_EQ(authorization, "Bearer test-token");
  EXPECT_EQ(hello.name(), "test-agent");
  EXPECT_EQ(hello.heartbeat_interval_ms(), 100);
  EXPECT_EQ(hello.facts().agent_version(), "0.1.0");
  EXPECT_EQ(hello.facts().compute_device(), "cpu");
  EXPECT_FALSE(hello.facts().libtorch_version().empty());
  EXPECT_EQ(measure_calls_, 2);  // not 4: the resent task was ignored

  std::vector<hakd::v1::Measurement> ms;
  std::vector<hakd::v1::ItemFailure> fs;
  for (const auto& b : batches) {
    EXPECT_TRUE(IsValidBatchId(b.batch_id())) << b.batch_id();
    EXPECT_LE(b.measurements_size() + b.failures_size(), 2);
    ms.insert(ms.end(), b.measurements().begin(), b.measurements().end());
    fs.insert(fs.end(), b.failures().begin(), b.failures().end());
  }
  ASSERT_EQ(ms.size(), 2u);
  EXPECT_EQ(ms[0].item_index(), 10);
  EXPECT_EQ(ms[1].item_index(), 11);
  EXPECT_EQ(ms[0].layer().in_channels(), 16);
  EXPECT_EQ(ms[0].backend(), "cpu");
  EXPECT_EQ(ms[0].threads(), 1);
  EXPECT_EQ(ms[0].run_id(), "sweep-5");
  EXPECT_EQ(ms[0].sweep_id(), 5);
  EXPECT_EQ(ms[0].median_us(), 10);
  EXPECT_EQ(ms[0].samples(), 3);  // the task's settings reached the timer
  EXPECT_EQ(ms[0].runs_per_sample(), 100);
  EXPECT_GT(ms[0].measured_unix_ms(), 0);
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0].sweep_id(), 5);
  EXPECT_EQ(fs[0].item_index(), 12);
  EXPECT_NE(fs[0].error().find("in_channels"), std::string::npos)
      << fs[0].error();

  ASSERT_GE(statuses.size(), 3u);
  EXPECT_EQ(statuses[0].state(), TaskStatus::STATE_STARTED);
  EXPECT_EQ(statuses[1].state(), TaskStatus::STATE_FINISHED);
  EXPECT_EQ(statuses[2].message(), "already finished");

  const AgentStats stats = agent_->stats();
  EXPECT_EQ(stats.measurements_sent, 2);
  EXPECT_EQ(stats.failures_sent, 1);
  EXPECT_EQ(stats.unacked_entries, 0);
  EXPECT_EQ(stats.device_id, 7);
  EXPECT_EQ(stats.connections, 1);
  EXPECT_EQ(stats.tasks_finished, 1);
}

TEST_F(AgentStreamTest, UnauthenticatedBeforeWelcomeIsFatal) {
  coordinator_.AddScript([](grpc::ServerContext*, Stream*) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "unknown token");
  });
  Start(Options(), FakeMeasure());
  runner_.join();
  EXPECT_EQ(run_status_.code(), absl::StatusCode::kUnauthenticated)
      << run_status_;
  EXPECT_NE(run_status_.message().find("unknown token"), std::string::npos);
  EXPECT_EQ(coordinator_.connections(), 1);  // no retry
  agent_.reset();
}

TEST_F(AgentStreamTest, ResendsUnackedBatchesInOrderAfterReconnect) {
  absl::Notification done;
  std::vector<hakd::v1::MeasurementBatch> first, second;
  std::vector<AgentMessage> after_welcome;
  // Stream 1: results arrive but are never acknowledged, then the
  // coordinator "restarts" (INVALID_ARGUMENT after Welcome must not be
  // fatal either).
  coordinator_.AddScript([&](grpc::ServerContext*, Stream* stream) {
    if (!ReadHelloAndWelcome(stream, nullptr, 3))
      return grpc::Status::CANCELLED;
    stream->Write(Task(3, 0, {8, 16, 24, 32, 40}));
    Reader r{stream, -1, &first};
    EXPECT_TRUE(r.UntilStatus("sweep-3/chunk-0", TaskStatus::STATE_FINISHED));
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "restarting");
  });
  // Stream 2: the same batches come first, in order; the task is resent.
  coordinator_.AddScript([&](grpc::ServerContext*, Stream* stream) {
    if (!ReadHelloAndWelcome(stream, nullptr, 3))
      return grpc::Status::CANCELLED;
    Reader r{stream, 0, &second};
    EXPECT_TRUE(r.Until([&](const AgentMessage& m) {
      if (!m.has_heartbeat()) after_welcome.push_back(m);
      return second.size() == first.size();
    }));
    stream->Write(Task(3, 0, {8, 16, 24, 32, 40}));
    EXPECT_TRUE(r.UntilStatus("sweep-3/chunk-0", TaskStatus::STATE_FINISHED));
    done.Notify();
    r.UntilEnd();
    return grpc::Status::OK;
  });
  Start(Options(), FakeMeasure());
  ASSERT_TRUE(Wait(done));
  EXPECT_TRUE(StopAndJoin().ok()) << run_status_;

  ASSERT_EQ(first.size(), 3u);  // 2 + 2 + 1 results
  ASSERT_EQ(second.size(), first.size());
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(second[i].batch_id(), first[i].batch_id());
    EXPECT_EQ(second[i].SerializeAsString(), first[i].SerializeAsString());
    EXPECT_TRUE(after_welcome[i].has_batch())
        << "batches come before anything new";
  }
  EXPECT_EQ(measure_calls_, 5);
  EXPECT_EQ(coordinator_.connections(), 2);
  EXPECT_EQ(agent_->stats().measurements_sent, 5);
  EXPECT_EQ(agent_->stats().unacked_entries, 0);
}

TEST_F(AgentStreamTest, RejectedBatchIsDroppedAndNotResent) {
  absl::Notification done;
  std::vector<hakd::v1::MeasurementBatch> second;
  coordinator_.AddScript([&](grpc::ServerContext*, Stream* stream) {
    if (!ReadHelloAndWelcome(stream, nullptr, 4))
      return grpc::Status::CANCELLED;
    stream->Write(Task(4, 0, {8}, 0));
    Reader r{stream, /*ack_code=*/3};
    EXPECT_TRUE(r.UntilStatus("sweep-4/chunk-0", TaskStatus::STATE_FINISHED));
    // Give the rejection time to arrive before the stream breaks.
    absl::SleepFor(absl::Milliseconds(100));
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "restarting");
  });
  coordinator_.AddScript([&](grpc::ServerContext*, Stream* stream) {
    if (!ReadHelloAndWelcome(stream, nullptr, 4))
      return grpc::Status::CANCELLED;
    stream->Write(Task(4, 1, {16}, 50));
    Reader r{stream, 0, &second};
    EXPECT_TRUE(r.UntilStatus("sweep-4/chunk-1", TaskStatus::STATE_FINISHED));
    done.Notify();
    r.UntilEnd();
    return grpc::Status::OK;
  });
  Start(Options(), FakeMeasure());
  ASSERT_TRUE(Wait(done));
  EXPECT_TRUE(StopAndJoin().ok());
  ASSERT_EQ(second.size(), 1u);
  ASSERT_EQ(second[0].measurements_size(), 1);
  EXPECT_EQ(second[0].measurements(0).item_index(), 50);
  EXPECT_EQ(agent_->stats().entries_rejected, 1);
  EXPECT_EQ(agent_->stats().measurements_sent, 1);
}

TEST_F(AgentStreamTest, CancelDropsQueuedTasksAndStopsTheCurrentOne) {
  absl::Notification done;
  std::vector<TaskStatus> statuses;
  coordinator_.AddScript([&](grpc::ServerContext*, Stream* stream) {
    if (!ReadHelloAndWelcome(stream, nullptr, 9))
      return grpc::Status::CANCELLED;
    stream->Write(Task(9, 0, std::vector<int>(40, 8)));
    stream->Write(Task(9, 1, std::vector<int>(5, 8), 40));
    stream->Write(Task(10, 0, {8}));
    Reader r{stream, 0, nullptr, &statuses};
    EXPECT_TRUE(r.Until([](const AgentMessage& m) { return m.has_batch(); }));
    CoordinatorMessage cancel;
    cancel.mutable_cancel()->set_sweep_id(9);
    cancel.mutable_cancel()->set_reason("user");
    stream->Write(cancel);
    EXPECT_TRUE(r.UntilStatus("sweep-10/chunk-0", TaskStatus::STATE_FINISHED));
    done.Notify();
    r.UntilEnd();
    return grpc::Status::OK;
  });
  Start(Options(), FakeMeasure(absl::Milliseconds(20)));
  ASSERT_TRUE(Wait(done));
  EXPECT_TRUE(StopAndJoin().ok());
  auto has = [&](const std::string& id, TaskStatus::State state) {
    for (const TaskStatus& s : statuses) {
      if (s.task_id() == id && s.state() == state) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("sweep-9/chunk-0", TaskStatus::STATE_CANCELLED));
  EXPECT_TRUE(has("sweep-9/chunk-1", TaskStatus::STATE_CANCELLED));
  EXPECT_FALSE(has("sweep-9/chunk-1", TaskStatus::STATE_STARTED));
  EXPECT_GE(measure_calls_,
            3);  // 2 of sweep 9 before the cancel, 1 of sweep 10
  EXPECT_LT(measure_calls_, 20);
}

TEST_F(AgentStreamTest, StopDrainsOutstandingAcknowledgements) {
  absl::Notification got_batch, stop_requested;
  hakd::v1::Heartbeat idle;
  coordinator_.AddScript([&](grpc::ServerContext*, Stream* stream) {
    if (!ReadHelloAndWelcome(stream, nullptr, 11))
      return grpc::Status::CANCELLED;
    std::vector<hakd::v1::MeasurementBatch> batches;
    Reader r{stream, -1, &batches};
    EXPECT_TRUE(r.Until([&](const AgentMessage& m) {
      if (m.has_heartbeat()) idle = m.heartbeat();
      return m.has_heartbeat();
    }));
    stream->Write(Task(11, 0, {8}));
    EXPECT_TRUE(r.Until([](const AgentMessage& m) { return m.has_batch(); }));
    got_batch.Notify();
    stop_requested.WaitForNotificationWithTimeout(absl::Seconds(20));
    absl::SleepFor(absl::Milliseconds(200));  // the agent must wait for this
    CoordinatorMessage ack;
    ack.mutable_ack()->set_batch_id(batches.back().batch_id());
    stream->Write(ack);
    r.UntilEnd();
    return grpc::Status::OK;
  });
  Start(Options(), FakeMeasure());
  ASSERT_TRUE(Wait(got_batch));
  const absl::Time stop = absl::Now();
  agent_->Stop();
  stop_requested.Notify();
  runner_.join();
  EXPECT_TRUE(run_status_.ok()) << run_status_;
  EXPECT_GE(absl::Now() - stop, absl::Milliseconds(150));
  EXPECT_EQ(idle.current_task_id(), "");
  EXPECT_EQ(idle.queued_tasks(), 0);
  EXPECT_EQ(agent_->stats().measurements_sent, 1);
  EXPECT_EQ(agent_->stats().unacked_entries, 0);
  agent_.reset();
}

TEST_F(AgentStreamTest, KeepsRetryingUntilStopped) {
  coordinator_.AddScript([](grpc::ServerContext*, Stream*) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "not yet");
  });
  Start(Options(), FakeMeasure());
  absl::SleepFor(absl::Milliseconds(300));
  const absl::Time stop = absl::Now();
  EXPECT_TRUE(StopAndJoin().ok());
  EXPECT_LT(absl::Now() - stop, absl::Seconds(2));
  EXPECT_GE(coordinator_.connections(), 3);  // backoff capped at 50 ms
  EXPECT_EQ(agent_->stats().connections, 0);
  agent_.reset();
}

}  // namespace
}  // namespace hakd::agent

namespace hakd::agent {
namespace {

// A noisy first timing is measured again; a layer noisy every time is stored
// flagged unstable after 1 + max_remeasure attempts, with how it was taken.
TEST_F(AgentStreamTest, StabilityGateRemeasuresNoisyLayersAndFlagsUnstable) {
  absl::Notification done;
  std::vector<hakd::v1::MeasurementBatch> batches;
  std::vector<TaskStatus> statuses;
  coordinator_.AddScript([&](grpc::ServerContext*, Stream* stream) {
    hakd::v1::Hello hello;
    if (!ReadHelloAndWelcome(stream, &hello, 3)) return grpc::Status::CANCELLED;
    stream->Write(Task(9, 0, {16, 32}, 0));
    Reader r{stream, 0, &batches, &statuses};
    EXPECT_TRUE(r.UntilStatus("sweep-9/chunk-0", TaskStatus::STATE_FINISHED));
    done.Notify();
    r.UntilEnd();
    return grpc::Status::OK;
  });
  std::map<int, int> calls;
  absl::Mutex calls_mu;
  Start(Options(), [&](const hakd::v1::TaskItem& item,
                       const TimingOptions& options) -> absl::StatusOr<LayerTiming> {
    const hakd::v1::LayerSpec& layer = item.layer();
    int n;
    {
      absl::MutexLock lock(&calls_mu);
      n = ++calls[layer.in_channels()];
    }
    LayerTiming t;
    t.median_us = t.mean_us = 100;
    t.p10_us = 90;
    t.p90_us = 110;
    // 16 channels: noisy once, then steady. 32 channels: always noisy.
    t.stddev_us = (layer.in_channels() == 16 && n > 1) ? 2 : 40;
    t.robust_cv = t.stddev_us / t.mean_us;  // the gate judges this one
    t.samples = options.min_samples;
    t.runs_per_sample = 1;
    return t;
  });
  ASSERT_TRUE(Wait(done));
  EXPECT_TRUE(StopAndJoin().ok());
  std::vector<hakd::v1::Measurement> ms;
  for (const auto& b : batches) ms.insert(ms.end(), b.measurements().begin(), b.measurements().end());
  ASSERT_EQ(ms.size(), 2u);
  EXPECT_EQ(calls[16], 2);
  EXPECT_EQ(ms[0].attempts(), 2);
  EXPECT_FALSE(ms[0].unstable());
  EXPECT_DOUBLE_EQ(ms[0].cv(), 0.02);
  EXPECT_DOUBLE_EQ(ms[0].robust_cv(), 0.02);
  EXPECT_EQ(calls[32], 3);
  EXPECT_EQ(ms[1].attempts(), 3);
  EXPECT_TRUE(ms[1].unstable());
  EXPECT_DOUBLE_EQ(ms[1].cv(), 0.4);
  // The applied settings travel with the result, defaults filled in.
  EXPECT_DOUBLE_EQ(ms[1].settings().max_cv(), 0.10);
  EXPECT_EQ(ms[1].settings().max_remeasure(), 2);
  EXPECT_GT(ms[1].settings().min_samples(), 0);
  EXPECT_EQ(ms[1].interop_threads(), 1);
  EXPECT_GE(ms[1].state().load_average_1m(), 0);
}

TEST_F(AgentStreamTest, ThrottlingDetectorFlagsResultsWhileReferenceIsSlow) {
  absl::Notification done;
  std::vector<hakd::v1::MeasurementBatch> batches;
  std::vector<TaskStatus> statuses;
  coordinator_.AddScript([&](grpc::ServerContext*, Stream* stream) {
    hakd::v1::Hello hello;
    if (!ReadHelloAndWelcome(stream, &hello, 3)) return grpc::Status::CANCELLED;
    // Probe at every check: the interval (1 ms) is shorter than one item.
    stream->Write(Task(12, 0, {8, 16}, 0, 1e-3));
    Reader r{stream, 0, &batches, &statuses};
    EXPECT_TRUE(r.UntilStatus("sweep-12/chunk-0", TaskStatus::STATE_FINISHED));
    done.Notify();
    r.UntilEnd();
    return grpc::Status::OK;
  });
  std::atomic<int> probes{0};
  Start(Options(), [&](const hakd::v1::TaskItem& item,
                       const TimingOptions& options) -> absl::StatusOr<LayerTiming> {
    LayerTiming t;
    t.median_us = t.mean_us = 100;
    if (item.layer().kind() == hakd::v1::LAYER_KIND_CONV2D) {
      // The reference kernel: 100 us for the three baseline probes, then
      // half as fast again, as when the clock drops.
      if (++probes > 3) t.median_us = t.mean_us = 150;
    } else {
      absl::SleepFor(absl::Milliseconds(3));
    }
    t.p10_us = t.median_us * 0.9;
    t.p90_us = t.median_us * 1.1;
    t.stddev_us = 1;
    t.samples = options.min_samples;
    t.runs_per_sample = 1;
    return t;
  });
  ASSERT_TRUE(Wait(done));
  EXPECT_TRUE(StopAndJoin().ok());
  std::vector<hakd::v1::Measurement> ms;
  for (const auto& b : batches) ms.insert(ms.end(), b.measurements().begin(), b.measurements().end());
  ASSERT_EQ(ms.size(), 2u);
  EXPECT_GE(probes.load(), 5);
  for (const auto& m : ms) {
    EXPECT_TRUE(m.throttled());
    EXPECT_DOUBLE_EQ(m.reference_ratio(), 1.5);
    // Taken while slow, so measured again until the re-measures ran out.
    EXPECT_EQ(m.attempts(), 3);
    EXPECT_DOUBLE_EQ(m.settings().reference_tolerance(), 0.10);
  }
}

// A spool left by an earlier run (batches of sweep 9, items 0 and 1).
std::string SpoolWithTwoBatches(const std::string& name) {
  const std::string path = ::testing::TempDir() + "/agent_stream_test_" + name;
  std::remove(path.c_str());
  std::remove((path + "-wal").c_str());
  absl::StatusOr<std::unique_ptr<MeasurementSpool>> spool =
      MeasurementSpool::Open(path, "test-agent");
  EXPECT_TRUE(spool.ok()) << spool.status();
  for (int i = 0; i < 2 && spool.ok(); ++i) {
    hakd::v1::MeasurementBatch b;
    b.set_batch_id("0123456789abcdef-" + std::to_string(i + 1));
    hakd::v1::Measurement* m = b.add_measurements();
    m->set_sweep_id(9);
    m->set_item_index(i);
    *m->mutable_layer() = Linear(8 * (i + 1));
    m->set_median_us(10);
    EXPECT_TRUE((*spool)->Add(i + 1, b).ok());
  }
  return path;
}

int64_t SpoolCount(const std::string& path) {
  absl::StatusOr<std::unique_ptr<MeasurementSpool>> spool =
      MeasurementSpool::Open(path, "test-agent");
  EXPECT_TRUE(spool.ok()) << spool.status();
  return spool.ok() ? (*spool)->Count().value_or(-1) : -1;
}

TEST_F(AgentStreamTest, SpooledBatchesGoFirstAndAreDroppedOnAck) {
  const std::string spool = SpoolWithTwoBatches("spool_first");
  absl::Notification done;
  std::vector<hakd::v1::MeasurementBatch> batches;
  std::vector<AgentMessage> after_welcome;
  std::vector<TaskStatus> statuses;
  coordinator_.AddScript([&](grpc::ServerContext*, Stream* stream) {
    if (!ReadHelloAndWelcome(stream, nullptr, 9))
      return grpc::Status::CANCELLED;
    Reader r{stream, -1, &batches, &statuses};
    EXPECT_TRUE(r.Until([&](const AgentMessage& m) {
      if (!m.has_heartbeat()) after_welcome.push_back(m);
      return batches.size() == 2;
    }));
    // As after a restart: the chunk again, made before the spooled batches
    // were committed, so with their items; their acks follow at once,
    // before the (slow) measuring thread reaches those items.
    stream->Write(Task(9, 0, {8, 16, 24}));
    for (const hakd::v1::MeasurementBatch& b : batches) {
      CoordinatorMessage ack;
      ack.mutable_ack()->set_batch_id(b.batch_id());
      ack.mutable_ack()->set_duplicate(b.batch_id().back() == '1');
      stream->Write(ack);
    }
    r.ack_code = 0;
    EXPECT_TRUE(r.UntilStatus("sweep-9/chunk-0", TaskStatus::STATE_FINISHED));
    done.Notify();
    r.UntilEnd();
    return grpc::Status::OK;
  });
  AgentOptions options = Options();
  options.spool_file = spool;
  Start(options, FakeMeasure(absl::Milliseconds(50)));
  ASSERT_TRUE(Wait(done));
  for (int i = 0; i < 200 && agent_->stats().unacked_entries > 0; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(StopAndJoin().ok()) << run_status_;

  ASSERT_GE(after_welcome.size(), 2u);
  EXPECT_EQ(after_welcome[0].batch().batch_id(), "0123456789abcdef-1");
  EXPECT_EQ(after_welcome[1].batch().batch_id(), "0123456789abcdef-2");
  // Items 0 and 1 wait for their acknowledgement: only item 2 is measured,
  // in a batch of this run's own.
  EXPECT_EQ(measure_calls_, 1);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[2].measurements_size(), 1);
  EXPECT_EQ(batches[2].measurements(0).item_index(), 2);
  EXPECT_EQ(batches[2].batch_id().find("0123456789abcdef-"), std::string::npos)
      << batches[2].batch_id();
  bool summarised = false;
  for (const TaskStatus& st : statuses) {
    if (st.state() != TaskStatus::STATE_FINISHED) continue;
    summarised = true;
    EXPECT_EQ(st.message(), "1 measured, 0 failed");
  }
  EXPECT_TRUE(summarised);
  EXPECT_EQ(agent_->stats().measurements_sent, 3);
  EXPECT_EQ(agent_->stats().unacked_entries, 0);
  agent_.reset();  // closes (and unlocks) the spool
  EXPECT_EQ(SpoolCount(spool), 0);
}

TEST_F(AgentStreamTest, UnacknowledgedBatchesOutliveTheAgentInItsSpool) {
  const std::string spool = ::testing::TempDir() + "/agent_stream_test_outlive";
  std::remove(spool.c_str());
  absl::Notification first_done, second_done;
  std::vector<hakd::v1::MeasurementBatch> first, second;
  // The first agent's results are never acknowledged; it stops (as good as
  // killed: its drain times out).
  coordinator_.AddScript([&](grpc::ServerContext*, Stream* stream) {
    if (!ReadHelloAndWelcome(stream, nullptr, 5))
      return grpc::Status::CANCELLED;
    stream->Write(Task(5, 0, {8, 16, 24}));
    Reader r{stream, -1, &first};
    EXPECT_TRUE(r.UntilStatus("sweep-5/chunk-0", TaskStatus::STATE_FINISHED));
    first_done.Notify();
    r.UntilEnd();
    return grpc::Status::OK;
  });
  // The next agent on the same spool sends them first, ids unchanged.
  coordinator_.AddScript([&](grpc::ServerContext*, Stream* stream) {
    if (!ReadHelloAndWelcome(stream, nullptr, 5))
      return grpc::Status::CANCELLED;
    Reader r{stream, 0, &second};
    EXPECT_TRUE(r.Until([&](const AgentMessage& m) {
      return second.size() == first.size();
    }));
    second_done.Notify();
    r.UntilEnd();
    return grpc::Status::OK;
  });
  AgentOptions options = Options();
  options.spool_file = spool;
  options.drain_timeout_ms = 50;
  Start(options, FakeMeasure());
  ASSERT_TRUE(Wait(first_done));
  EXPECT_TRUE(StopAndJoin().ok()) << run_status_;
  EXPECT_EQ(agent_->stats().unacked_entries, 3);
  agent_.reset();
  EXPECT_EQ(SpoolCount(spool), static_cast<int64_t>(first.size()));

  Start(options, FakeMeasure());
  ASSERT_TRUE(Wait(second_done));
  for (int i = 0; i < 200 && agent_->stats().unacked_entries > 0; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(StopAndJoin().ok()) << run_status_;
  ASSERT_EQ(first.size(), 2u);  // 2 + 1 results
  ASSERT_EQ(second.size(), first.size());
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(second[i].SerializeAsString(), first[i].SerializeAsString());
  }
  EXPECT_EQ(measure_calls_, 3);  // the second agent measured nothing
  EXPECT_EQ(agent_->stats().measurements_sent, 3);
  agent_.reset();
  EXPECT_EQ(SpoolCount(spool), 0);
}

}  // namespace
}  // namespace hakd::agent
