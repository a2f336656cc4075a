#include "worker/worker_options.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/numbers.h"
#include "absl/strings/match.h"

namespace hakd::worker {

absl::Status ValidateWorkerOptions(const WorkerOptions& o) {
  if (o.token_file.empty() && o.tls_cert_file.empty()) {
    return absl::InvalidArgumentError(
        "--token-file is required (or --tls-cert/--tls-key for a client certificate)");
  }
  if (o.device != "cpu") {
    int index = 0;
    if (!absl::StartsWith(o.device, "cuda:") ||
        !absl::SimpleAtoi(o.device.substr(5), &index) || index < 0) {
      return absl::InvalidArgumentError(absl::StrCat("--device: \"", o.device, "\" (cpu or cuda:N)"));
    }
  }
  if (o.threads < 0 || o.threads > 1024) return absl::InvalidArgumentError("--threads: 0..1024");
  if (o.loader_threads < 1 || o.loader_threads > 64) return absl::InvalidArgumentError("--loader-threads: 1..64");
  if (o.poll_ms < 10 || o.poll_ms > 600000) return absl::InvalidArgumentError("--poll-ms: 10..600000");
  if (o.max_backoff_ms < 100) return absl::InvalidArgumentError("--max-backoff-ms: at least 100");
  if (o.max_tasks < 0) return absl::InvalidArgumentError("--max-tasks: negative");
  if (o.health_port < 0 || o.health_port > 65535) return absl::InvalidArgumentError("--health-port: 0..65535");
  if (o.group_port < 0 || o.group_port > 65535) return absl::InvalidArgumentError("--group-port: 0..65535");
  if (o.group_timeout_ms < 1000) return absl::InvalidArgumentError("--group-timeout-ms: at least 1000");
  if (o.group_host.size() > 255) return absl::InvalidArgumentError("--group-host: at most 255 characters");
  return absl::OkStatus();
}

}  // namespace hakd::worker
