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

// The first BLAS library in a /proc/PID/maps text (a path containing
// "blas"), or "" when none is mapped.
std::string BlasLibraryFromMaps(absl::string_view maps);

// Reads the machine's facts (hostname, uname, /proc/cpuinfo, sysconf,
// /etc/os-release, cpufreq governor, emulation) and adds the caller's. A
// fact that cannot be read stays empty or zero.
hakd::v1::DeviceFacts CollectDeviceFacts(const CallerFacts& caller);

// Whether the agent runs under a user-mode CPU emulator (qemu-user), judged
// from what the agent itself can see.
struct EmulationVerdict {
  bool emulated = false;
  // Why, e.g. "uname machine aarch64 but /proc/cpuinfo describes an x86 CPU
  // (vendor_id GenuineIntel)"; several reasons are joined by "; ". Empty when
  // not emulated.
  std::string evidence;
};

// Judges emulation from the uname machine, the /proc/cpuinfo text and the
// process name (/proc/self/comm). qemu-user passes the host's /proc/cpuinfo
// through while uname reports the guest architecture, so an ISA mismatch
// between the two is emulation; and qemu-user started explicitly
// (qemu-aarch64-static -L SYSROOT agent) leaves its own name in comm, which
// the kernel sets from the executable it really ran.
EmulationVerdict DetectEmulation(absl::string_view uname_machine,
                                 absl::string_view cpuinfo,
                                 absl::string_view comm);

// The machine's host name, empty if unknown.
std::string HostName();

// CPU model from /proc/cpuinfo text: "model name" (x86, most arm64
// kernels), else "Hardware" or "Model" (older arm boards); empty if none.
std::string CpuModelFromCpuinfo(absl::string_view cpuinfo);

// PRETTY_NAME from /etc/os-release text, unquoted; empty if absent.
std::string PrettyNameFromOsRelease(absl::string_view os_release);

}  // namespace hakd::agent

#endif  // HAKD_AGENT_DEVICE_FACTS_H_
