// Settings of one hakd-agent process. main.cc fills them from flags; tests
// fill them directly.
#ifndef HAKD_AGENT_AGENT_OPTIONS_H_
#define HAKD_AGENT_AGENT_OPTIONS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace hakd::agent {

struct AgentOptions {
  // host:port of the coordinator. Default "127.0.0.1:50051".
  std::string server = "127.0.0.1:50051";
  // File holding the bearer token. Required unless tls_cert_file is given.
  std::string token_file;
  // PEM CA of the coordinator's certificate; empty (default) for plaintext.
  std::string tls_ca_file;
  // PEM client certificate and key (mutual TLS; both or neither): the
  // coordinator then knows the agent by the certificate's common name and
  // no token is needed. Default empty.
  std::string tls_cert_file;
  std::string tls_key_file;
  // gRPC keepalive ping period; a link silent for this long plus 10 s is
  // taken as dead and the agent reconnects. Default 20000 ms.
  int keepalive_ms = 20000;
  // Permit plaintext to a non-loopback server. Default false.
  bool allow_insecure = false;
  // Device name; empty (default) means the sanitised host name.
  std::string name;
  // Where layers run: "cpu" or "cuda:N". Default "cpu".
  std::string device = "cpu";
  // LibTorch intra-op threads. Default 1.
  int threads = 1;
  // LibTorch inter-op threads. Default 1.
  int interop_threads = 1;
  // Heartbeat period while connected. Default 5000.
  int heartbeat_ms = 5000;
  // Results per batch. Default 16.
  int batch_size = 16;
  // Longest a result waits in a partial batch. Default 1000.
  int batch_flush_ms = 1000;
  // First reconnect delay ceiling (not a flag). Default 250.
  int initial_backoff_ms = 250;
  // Largest reconnect delay ceiling. Default 30000.
  int max_backoff_ms = 30000;
  // On SIGTERM, how long to wait for outstanding acknowledgements.
  // Default 10000.
  int drain_timeout_ms = 10000;
  // A stream without Welcome after this long is abandoned and retried
  // (not a flag). Default 30000.
  int welcome_timeout_ms = 30000;
  // Finished task ids remembered to ignore resends (not a flag).
  // Default 10000.
  int finished_task_memory = 10000;
  // SQLite file keeping the batches not yet acknowledged, so that a killed
  // agent resends them when started again (agent/spool.h). Empty (the
  // default here) keeps them in memory only; main.cc's --spool defaults to
  // DefaultSpoolFile(name, server).
  std::string spool_file;
  // Port of a plaintext grpc.health.v1 server on every interface (service
  // "liveness": alive; "": SERVING while the stream to the coordinator is
  // open); 0 (default): none. Used by main.cc, not by Agent.
  int health_port = 0;
};

// The spool file used when --spool is not given:
// "hakd-agent-NAME@SERVER.spool" in the working directory, with SERVER's
// characters outside [A-Za-z0-9._-] turned into '_'. Batches belong to one
// device on one coordinator, so agents of other names or coordinators
// started in the same directory never share one.
std::string DefaultSpoolFile(absl::string_view device_name,
                             absl::string_view server);

// INVALID_ARGUMENT naming the flag when a field is out of range. Checks the
// name only when set.
absl::Status ValidateAgentOptions(const AgentOptions& options);

// A valid device name ([A-Za-z][A-Za-z0-9._-]{0,63}) made from a host name:
// invalid characters become '-', a leading non-letter gets an "h" in front,
// the result is cut to 64 characters; "agent" for an empty host name.
std::string SanitizeDeviceName(absl::string_view hostname);

// Abseil flags are identifiers (--token_file) while the agent documents
// --token-file: returns the arguments with '-' in flag names turned into
// '_'. Values, and everything after a bare "--", are left alone.
std::vector<std::string> NormalizeFlagNames(int argc, char** argv);

}  // namespace hakd::agent

#endif  // HAKD_AGENT_AGENT_OPTIONS_H_
