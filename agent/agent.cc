#include "agent/agent.h"

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <algorithm>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/backoff.h"
#include "agent/device_facts.h"
#include "agent/log.h"
#include "common/grpc_client.h"
#include "common/status_grpc.h"
#include "common/status_macros.h"
#include "common/torch/layer_timer.h"
#include "common/torch/unit_timer.h"
#include "common/torch/torch_runtime.h"

namespace hakd::agent {
namespace {

using hakd::v1::AgentMessage;
using hakd::v1::CoordinatorMessage;
using hakd::v1::ProfilingTask;
using hakd::v1::TaskStatus;

// Statuses kept for the next stream while disconnected; they are advisory,
// so the oldest go when a long outage piles up more.
constexpr size_t kMaxPendingStatuses = 1000;
// How long a closed or broken stream may take to report its end.
constexpr absl::Duration kStreamEndGrace = absl::Seconds(5);
// How long an attempt waits for the channel to connect before the call
// (which then fails fast with the connection error).
constexpr absl::Duration kConnectWait = absl::Seconds(1);

// Refusals no retry can cure: a bad token, a forbidden device, a bad Hello.
bool IsFatalBeforeWelcome(absl::StatusCode code) {
  return code == absl::StatusCode::kUnauthenticated ||
         code == absl::StatusCode::kPermissionDenied ||
         code == absl::StatusCode::kInvalidArgument;
}

AgentMessage BatchMessage(const hakd::v1::MeasurementBatch& batch) {
  AgentMessage message;
  *message.mutable_batch() = batch;
  return message;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Agent>> Agent::Create(const AgentOptions& in,
                                                     MeasureFn measure) {
  AgentOptions options = in;
  if (options.name.empty()) options.name = SanitizeDeviceName(HostName());
  HAKD_RETURN_IF_ERROR(ValidateAgentOptions(options));
  // With a client certificate the token is optional.
  std::string token;
  if (!options.token_file.empty() || options.tls_cert_file.empty()) {
    HAKD_ASSIGN_OR_RETURN(token, ReadTokenFile(options.token_file));
  }
  std::unique_ptr<MeasurementSpool> spool;
  std::vector<SpooledBatch> spooled;
  if (!options.spool_file.empty()) {
    HAKD_ASSIGN_OR_RETURN(
        spool, MeasurementSpool::Open(options.spool_file, options.name));
    HAKD_ASSIGN_OR_RETURN(spooled, spool->Load());
  }
  ClientOptions client;
  client.server = options.server;
  client.tls_ca_file = options.tls_ca_file;
  client.tls_cert_file = options.tls_cert_file;
  client.tls_key_file = options.tls_key_file;
  client.keepalive_ms = options.keepalive_ms;
  client.allow_insecure = options.allow_insecure;
  HAKD_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel,
                        CreateClientChannel(client));
  if (absl::Status st = CheckDevice(options.device); !st.ok()) {
    return absl::Status(st.code(), absl::StrCat("--device: ", st.message()));
  }
  HAKD_RETURN_IF_ERROR(
      ConfigureThreads(options.threads, options.interop_threads));
  HAKD_ASSIGN_OR_RETURN(AcceleratorInfo accelerator,
                        GetAcceleratorInfo(options.device));
  CallerFacts caller;
  caller.threads = options.threads;
  caller.interop_threads = options.interop_threads;
  caller.libtorch_version = LibTorchVersion();
  caller.accelerator = accelerator.name;
  caller.accelerator_memory_bytes = accelerator.memory_bytes;
  caller.compute_device = options.device;
  hakd::v1::DeviceFacts facts = CollectDeviceFacts(caller);
  if (!measure) {
    measure = [](const hakd::v1::TaskItem& item,
                 const TimingOptions& timing) -> absl::StatusOr<LayerTiming> {
      if (item.has_unit()) return hakd::TimeUnit(item.unit(), timing);
      return hakd::TimeLayer(item.layer(), timing);
    };
  }
  return std::unique_ptr<Agent>(new Agent(
      std::move(options), std::move(token), std::move(channel),
      std::move(facts), std::move(measure), std::move(spool),
      std::move(spooled)));
}

Agent::Agent(AgentOptions options, std::string token,
             std::shared_ptr<grpc::Channel> channel,
             hakd::v1::DeviceFacts facts, MeasureFn measure,
             std::unique_ptr<MeasurementSpool> spool,
             std::vector<SpooledBatch> spooled)
    : options_(std::move(options)),
      token_(std::move(token)),
      channel_(std::move(channel)),
      stub_(hakd::v1::AgentService::NewStub(channel_)),
      facts_(std::move(facts)),
      measure_(std::move(measure)),
      backend_(options_.device == "cpu" ? "cpu" : "cuda"),
      throttle_([this]() -> absl::StatusOr<double> {
        // The reference kernel: a 3x3 convolution, 32 channels, 32x32, a
        // common layer that takes about 0.2 ms on a desktop core. Short and
        // fixed, so its time moves only with the machine.
        hakd::v1::TaskItem reference;
        hakd::v1::LayerSpec& l = *reference.mutable_layer();
        l.set_kind(hakd::v1::LAYER_KIND_CONV2D);
        l.set_batch(1);
        l.set_in_channels(32);
        l.set_out_channels(32);
        l.set_height(32);
        l.set_width(32);
        l.set_kernel(3);
        l.set_stride(1);
        l.set_padding(1);
        l.set_groups(1);
        TimingOptions t;
        t.device = options_.device;
        t.warmup_runs = 2;
        t.min_samples = 5;
        t.max_samples = 5;
        t.stable_cv = 0;
        t.max_seconds_per_layer = 0.2;
        absl::StatusOr<LayerTiming> timing = measure_(reference, t);
        if (!timing.ok()) return timing.status();
        return timing->median_us;
      }),
      queue_(static_cast<size_t>(options_.finished_task_memory)),
      batcher_(NewInstanceId(),
               BatcherOptions{options_.batch_size,
                              absl::Milliseconds(options_.batch_flush_ms)}),
      spool_(std::move(spool)) {
  // Batches of an earlier run keep their ids (the coordinator recognises
  // those it committed) and go first on the first stream, like any
  // unacknowledged batch; new ones are numbered after them, under this
  // run's own random instance id, so no id is ever reused.
  absl::MutexLock lock(&mu_);
  for (SpooledBatch& b : spooled) unacked_.Add(b.seq, std::move(b.batch));
  batcher_.StartAfter(unacked_.last_seq());
  if (!unacked_.empty()) {
    Logf("spool %s: %d unacknowledged batches (%d results) from an earlier "
         "run, sent first",
         spool_->path(), unacked_.size(), unacked_.entries());
  }
}

Agent::~Agent() = default;

bool Agent::stopping() const {
  absl::MutexLock lock(&mu_);
  return stopping_;
}

void Agent::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    cv_.SignalAll();
  }
  queue_.Close();
}

AgentStats Agent::stats() const {
  absl::MutexLock lock(&mu_);
  AgentStats stats = stats_;
  stats.unacked_entries = unacked_.entries() + batcher_.pending();
  return stats;
}

bool Agent::connected() const {
  absl::MutexLock lock(&mu_);
  return welcomed_ && !stream_ended_;
}

absl::Status Agent::Run() {
  Logf(
      "%s starting: device %s, %d intra-op and %d inter-op threads, "
      "LibTorch %s, coordinator %s, spool %s",
      options_.name, options_.device, options_.threads,
      options_.interop_threads, facts_.libtorch_version(), options_.server,
      options_.spool_file.empty() ? "none (results kept in memory)"
                                  : options_.spool_file);
  std::thread measurer([this] { MeasureLoop(); });
  Backoff backoff(
      BackoffOptions{absl::Milliseconds(options_.initial_backoff_ms), 2.0,
                     absl::Milliseconds(options_.max_backoff_ms)},
      std::random_device()());
  absl::Status refused;
  while (!stopping()) {
    bool welcomed = false;
    const absl::Status ended = RunStream(&welcomed);
    if (stopping()) break;
    if (welcomed) {
      backoff.Reset();
    } else if (IsFatalBeforeWelcome(ended.code())) {
      refused = ended;
      break;
    }
    const absl::Duration delay = backoff.Next();
    Logf("%s: %s; retry %d in %d ms",
         welcomed ? "connection lost" : "cannot connect",
         ended.ok() ? "the coordinator closed the stream" : ended.ToString(),
         backoff.attempts(), absl::ToInt64Milliseconds(delay));
    absl::MutexLock lock(&mu_);
    const absl::Time until = absl::Now() + delay;
    while (!stopping_ && !cv_.WaitWithDeadline(&mu_, until)) {
    }
  }
  Stop();
  measurer.join();
  absl::MutexLock lock(&mu_);
  // What is still unacknowledged stays in the spool for the next start
  // (without a spool it is lost; the coordinator has those items measured
  // again).
  if (std::optional<ReadyBatch> rest = batcher_.Flush()) {
    PublishLocked(std::move(*rest));
  }
  stats_.unacked_entries = unacked_.entries();
  Logf("stopped: %d measurements sent, %d unacked%s", stats_.measurements_sent,
       stats_.unacked_entries,
       spool_ != nullptr && !unacked_.empty()
           ? absl::StrCat(" (kept in ", spool_->path(), ")")
           : "");
  return refused;
}

absl::Status Agent::RunStream(bool* welcomed) {
  // After a failure gRPC's channel stays in TRANSIENT_FAILURE, failing new
  // calls at once with the old error, until its own reconnect backoff (up
  // to 5 s) lets it try again. Our backoff already paces the attempts: make
  // the channel try now, and give that try a moment to succeed.
  grpc::experimental::ChannelResetConnectionBackoff(channel_.get());
  channel_->WaitForConnected(absl::ToChronoTime(absl::Now() + kConnectWait));
  grpc::ClientContext context;
  AddBearerToken(&context, token_);
  {
    absl::MutexLock lock(&mu_);
    welcomed_ = ready_ = stream_ended_ = false;
  }
  std::unique_ptr<Stream> stream = stub_->Connect(&context);
  AgentMessage hello;
  hello.mutable_hello()->set_name(options_.name);
  *hello.mutable_hello()->mutable_facts() = facts_;
  hello.mutable_hello()->set_heartbeat_interval_ms(options_.heartbeat_ms);
  // If Hello cannot be written the call is over: the reader's Read fails
  // soon and Finish() says why (perhaps UNAUTHENTICATED), so wait for that
  // rather than cancel and hide it.
  const bool hello_sent = stream->Write(hello);
  std::thread reader([this, s = stream.get()] { ReadLoop(s); });
  bool ended = false;
  if (hello_sent && AwaitWelcome()) {
    *welcomed = true;
    Serve(stream.get());
    ended = AwaitStreamEnd(kStreamEndGrace);
  } else {
    // Without Welcome: the stream ended, or we stop, or it timed out.
    ended = AwaitStreamEnd(hello_sent ? absl::ZeroDuration() : kStreamEndGrace);
  }
  if (!ended) context.TryCancel();
  reader.join();
  const grpc::Status finish = stream->Finish();
  {
    absl::MutexLock lock(&mu_);
    ready_ = welcomed_ = false;
    KeepUnsentStatusesLocked(std::move(outbox_));
    outbox_.clear();
  }
  if (*welcomed || ended) {
    if (!*welcomed && finish.ok()) {
      return absl::UnavailableError(
          "the coordinator closed the stream before Welcome");
    }
    return FromGrpcStatus(finish);
  }
  if (stopping()) return absl::CancelledError("stopping");
  return absl::UnavailableError(
      absl::StrCat("no Welcome from the coordinator within ",
                   options_.welcome_timeout_ms, " ms"));
}

bool Agent::AwaitWelcome() {
  absl::MutexLock lock(&mu_);
  const absl::Time deadline =
      absl::Now() + absl::Milliseconds(options_.welcome_timeout_ms);
  while (!welcomed_ && !stream_ended_ && !stopping_ &&
         !cv_.WaitWithDeadline(&mu_, deadline)) {
  }
  return welcomed_;
}

bool Agent::AwaitStreamEnd(absl::Duration grace) {
  absl::MutexLock lock(&mu_);
  const absl::Time deadline = absl::Now() + grace;
  while (!stream_ended_ && !cv_.WaitWithDeadline(&mu_, deadline)) {
  }
  return stream_ended_;
}

void Agent::Serve(Stream* stream) {
  const absl::Duration heartbeat = absl::Milliseconds(options_.heartbeat_ms);
  absl::Time next_heartbeat = absl::Now() + heartbeat;
  bool draining = false;
  absl::Time drain_deadline = absl::InfiniteFuture();
  while (true) {
    std::deque<AgentMessage> out;
    bool close = false;
    {
      absl::MutexLock lock(&mu_);
      while (true) {
        if (stream_ended_) return;
        const absl::Time now = absl::Now();
        if (std::optional<ReadyBatch> due = batcher_.FlushIfDue(now)) {
          PublishLocked(std::move(*due));
        }
        if (stopping_ && measuring_done_ && !draining) {
          if (std::optional<ReadyBatch> rest = batcher_.Flush()) {
            PublishLocked(std::move(*rest));
          }
          draining = true;
          drain_deadline = now + absl::Milliseconds(options_.drain_timeout_ms);
          if (!unacked_.empty()) {
            Logf("draining: waiting up to %d ms for %d unacknowledged batches",
                 options_.drain_timeout_ms, unacked_.size());
          }
        }
        if (!outbox_.empty()) {
          out.swap(outbox_);
          break;
        }
        if (draining && (unacked_.empty() || now >= drain_deadline)) {
          close = true;
          break;
        }
        if (now >= next_heartbeat) {
          out.push_back(HeartbeatLocked());
          next_heartbeat = now + heartbeat;
          break;
        }
        cv_.WaitWithDeadline(
            &mu_, std::min({next_heartbeat, batcher_.flush_deadline(),
                            drain_deadline}));
      }
    }
    // Written without the mutex: a slow network must not stall the reader
    // or the measuring thread. Only this thread writes to the stream.
    while (!out.empty()) {
      if (!stream->Write(out.front())) {
        // Batches stay in unacked_ and go again on the next stream; the
        // statuses are kept for it.
        absl::MutexLock lock(&mu_);
        KeepUnsentStatusesLocked(std::move(out));
        return;
      }
      out.pop_front();
    }
    if (close) {
      stream->WritesDone();
      return;
    }
  }
}

void Agent::ReadLoop(Stream* stream) {
  CoordinatorMessage message;
  while (stream->Read(&message)) {
    switch (message.payload_case()) {
      case CoordinatorMessage::kWelcome:
        OnWelcome(message.welcome());
        break;
      case CoordinatorMessage::kTask:
        OnTask(std::move(*message.mutable_task()));
        break;
      case CoordinatorMessage::kAck:
        OnAck(message.ack());
        break;
      case CoordinatorMessage::kCancel:
        OnCancel(message.cancel());
        break;
      default:
        Logf("ignoring a coordinator message without payload");
        break;
    }
  }
  absl::MutexLock lock(&mu_);
  stream_ended_ = true;
  cv_.SignalAll();
}

void Agent::OnWelcome(const hakd::v1::Welcome& welcome) {
  absl::MutexLock lock(&mu_);
  if (welcomed_) {
    Logf("ignoring a second Welcome on the same stream");
    return;
  }
  welcomed_ = true;
  ++stats_.connections;
  stats_.device_id = welcome.device_id();
  Logf("connected as device %d", welcome.device_id());
  // Everything unacknowledged goes first, oldest first, then the statuses
  // made while away; new messages queue behind them.
  std::vector<hakd::v1::MeasurementBatch> resend = unacked_.InOrder();
  if (!resend.empty()) {
    Logf("resending %d unacknowledged batches (%d results)", resend.size(),
         unacked_.entries());
  }
  for (const hakd::v1::MeasurementBatch& batch : resend) {
    outbox_.push_back(BatchMessage(batch));
  }
  for (AgentMessage& status : pending_statuses_)
    outbox_.push_back(std::move(status));
  pending_statuses_.clear();
  ready_ = true;
  if (welcome.heartbeat_timeout_ms() > 0 &&
      2 * options_.heartbeat_ms > welcome.heartbeat_timeout_ms()) {
    Logf(
        "warning: --heartbeat-ms %d is more than half the coordinator's "
        "heartbeat timeout of %d ms",
        options_.heartbeat_ms, welcome.heartbeat_timeout_ms());
  }
  cv_.SignalAll();
}

void Agent::OnTask(ProfilingTask task) {
  if (task.task_id().empty() || task.sweep_id() <= 0) {
    Logf("ignoring a task without task_id or sweep_id ('%s', %d)",
         task.task_id(), task.sweep_id());
    return;
  }
  const std::string id = task.task_id();
  DropHeldItems(&task);
  const int items = task.items_size();
  switch (queue_.Push(std::move(task))) {
    case TaskQueue::PushResult::kQueued:
      Logf("task %s received: %d items, %d tasks waiting", id, items,
           queue_.QueuedCount());
      break;
    case TaskQueue::PushResult::kAlreadyRunning: {
      // A resend after a reconnect: tell the coordinator it is in hand.
      absl::MutexLock lock(&mu_);
      EnqueueStatusLocked(id, TaskStatus::STATE_STARTED, "already running");
      break;
    }
    case TaskQueue::PushResult::kAlreadyDone: {
      const TaskStatus::State state = queue_.FinishedState(id);
      Logf("ignoring task %s: %s before", id, TaskStateName(state));
      absl::MutexLock lock(&mu_);
      EnqueueStatusLocked(id, state,
                          absl::StrCat("already ", TaskStateName(state)));
      break;
    }
    case TaskQueue::PushResult::kAlreadyQueued:
    case TaskQueue::PushResult::kClosed:
      break;
  }
}

void Agent::DropHeldItems(ProfilingTask* task) {
  absl::MutexLock lock(&mu_);
  auto* items = task->mutable_items();
  const int before = items->size();
  items->erase(std::remove_if(items->begin(), items->end(),
                              [&](const hakd::v1::TaskItem& item) {
                                return unacked_.HoldsItem(task->sweep_id(),
                                                          item.item_index());
                              }),
               items->end());
  if (items->size() < before) {
    Logf("task %s: %d items measured already, awaiting acknowledgement",
         task->task_id(), before - items->size());
  }
}

void Agent::OnAck(const hakd::v1::BatchAck& ack) {
  absl::MutexLock lock(&mu_);
  const UnackedBatches::AckResult result = unacked_.Ack(ack);
  if (spool_ != nullptr &&
      result.outcome != UnackedBatches::AckResult::Outcome::kUnknown) {
    // Should this fail, the batch is resent after a restart and the
    // coordinator acknowledges it as a duplicate: harmless.
    if (absl::Status st = spool_->Remove(ack.batch_id()); !st.ok()) {
      Logf("%s", st.message());
    }
  }
  switch (result.outcome) {
    case UnackedBatches::AckResult::Outcome::kCommitted:
      stats_.measurements_sent += result.measurements;
      stats_.failures_sent += result.failures;
      break;
    case UnackedBatches::AckResult::Outcome::kRejected:
      // Rejected whole: resending would be rejected again.
      stats_.entries_rejected += result.measurements + result.failures;
      Logf(
          "batch %s rejected by the coordinator (code %d: %s); dropped its "
          "%d results",
          ack.batch_id(), ack.code(), ack.message(),
          result.measurements + result.failures);
      break;
    case UnackedBatches::AckResult::Outcome::kUnknown:
      break;  // acknowledged before (a resend crossed the first ack)
  }
  cv_.SignalAll();
}

void Agent::OnCancel(const hakd::v1::CancelTask& cancel) {
  const std::vector<std::string> dropped =
      queue_.CancelSweep(cancel.sweep_id());
  const bool current = queue_.CurrentCancelled();
  absl::MutexLock lock(&mu_);
  for (const std::string& id : dropped) {
    EnqueueStatusLocked(id, TaskStatus::STATE_CANCELLED, cancel.reason());
  }
  stats_.tasks_cancelled += dropped.size();
  Logf("sweep %d cancelled%s%s: dropped %d queued tasks%s", cancel.sweep_id(),
       cancel.reason().empty() ? "" : ": ", cancel.reason(), dropped.size(),
       current ? ", stopping the current one after its item" : "");
}

void Agent::PublishLocked(ReadyBatch ready) {
  // On disk before it can go out: from here on a crash loses nothing of it.
  if (spool_ != nullptr) {
    if (absl::Status st = spool_->Add(ready.seq, ready.batch); !st.ok()) {
      Logf("%s; the batch is kept in memory only", st.message());
    }
  }
  if (ready_) outbox_.push_back(BatchMessage(ready.batch));
  unacked_.Add(ready.seq, std::move(ready.batch));
  cv_.SignalAll();
}

void Agent::EnqueueStatusLocked(const std::string& task_id,
                                TaskStatus::State state,
                                const std::string& message) {
  AgentMessage m;
  TaskStatus* status = m.mutable_task_status();
  status->set_task_id(task_id);
  status->set_state(state);
  status->set_message(message);
  if (ready_) {
    outbox_.push_back(std::move(m));
    cv_.SignalAll();
    return;
  }
  pending_statuses_.push_back(std::move(m));
  if (pending_statuses_.size() > kMaxPendingStatuses) {
    pending_statuses_.pop_front();
  }
}

void Agent::KeepUnsentStatusesLocked(std::deque<AgentMessage> unsent) {
  for (AgentMessage& m : unsent) {
    if (m.has_task_status()) pending_statuses_.push_back(std::move(m));
  }
  while (pending_statuses_.size() > kMaxPendingStatuses)
    pending_statuses_.pop_front();
}

AgentMessage Agent::HeartbeatLocked() const {
  AgentMessage m;
  m.mutable_heartbeat()->set_current_task_id(queue_.CurrentTaskId());
  m.mutable_heartbeat()->set_queued_tasks(queue_.QueuedCount());
  return m;
}

}  // namespace hakd::agent
