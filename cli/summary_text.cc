#include "cli/summary_text.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/device_text.h"
#include "cli/json_output.h"
#include "cli/number_format.h"
#include "cli/staircase_text.h"

namespace hakd::cli {
namespace {

using hakd::v1::Staircase;

std::string LatencyRange(const Staircase& s) {
  if (s.median_us_size() == 0) return "";
  const auto [lo, hi] =
      std::minmax_element(s.median_us().begin(), s.median_us().end());
  return absl::StrCat(", latency ", FormatMicros(*lo), "..", FormatMicros(*hi),
                      " us");
}

std::string StepsLine(const Staircase& s) {
  if (s.step_at_size() == 0) return "no steps";
  std::vector<std::string> steps;
  for (int i = 0; i < s.step_at_size(); ++i) {
    steps.push_back(
        i < s.step_ratio_size()
            ? absl::StrFormat("%d (x%.2f)", s.step_at(i), s.step_ratio(i))
            : absl::StrCat(s.step_at(i)));
  }
  return absl::StrCat("steps at ", absl::StrJoin(steps, ", "));
}

}  // namespace

std::string SummaryText(const hakd::v1::Device& device,
                        const hakd::v1::GetStaircasesResponse& response) {
  std::string out =
      absl::StrCat(DeviceFactsLine(device), "\n",
                   "measurements: ", device.measurement_count(), "\n");
  if (response.staircases_size() == 0) {
    absl::StrAppend(
        &out, "no layer families measured yet (hakdctl sweep start --device ",
        device.name(), ")\n");
    return out;
  }
  std::vector<const Staircase*> all;
  for (const Staircase& s : response.staircases()) all.push_back(&s);
  for (const std::vector<const Staircase*>& family : GroupByFamily(all)) {
    absl::StrAppend(&out, "\n", StaircaseTitle(*family.front()), "\n");
    for (const Staircase* s : family) {
      absl::StrAppend(&out, "  ", StaircasePointsText(*s), LatencyRange(*s),
                      "\n", "  ", StepsLine(*s), "\n");
      if (s->drop_at_size() > 0) {
        absl::StrAppend(&out, "  ", DropsText(*s), "\n");
      }
      if (s->efficient_size() > 0) {
        absl::StrAppend(&out, "  ", EfficientWidthsText(*s), "\n");
      }
    }
  }
  return out;
}

absl::StatusOr<std::string> SummaryJson(
    const hakd::v1::Device& device,
    const hakd::v1::GetStaircasesResponse& response) {
  absl::StatusOr<std::string> device_json = ToJson(device);
  if (!device_json.ok()) return device_json.status();
  std::vector<std::string> staircases;
  for (const Staircase& s : response.staircases()) {
    absl::StatusOr<std::string> json = ToJson(s);
    if (!json.ok()) return json.status();
    staircases.push_back(*std::move(json));
  }
  return absl::StrCat("{\"device\":", *device_json, ",\"staircases\":[",
                      absl::StrJoin(staircases, ","), "]}");
}

}  // namespace hakd::cli
