#include "cli/device_text.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/number_format.h"
#include "cli/table.h"
#include "cli/time_format.h"

namespace hakd::cli {
namespace {

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

}  // namespace

std::string DeviceFactsLine(const hakd::v1::Device& d) {
  const hakd::v1::DeviceFacts& f = d.facts();
  std::vector<std::string> parts;
  if (!f.arch().empty()) parts.push_back(f.arch());
  if (!f.cpu_model().empty()) parts.push_back(f.cpu_model());
  if (f.cpu_cores() > 0) parts.push_back(absl::StrCat(f.cpu_cores(), " cores"));
  if (f.threads() > 0) parts.push_back(absl::StrCat(f.threads(), " threads"));
  if (!f.libtorch_version().empty()) {
    parts.push_back(absl::StrCat("libtorch ", f.libtorch_version()));
  }
  if (!f.accelerator().empty()) parts.push_back(f.accelerator());
  if (!f.compute_device().empty()) {
    parts.push_back(absl::StrCat("on ", f.compute_device()));
  }
  if (f.emulated()) parts.push_back("EMULATED");
  return absl::StrCat(
      "device ", d.id(), " ", d.name(), " (", d.online() ? "online" : "offline",
      "): ", parts.empty() ? "no facts reported" : absl::StrJoin(parts, ", "));
}

std::string DeviceDetails(const hakd::v1::Device& d, int64_t now_unix_ms) {
  const hakd::v1::DeviceFacts& f = d.facts();
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"id", absl::StrCat(d.id())},
      {"name", d.name()},
      {"state", d.online() ? "online" : "offline"},
      {"last seen",
       absl::StrCat(FormatAgo(d.last_seen_unix_ms(), now_unix_ms), " (",
                    FormatTimestamp(d.last_seen_unix_ms()), ")")},
      {"first seen", FormatTimestamp(d.first_seen_unix_ms())},
      {"measurements", absl::StrCat(d.measurement_count())},
      {"hostname", OrDash(f.hostname())},
      {"arch", OrDash(f.arch())},
      {"cpu", OrDash(f.cpu_model())},
      {"cores", absl::StrCat(f.cpu_cores())},
      {"memory", FormatBytes(f.memory_bytes())},
      {"os", OrDash(f.os())},
      {"kernel", OrDash(f.kernel())},
      {"libtorch", OrDash(f.libtorch_version())},
      {"accelerator", f.accelerator().empty() ? "none" : f.accelerator()},
      {"accelerator memory", FormatBytes(f.accelerator_memory_bytes())},
      {"compute device", OrDash(f.compute_device())},
      {"threads", absl::StrCat(f.threads())},
      {"interop threads", absl::StrCat(f.interop_threads())},
      {"frequency governor", OrDash(f.frequency_governor())},
      {"blas library", OrDash(f.blas_library())},
      {"emulated", f.emulated() ? absl::StrCat("yes: ", f.emulation_evidence())
                                : "no"},
      {"agent version", OrDash(f.agent_version())},
  };
  size_t width = 0;
  for (const auto& r : rows) width = std::max(width, r.first.size());
  std::string out;
  for (const auto& r : rows) {
    absl::StrAppend(&out, r.first, ":",
                    std::string(width - r.first.size() + 1, ' '), r.second,
                    "\n");
  }
  return out;
}

std::string DevicesTable(const hakd::v1::ListDevicesResponse& devices,
                         int64_t now_unix_ms) {
  Table table({"ID", "NAME", "STATE", "LAST-SEEN", "ARCH", "CPU", "CORES",
               "THREADS", "LIBTORCH", "MEASUREMENTS"});
  for (size_t c : {0, 6, 7, 9}) table.AlignRight(c);
  for (const hakd::v1::Device& d : devices.devices()) {
    const hakd::v1::DeviceFacts& f = d.facts();
    table.AddRow(
        {absl::StrCat(d.id()), d.name(), d.online() ? "online" : "offline",
         FormatAgo(d.last_seen_unix_ms(), now_unix_ms),
         f.emulated() ? absl::StrCat(OrDash(f.arch()), " (emulated)")
                      : OrDash(f.arch()),
         OrDash(f.cpu_model()), absl::StrCat(f.cpu_cores()),
         absl::StrCat(f.threads()), OrDash(f.libtorch_version()),
         absl::StrCat(d.measurement_count())});
  }
  return table.Render();
}

EmulatedDeviceIds EmulatedIdsOf(const hakd::v1::Device& device) {
  if (!device.facts().emulated()) return {};
  return {device.id()};
}

std::string EmulationNote(const hakd::v1::Device& device) {
  const hakd::v1::DeviceFacts& f = device.facts();
  if (!f.emulated()) return "";
  return absl::StrCat(
      "note: device ", device.id(), " ", device.name(),
      " runs under an emulator",
      f.emulation_evidence().empty()
          ? ""
          : absl::StrCat(" (", f.emulation_evidence(), ")"),
      "; its latencies are not the board's\n");
}

}  // namespace hakd::cli
