// Reads the device state that can change between two measurements and
// explains their difference: cpufreq governor and current frequency, the
// hottest thermal zone, and the 1-minute load average.
#ifndef HAKD_AGENT_DEVICE_STATE_H_
#define HAKD_AGENT_DEVICE_STATE_H_

#include <string>

#include "absl/strings/string_view.h"
#include "hakd/v1/types.pb.h"

namespace hakd::agent {

// Where the state is read from; tests point it at a fake tree.
struct DeviceStatePaths {
  // Default "/sys/devices/system/cpu/cpu0/cpufreq".
  std::string cpufreq_dir = "/sys/devices/system/cpu/cpu0/cpufreq";
  // Default "/sys/class/thermal".
  std::string thermal_dir = "/sys/class/thermal";
  // Default "/proc/loadavg".
  std::string loadavg = "/proc/loadavg";
};

// Reads what it can; unreadable values stay 0 / empty.
hakd::v1::DeviceState ReadDeviceState(
    const DeviceStatePaths& paths = DeviceStatePaths());

}  // namespace hakd::agent

#endif  // HAKD_AGENT_DEVICE_STATE_H_
