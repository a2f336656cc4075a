// hakd-worker: trains teachers and distils students for a HAKD farm
// coordinator. Flags -> WorkerOptions -> Worker::Run().
//
// Exit codes: 0 after SIGTERM/SIGINT (a task in progress is handed back to
// the queue), 2 when the configuration is unusable or the coordinator
// refuses the worker, 1 on a second signal.
#include <signal.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "common/flag_names.h"
#include "common/health_server.h"
#include "common/log.h"
#include "worker/worker.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "host:port of the coordinator");
ABSL_FLAG(std::string, token_file, "", "file holding the bearer token of role worker (required unless --tls-cert)");
ABSL_FLAG(std::string, tls_ca, "", "PEM CA of the coordinator's certificate; empty: plaintext (loopback only)");
ABSL_FLAG(std::string, tls_cert, "", "PEM client certificate (mutual TLS; needs --tls-ca); replaces the token");
ABSL_FLAG(std::string, tls_key, "", "PEM key of --tls-cert");
ABSL_FLAG(bool, allow_insecure, false, "permit plaintext to a non-loopback coordinator");
ABSL_FLAG(std::string, name, "", "worker name; default: <hostname>-worker");
ABSL_FLAG(std::string, device, "cpu", "where training runs: cpu or cuda:N");
ABSL_FLAG(int32_t, threads, 0, "LibTorch intra-op threads; 0: every core");
ABSL_FLAG(int32_t, loader_threads, 2, "threads preparing batches");
ABSL_FLAG(std::string, fashion_mnist_dir, "", "Fashion-MNIST IDX files; default /usr/share/datasets/fashion-mnist");
ABSL_FLAG(std::string, cifar10_dir, "", "CIFAR-10 binary batches (data_batch_*.bin, test_batch.bin)");
ABSL_FLAG(int32_t, poll_ms, 1000, "wait between lease attempts when the queue is empty");
ABSL_FLAG(int32_t, max_backoff_ms, 30000, "largest wait between reconnect attempts");
ABSL_FLAG(int32_t, max_tasks, 0, "exit after this many tasks (0: never)");
ABSL_FLAG(int32_t, health_port, 0,
          "serve grpc.health.v1 in plaintext on this port, every interface (service \"liveness\": alive; "
          "\"\": SERVING while registered and the coordinator reachable), for probes; 0: off");

ABSL_FLAG(bool, data_parallel, true, "take part in data-parallel groups (tasks with world_size > 1)");
ABSL_FLAG(std::string, group_host, "",
          "address where the other members of a group reach this worker; empty: as the coordinator sees it");
ABSL_FLAG(int32_t, group_port, 0, "TCPStore port when this worker is a group's rank 0; 0: a free port per lease");
ABSL_FLAG(int32_t, group_timeout_ms, 120000, "rendezvous and collective timeout of a data-parallel group");

int main(int argc, char** argv) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) { return absl::EndsWith(file, "worker/main.cc"); };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(
      "Trains teachers and distils students for a HAKD farm coordinator.\n"
      "Usage: hakd-worker --token-file=FILE [--server=HOST:PORT] [--device=cpu|cuda:N] ...\n"
      "Flag names may be written with '-' or '_'.");
  hakd::AbslFlagArgs args(argc, argv);
  std::vector<char*> rest = absl::ParseCommandLine(args.argc(), args.argv());
  if (rest.size() > 1) {
    hakd::LogLine("hakd-worker", std::string("unexpected argument '") + rest[1] + "' (see --help)");
    return 2;
  }
  hakd::worker::WorkerOptions o;
  o.server = absl::GetFlag(FLAGS_server);
  o.token_file = absl::GetFlag(FLAGS_token_file);
  o.tls_ca_file = absl::GetFlag(FLAGS_tls_ca);
  o.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  o.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  o.allow_insecure = absl::GetFlag(FLAGS_allow_insecure);
  o.name = absl::GetFlag(FLAGS_name);
  o.device = absl::GetFlag(FLAGS_device);
  o.threads = absl::GetFlag(FLAGS_threads);
  o.loader_threads = absl::GetFlag(FLAGS_loader_threads);
  o.fashion_mnist_dir = absl::GetFlag(FLAGS_fashion_mnist_dir);
  o.cifar10_dir = absl::GetFlag(FLAGS_cifar10_dir);
  o.poll_ms = absl::GetFlag(FLAGS_poll_ms);
  o.max_backoff_ms = absl::GetFlag(FLAGS_max_backoff_ms);
  o.max_tasks = absl::GetFlag(FLAGS_max_tasks);
  o.health_port = absl::GetFlag(FLAGS_health_port);
  o.data_parallel = absl::GetFlag(FLAGS_data_parallel);
  o.group_host = absl::GetFlag(FLAGS_group_host);
  o.group_port = absl::GetFlag(FLAGS_group_port);
  o.group_timeout_ms = absl::GetFlag(FLAGS_group_timeout_ms);

  absl::StatusOr<std::unique_ptr<hakd::worker::Worker>> worker = hakd::worker::Worker::Create(o);
  if (!worker.ok()) {
    hakd::LogLine("hakd-worker", std::string(worker.status().message()));
    return 2;
  }
  // Readiness follows the worker's connection; the process ends with
  // _Exit, so nothing needs tearing down.
  std::unique_ptr<hakd::HealthServer> health;
  if (o.health_port > 0) {
    absl::StatusOr<std::unique_ptr<hakd::HealthServer>> started =
        hakd::HealthServer::Start(hakd::HealthServer::AddressForPort(o.health_port));
    if (!started.ok()) {
      hakd::LogLine("hakd-worker", std::string(started.status().message()));
      return 2;
    }
    health = std::move(*started);
    hakd::worker::Worker* raw = worker->get();
    health->Follow([raw] { return raw->connected(); }, absl::Seconds(1));
  }
  std::thread watcher([&] {
    int count = 0;
    while (true) {
      int sig = 0;
      if (sigwait(&stop_signals, &sig) != 0) continue;
      if (++count == 1) {
        hakd::LogLine("hakd-worker", std::string(strsignal(sig)) + ": handing back the current task, then stopping");
        (*worker)->Stop();
      } else {
        std::_Exit(1);
      }
    }
  });
  watcher.detach();
  absl::Status st = (*worker)->Run();
  if (!st.ok()) {
    hakd::LogLine("hakd-worker", "the coordinator refused this worker: " + st.ToString());
    std::_Exit(2);
  }
  std::_Exit(0);
}
