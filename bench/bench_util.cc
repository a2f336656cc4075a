#include "bench/bench_util.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace hakd::bench {

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = q * (v.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}

hakd::v1::Measurement SyntheticMeasurement(std::mt19937_64* rng,
                                           int distinct_layers) {
  std::uniform_int_distribution<int> pick(0, distinct_layers - 1);
  const int i = pick(*rng);
  hakd::v1::Measurement m;
  hakd::v1::LayerSpec* l = m.mutable_layer();
  const int resolutions[] = {32, 16, 8, 4};
  l->set_kind(hakd::v1::LAYER_KIND_CONV2D);
  l->set_batch(1);
  l->set_out_channels(8 + i % 512);
  l->set_in_channels(8 + i % 512);
  l->set_height(resolutions[(i / 512) % 4]);
  l->set_width(l->height());
  l->set_kernel(((i / 2048) % 2) ? 1 : 3);
  l->set_stride(1);
  l->set_padding(l->kernel() / 2);
  l->set_groups(1);
  l->set_dtype(hakd::v1::DTYPE_FLOAT32);
  std::uniform_real_distribution<double> lat(50, 5000);
  const double median = lat(*rng);
  m.set_backend("cpu");
  m.set_threads(1);
  m.set_median_us(median);
  m.set_p10_us(median * 0.97);
  m.set_p90_us(median * 1.04);
  m.set_mean_us(median * 1.01);
  m.set_stddev_us(median * 0.02);
  m.set_samples(15);
  m.set_runs_per_sample(4);
  m.set_measured_unix_ms(1767225600000);
  m.set_run_id("bench");
  // What a real agent attaches to each result.
  m.set_cv(0.02);
  m.set_attempts(1);
  m.set_interop_threads(1);
  m.mutable_state()->set_frequency_governor("performance");
  m.mutable_state()->set_frequency_khz(2400000);
  m.mutable_state()->set_temperature_c(55);
  m.mutable_state()->set_load_average_1m(1.5);
  m.mutable_settings()->set_warmup_runs(3);
  m.mutable_settings()->set_min_sample_ms(1);
  m.mutable_settings()->set_min_samples(15);
  m.mutable_settings()->set_max_samples(200);
  m.mutable_settings()->set_max_seconds_per_layer(2);
  m.mutable_settings()->set_stable_cv(0.05);
  m.mutable_settings()->set_max_cv(0.1);
  m.mutable_settings()->set_max_remeasure(2);
  return m;
}

std::string MachineDescription() {
  std::string model = "unknown cpu";
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (absl::StartsWith(line, "model name")) {
      model = std::string(absl::StripAsciiWhitespace(line.substr(line.find(':') + 1)));
      break;
    }
  }
  utsname u{};
  uname(&u);
  return absl::StrCat(model, ", ", sysconf(_SC_NPROCESSORS_ONLN), " cores, ",
                      u.sysname, " ", u.release, " ", u.machine);
}

std::string FlagValue(int argc, char** argv, const std::string& name,
                      const std::string& fallback) {
  const std::string eq = "--" + name + "=";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (absl::StartsWith(a, eq)) return a.substr(eq.size());
    if (a == "--" + name && i + 1 < argc) return argv[i + 1];
  }
  return fallback;
}

}  // namespace hakd::bench
