// The hakd-agent: one stream to the coordinator (opened by the agent, as
// boards sit behind NAT), a measuring thread, and the bookkeeping between
// them. Measuring never waits for the network: results queue up while the
// coordinator is away and are sent, in order, after the next Welcome.
//
// Threads: Run()'s caller owns the stream and is its only writer; a reader
// thread per stream dispatches coordinator messages; a measuring thread
// takes tasks in order. All shared state sits under one mutex.
// agent.cc holds the connection side, agent_measure.cc the measuring side.
#ifndef HAKD_AGENT_AGENT_H_
#define HAKD_AGENT_AGENT_H_

#include <grpcpp/channel.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "agent/agent_options.h"
#include "agent/result_batcher.h"
#include "agent/spool.h"
#include "agent/task_queue.h"
#include "agent/throttle_monitor.h"
#include "agent/unacked_batches.h"
#include "common/torch/timing.h"
#include "hakd/v1/agent_service.grpc.pb.h"

namespace hakd::agent {

// Times one task item, a layer or a unit: hakd::TimeLayer or hakd::TimeUnit
// in production (also for the throttling detector's reference kernel, a
// layer item), a fake in tests.
using MeasureFn = std::function<absl::StatusOr<LayerTiming>(
    const hakd::v1::TaskItem& item, const TimingOptions& options)>;

// Counters of one agent run.
struct AgentStats {
  int64_t measurements_sent = 0;  // in batches acknowledged with code 0
  int64_t failures_sent = 0;      // item failures in such batches
  int64_t entries_rejected = 0;   // results in batches the coordinator refused
  int64_t unacked_entries = 0;    // results made but not acknowledged yet
  int64_t items_measured = 0;     // measurements made, sent or not
  int64_t tasks_finished = 0;
  int64_t tasks_cancelled = 0;
  int64_t connections = 0;  // streams that got a Welcome
  int64_t device_id = 0;    // from the last Welcome
};

class Agent {
 public:
  // Checks the options, reads the token, opens the spool (options.spool_file,
  // unless empty) and loads the batches it holds, opens the channel, checks
  // the device, sets LibTorch's threads and gathers the device facts. An
  // empty options.name becomes the sanitised host name. `measure` defaults
  // to hakd::TimeLayer. Errors are the caller's to report (exit code 2); a
  // spool that is not one, or is corrupt, or is in use, is one.
  static absl::StatusOr<std::unique_ptr<Agent>> Create(
      const AgentOptions& options, MeasureFn measure = nullptr);

  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;
  ~Agent();

  // Connects, measures and reconnects until Stop(). Returns OK after a stop
  // (having drained acknowledgements when connected), or the coordinator's
  // status when it refused the agent before any Welcome with
  // UNAUTHENTICATED, PERMISSION_DENIED or INVALID_ARGUMENT (retrying cannot
  // help). Call once.
  absl::Status Run();

  // Asks Run() to finish the current item, flush, drain and return. Safe
  // from any thread (not from an async signal handler); idempotent.
  void Stop();

  // A snapshot of the counters. Thread-safe.
  AgentStats stats() const;

  // True while a stream to the coordinator is open and welcomed (readiness
  // of --health-port). Thread-safe.
  bool connected() const;

  // The facts sent in Hello.
  const hakd::v1::DeviceFacts& facts() const { return facts_; }

  // The device name sent in Hello.
  const std::string& name() const { return options_.name; }

 private:
  using Stream = grpc::ClientReaderWriter<hakd::v1::AgentMessage,
                                          hakd::v1::CoordinatorMessage>;
  // One item's outcome: exactly one of the two is set.
  struct ItemResult {
    std::optional<hakd::v1::Measurement> measurement;
    std::optional<hakd::v1::ItemFailure> failure;
  };

  Agent(AgentOptions options, std::string token,
        std::shared_ptr<grpc::Channel> channel, hakd::v1::DeviceFacts facts,
        MeasureFn measure, std::unique_ptr<MeasurementSpool> spool,
        std::vector<SpooledBatch> spooled);

  // One stream from Connect to Finish. Sets *welcomed when a Welcome came.
  absl::Status RunStream(bool* welcomed);
  // Waits for Welcome; false on stream end, stop or timeout.
  bool AwaitWelcome();
  // Writes while connected: queued messages, heartbeats, due batches.
  // Returns when the stream breaks, or once a stop has been drained and the
  // stream half-closed (WritesDone).
  void Serve(Stream* stream);
  // Waits up to `grace` for the reader to see the stream's end.
  bool AwaitStreamEnd(absl::Duration grace);
  void ReadLoop(Stream* stream);
  void OnWelcome(const hakd::v1::Welcome& welcome);
  void OnTask(hakd::v1::ProfilingTask task);
  // Removes from `task` the items whose results are held unacknowledged.
  // After a restart the coordinator sends a chunk again with every item it
  // has not committed, including those whose results wait in the spool:
  // they are measured already. Done on receipt, because the task was made
  // before those batches were committed, while their acknowledgements may
  // overtake the measuring thread.
  void DropHeldItems(hakd::v1::ProfilingTask* task);
  void OnAck(const hakd::v1::BatchAck& ack);
  void OnCancel(const hakd::v1::CancelTask& cancel);

  void MeasureLoop();
  void RunTask(const hakd::v1::ProfilingTask& task);
  ItemResult MeasureItem(const hakd::v1::ProfilingTask& task,
                         const hakd::v1::TaskItem& item,
                         const TimingOptions& timing);

  bool stopping() const;
  // Keeps a finished batch until acknowledged (in the spool first, when
  // there is one), and queues it for the stream when one is ready.
  void PublishLocked(ReadyBatch ready) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues a TaskStatus for the stream, or keeps it for the next one.
  void EnqueueStatusLocked(const std::string& task_id,
                           hakd::v1::TaskStatus::State state,
                           const std::string& message)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Puts statuses that were not written back for the next stream.
  void KeepUnsentStatusesLocked(std::deque<hakd::v1::AgentMessage> unsent)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  hakd::v1::AgentMessage HeartbeatLocked() const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const AgentOptions options_;
  const std::string token_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<hakd::v1::AgentService::Stub> stub_;
  const hakd::v1::DeviceFacts facts_;
  const MeasureFn measure_;
  const std::string backend_;  // "cpu" or "cuda", for Measurement.backend
  // Used by the measuring thread only.
  ThrottleMonitor throttle_;
  TaskQueue queue_;

  mutable absl::Mutex mu_;
  // Signalled whenever anything below changes.
  absl::CondVar cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool measuring_done_ ABSL_GUARDED_BY(mu_) = false;
  ResultBatcher batcher_ ABSL_GUARDED_BY(mu_);
  UnackedBatches unacked_ ABSL_GUARDED_BY(mu_);
  // The on-disk copy of unacked_; null without --spool. Written under mu_,
  // so the two never disagree.
  const std::unique_ptr<MeasurementSpool> spool_ ABSL_PT_GUARDED_BY(mu_);
  // Messages for the current stream, written in order by Serve().
  std::deque<hakd::v1::AgentMessage> outbox_ ABSL_GUARDED_BY(mu_);
  // TaskStatus messages made while no stream was ready.
  std::deque<hakd::v1::AgentMessage> pending_statuses_ ABSL_GUARDED_BY(mu_);
  // State of the current stream.
  bool welcomed_ ABSL_GUARDED_BY(mu_) = false;
  bool ready_ ABSL_GUARDED_BY(mu_) = false;  // welcomed, resend queued
  bool stream_ended_ ABSL_GUARDED_BY(mu_) = false;
  AgentStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hakd::agent

#endif  // HAKD_AGENT_AGENT_H_
