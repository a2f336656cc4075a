#include "cli/sweep_text.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/progress.h"
#include "cli/table.h"
#include "cli/time_format.h"

namespace hakd::cli {

using hakd::v1::Sweep;

std::string SweepStateName(Sweep::State state) {
  switch (state) {
    case Sweep::STATE_QUEUED:
      return "queued";
    case Sweep::STATE_RUNNING:
      return "running";
    case Sweep::STATE_DONE:
      return "done";
    case Sweep::STATE_CANCELLED:
      return "cancelled";
    default:
      return "unknown";
  }
}

std::string SweepsTable(const hakd::v1::ListSweepsResponse& sweeps) {
  Table table({"ID", "DEVICE", "PRESET", "STATE", "DONE", "FAILED", "CREATED"});
  for (size_t c : {0, 4, 5}) table.AlignRight(c);
  for (const Sweep& s : sweeps.sweeps()) {
    table.AddRow(
        {absl::StrCat(s.id()), s.device_name(),
         s.preset().empty() ? "custom" : s.preset(), SweepStateName(s.state()),
         absl::StrCat(s.measured() + s.failed(), "/", s.total()),
         absl::StrCat(s.failed()), FormatTimestamp(s.created_unix_ms())});
  }
  return table.Render();
}

std::string SweepDetails(const Sweep& s, int64_t now_unix_ms) {
  std::vector<std::pair<std::string, std::string>> rows = {
      {"id", absl::StrCat(s.id())},
      {"device", absl::StrCat(s.device_name(), " (id ", s.device_id(), ", ",
                              s.device_online() ? "online" : "offline", ")")},
      {"preset", s.preset().empty() ? "custom families" : s.preset()},
      {"state", SweepStateName(s.state())},
      {"progress", FormatProgressLine(s, 20)},
      {"measured", absl::StrCat(s.measured(), " of ", s.total())},
      {"failed", absl::StrCat(s.failed())},
      {"rate", s.layers_per_second() > 0
                   ? absl::StrFormat("%.1f layers/s", s.layers_per_second())
                   : "-"},
      {"created", FormatTimestamp(s.created_unix_ms())},
      {"started", FormatTimestamp(s.started_unix_ms())},
      {"finished", FormatTimestamp(s.finished_unix_ms())},
      {"elapsed", FormatDuration(SweepElapsedSeconds(s, now_unix_ms))},
      {"last error", s.last_error().empty() ? "-" : s.last_error()},
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

}  // namespace hakd::cli
