#include "cli/measurement_text.h"

#include "absl/strings/str_cat.h"
#include "cli/number_format.h"
#include "cli/table.h"
#include "cli/time_format.h"
#include "common/layer_spec.h"

namespace hakd::cli {

std::string MeasurementsText(
    const hakd::v1::QueryMeasurementsResponse& response) {
  if (response.measurements_size() == 0) return "no measurements match\n";
  // CV is stddev/mean in percent; '!' marks a result the stability gate
  // could not get under its threshold.
  Table table({"ID", "LAYER", "BACKEND", "THREADS", "MEDIAN-us", "P10", "P90",
               "STDDEV", "CV%", "SAMPLES", "MEASURED-AT"});
  for (size_t c : {0, 3, 4, 5, 6, 7, 8, 9}) table.AlignRight(c);
  for (const hakd::v1::Measurement& m : response.measurements()) {
    table.AddRow({absl::StrCat(m.id()), DescribeLayer(m.layer()), m.backend(),
                  absl::StrCat(m.threads()), FormatMicros(m.median_us()),
                  FormatMicros(m.p10_us()), FormatMicros(m.p90_us()),
                  FormatMicros(m.stddev_us()),
                  absl::StrCat(absl::SixDigits(100 * m.cv()),
                               m.unstable() ? "!" : ""),
                  absl::StrCat(m.samples()),
                  FormatTimestamp(m.measured_unix_ms())});
  }
  std::string out = table.Render();
  if (response.truncated()) {
    absl::StrAppend(&out, "(truncated: more than ",
                    response.measurements_size(), " matched; use --limit)\n");
  }
  return out;
}

}  // namespace hakd::cli
