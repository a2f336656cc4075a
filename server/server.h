// HakdServer: the coordinator process's parts wired together. Built from one
// Options struct (flags are bound to it in main.cc), started by
// BuildAndStart, then Wait until Shutdown.
#ifndef HAKD_SERVER_SERVER_H_
#define HAKD_SERVER_SERVER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include <grpcpp/server.h>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "server/admin_service.h"
#include "server/agent_registry.h"
#include "server/agent_service.h"
#include "server/artifact_store.h"
#include "server/auth.h"
#include "server/design_manager.h"
#include "server/design_service.h"
#include "server/design_store.h"
#include "server/ingest_committer.h"
#include "server/latency_service.h"
#include "server/latency_store.h"
#include "server/sweep_manager.h"
#include "server/training_service.h"
#include "server/training_store.h"
#include "server/worker_service.h"

namespace hakd {

struct ServerOptions {
  // Address to listen on. Default "127.0.0.1:50051"; port 0 picks a free one.
  std::string listen = "127.0.0.1:50051";
  // SQLite latency database. Default "hakd.db".
  std::string db_path = "hakd.db";
  // Auth file ("ROLE TOKEN" lines). Required unless no_auth.
  std::string auth_file;
  // Accept every call without a token; only allowed on loopback. Default false.
  bool no_auth = false;
  // PEM certificate chain and key for TLS; both or neither. Default: none.
  std::string tls_cert;
  std::string tls_key;
  // PEM CA whose client certificates are accepted (mutual TLS): a client
  // presenting one signed by it is known by its subject's common name
  // ("cert:CN" lines of the auth file); clients without a certificate still
  // use bearer tokens. Needs tls_cert/tls_key. Default: none.
  std::string tls_client_ca;
  // Allow plaintext on a non-loopback address. Default false.
  bool allow_insecure = false;
  // Silence after which an agent's device is offline. Default 15000 ms.
  int heartbeat_timeout_ms = 15000;
  // Largest message accepted. Default 16 MiB.
  int max_message_bytes = 16 << 20;
  // When set, the bound port is written here once serving (for scripts).
  std::string port_file;
  // PRAGMA synchronous=FULL (default true); see StoreOptions.
  bool synchronous_full = true;
  // Directory of training artifacts (models, checkpoints). Default (empty):
  // "artifacts" beside the database, i.e. "<directory of db_path>/artifacts".
  std::string artifact_dir;
  // How long a training lease lasts without ReportProgress. Default 30000 ms.
  int lease_ms = 30000;
  // Streaming calls (agent streams, watches, artifact transfers) one
  // identity may hold open at once. Default 64.
  int max_streams_per_identity = Authorizer::kDefaultMaxStreamsPerIdentity;
  // Most bytes stored artifacts may take; 0 (the default): no quota.
  int64_t artifact_quota_bytes = 0;
  // Free space artifact uploads must leave on the artifact file system.
  // Default 256 MiB.
  int64_t artifact_min_free_bytes = int64_t{256} << 20;
  // Caps the database at this many pages (PRAGMA max_page_count on every
  // writing connection), as if the disk were that small; 0 (the default):
  // no cap. For tests of a full database.
  int64_t db_max_pages = 0;
};

// The artifact directory `options` select (see ServerOptions::artifact_dir).
std::string ArtifactDirOf(const ServerOptions& options);

class HakdServer {
 public:
  // Opens the database, loads the auth file and starts serving. Errors say
  // which option is at fault.
  static absl::StatusOr<std::unique_ptr<HakdServer>> BuildAndStart(
      const ServerOptions& options);
  ~HakdServer();

  // The port actually bound.
  int port() const { return port_; }
  // Blocks until Shutdown.
  void Wait();
  // Reads the auth file again and puts it in force for calls checked from
  // now on (SIGHUP): a revoked token stops working without a restart, and
  // streams it already opened are not cut. On error (unreadable or invalid
  // file, or --no-auth) the credentials in force stay; either way the
  // outcome is logged.
  absl::Status ReloadAuth();
  // Stops accepting, ends streams after `grace`, commits what is queued.
  void Shutdown(absl::Duration grace);
  // Changes ServerOptions::db_max_pages while serving (0: no cap), e.g. for
  // a test that fills the database and then gives the space back.
  absl::Status SetDatabaseMaxPages(int64_t pages);

 private:
  HakdServer() = default;

  ServerOptions options_;
  std::unique_ptr<LatencyStore> store_;
  std::unique_ptr<Authorizer> auth_;
  std::unique_ptr<AgentRegistry> registry_;
  std::unique_ptr<SweepManager> sweeps_;
  std::unique_ptr<IngestCommitter> committer_;
  std::unique_ptr<AgentServiceImpl> agent_service_;
  std::unique_ptr<LatencyServiceImpl> latency_service_;
  std::unique_ptr<TrainingStore> training_;
  std::unique_ptr<ArtifactStore> artifacts_;
  std::unique_ptr<TrainingServiceImpl> training_service_;
  std::unique_ptr<WorkerServiceImpl> worker_service_;
  // After the stores it uses, so that its thread stops before they close.
  std::unique_ptr<DesignStore> designs_;
  std::unique_ptr<DesignManager> design_manager_;
  std::unique_ptr<DesignServiceImpl> design_service_;
  std::unique_ptr<AdminServiceImpl> admin_service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;

  std::thread reaper_;
  absl::Notification stop_reaper_;
  std::atomic<bool> shut_down_{false};
};

}  // namespace hakd

#endif  // HAKD_SERVER_SERVER_H_
