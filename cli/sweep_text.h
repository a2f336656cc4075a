// Text renderings of sweeps for `sweep list`, `sweep show` and `sweep cancel`.
#ifndef HAKD_CLI_SWEEP_TEXT_H_
#define HAKD_CLI_SWEEP_TEXT_H_

#include <cstdint>
#include <string>

#include "hakd/v1/latency_service.pb.h"

namespace hakd::cli {

// "queued", "running", "done", "cancelled" (or "unknown").
std::string SweepStateName(hakd::v1::Sweep::State state);

// The `sweep list` table: ID DEVICE PRESET STATE DONE FAILED CREATED.
std::string SweepsTable(const hakd::v1::ListSweepsResponse& sweeps);

// Every field of one sweep, "key: value" per line; elapsed time is counted
// to `now_unix_ms` while the sweep runs.
std::string SweepDetails(const hakd::v1::Sweep& sweep, int64_t now_unix_ms);

}  // namespace hakd::cli

#endif  // HAKD_CLI_SWEEP_TEXT_H_
