// hakd-sim: torch-free stand-ins for the farm's processes, for fault tests
// and the soak (docs/testing.md, "Fault tests").
//
//   hakd-sim agent    --server ADDR --token-file F --name DEV --batches N
//                     --batch-size K --ack-log FILE [--interval-ms M] ...
//   hakd-sim worker   --server ADDR --token-file F --name W [--tasks N] ...
//   hakd-sim proxy    --listen PORT --target ADDR --control FILE
//   hakd-sim check-db --db FILE (--ack-log FILE)... | --db FILE --sweep ID
//   hakd-sim soak     --server ADDR --agent-tokens FILE ... (see soak.h)
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "absl/strings/str_format.h"
#include "tests/fault/check_db.h"
#include "tests/fault/fault_proxy.h"
#include "tests/fault/sim_agent.h"
#include "tests/fault/sim_util.h"
#include "tests/fault/sim_worker.h"
#include "tests/fault/soak.h"

namespace hakd::sim {
namespace {

int Usage() {
  std::fprintf(
      stderr,
      "usage: hakd-sim agent|worker|proxy|check-db|soak --flag value ...\n"
      "  agent    --server ADDR --token-file F --name DEV --batches N\n"
      "           --batch-size K --ack-log FILE [--interval-ms 100] [--window "
      "8]\n"
      "           [--heartbeat-ms 1000] [--max-backoff-ms 2000]\n"
      "           [--keepalive-ms 20000] [--keepalive-timeout-ms 10000]\n"
      "           [--welcome-timeout-ms 10000]\n"
      "  worker   --server ADDR --token-file F --name W [--tasks N (0: "
      "forever)]\n"
      "           [--epoch-ms 1000] [--poll-ms 500] [--artifact-bytes 8192]\n"
      "  proxy    --listen PORT --target A.B.C.D:PORT --control FILE "
      "[--port-file F]\n"
      "  check-db --db FILE (--ack-log FILE)... [--expect-complete 1]\n"
      "           | --db FILE --sweep ID\n"
      "  soak     --server ADDR --agent-tokens FILE --worker-token-file F\n"
      "           --admin-token-file F [--agents 64] [--workers 4]\n"
      "           [--seconds 600] ...\n");
  return 2;
}

int AgentMain(int argc, char** argv) {
  absl::StatusOr<Flags> flags = Flags::Parse(
      argc, argv, 2,
      {"server", "token-file", "name", "batches", "batch-size", "ack-log",
       "interval-ms", "window", "heartbeat-ms", "max-backoff-ms",
       "keepalive-ms", "keepalive-timeout-ms", "welcome-timeout-ms"});
  if (!flags.ok() || !flags->Has("server") || !flags->Has("token-file") ||
      !flags->Has("name") || !flags->Has("batches") || !flags->Has("ack-log")) {
    if (!flags.ok()) {
      std::fprintf(stderr, "hakd-sim agent: %s\n",
                   flags.status().ToString().c_str());
    }
    return Usage();
  }
  SimAgentOptions o;
  o.server = flags->Get("server");
  o.token = TokenOrDie(flags->Get("token-file"));
  o.name = flags->Get("name");
  o.batches = flags->Int("batches", 0);
  o.batch_size = static_cast<int>(flags->Int("batch-size", 16));
  o.ack_log = flags->Get("ack-log");
  o.interval_ms = static_cast<int>(flags->Int("interval-ms", 100));
  o.window = static_cast<int>(flags->Int("window", 8));
  o.heartbeat_ms = static_cast<int>(flags->Int("heartbeat-ms", 1000));
  o.max_backoff_ms = static_cast<int>(flags->Int("max-backoff-ms", 2000));
  o.keepalive_ms = static_cast<int>(flags->Int("keepalive-ms", 20000));
  o.keepalive_timeout_ms =
      static_cast<int>(flags->Int("keepalive-timeout-ms", 10000));
  o.welcome_timeout_ms =
      static_cast<int>(flags->Int("welcome-timeout-ms", 10000));
  if (o.batches < 1 || o.batch_size < 1 || o.batch_size > 4096 ||
      o.window < 1) {
    std::fprintf(stderr,
                 "hakd-sim agent: --batches >= 1, --batch-size 1..4096, "
                 "--window >= 1\n");
    return 2;
  }
  SimAgent agent(o);
  const bool ok = agent.Run();
  const SimAgentStats s = agent.Stats();
  Event(o.name, "finished",
        absl::StrFormat(
            "ok=%d sent=%d resends=%d acked=%d entries=%d dup_acks=%d "
            "rejected=%d connects=%d stream_failures=%d ack_p50_ms=%.1f "
            "ack_p99_ms=%.1f",
            ok, s.batches_sent, s.resends, s.batches_acked, s.entries_acked,
            s.duplicate_acks, s.rejected, s.connects, s.stream_failures,
            Quantile(s.ack_ms, 0.5), Quantile(s.ack_ms, 0.99)));
  return ok ? 0 : 1;
}

int WorkerMain(int argc, char** argv) {
  absl::StatusOr<Flags> flags =
      Flags::Parse(argc, argv, 2,
                   {"server", "token-file", "name", "tasks", "epoch-ms",
                    "poll-ms", "artifact-bytes"});
  if (!flags.ok() || !flags->Has("server") || !flags->Has("token-file") ||
      !flags->Has("name")) {
    if (!flags.ok()) {
      std::fprintf(stderr, "hakd-sim worker: %s\n",
                   flags.status().ToString().c_str());
    }
    return Usage();
  }
  SimWorkerOptions o;
  o.server = flags->Get("server");
  o.token = TokenOrDie(flags->Get("token-file"));
  o.name = flags->Get("name");
  o.epoch_ms = static_cast<int>(flags->Int("epoch-ms", 1000));
  o.poll_ms = static_cast<int>(flags->Int("poll-ms", 500));
  o.artifact_bytes = static_cast<int>(flags->Int("artifact-bytes", 8192));
  const int64_t tasks = flags->Int("tasks", 0);
  SimWorker worker(o);
  std::thread run([&worker] { worker.Run(); });
  while (tasks == 0 || worker.Stats().tasks_completed < tasks) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  worker.Stop();
  run.join();
  const SimWorkerStats s = worker.Stats();
  Event(
      o.name, "finished",
      absl::StrFormat(
          "tasks=%d epochs=%d uploads=%d rpc_errors=%d leases_lost=%d",
          s.tasks_completed, s.epochs, s.uploads, s.rpc_errors, s.leases_lost));
  return s.rpc_errors == 0 ? 0 : 1;
}

int ProxyMain(int argc, char** argv) {
  absl::StatusOr<Flags> flags =
      Flags::Parse(argc, argv, 2, {"listen", "target", "control", "port-file"});
  if (!flags.ok()) {
    std::fprintf(stderr, "hakd-sim proxy: %s\n",
                 flags.status().ToString().c_str());
    return Usage();
  }
  ProxyOptions o;
  o.listen_port = static_cast<int>(flags->Int("listen", 0));
  o.target = flags->Get("target");
  o.control_file = flags->Get("control");
  o.port_file = flags->Get("port-file");
  return RunFaultProxy(o);
}

}  // namespace
}  // namespace hakd::sim

int main(int argc, char** argv) {
  if (argc < 2) return hakd::sim::Usage();
  const char* command = argv[1];
  if (std::strcmp(command, "agent") == 0)
    return hakd::sim::AgentMain(argc, argv);
  if (std::strcmp(command, "worker") == 0)
    return hakd::sim::WorkerMain(argc, argv);
  if (std::strcmp(command, "proxy") == 0)
    return hakd::sim::ProxyMain(argc, argv);
  if (std::strcmp(command, "check-db") == 0)
    return hakd::sim::CheckDbMain(argc, argv);
  if (std::strcmp(command, "soak") == 0) return hakd::sim::SoakMain(argc, argv);
  return hakd::sim::Usage();
}
