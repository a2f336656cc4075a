#include "cli/measurement_text.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/json_output.h"
#include "cli/number_format.h"
#include "cli/table.h"
#include "cli/time_format.h"
#include "common/layer_spec.h"

namespace hakd::cli {

std::string MeasurementsText(
    const hakd::v1::QueryMeasurementsResponse& response,
    const EmulatedDeviceIds& emulated) {
  if (response.measurements_size() == 0) return "no measurements match\n";
  // The EMULATED column only when it has something to say, so the table of
  // a real board stays as it was.
  const bool any_emulated = std::any_of(
      response.measurements().begin(), response.measurements().end(),
      [&](const hakd::v1::Measurement& m) {
        return emulated.count(m.device_id()) > 0;
      });
  // CV is stddev/mean in percent; '!' marks a result the stability gate
  // could not get under its threshold.
  std::vector<std::string> header = {
      "ID",     "LAYER", "BACKEND", "THREADS", "MEDIAN-us",  "P10",
      "P90",    "STDDEV", "CV%",    "SAMPLES", "MEASURED-AT"};
  if (any_emulated) header.push_back("EMULATED");
  Table table(header);
  for (size_t c : {0, 3, 4, 5, 6, 7, 8, 9}) table.AlignRight(c);
  for (const hakd::v1::Measurement& m : response.measurements()) {
    std::vector<std::string> row = {
        absl::StrCat(m.id()), DescribeLayer(m.layer()), m.backend(),
        absl::StrCat(m.threads()), FormatMicros(m.median_us()),
        FormatMicros(m.p10_us()), FormatMicros(m.p90_us()),
        FormatMicros(m.stddev_us()),
        absl::StrCat(absl::SixDigits(100 * m.cv()), m.unstable() ? "!" : ""),
        absl::StrCat(m.samples()), FormatTimestamp(m.measured_unix_ms())};
    if (any_emulated) {
      row.push_back(emulated.count(m.device_id()) > 0 ? "yes" : "no");
    }
    table.AddRow(row);
  }
  std::string out = table.Render();
  if (response.truncated()) {
    absl::StrAppend(&out, "(truncated: more than ",
                    response.measurements_size(), " matched; use --limit)\n");
  }
  return out;
}

absl::StatusOr<std::string> MeasurementsJson(
    const hakd::v1::QueryMeasurementsResponse& response,
    const EmulatedDeviceIds& emulated) {
  // Every other field as protobuf prints it; the measurements, each with its
  // mark, go where protobuf put the empty list.
  hakd::v1::QueryMeasurementsResponse rest = response;
  rest.clear_measurements();
  absl::StatusOr<std::string> json = ToJson(rest);
  if (!json.ok()) return json.status();
  const std::string empty_list = "\"measurements\":[]";
  const size_t at = json->find(empty_list);
  if (at == std::string::npos) {
    return absl::InternalError(
        absl::StrCat("cannot place the measurements in ", *json));
  }
  std::vector<std::string> rows;
  rows.reserve(response.measurements_size());
  for (const hakd::v1::Measurement& m : response.measurements()) {
    absl::StatusOr<std::string> row = ToJson(m);
    if (!row.ok()) return row.status();
    rows.push_back(WithBoolMember(*std::move(row), "emulated",
                                  emulated.count(m.device_id()) > 0));
  }
  json->replace(at, empty_list.size(),
                absl::StrCat("\"measurements\":[", absl::StrJoin(rows, ","),
                             "]"));
  return json;
}

}  // namespace hakd::cli
