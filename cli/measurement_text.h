// The `latency query` table of measurements.
#ifndef HAKD_CLI_MEASUREMENT_TEXT_H_
#define HAKD_CLI_MEASUREMENT_TEXT_H_

#include <string>

#include "hakd/v1/latency_service.pb.h"

namespace hakd::cli {

// ID LAYER BACKEND THREADS MEDIAN-us P10 P90 STDDEV SAMPLES MEASURED-AT, then
// "(truncated: more than N matched; use --limit)" when the server cut the
// list, or just "no measurements match" for an empty answer.
std::string MeasurementsText(
    const hakd::v1::QueryMeasurementsResponse& response);

}  // namespace hakd::cli

#endif  // HAKD_CLI_MEASUREMENT_TEXT_H_
