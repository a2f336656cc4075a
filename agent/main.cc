// hakd-agent: measures layer latencies on this machine for a HAKD farm
// coordinator. Flags -> AgentOptions -> Agent::Run().
//
// Exit codes: 0 after SIGTERM/SIGINT, 2 when the configuration is unusable
// (a --spool that is not a spool, is corrupt or in use, among others) or
// the coordinator refuses the agent (bad token, forbidden, bad Hello),
// since restarting cannot help; 1 on a second signal (no drain).
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "agent/agent.h"
#include "agent/agent_options.h"
#include "agent/device_facts.h"
#include "agent/log.h"
#include "agent/signal_watcher.h"
#include "common/health_server.h"
#include "common/torch/model_artifact.h"
#include "common/torch/torch_runtime.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051",
          "host:port of the coordinator");
ABSL_FLAG(std::string, token_file, "",
          "file holding the bearer token (required unless --tls-cert)");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM client certificate (mutual TLS; needs --tls-ca); replaces the token");
ABSL_FLAG(std::string, tls_key, "", "PEM key of --tls-cert");
ABSL_FLAG(int32_t, keepalive_ms, 20000,
          "keepalive ping period (>= 5000); a link silent this long plus 10 s "
          "is dead and the agent reconnects");
ABSL_FLAG(
    std::string, tls_ca, "",
    "PEM file of the CA that signed the coordinator's certificate; "
    "empty: plaintext, allowed only to loopback without --allow-insecure");
ABSL_FLAG(bool, allow_insecure, false,
          "permit plaintext (token in clear) to a non-loopback coordinator");
ABSL_FLAG(std::string, name, "",
          "device name [A-Za-z][A-Za-z0-9._-]{0,63}; default: the host name, "
          "made valid");
ABSL_FLAG(std::string, device, "cpu", "where layers run: cpu or cuda:N");
ABSL_FLAG(int32_t, threads, 1, "LibTorch intra-op threads");
ABSL_FLAG(int32_t, interop_threads, 1, "LibTorch inter-op threads");
ABSL_FLAG(int32_t, heartbeat_ms, 5000, "heartbeat period while connected");
ABSL_FLAG(int32_t, batch_size, 16, "results per batch sent to the coordinator");
ABSL_FLAG(int32_t, batch_flush_ms, 1000,
          "longest a result waits in a partial batch");
ABSL_FLAG(int32_t, max_backoff_ms, 30000, "largest delay between reconnects");
ABSL_FLAG(std::string, time_artifact, "",
          "time a model artifact (hakd-worker's .hakd file) end to end at "
          "batch 1 on --device, print the figures and exit; no coordinator");
ABSL_FLAG(int32_t, drain_timeout_ms, 10000,
          "on SIGTERM, how long to wait for outstanding acknowledgements");
ABSL_FLAG(int32_t, health_port, 0,
          "serve grpc.health.v1 in plaintext on this port, every interface "
          "(service \"liveness\": alive; \"\": SERVING while connected to "
          "the coordinator), for probes; 0: off");
ABSL_FLAG(std::string, spool, "",
          "SQLite file keeping the results not yet acknowledged by the "
          "coordinator, written before they are sent, so that an agent that "
          "is killed resends them when started again; default: "
          "hakd-agent-NAME@SERVER.spool in the working directory; 'none': "
          "memory only. A file that is not a spool, or is corrupt or in use, "
          "stops the agent (exit 2) and is left untouched");

namespace {

hakd::agent::AgentOptions OptionsFromFlags() {
  hakd::agent::AgentOptions o;
  o.server = absl::GetFlag(FLAGS_server);
  o.token_file = absl::GetFlag(FLAGS_token_file);
  o.tls_ca_file = absl::GetFlag(FLAGS_tls_ca);
  o.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  o.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  o.keepalive_ms = absl::GetFlag(FLAGS_keepalive_ms);
  o.allow_insecure = absl::GetFlag(FLAGS_allow_insecure);
  o.name = absl::GetFlag(FLAGS_name);
  o.device = absl::GetFlag(FLAGS_device);
  o.threads = absl::GetFlag(FLAGS_threads);
  o.interop_threads = absl::GetFlag(FLAGS_interop_threads);
  o.heartbeat_ms = absl::GetFlag(FLAGS_heartbeat_ms);
  o.batch_size = absl::GetFlag(FLAGS_batch_size);
  o.batch_flush_ms = absl::GetFlag(FLAGS_batch_flush_ms);
  o.max_backoff_ms = absl::GetFlag(FLAGS_max_backoff_ms);
  o.drain_timeout_ms = absl::GetFlag(FLAGS_drain_timeout_ms);
  o.spool_file = absl::GetFlag(FLAGS_spool);
  o.health_port = absl::GetFlag(FLAGS_health_port);
  if (o.spool_file == "none") {
    o.spool_file.clear();
  } else if (o.spool_file.empty()) {
    // The name Agent::Create will use.
    const std::string name =
        o.name.empty()
            ? hakd::agent::SanitizeDeviceName(hakd::agent::HostName())
            : o.name;
    o.spool_file = hakd::agent::DefaultSpoolFile(name, o.server);
  }
  return o;
}

// What to check when the coordinator refuses the agent.
const char* Hint(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kUnauthenticated:
      return " (check --token-file)";
    case absl::StatusCode::kPermissionDenied:
      return " (the token may not connect agents)";
    case absl::StatusCode::kInvalidArgument:
      return " (check --name and the agent version)";
    default:
      return "";
  }
}

// --time-artifact: loads the model with its own weights and times it under
// the same protocol as a sweep's network measurements.
int TimeArtifact(const std::string& path, const std::string& device, int threads) {
  if (absl::Status st = hakd::ConfigureThreads(threads, 1); !st.ok()) {
    hakd::agent::Logf("%s", st.message());
    return 2;
  }
  absl::StatusOr<hakd::LoadedModel> model = hakd::LoadModelArtifact(path, device);
  if (!model.ok()) {
    hakd::agent::Logf("%s", model.status().ToString());
    return 2;
  }
  hakd::TimingOptions options;
  options.device = device;
  absl::StatusOr<hakd::LayerTiming> timing = hakd::TimeBuiltNetwork(*model->network, options);
  if (!timing.ok()) {
    hakd::agent::Logf("timing %s: %s", path, timing.status().ToString());
    return 1;
  }
  std::printf("artifact: %s\nnetwork: %s\ndevice: %s\nthreads: %d\nparams: %lld\n"
              "median_ms: %.4f\np10_ms: %.4f\np90_ms: %.4f\nrobust_cv: %.4f\nsamples: %d\n",
              path.c_str(), model->spec.name().c_str(), device.c_str(), threads,
              static_cast<long long>(model->network->ParameterCount()),
              timing->median_us / 1000, timing->p10_us / 1000, timing->p90_us / 1000,
              timing->robust_cv, timing->samples);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread exists, so that only the watcher receives them.
  if (absl::Status st = hakd::agent::StopSignalWatcher::BlockStopSignals();
      !st.ok()) {
    hakd::agent::Logf("%s", st.ToString());
    return 1;
  }
  // --help lists the flags of this file (Abseil's default looks for a file
  // named after the binary).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "agent/main.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(
      "Measures layer latencies for a HAKD farm coordinator.\n"
      "Usage: hakd-agent --token-file=FILE [--server=HOST:PORT] "
      "[--device=cpu|cuda:N] [--threads=N] ...\n"
      "Flag names may be written with '-' or '_'.");
  std::vector<std::string> args = hakd::agent::NormalizeFlagNames(argc, argv);
  std::vector<char*> arg_ptrs;
  for (std::string& arg : args) arg_ptrs.push_back(arg.data());
  const std::vector<char*> rest = absl::ParseCommandLine(
      static_cast<int>(arg_ptrs.size()), arg_ptrs.data());
  if (rest.size() > 1) {
    hakd::agent::Logf("unexpected argument '%s' (see --help)", rest[1]);
    return 2;
  }

  if (const std::string path = absl::GetFlag(FLAGS_time_artifact); !path.empty()) {
    return TimeArtifact(path, absl::GetFlag(FLAGS_device), absl::GetFlag(FLAGS_threads));
  }

  absl::StatusOr<std::unique_ptr<hakd::agent::Agent>> agent =
      hakd::agent::Agent::Create(OptionsFromFlags());
  if (!agent.ok()) {
    hakd::agent::Logf("%s", agent.status().message());
    return 2;
  }
  // Readiness follows the stream to the coordinator; destroyed before the
  // agent (declared after it).
  std::unique_ptr<hakd::HealthServer> health;
  if (const int port = absl::GetFlag(FLAGS_health_port); port > 0) {
    absl::StatusOr<std::unique_ptr<hakd::HealthServer>> started =
        hakd::HealthServer::Start(hakd::HealthServer::AddressForPort(port));
    if (!started.ok()) {
      hakd::agent::Logf("%s", started.status().message());
      return 2;
    }
    health = std::move(*started);
    hakd::agent::Agent* raw = agent->get();
    health->Follow([raw] { return raw->connected(); }, absl::Seconds(1));
  }
  hakd::agent::StopSignalWatcher watcher([&agent](int signal, int count) {
    if (count == 1) {
      hakd::agent::Logf("%s: finishing the current measurement, then stopping",
                        strsignal(signal));
      (*agent)->Stop();
    } else {
      hakd::agent::Logf("%s again: exiting without draining",
                        strsignal(signal));
      std::_Exit(1);
    }
  });
  const absl::Status status = (*agent)->Run();
  if (!status.ok()) {
    hakd::agent::Logf("the coordinator refused this agent: %s%s",
                      status.ToString(), Hint(status.code()));
    return 2;
  }
  return 0;
}
