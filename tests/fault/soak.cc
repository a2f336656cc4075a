#include "tests/fault/soak.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/grpc_client.h"
#include "common/network/network_json.h"
#include "hakd/v1/training.grpc.pb.h"
#include "tests/fault/sim_agent.h"
#include "tests/fault/sim_util.h"
#include "tests/fault/sim_worker.h"

namespace hakd::sim {
namespace {

// The network of the submitted tasks; the simulated workers never build it.
constexpr char kTinyNetwork[] = R"({
  "name": "soak-tiny",
  "input": {"channels": 1, "height": 28, "width": 28},
  "num_classes": 10,
  "stem": {"out_channels": 8},
  "stages": [{"name": "group1", "blocks": [{"residual": {"out_channels": 8}}]}],
  "head": {"batchnorm_relu": true}
})";

// Keeps at least `target` tasks queued until `stop`.
struct Submitter {
  std::string server, token;
  int target = 4;
  int epochs = 3;
  std::atomic<int64_t> submitted{0};
  std::atomic<int64_t> errors{0};

  void Run(const std::atomic<bool>& stop) {
    auto stub = hakd::v1::TrainingService::NewStub(
        grpc::CreateChannel(server, grpc::InsecureChannelCredentials()));
    absl::StatusOr<hakd::v1::NetworkSpec> network =
        NetworkSpecFromJson(kTinyNetwork, "soak network");
    if (!network.ok()) {
      std::fprintf(stderr, "hakd-sim soak: %s\n",
                   network.status().ToString().c_str());
      ++errors;
      return;
    }
    while (!stop) {
      grpc::ClientContext ctx;
      AddBearerToken(&ctx, token);
      hakd::v1::ListTrainingTasksRequest list;
      list.set_state(hakd::v1::TASK_QUEUED);
      hakd::v1::ListTrainingTasksResponse queued;
      grpc::Status st = stub->ListTrainingTasks(&ctx, list, &queued);
      for (int i = queued.tasks_size(); st.ok() && i < target; ++i) {
        grpc::ClientContext sctx;
        AddBearerToken(&sctx, token);
        hakd::v1::SubmitTrainingRequest req;
        *req.mutable_spec()->mutable_network() = *network;
        req.mutable_spec()->set_dataset("fashion-mnist");
        req.mutable_spec()->set_name("soak");
        req.mutable_spec()->mutable_schedule()->set_epochs(epochs);
        hakd::v1::TrainingTask task;
        st = stub->SubmitTraining(&sctx, req, &task);
        if (st.ok()) ++submitted;
      }
      if (!st.ok()) {
        ++errors;
        Event("soak", "submit-error", st.error_message());
      }
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }
};

}  // namespace

int SoakMain(int argc, char** argv) {
  absl::StatusOr<Flags> flags = Flags::Parse(
      argc, argv, 2,
      {"server", "agent-tokens", "worker-token-file", "admin-token-file",
       "agents", "workers", "seconds", "batch-size", "interval-ms", "window",
       "epoch-ms", "task-epochs", "ack-dir", "report-ms"});
  if (!flags.ok() || !flags->Has("server") || !flags->Has("agent-tokens") ||
      !flags->Has("worker-token-file") || !flags->Has("admin-token-file")) {
    std::fprintf(stderr,
                 "usage: hakd-sim soak --server ADDR --agent-tokens FILE "
                 "--worker-token-file F --admin-token-file F [--agents 64] "
                 "[--workers 4] [--seconds 600] ...\n%s\n",
                 flags.ok() ? "" : flags.status().ToString().c_str());
    return 2;
  }
  const std::vector<std::string> agent_tokens =
      LinesOrDie(flags->Get("agent-tokens"));
  const int n_agents = static_cast<int>(flags->Int("agents", 64));
  const int n_workers = static_cast<int>(flags->Int("workers", 4));
  const int64_t seconds = flags->Int("seconds", 600);
  const int64_t report_ms = flags->Int("report-ms", 10000);
  const std::string ack_dir = flags->Get("ack-dir");

  std::vector<std::unique_ptr<SimAgent>> agents;
  for (int i = 0; i < n_agents; ++i) {
    SimAgentOptions o;
    o.server = flags->Get("server");
    o.token = agent_tokens[i % agent_tokens.size()];
    o.name = absl::StrFormat("soak-%03d", i);
    o.batch_size = static_cast<int>(flags->Int("batch-size", 16));
    o.interval_ms = static_cast<int>(flags->Int("interval-ms", 500));
    o.window = static_cast<int>(flags->Int("window", 8));
    o.heartbeat_ms = 5000;  // the real agent's default
    o.events = true;
    if (!ack_dir.empty()) {
      o.ack_log = absl::StrFormat("%s/%s.acks", ack_dir, o.name);
      o.fsync_ack_log = false;
    }
    agents.push_back(std::make_unique<SimAgent>(o));
  }
  std::vector<std::unique_ptr<SimWorker>> workers;
  for (int i = 0; i < n_workers; ++i) {
    SimWorkerOptions o;
    o.server = flags->Get("server");
    o.token = TokenOrDie(flags->Get("worker-token-file"));
    o.name = absl::StrFormat("soak-worker-%d", i);
    o.epoch_ms = static_cast<int>(flags->Int("epoch-ms", 1000));
    o.events = false;
    workers.push_back(std::make_unique<SimWorker>(o));
  }
  Submitter submitter;
  submitter.server = flags->Get("server");
  submitter.token = TokenOrDie(flags->Get("admin-token-file"));
  submitter.target = n_workers;
  submitter.epochs = static_cast<int>(flags->Int("task-epochs", 3));

  std::atomic<bool> stop{false};
  const double start = MonoMs();
  std::vector<std::thread> threads;
  for (auto& a : agents) threads.emplace_back([&a] { a->Run(); });
  for (auto& w : workers) threads.emplace_back([&w] { w->Run(); });
  std::thread submit_thread([&] { submitter.Run(stop); });

  int64_t last_entries = 0;
  double last_report = start;
  while (MonoMs() - start < seconds * 1000.0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (MonoMs() - last_report < report_ms) continue;
    int64_t entries = 0, failures = 0;
    for (auto& a : agents) {
      const SimAgentStats s = a->Stats();
      entries += s.entries_acked;
      failures += s.stream_failures + s.rejected;
    }
    const double now = MonoMs();
    Event(
        "soak", "progress",
        absl::StrFormat(
            "elapsed_s=%.0f measurements=%d rate=%.0f/s agent_errors=%d",
            (now - start) / 1000, entries,
            (entries - last_entries) * 1000.0 / (now - last_report), failures));
    last_entries = entries;
    last_report = now;
  }
  const double elapsed_s = (MonoMs() - start) / 1000;
  stop = true;
  for (auto& a : agents) a->Stop(10000);
  for (auto& w : workers) w->Stop();
  for (auto& t : threads) t.join();
  submit_thread.join();

  int64_t batches = 0, entries = 0, failures = 0, rejected = 0, unacked = 0,
          dups = 0;
  std::vector<double> ack_ms;
  for (auto& a : agents) {
    const SimAgentStats s = a->Stats();
    batches += s.batches_acked;
    entries += s.entries_acked;
    failures += s.stream_failures;
    rejected += s.rejected;
    unacked += s.unacked;
    dups += s.duplicate_acks;
    ack_ms.insert(ack_ms.end(), s.ack_ms.begin(), s.ack_ms.end());
  }
  int64_t tasks = 0, epochs = 0, uploads = 0, rpc_errors = 0, lost = 0;
  for (auto& w : workers) {
    const SimWorkerStats s = w->Stats();
    tasks += s.tasks_completed;
    epochs += s.epochs;
    uploads += s.uploads;
    rpc_errors += s.rpc_errors;
    lost += s.leases_lost;
    for (const std::string& e : s.errors)
      std::fprintf(stderr, "worker error: %s\n", e.c_str());
  }
  const int64_t errors = failures + rejected + unacked + rpc_errors + lost +
                         submitter.errors.load();
  std::printf("soak_seconds: %.1f\n", elapsed_s);
  std::printf("agents: %d\nworkers: %d\n", n_agents, n_workers);
  std::printf("batches_acked: %lld\nmeasurements_committed: %lld\n",
              static_cast<long long>(batches), static_cast<long long>(entries));
  std::printf("measurements_per_s: %.1f\n", entries / elapsed_s);
  std::printf("ack_p50_ms: %.2f\nack_p99_ms: %.2f\nack_max_ms: %.2f\n",
              Quantile(ack_ms, 0.5), Quantile(ack_ms, 0.99),
              Quantile(ack_ms, 1.0));
  std::printf("duplicate_acks: %lld\n", static_cast<long long>(dups));
  std::printf(
      "agent_stream_failures: %lld\nagent_rejected: "
      "%lld\nagent_unacked_at_end: %lld\n",
      static_cast<long long>(failures), static_cast<long long>(rejected),
      static_cast<long long>(unacked));
  std::printf(
      "tasks_submitted: %lld\ntasks_completed: %lld\nepochs_reported: %lld\n"
      "artifacts_uploaded: %lld\n",
      static_cast<long long>(submitter.submitted.load()),
      static_cast<long long>(tasks), static_cast<long long>(epochs),
      static_cast<long long>(uploads));
  std::printf(
      "worker_rpc_errors: %lld\nworker_leases_lost: %lld\nsubmit_errors: "
      "%lld\n",
      static_cast<long long>(rpc_errors), static_cast<long long>(lost),
      static_cast<long long>(submitter.errors.load()));
  std::printf("errors: %lld\n", static_cast<long long>(errors));
  return errors == 0 ? 0 : 1;
}

}  // namespace hakd::sim
