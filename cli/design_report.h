// The text of `design report`: the teacher and the trained students and
// baselines side by side (accuracy, latency on every budget device, size,
// saliency kept), the recommended student, the untrained members of the
// predicted Pareto front, and for an unfinished job its stages so far.
#ifndef HAKD_CLI_DESIGN_REPORT_H_
#define HAKD_CLI_DESIGN_REPORT_H_

#include <cstdint>
#include <string>

#include "hakd/v1/design.pb.h"

namespace hakd::cli {

// One latency cell: "measured/predicted/budget" in ms, "-" for what is not
// known yet, and " MISS" when the network misses the budget (measured once
// verified, else predicted), e.g. "4.81/4.60/5" or "-/12.3/5 MISS".
std::string LatencyCell(const hakd::v1::DeviceLatency* latency,
                        double budget_ms);

// The whole report of `job` as seen at `now_unix_ms`.
std::string DesignReport(const hakd::v1::DesignJob& job, int64_t now_unix_ms);

}  // namespace hakd::cli

#endif  // HAKD_CLI_DESIGN_REPORT_H_
