#include "tests/fault/sim_agent.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/grpc_client.h"
#include "tests/fault/sim_util.h"

namespace hakd::sim {

using hakd::v1::AgentMessage;
using hakd::v1::CoordinatorMessage;

SimAgent::SimAgent(SimAgentOptions options) : options_(std::move(options)) {
  if (!options_.ack_log.empty()) {
    ack_log_ = std::fopen(options_.ack_log.c_str(), "a");
    if (ack_log_ == nullptr) {
      std::fprintf(stderr, "hakd-sim: cannot open --ack-log %s\n",
                   options_.ack_log.c_str());
      std::exit(2);
    }
  }
}

SimAgent::~SimAgent() {
  if (ack_log_ != nullptr) std::fclose(ack_log_);
}

// The channel arguments of common/grpc_client.cc (keepalive, reconnect
// backoff, message size), with the keepalive timeout as an option and a
// subchannel pool of its own, so that agents simulated in one process each
// hold their own TCP connection, as boards do.
std::shared_ptr<grpc::Channel> SimAgent::MakeChannel() const {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(16 << 20);
  if (options_.keepalive_ms > 0) {
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, options_.keepalive_ms);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, options_.keepalive_timeout_ms);
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  }
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(options_.server,
                                   grpc::InsecureChannelCredentials(), args);
}

bool SimAgent::Done() const {
  if (options_.batches > 0 && next_seq_ >= options_.batches &&
      unacked_.empty()) {
    return true;
  }
  return stopping_ && (unacked_.empty() || MonoMs() >= drain_deadline_ms_);
}

void SimAgent::Stop(int drain_ms) {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  drain_deadline_ms_ = MonoMs() + drain_ms;
  changed_.SignalAll();
}

SimAgentStats SimAgent::Stats() const {
  absl::MutexLock lock(&mu_);
  SimAgentStats copy = stats_;
  copy.unacked = static_cast<int64_t>(unacked_.size());
  return copy;
}

bool SimAgent::Run() {
  std::shared_ptr<grpc::Channel> channel = MakeChannel();
  auto stub = hakd::v1::AgentService::NewStub(channel);
  Backoff backoff(100, options_.max_backoff_ms,
                  std::hash<std::string>()(options_.name));
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (Done()) break;
    }
    RunStream(channel.get(), stub.get());
    absl::MutexLock lock(&mu_);
    if (Done()) break;
    if (welcomed_) backoff.Reset();
    const double until = MonoMs() + backoff.NextMs();
    while (!Done() && MonoMs() < until) {
      changed_.WaitWithTimeout(
          &mu_, absl::Milliseconds(std::max(1.0, until - MonoMs())));
    }
  }
  absl::MutexLock lock(&mu_);
  const bool all_created =
      options_.batches == 0 || next_seq_ >= options_.batches;
  return stats_.rejected == 0 && unacked_.empty() && all_created;
}

void SimAgent::RunStream(grpc::Channel* channel,
                         hakd::v1::AgentService::Stub* stub) {
  // As the real agent does (agent/agent.cc): make a channel left in
  // TRANSIENT_FAILURE try now rather than after gRPC's own backoff, and
  // poll it a moment so that the attempt can complete (a fail-fast call
  // alone leaves it to gRPC's 5 s backup poller).
  grpc::experimental::ChannelResetConnectionBackoff(channel);
  channel->WaitForConnected(std::chrono::system_clock::now() +
                            std::chrono::seconds(1));
  grpc::ClientContext ctx;
  AddBearerToken(&ctx, options_.token);
  {
    absl::MutexLock lock(&mu_);
    welcomed_ = false;
    stream_over_ = false;
  }
  const double started = MonoMs();
  // Connect itself may wait for a connection that never completes (a
  // blackholed link): the watchdog cancels an attempt without Welcome.
  std::thread watchdog([this, &ctx, started] {
    absl::MutexLock lock(&mu_);
    const double deadline = started + options_.welcome_timeout_ms;
    while (!welcomed_ && !stream_over_ && MonoMs() < deadline) {
      changed_.WaitWithTimeout(
          &mu_, absl::Milliseconds(std::max(1.0, deadline - MonoMs())));
    }
    if (!welcomed_ && !stream_over_) ctx.TryCancel();
  });
  std::unique_ptr<Stream> stream = stub->Connect(&ctx);
  AgentMessage hello;
  hello.mutable_hello()->set_name(options_.name);
  hello.mutable_hello()->set_heartbeat_interval_ms(options_.heartbeat_ms);
  hakd::v1::DeviceFacts* facts = hello.mutable_hello()->mutable_facts();
  facts->set_hostname(absl::StrCat("sim-", options_.name));
  facts->set_arch("x86_64");
  facts->set_cpu_model("hakd-sim");
  facts->set_cpu_cores(1);
  facts->set_agent_version("hakd-sim");
  stream->Write(hello);
  std::thread reader([this, &stream] {
    CoordinatorMessage msg;
    while (stream->Read(&msg)) {
      if (msg.has_welcome()) {
        absl::MutexLock lock(&mu_);
        welcomed_ = true;
        changed_.SignalAll();
      } else if (msg.has_ack()) {
        HandleAck(msg.ack());
      }
    }
    absl::MutexLock lock(&mu_);
    stream_over_ = true;
    changed_.SignalAll();
  });
  bool welcomed = false;
  {
    absl::MutexLock lock(&mu_);
    while (!welcomed_ && !stream_over_) changed_.Wait(&mu_);
    welcomed = welcomed_;
    if (welcomed) ++stats_.connects;
  }
  if (welcomed && options_.events) {
    Event(options_.name, "connected",
          absl::StrFormat("after_ms=%.0f", MonoMs() - started));
  }
  if (welcomed) SendLoop(stream.get());
  bool ended_by_us;
  bool over;
  {
    absl::MutexLock lock(&mu_);
    over = stream_over_;
    ended_by_us = !over && Done();
  }
  // A stream that ended on its own keeps its status for Finish (a cancel
  // would turn it into CANCELLED); one that did not is ended here, also
  // after a failed Write.
  if (!over) ctx.TryCancel();
  reader.join();
  watchdog.join();
  const grpc::Status status = stream->Finish();
  absl::MutexLock lock(&mu_);
  if (ended_by_us) return;
  if (welcomed) ++stats_.stream_failures;
  if (options_.events) {
    Event(options_.name, welcomed ? "stream-ended" : "connect-failed",
          absl::StrFormat("code=%d after_ms=%.0f unacked=%d msg=\"%s\"",
                          static_cast<int>(status.error_code()),
                          MonoMs() - started, static_cast<int>(unacked_.size()),
                          status.error_message()));
  }
}

void SimAgent::SendLoop(Stream* stream) {
  // Everything unacknowledged goes first, in order, with its original id.
  std::vector<hakd::v1::MeasurementBatch> resend;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [seq, pending] : unacked_) {
      pending.sent_mono_ms = MonoMs();
      resend.push_back(pending.batch);
    }
    stats_.resends += static_cast<int64_t>(resend.size());
  }
  for (const hakd::v1::MeasurementBatch& batch : resend) {
    AgentMessage msg;
    *msg.mutable_batch() = batch;
    if (!stream->Write(msg)) return;
  }
  double next_heartbeat = MonoMs() + options_.heartbeat_ms;
  double next_batch = MonoMs();
  for (;;) {
    AgentMessage out;
    {
      absl::MutexLock lock(&mu_);
      for (;;) {
        if (stream_over_ || Done()) return;
        const double now = MonoMs();
        if (now >= next_heartbeat) {
          out.mutable_heartbeat();
          next_heartbeat = now + options_.heartbeat_ms;
          break;
        }
        const bool more = !stopping_ && (options_.batches == 0 ||
                                         next_seq_ < options_.batches);
        const bool room = static_cast<int>(unacked_.size()) < options_.window;
        if (more && room && now >= next_batch) {
          const int64_t seq = next_seq_++;
          Pending& pending = unacked_[seq];
          hakd::v1::MeasurementBatch& batch = pending.batch;
          batch.set_batch_id(absl::StrFormat("%s-b%06d", options_.name, seq));
          for (int i = 0; i < options_.batch_size; ++i) {
            *batch.add_measurements() = SimMeasurement(batch.batch_id(), i);
          }
          pending.sent_mono_ms = now;
          seq_of_[batch.batch_id()] = seq;
          ++stats_.batches_sent;
          *out.mutable_batch() = batch;
          next_batch = now + options_.interval_ms;
          break;
        }
        double wake = next_heartbeat;
        if (more && room) wake = std::min(wake, next_batch);
        changed_.WaitWithTimeout(&mu_,
                                 absl::Milliseconds(std::max(1.0, wake - now)));
      }
    }
    if (!stream->Write(out)) return;
  }
}

void SimAgent::HandleAck(const hakd::v1::BatchAck& ack) {
  absl::MutexLock lock(&mu_);
  auto it = seq_of_.find(ack.batch_id());
  if (it == seq_of_.end()) return;  // acknowledged before, on an older stream
  auto pending = unacked_.find(it->second);
  const double latency = MonoMs() - pending->second.sent_mono_ms;
  const int entries = pending->second.batch.measurements_size();
  if (ack.code() == 0) {
    if (ack_log_ != nullptr) {
      std::fprintf(ack_log_, "%s %d %.3f %d\n", ack.batch_id().c_str(), entries,
                   latency, ack.duplicate() ? 1 : 0);
      std::fflush(ack_log_);
      if (options_.fsync_ack_log) fsync(fileno(ack_log_));
    }
    ++stats_.batches_acked;
    stats_.entries_acked += entries;
    if (ack.duplicate()) ++stats_.duplicate_acks;
    stats_.ack_ms.push_back(latency);
  } else {
    ++stats_.rejected;
    Event(options_.name, "rejected",
          absl::StrCat(ack.batch_id(), " code=", ack.code(), " msg=\"",
                       ack.message(), "\""));
  }
  unacked_.erase(pending);
  seq_of_.erase(it);
  changed_.SignalAll();
}

}  // namespace hakd::sim
