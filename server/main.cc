// hakd-server: the HAKD farm coordinator. Flags are bound into one
// ServerOptions, the server is built and started, and the process waits for
// SIGTERM/SIGINT to shut down gracefully.
#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/flag_names.h"
#include "common/health_server.h"
#include "server/server.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "address to listen on (host:port; port 0 picks one)");
ABSL_FLAG(std::string, db, "hakd.db", "SQLite latency database file");
ABSL_FLAG(std::string, auth_file, "", "auth file: one 'ROLE TOKEN' per line (roles agent, worker, reader, admin)");
ABSL_FLAG(bool, no_auth, false, "accept calls without tokens (loopback only, for local experiments)");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate chain for TLS");
ABSL_FLAG(std::string, tls_key, "", "PEM private key for TLS");
ABSL_FLAG(int32_t, max_streams_per_identity, hakd::Authorizer::kDefaultMaxStreamsPerIdentity,
          "streaming calls (agent streams, watches, artifact transfers) one identity may hold open");
ABSL_FLAG(int64_t, artifact_quota_bytes, 0, "most bytes stored artifacts may take (0: no quota)");
ABSL_FLAG(int64_t, artifact_min_free_bytes, int64_t{256} << 20,
          "free space artifact uploads must leave on the artifact file system");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA of client certificates (mutual TLS); a verified certificate's "
          "CN is looked up as 'cert:CN' in the auth file");
ABSL_FLAG(bool, allow_insecure, false, "allow plaintext on a non-loopback address");
ABSL_FLAG(int, heartbeat_timeout_ms, 15000, "silence after which a device is offline");
ABSL_FLAG(int, max_message_bytes, 16 << 20, "largest gRPC message accepted");
ABSL_FLAG(int32_t, health_port, 0,
          "also serve grpc.health.v1 in plaintext on this port, every interface (for probes that "
          "cannot speak TLS, such as Kubernetes'; service \"liveness\": alive; \"\": SERVING until "
          "shutdown); 0: off");
ABSL_FLAG(std::string, port_file, "", "write the bound port to this file once serving");
ABSL_FLAG(bool, sync_full, true, "fsync every commit (PRAGMA synchronous=FULL)");
ABSL_FLAG(std::string, artifact_dir, "", "directory of training artifacts (models, checkpoints); default: 'artifacts' beside --db");
ABSL_FLAG(int, lease_ms, 30000, "how long a training worker's lease lasts without ReportProgress (>= 1000)");
// For tests and drills of a full disk; not in the documentation.
ABSL_FLAG(int64_t, db_max_pages, 0, "testing: cap the database at N pages (PRAGMA max_page_count), as if the disk were full beyond; 0: no cap");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "HAKD farm coordinator: stores agents' latency measurements in SQLite, "
      "serves queries and queues training tasks for workers.\nUsage: hakd-server --auth-file FILE [--db hakd.db] "
      "[--listen 127.0.0.1:50051]");
  hakd::AbslFlagArgs args(argc, argv);
  absl::ParseCommandLine(args.argc(), args.argv());

  // Block the stop signals in every thread; one thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);  // reload the auth file
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  hakd::ServerOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.db_path = absl::GetFlag(FLAGS_db);
  options.auth_file = absl::GetFlag(FLAGS_auth_file);
  options.no_auth = absl::GetFlag(FLAGS_no_auth);
  options.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  options.tls_key = absl::GetFlag(FLAGS_tls_key);
  options.tls_client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  options.max_streams_per_identity = absl::GetFlag(FLAGS_max_streams_per_identity);
  options.artifact_quota_bytes = absl::GetFlag(FLAGS_artifact_quota_bytes);
  options.artifact_min_free_bytes = absl::GetFlag(FLAGS_artifact_min_free_bytes);
  options.allow_insecure = absl::GetFlag(FLAGS_allow_insecure);
  options.heartbeat_timeout_ms = absl::GetFlag(FLAGS_heartbeat_timeout_ms);
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.port_file = absl::GetFlag(FLAGS_port_file);
  options.synchronous_full = absl::GetFlag(FLAGS_sync_full);
  options.artifact_dir = absl::GetFlag(FLAGS_artifact_dir);
  options.lease_ms = absl::GetFlag(FLAGS_lease_ms);
  options.db_max_pages = absl::GetFlag(FLAGS_db_max_pages);
  if (const int port = absl::GetFlag(FLAGS_health_port); port < 0 || port > 65535) {
    std::fprintf(stderr, "hakd-server: --health-port must be in 0..65535\n");
    return 2;
  }
  if (options.heartbeat_timeout_ms < 1000) {
    std::fprintf(stderr, "hakd-server: --heartbeat_timeout_ms must be >= 1000\n");
    return 2;
  }

  absl::StatusOr<std::unique_ptr<hakd::HakdServer>> server =
      hakd::HakdServer::BuildAndStart(options);
  if (!server.ok()) {
    std::fprintf(stderr, "hakd-server: %s\n",
                 std::string(server.status().message()).c_str());
    return 1;
  }
  std::unique_ptr<hakd::HealthServer> health;
  if (const int port = absl::GetFlag(FLAGS_health_port); port > 0) {
    absl::StatusOr<std::unique_ptr<hakd::HealthServer>> started =
        hakd::HealthServer::Start(hakd::HealthServer::AddressForPort(port));
    if (!started.ok()) {
      std::fprintf(stderr, "hakd-server: %s\n", std::string(started.status().message()).c_str());
      return 1;
    }
    health = std::move(*started);
    health->SetServing(true);
  }
  hakd::HakdServer* raw = server->get();
  hakd::HealthServer* raw_health = health.get();
  std::thread stopper([raw, raw_health, &signals] {
    int sig = 0;
    while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
      // A bad file keeps the credentials in force; the reason is logged.
      raw->ReloadAuth().IgnoreError();
    }
    if (raw_health != nullptr) raw_health->SetServing(false);
    raw->Shutdown(absl::Seconds(3));
  });
  raw->Wait();
  server->reset();
  std::fprintf(stderr, "hakd-server: stopped\n");
  // The stopper may still wait if the server ended for another reason.
  stopper.detach();
  return 0;
}
