// Text renderings of a device, shared by `devices list`, `devices show` and
// `latency summary`.
#ifndef HAKD_CLI_DEVICE_TEXT_H_
#define HAKD_CLI_DEVICE_TEXT_H_

#include <cstdint>
#include <string>

#include "hakd/v1/latency_service.pb.h"

namespace hakd::cli {

// One line of the facts that decide latency, e.g. "device 3 rpi4 (online):
// aarch64, Cortex-A72, 4 cores, 4 threads, libtorch 1.13.1, on cpu".
std::string DeviceFactsLine(const hakd::v1::Device& device);

// Every fact, one "key: value" per line, aligned. Ages are relative to
// `now_unix_ms`.
std::string DeviceDetails(const hakd::v1::Device& device, int64_t now_unix_ms);

// The `devices list` table: ID NAME STATE LAST-SEEN ARCH CPU CORES THREADS
// LIBTORCH MEASUREMENTS.
std::string DevicesTable(const hakd::v1::ListDevicesResponse& devices,
                         int64_t now_unix_ms);

}  // namespace hakd::cli

#endif  // HAKD_CLI_DEVICE_TEXT_H_
