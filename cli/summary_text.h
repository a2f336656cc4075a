// The report `latency summary` prints (and the quick start shows after a
// sweep): what the device is, how much was measured, and per layer family
// where latency steps up and which widths are efficient.
#ifndef HAKD_CLI_SUMMARY_TEXT_H_
#define HAKD_CLI_SUMMARY_TEXT_H_

#include <string>

#include "absl/status/statusor.h"
#include "hakd/v1/latency_service.pb.h"

namespace hakd::cli {

// The human report: device facts line, total measurements, then one block
// per family (points, channel range, latency range, steps, efficient widths).
std::string SummaryText(const hakd::v1::Device& device,
                        const hakd::v1::GetStaircasesResponse& staircases);

// The same as one JSON object: {"device": Device, "staircases": [Staircase]}.
absl::StatusOr<std::string> SummaryJson(
    const hakd::v1::Device& device,
    const hakd::v1::GetStaircasesResponse& staircases);

}  // namespace hakd::cli

#endif  // HAKD_CLI_SUMMARY_TEXT_H_
