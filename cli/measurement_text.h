// The `latency query` table of measurements, and its JSON.
#ifndef HAKD_CLI_MEASUREMENT_TEXT_H_
#define HAKD_CLI_MEASUREMENT_TEXT_H_

#include <string>

#include "absl/status/statusor.h"
#include "cli/device_text.h"
#include "hakd/v1/latency_service.pb.h"

namespace hakd::cli {

// ID LAYER BACKEND THREADS MEDIAN-us P10 P90 STDDEV CV% SAMPLES MEASURED-AT,
// and EMULATED ("yes" or "no") when a row's device is in `emulated`; then
// "(truncated: more than N matched; use --limit)" when the server cut the
// list, or just "no measurements match" for an empty answer.
std::string MeasurementsText(
    const hakd::v1::QueryMeasurementsResponse& response,
    const EmulatedDeviceIds& emulated);

// `response` as one line of JSON (as ToJson) with "emulated": true or false
// appended to every measurement.
absl::StatusOr<std::string> MeasurementsJson(
    const hakd::v1::QueryMeasurementsResponse& response,
    const EmulatedDeviceIds& emulated);

}  // namespace hakd::cli

#endif  // HAKD_CLI_MEASUREMENT_TEXT_H_
