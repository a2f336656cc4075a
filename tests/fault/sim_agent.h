// A simulated hakd agent: one AgentService.Connect stream at a time, sending
// synthetic but valid measurement batches and keeping every batch until the
// coordinator acknowledges it, as the real agent does (docs/architecture.md,
// "Faults and restarts"). What it saw acknowledged goes to an ack log, so a
// fault test can check afterwards that the database holds exactly that.
#ifndef HAKD_TESTS_FAULT_SIM_AGENT_H_
#define HAKD_TESTS_FAULT_SIM_AGENT_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "hakd/v1/agent_service.grpc.pb.h"

namespace hakd::sim {

struct SimAgentOptions {
  // host:port of the coordinator (or of a fault proxy in front of it).
  std::string server;
  // Bearer token of role agent.
  std::string token;
  // Device name; batch ids are "<name>-b<seq>" and every measurement's
  // run_id is its batch id.
  std::string name;
  // Batches to send; 0: no limit, until Stop().
  int64_t batches = 0;
  // Measurements per batch (1..4096).
  int batch_size = 16;
  // Delay between two new batches.
  int interval_ms = 100;
  // At most this many batches sent and not yet acknowledged.
  int window = 8;
  // Heartbeat period while connected.
  int heartbeat_ms = 1000;
  // Largest reconnect delay (exponential backoff from 100 ms, full jitter).
  int max_backoff_ms = 2000;
  // gRPC keepalive ping period and ack timeout (0: no keepalive). The
  // defaults are those of common/grpc_client.cc, which the real agent uses.
  int keepalive_ms = 20000;
  int keepalive_timeout_ms = 10000;
  // A stream without Welcome after this long is cancelled and retried.
  int welcome_timeout_ms = 10000;
  // Each acknowledged batch is appended here as "ID ENTRIES ACK_MS DUP",
  // flushed (and fsynced when fsync_ack_log) before it counts. Empty: none.
  std::string ack_log;
  bool fsync_ack_log = true;
  // Print an event line per connection and disconnection.
  bool events = true;
};

// What one simulated agent did.
struct SimAgentStats {
  int64_t batches_sent = 0;  // created, not counting resends
  int64_t resends = 0;
  int64_t batches_acked = 0;
  int64_t entries_acked = 0;
  int64_t duplicate_acks = 0;   // acknowledged as committed before
  int64_t rejected = 0;         // acknowledged with a non-zero code
  int64_t connects = 0;         // streams that got a Welcome
  int64_t stream_failures = 0;  // streams that ended without our asking
  int64_t unacked = 0;          // held when the agent stopped
  std::vector<double> ack_ms;   // last send to acknowledgement, per batch
};

class SimAgent {
 public:
  explicit SimAgent(SimAgentOptions options);
  ~SimAgent();
  SimAgent(const SimAgent&) = delete;
  SimAgent& operator=(const SimAgent&) = delete;

  // Connects, reconnecting after every failure, until every batch is
  // acknowledged (batches > 0) or Stop() has drained. True when every batch
  // created was acknowledged and none was rejected.
  bool Run();

  // From another thread: no new batches from now on; Run returns once the
  // outstanding ones are acknowledged or `drain_ms` has passed.
  void Stop(int drain_ms);

  // A copy of the counters so far.
  SimAgentStats Stats() const;

 private:
  struct Pending {
    hakd::v1::MeasurementBatch batch;
    double sent_mono_ms = 0;
  };
  using Stream = grpc::ClientReaderWriter<hakd::v1::AgentMessage,
                                          hakd::v1::CoordinatorMessage>;

  // One stream from Connect to its end.
  void RunStream(grpc::Channel* channel, hakd::v1::AgentService::Stub* stub);
  // Sends new batches and heartbeats until the stream ends or we are done.
  void SendLoop(Stream* stream);
  void HandleAck(const hakd::v1::BatchAck& ack);
  bool Done() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::shared_ptr<grpc::Channel> MakeChannel() const;

  const SimAgentOptions options_;
  FILE* ack_log_ = nullptr;

  mutable absl::Mutex mu_;
  absl::CondVar changed_;
  std::map<int64_t, Pending> unacked_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> seq_of_ ABSL_GUARDED_BY(mu_);
  int64_t next_seq_ ABSL_GUARDED_BY(mu_) = 0;
  bool welcomed_ ABSL_GUARDED_BY(mu_) = false;
  bool stream_over_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  double drain_deadline_ms_ ABSL_GUARDED_BY(mu_) = 0;
  SimAgentStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hakd::sim

#endif  // HAKD_TESTS_FAULT_SIM_AGENT_H_
