// Text renderings of a device, shared by `devices list`, `devices show` and
// `latency summary`, and the emulation marks of `latency query` and `export`.
#ifndef HAKD_CLI_DEVICE_TEXT_H_
#define HAKD_CLI_DEVICE_TEXT_H_

#include <cstdint>
#include <set>
#include <string>

#include "hakd/v1/latency_service.pb.h"

namespace hakd::cli {

// One line of the facts that decide latency, e.g. "device 3 rpi4 (online):
// aarch64, Cortex-A72, 4 cores, 4 threads, libtorch 1.13.1, on cpu", ending in
// ", EMULATED" when the agent runs under a CPU emulator.
std::string DeviceFactsLine(const hakd::v1::Device& device);

// Every fact, one "key: value" per line, aligned. Ages are relative to
// `now_unix_ms`.
std::string DeviceDetails(const hakd::v1::Device& device, int64_t now_unix_ms);

// The `devices list` table: ID NAME STATE LAST-SEEN ARCH CPU CORES THREADS
// LIBTORCH MEASUREMENTS; ARCH reads e.g. "aarch64 (emulated)" for an agent
// under a CPU emulator.
std::string DevicesTable(const hakd::v1::ListDevicesResponse& devices,
                         int64_t now_unix_ms);

// Ids of the devices whose agent runs under a CPU emulator, to mark their
// measurements (which carry only a device id) where users read them: `latency
// query` and `latency export` look their device up once and pass this on.
using EmulatedDeviceIds = std::set<int64_t>;

// {device.id()} when `device` runs under a CPU emulator, else {}.
EmulatedDeviceIds EmulatedIdsOf(const hakd::v1::Device& device);

// The warning for standard error when `device` runs under a CPU emulator,
// e.g. "note: device 3 rpi4 runs under an emulator (uname machine aarch64
// but ...); its latencies are not the board's\n"; "" otherwise.
std::string EmulationNote(const hakd::v1::Device& device);

}  // namespace hakd::cli

#endif  // HAKD_CLI_DEVICE_TEXT_H_
