#include "agent/agent_options.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/layer_spec.h"

namespace hakd::agent {
namespace {

absl::Status CheckRange(absl::string_view flag, int value, int lo, int hi) {
  if (value < lo || value > hi) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, ": must be in [", lo, ", ", hi, "], got ", value));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateAgentOptions(const AgentOptions& o) {
  if (o.token_file.empty() && o.tls_cert_file.empty()) {
    return absl::InvalidArgumentError(
        "--token-file is required (or --tls-cert/--tls-key for a client "
        "certificate)");
  }
  // The coordinator answers pings more often than every 5 s, without data
  // between them, by closing the connection ("too many pings").
  if (o.keepalive_ms < 5000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--keepalive-ms: ", o.keepalive_ms,
        " is below 5000 (the coordinator's minimum ping interval)"));
  }
  if (!o.name.empty()) {
    if (absl::Status st = ValidateDeviceName(o.name, "--name"); !st.ok()) {
      return st;
    }
  }
  const struct {
    const char* flag;
    int value, lo, hi;
  } ranges[] = {
      {"threads", o.threads, 1, 4096},
      {"interop-threads", o.interop_threads, 1, 4096},
      {"heartbeat-ms", o.heartbeat_ms, 100, 3600000},
      // The coordinator refuses batches of more than 4096 entries.
      {"batch-size", o.batch_size, 1, 4096},
      {"batch-flush-ms", o.batch_flush_ms, 1, 3600000},
      {"initial-backoff-ms", o.initial_backoff_ms, 1, 3600000},
      {"max-backoff-ms", o.max_backoff_ms, 1, 3600000},
      {"drain-timeout-ms", o.drain_timeout_ms, 0, 3600000},
      {"welcome-timeout-ms", o.welcome_timeout_ms, 1, 3600000},
      {"finished-task-memory", o.finished_task_memory, 0, 10000000},
      {"health-port", o.health_port, 0, 65535},
  };
  for (const auto& r : ranges) {
    if (absl::Status st = CheckRange(r.flag, r.value, r.lo, r.hi); !st.ok()) {
      return st;
    }
  }
  return absl::OkStatus();
}

std::string SanitizeDeviceName(absl::string_view hostname) {
  // Only the first label of a fully qualified name: "board7.lab.example"
  // names the board, the domain is noise.
  hostname = hostname.substr(0, hostname.find('.'));
  if (hostname.empty()) return "agent";
  std::string name;
  if (!absl::ascii_isalpha(static_cast<unsigned char>(hostname[0]))) name = "h";
  for (char c : hostname) {
    const bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                    c == '_' || c == '-';
    name.push_back(ok ? c : '-');
  }
  if (name.size() > 64) name.resize(64);
  return name;
}

std::string DefaultSpoolFile(absl::string_view device_name,
                             absl::string_view server) {
  std::string file = absl::StrCat("hakd-agent-", device_name, "@");
  for (char c : server) {
    const bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                    c == '.' || c == '_' || c == '-';
    file.push_back(ok ? c : '_');
  }
  absl::StrAppend(&file, ".spool");
  return file;
}

std::vector<std::string> NormalizeFlagNames(int argc, char** argv) {
  std::vector<std::string> args;
  args.reserve(argc);
  bool flags_done = false;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (i > 0 && !flags_done) {
      if (arg == "--") {
        flags_done = true;
      } else if (arg.size() > 1 && arg[0] == '-') {
        const size_t start = arg.find_first_not_of('-');
        const size_t end = std::min(arg.find('='), arg.size());
        for (size_t k = start; k < end && start != std::string::npos; ++k) {
          if (arg[k] == '-') arg[k] = '_';
        }
      }
    }
    args.push_back(std::move(arg));
  }
  return args;
}

}  // namespace hakd::agent
