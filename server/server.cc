#include "server/server.h"

#include <fstream>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include "absl/strings/str_cat.h"
#include "common/grpc_client.h"
#include "common/log.h"
#include "common/time_util.h"

namespace hakd {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, const char* flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(flag, ": cannot read '", path, "'"));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

absl::Status HakdServer::ReloadAuth() {
  absl::Status st;
  if (options_.auth_file.empty()) {
    st = absl::FailedPreconditionError(
        "running with --no-auth: there is no auth file to reload");
  } else {
    absl::StatusOr<AuthTable> table = AuthTable::Load(options_.auth_file);
    st = table.ok() ? auth_->Replace(*std::move(table)) : table.status();
    if (st.ok()) {
      LogLine("hakd-server",
              absl::StrCat("auth file ", options_.auth_file, " reloaded"));
      return st;
    }
  }
  LogLine("hakd-server", absl::StrCat("auth file not reloaded, the previous "
                                      "credentials stay in force: ",
                                      st.message()));
  return st;
}

std::string ArtifactDirOf(const ServerOptions& options) {
  if (!options.artifact_dir.empty()) return options.artifact_dir;
  const size_t slash = options.db_path.rfind('/');
  if (slash == std::string::npos) return "artifacts";
  if (slash == 0) return "/artifacts";
  return options.db_path.substr(0, slash) + "/artifacts";
}

absl::StatusOr<std::unique_ptr<HakdServer>> HakdServer::BuildAndStart(
    const ServerOptions& options) {
  std::unique_ptr<HakdServer> s(new HakdServer());
  s->options_ = options;
  const bool loopback = IsLoopbackAddress(options.listen);
  const bool tls = !options.tls_cert.empty() || !options.tls_key.empty();
  if (tls && (options.tls_cert.empty() || options.tls_key.empty())) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (!options.tls_client_ca.empty() && !tls) {
    return absl::InvalidArgumentError(
        "--tls-client-ca needs --tls-cert and --tls-key: client certificates "
        "are checked only over TLS");
  }
  if (!tls && !loopback && !options.allow_insecure) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--listen ", options.listen,
        " is not loopback: give --tls-cert/--tls-key, or --allow-insecure to "
        "accept tokens in clear"));
  }
  std::optional<AuthTable> table;
  if (options.no_auth) {
    if (!loopback) {
      return absl::InvalidArgumentError("--no-auth is allowed only on loopback");
    }
  } else {
    if (options.auth_file.empty()) {
      return absl::InvalidArgumentError(
          "--auth-file is required (or --no-auth on loopback)");
    }
    absl::StatusOr<AuthTable> loaded = AuthTable::Load(options.auth_file);
    if (!loaded.ok()) return loaded.status();
    table = *std::move(loaded);
  }
  if (options.max_streams_per_identity < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max-streams-per-identity: ", options.max_streams_per_identity,
        " is below 1"));
  }
  s->auth_ = std::make_unique<Authorizer>(std::move(table),
                                          options.max_streams_per_identity);

  StoreOptions store_options;
  store_options.path = options.db_path;
  store_options.synchronous_full = options.synchronous_full;
  store_options.max_page_count = options.db_max_pages;
  absl::StatusOr<std::unique_ptr<LatencyStore>> store = LatencyStore::Open(store_options);
  if (!store.ok()) return store.status();
  s->store_ = *std::move(store);

  if (options.lease_ms < 1000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--lease-ms: ", options.lease_ms, " is below 1000"));
  }
  // The training queue shares the database file through its own connection
  // (after the LatencyStore has migrated it).
  TrainingStoreOptions training_options;
  training_options.path = options.db_path;
  training_options.synchronous_full = options.synchronous_full;
  training_options.lease_ms = options.lease_ms;
  training_options.max_page_count = options.db_max_pages;
  absl::StatusOr<std::unique_ptr<TrainingStore>> training =
      TrainingStore::Open(training_options);
  if (!training.ok()) return training.status();
  s->training_ = *std::move(training);
  absl::StatusOr<std::unique_ptr<ArtifactStore>> artifacts =
      ArtifactStore::Open(ArtifactDirOf(options), s->training_.get(),
                          ArtifactStoreOptions{options.artifact_quota_bytes,
                                               options.artifact_min_free_bytes});
  if (!artifacts.ok()) {
    return absl::Status(artifacts.status().code(),
                        absl::StrCat("--artifact-dir ", ArtifactDirOf(options),
                                     ": ", artifacts.status().message()));
  }
  s->artifacts_ = *std::move(artifacts);
  s->training_service_ = std::make_unique<TrainingServiceImpl>(
      s->auth_.get(), s->training_.get(), s->artifacts_.get());
  s->worker_service_ = std::make_unique<WorkerServiceImpl>(
      s->auth_.get(), s->training_.get(), s->artifacts_.get());

  s->registry_ = std::make_unique<AgentRegistry>();
  s->sweeps_ = std::make_unique<SweepManager>(s->store_.get(), s->registry_.get(),
                                              SweepManagerOptions());
  SweepManager* sweeps = s->sweeps_.get();
  s->committer_ = std::make_unique<IngestCommitter>(
      s->store_.get(), IngestCommitterOptions(),
      [sweeps](const CommitSummary& summary) { sweeps->OnCommitted(summary); });
  AgentServiceOptions agent_options;
  agent_options.heartbeat_timeout_ms = options.heartbeat_timeout_ms;
  s->agent_service_ = std::make_unique<AgentServiceImpl>(
      s->auth_.get(), s->store_.get(), s->committer_.get(), s->registry_.get(),
      sweeps, agent_options);
  s->latency_service_ = std::make_unique<LatencyServiceImpl>(
      s->auth_.get(), s->store_.get(), s->registry_.get(), sweeps);

  DesignStoreOptions design_options;
  design_options.path = options.db_path;
  design_options.synchronous_full = options.synchronous_full;
  design_options.max_page_count = options.db_max_pages;
  absl::StatusOr<std::unique_ptr<DesignStore>> designs =
      DesignStore::Open(design_options);
  if (!designs.ok()) return designs.status();
  s->designs_ = *std::move(designs);
  // Running jobs resume here: the manager's first pass picks them up.
  s->design_manager_ = std::make_unique<DesignManager>(
      s->designs_.get(), s->training_.get(), s->store_.get(), sweeps,
      s->registry_.get(), DesignManagerOptions());
  s->design_service_ = std::make_unique<DesignServiceImpl>(
      s->auth_.get(), s->designs_.get(), s->design_manager_.get());
  // Snapshots of a backup that a crash interrupted.
  RemoveStaleSnapshots(options.db_path);
  s->admin_service_ = std::make_unique<AdminServiceImpl>(s->auth_.get(),
                                                         options.db_path);

  std::shared_ptr<grpc::ServerCredentials> creds;
  if (tls) {
    absl::StatusOr<std::string> cert = ReadFile(options.tls_cert, "--tls-cert");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadFile(options.tls_key, "--tls-key");
    if (!key.ok()) return key.status();
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({*key, *cert});
    if (!options.tls_client_ca.empty()) {
      absl::StatusOr<std::string> ca =
          ReadFile(options.tls_client_ca, "--tls-client-ca");
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *ca;
      // Verified when presented, optional otherwise: readers and admins
      // may keep using tokens while boards use certificates.
      ssl.client_certificate_request =
          GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
    }
    creds = grpc::SslServerCredentials(ssl);
  } else {
    creds = grpc::InsecureServerCredentials();
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, creds, &s->port_);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  // Agents ping to keep NAT mappings and detect dead links; allow it.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  // A second coordinator on the same port must fail, not share it.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Services are registered here and only here.
  builder.RegisterService(s->agent_service_.get());
  builder.RegisterService(s->latency_service_.get());
  builder.RegisterService(s->training_service_.get());
  builder.RegisterService(s->worker_service_.get());
  builder.RegisterService(s->design_service_.get());
  builder.RegisterService(s->admin_service_.get());
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || s->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("--listen: cannot listen on ", options.listen,
                     " (address in use or invalid)"));
  }
  grpc::HealthCheckServiceInterface* health = s->server_->GetHealthCheckService();
  if (health != nullptr) {
    health->SetServingStatus(true);
    health->SetServingStatus("hakd.v1.AgentService", true);
    health->SetServingStatus("hakd.v1.LatencyService", true);
    health->SetServingStatus("hakd.v1.TrainingService", true);
    health->SetServingStatus("hakd.v1.WorkerService", true);
    health->SetServingStatus("hakd.v1.DesignService", true);
    health->SetServingStatus("hakd.v1.AdminService", true);
  }

  HakdServer* self = s.get();
  s->reaper_ = std::thread([self] {
    while (!self->stop_reaper_.WaitForNotificationWithTimeout(absl::Seconds(1))) {
      if (self->registry_->ReapSilent(NowUnixMs(),
                                      self->options_.heartbeat_timeout_ms) > 0) {
        self->sweeps_->NotifyChange();
      }
      // Training leases not renewed in time: requeue, or fail when the
      // task's attempts are spent.
      absl::StatusOr<int> reaped = self->training_->ReapExpiredLeases(NowUnixMs());
      if (!reaped.ok()) {
        LogLine("hakd-server", absl::StrCat("training lease reaper: ",
                                            reaped.status().message()));
      } else if (*reaped > 0) {
        LogLine("hakd-server", absl::StrCat("requeued or failed ", *reaped,
                                            " training task(s) with expired leases"));
      }
    }
  });

  if (!options.port_file.empty()) {
    const std::string tmp = options.port_file + ".tmp";
    {
      std::ofstream out(tmp);
      out << s->port_ << "\n";
      if (!out) return absl::InternalError(absl::StrCat("--port-file: cannot write ", tmp));
    }
    if (std::rename(tmp.c_str(), options.port_file.c_str()) != 0) {
      return absl::InternalError(
          absl::StrCat("--port-file: cannot rename to ", options.port_file));
    }
  }
  LogLine("hakd-server",
          absl::StrCat("listening on ", options.listen, " (port ", s->port_, ", ",
                       tls ? "TLS" : "plaintext", ", ",
                       options.no_auth ? "no auth" : "token auth", "), database ",
                       options.db_path, " schema v", s->store_->schema_version(),
                       ", artifacts ", ArtifactDirOf(options), ", lease ",
                       options.lease_ms, " ms"));
  return s;
}

void HakdServer::Wait() { server_->Wait(); }

absl::Status HakdServer::SetDatabaseMaxPages(int64_t pages) {
  if (absl::Status st = store_->SetMaxPageCount(pages); !st.ok()) return st;
  if (absl::Status st = training_->SetMaxPageCount(pages); !st.ok()) return st;
  return designs_->SetMaxPageCount(pages);
}

void HakdServer::Shutdown(absl::Duration grace) {
  if (shut_down_.exchange(true)) return;
  LogLine("hakd-server", "shutting down");
  stop_reaper_.Notify();
  // No new steps while streams close; jobs resume on the next start.
  design_manager_->Stop();
  server_->Shutdown(std::chrono::system_clock::now() +
                    absl::ToChronoMilliseconds(grace));
}

HakdServer::~HakdServer() {
  if (server_ != nullptr) Shutdown(absl::Seconds(1));
  if (!stop_reaper_.HasBeenNotified()) stop_reaper_.Notify();
  if (reaper_.joinable()) reaper_.join();
  // Streams are gone; let the committer finish what was queued.
  committer_.reset();
}

}  // namespace hakd
