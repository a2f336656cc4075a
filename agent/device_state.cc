#include "agent/device_state.h"

#include <dirent.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace hakd::agent {
namespace {

std::string ReadTrimmed(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "";
  std::stringstream text;
  text << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(text.str()));
}

}  // namespace

hakd::v1::DeviceState ReadDeviceState(const DeviceStatePaths& paths) {
  hakd::v1::DeviceState state;
  const std::string governor = ReadTrimmed(paths.cpufreq_dir + "/scaling_governor");
  if (governor.size() <= 64) state.set_frequency_governor(governor);
  int64_t khz = 0;
  if (absl::SimpleAtoi(ReadTrimmed(paths.cpufreq_dir + "/scaling_cur_freq"), &khz) &&
      khz > 0 && khz <= 100'000'000) {
    state.set_frequency_khz(khz);
  }
  // The hottest zone: throttling follows the hottest sensor, whichever it is.
  if (DIR* dir = opendir(paths.thermal_dir.c_str())) {
    double hottest = 0;
    while (dirent* entry = readdir(dir)) {
      if (!absl::StartsWith(entry->d_name, "thermal_zone")) continue;
      int64_t millideg = 0;
      if (absl::SimpleAtoi(
              ReadTrimmed(paths.thermal_dir + "/" + entry->d_name + "/temp"),
              &millideg)) {
        const double c = millideg / 1000.0;
        if (c > hottest && c <= 300) hottest = c;
      }
    }
    closedir(dir);
    state.set_temperature_c(hottest);
  }
  const std::string loadavg = ReadTrimmed(paths.loadavg);
  std::vector<absl::string_view> fields = absl::StrSplit(loadavg, ' ');
  double load = 0;
  if (!fields.empty() && absl::SimpleAtod(fields[0], &load) && load >= 0 &&
      load <= 1e6) {
    state.set_load_average_1m(load);
  }
  return state;
}

}  // namespace hakd::agent
