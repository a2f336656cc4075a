// What the agent tells the coordinator about its machine (DeviceFacts).
// Torch-free: facts that need LibTorch are passed in by the caller.
#ifndef HAKD_AGENT_DEVICE_FACTS_H_
#define HAKD_AGENT_DEVICE_FACTS_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "hakd/v1/types.pb.h"

namespace hakd::agent {

// Version the agent reports in DeviceFacts.agent_version.
inline constexpr char kAgentVersion[] = "0.1.0";

// Facts the caller knows (measurement settings and LibTorch facts).
struct CallerFacts {
  int threads = 1;          // intra-op threads
  int interop_threads = 1;  // inter-op threads
  std::string libtorch_version;
  std::string accelerator;  // empty on CPU
  int64_t accelerator_memory_bytes = 0;
  std::string compute_device = "cpu";
};

// Reads the machine's facts (hostname, uname, /proc/cpuinfo, sysconf,
// /etc/os-release, cpufreq governor) and adds the caller's. A fact that
// cannot be read stays empty or zero.
// The first BLAS library in a /proc/PID/maps text (a path containing
// "blas"), or "" when none is mapped.
std::string BlasLibraryFromMaps(absl::string_view maps);

hakd::v1::DeviceFacts CollectDeviceFacts(const CallerFacts& caller);

// The machine's host name, empty if unknown.
std::string HostName();

// CPU model from /proc/cpuinfo text: "model name" (x86, most arm64
// kernels), else "Hardware" or "Model" (older arm boards); empty if none.
std::string CpuModelFromCpuinfo(absl::string_view cpuinfo);

// PRETTY_NAME from /etc/os-release text, unquoted; empty if absent.
std::string PrettyNameFromOsRelease(absl::string_view os_release);

}  // namespace hakd::agent

#endif  // HAKD_AGENT_DEVICE_FACTS_H_
