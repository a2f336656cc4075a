#include "agent/device_facts.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <climits>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace hakd::agent {
namespace {

// Whole file, or empty when unreadable (facts are best effort).
std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Trims white space and the NUL terminators devicetree strings carry.
std::string Clean(absl::string_view text) {
  while (!text.empty() &&
         (text.back() == '\0' ||
          absl::ascii_isspace(static_cast<unsigned char>(text.back())))) {
    text.remove_suffix(1);
  }
  return std::string(absl::StripLeadingAsciiWhitespace(text));
}

// Value of the first "key : value" line whose key is `key`.
std::string CpuinfoValue(absl::string_view cpuinfo, absl::string_view key) {
  for (absl::string_view line : absl::StrSplit(cpuinfo, '\n')) {
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    if (absl::StripAsciiWhitespace(line.substr(0, colon)) == key) {
      return Clean(line.substr(colon + 1));
    }
  }
  return "";
}

// The coordinator refuses facts longer than 256 characters; a strange
// /proc/cpuinfo must not keep the agent out.
std::string Bounded(std::string text) {
  if (text.size() > 256) text.resize(256);
  return text;
}

// The instruction-set family of a uname machine ("x86", "arm", "riscv"), or
// "" when unknown.
std::string IsaOfMachine(absl::string_view machine) {
  if (machine == "x86_64" || machine == "amd64" ||
      (machine.size() == 4 && machine[0] == 'i' && machine.substr(2) == "86")) {
    return "x86";
  }
  if (machine == "aarch64" || machine == "arm64" ||
      absl::StartsWith(machine, "arm")) {
    return "arm";
  }
  if (absl::StartsWith(machine, "riscv")) return "riscv";
  return "";
}

// The instruction-set family a /proc/cpuinfo text describes, and the field
// that shows it, or {"", ""} when unknown.
std::pair<std::string, std::string> IsaOfCpuinfo(absl::string_view cpuinfo) {
  if (std::string v = CpuinfoValue(cpuinfo, "vendor_id"); !v.empty()) {
    return {"x86", absl::StrCat("vendor_id ", v)};
  }
  if (!CpuinfoValue(cpuinfo, "cpu family").empty() &&
      !CpuinfoValue(cpuinfo, "flags").empty()) {
    return {"x86", "cpu family and flags fields"};
  }
  if (std::string v = CpuinfoValue(cpuinfo, "CPU implementer"); !v.empty()) {
    return {"arm", absl::StrCat("CPU implementer ", v)};
  }
  if (std::string v = CpuinfoValue(cpuinfo, "isa");
      absl::StartsWith(v, "rv")) {
    return {"riscv", absl::StrCat("isa ", v)};
  }
  return {"", ""};
}

}  // namespace

EmulationVerdict DetectEmulation(absl::string_view uname_machine,
                                 absl::string_view cpuinfo,
                                 absl::string_view comm) {
  std::vector<std::string> reasons;
  const std::string machine_isa = IsaOfMachine(uname_machine);
  const auto [cpu_isa, cpu_field] = IsaOfCpuinfo(cpuinfo);
  if (!machine_isa.empty() && !cpu_isa.empty() && machine_isa != cpu_isa) {
    reasons.push_back(absl::StrCat("uname machine ", uname_machine,
                                   " but /proc/cpuinfo describes an ", cpu_isa,
                                   " CPU (", cpu_field, ")"));
  }
  const std::string name = Clean(comm);
  if (absl::StartsWith(name, "qemu-")) {
    reasons.push_back(absl::StrCat("process name ", name));
  }
  EmulationVerdict verdict;
  verdict.emulated = !reasons.empty();
  verdict.evidence = absl::StrJoin(reasons, "; ");
  return verdict;
}

std::string HostName() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "";
  return name;
}

std::string CpuModelFromCpuinfo(absl::string_view cpuinfo) {
  for (absl::string_view key : {"model name", "Hardware", "Model"}) {
    std::string value = CpuinfoValue(cpuinfo, key);
    if (!value.empty()) return value;
  }
  return "";
}

std::string PrettyNameFromOsRelease(absl::string_view os_release) {
  for (absl::string_view line : absl::StrSplit(os_release, '\n')) {
    if (!absl::ConsumePrefix(&line, "PRETTY_NAME=")) continue;
    line = absl::StripAsciiWhitespace(line);
    if (line.size() >= 2 && (line.front() == '"' || line.front() == '\'') &&
        line.back() == line.front()) {
      line = line.substr(1, line.size() - 2);
    }
    return std::string(line);
  }
  return "";
}

std::string BlasLibraryFromMaps(absl::string_view maps) {
  for (absl::string_view line : absl::StrSplit(maps, '\n')) {
    const size_t slash = line.find('/');
    if (slash == absl::string_view::npos) continue;
    absl::string_view path = line.substr(slash);
    const size_t base = path.rfind('/');
    if (path.substr(base).find("blas") != absl::string_view::npos ||
        path.find("/blas/") != absl::string_view::npos ||
        path.find("openblas") != absl::string_view::npos) {
      return std::string(path);
    }
  }
  return "";
}

hakd::v1::DeviceFacts CollectDeviceFacts(const CallerFacts& caller) {
  hakd::v1::DeviceFacts facts;
  facts.set_hostname(Bounded(HostName()));
  struct utsname uts;
  if (uname(&uts) == 0) {
    facts.set_arch(Bounded(uts.machine));
    facts.set_kernel(Bounded(uts.release));
  }
  const std::string cpuinfo = ReadFile("/proc/cpuinfo");
  std::string model = CpuModelFromCpuinfo(cpuinfo);
  if (model.empty()) {
    model = Clean(ReadFile("/sys/firmware/devicetree/base/model"));
  }
  facts.set_cpu_model(Bounded(model));
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  facts.set_cpu_cores(cores > 0 ? static_cast<int32_t>(cores) : 0);
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page_size > 0) {
    facts.set_memory_bytes(static_cast<int64_t>(pages) * page_size);
  }
  facts.set_os(Bounded(PrettyNameFromOsRelease(ReadFile("/etc/os-release"))));
  facts.set_frequency_governor(Bounded(Clean(
      ReadFile("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"))));
  const EmulationVerdict emulation =
      DetectEmulation(facts.arch(), cpuinfo, ReadFile("/proc/self/comm"));
  facts.set_emulated(emulation.emulated);
  facts.set_emulation_evidence(Bounded(emulation.evidence));
  facts.set_threads(caller.threads);
  facts.set_interop_threads(caller.interop_threads);
  facts.set_libtorch_version(caller.libtorch_version);
  facts.set_accelerator(caller.accelerator);
  facts.set_accelerator_memory_bytes(caller.accelerator_memory_bytes);
  facts.set_compute_device(caller.compute_device);
  facts.set_agent_version(kAgentVersion);
  // Which BLAS the dynamic linker picked (after LibTorch is loaded).
  facts.set_blas_library(Bounded(BlasLibraryFromMaps(ReadFile("/proc/self/maps"))));
  return facts;
}

}  // namespace hakd::agent
