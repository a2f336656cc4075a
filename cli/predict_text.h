// Text renderings of `latency predict` and `latency fit-overhead`.
#ifndef HAKD_CLI_PREDICT_TEXT_H_
#define HAKD_CLI_PREDICT_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "hakd/v1/latency_service.pb.h"

namespace hakd::cli {

// "measured", "interpolated", "missing" (or "unknown").
std::string UnitSourceName(hakd::v1::UnitPrediction::Source source);

// "1 unit", "3 units".
std::string UnitCount(int n);

// Two header lines, e.g.
//   device rpi4, network tiny: 12.3 ms predicted (units 11.9 ms + overhead
//   0.450 ms), confidence medium, expected error 8.2%
//   units: 10 measured, 2 interpolated, 0 missing; 41.2M MACs, 360.5K params
// ("incomplete" in place of the latency when a unit is missing), a blank
// line, then the UNIT SOURCE LATENCY-MS WIDTH DETAIL table, where DETAIL is
// "LOWER..UPPER" (the measured widths an interpolation used) or a missing
// unit's reason.
std::string PredictionText(const hakd::v1::PredictNetworkResponse& prediction,
                           absl::string_view network_name);

// The fitted model, "key: value" per line: device, networks fitted and
// skipped, sweeps, scale, intercept, per-unit overhead, median and max
// absolute error.
std::string OverheadModelText(const hakd::v1::OverheadModel& model,
                              absl::string_view device);

}  // namespace hakd::cli

#endif  // HAKD_CLI_PREDICT_TEXT_H_
