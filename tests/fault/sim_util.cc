#include "tests/fault/sim_util.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/grpc_client.h"

namespace hakd::sim {

absl::StatusOr<Flags> Flags::Parse(int argc, char** argv, int first,
                                   const std::set<std::string>& known) {
  Flags flags;
  for (int i = first; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (!absl::ConsumePrefix(&arg, "--")) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", arg, "'"));
    }
    std::string name, value;
    const size_t eq = arg.find('=');
    if (eq != absl::string_view::npos) {
      name = std::string(arg.substr(0, eq));
      value = std::string(arg.substr(eq + 1));
    } else {
      name = std::string(arg);
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " needs a value"));
      }
      value = argv[++i];
    }
    if (known.count(name) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    flags.values_[name].push_back(value);
  }
  return flags;
}

std::string Flags::Get(const std::string& name,
                       const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second.back();
}

std::vector<std::string> Flags::All(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

int64_t Flags::Int(const std::string& name, int64_t fallback) const {
  if (!Has(name)) return fallback;
  int64_t value = 0;
  if (!absl::SimpleAtoi(Get(name), &value)) {
    std::fprintf(stderr, "hakd-sim: --%s: expected an integer, got '%s'\n",
                 name.c_str(), Get(name).c_str());
    std::exit(2);
  }
  return value;
}

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double MonoMs() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void Event(absl::string_view who, absl::string_view event,
           absl::string_view details) {
  const std::string line =
      absl::StrCat("hakd-sim: t_ms=", WallMs(), " ", who, " ", event,
                   details.empty() ? "" : " ", details, "\n");
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

std::string TokenOrDie(const std::string& path) {
  absl::StatusOr<std::string> token = ReadTokenFile(path);
  if (!token.ok()) {
    std::fprintf(stderr, "hakd-sim: %s\n", token.status().ToString().c_str());
    std::exit(2);
  }
  return *token;
}

std::vector<std::string> LinesOrDie(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    absl::string_view trimmed = absl::StripAsciiWhitespace(line);
    if (!trimmed.empty()) lines.emplace_back(trimmed);
  }
  if (lines.empty()) {
    std::fprintf(stderr, "hakd-sim: %s: unreadable or empty\n", path.c_str());
    std::exit(2);
  }
  return lines;
}

Backoff::Backoff(int initial_ms, int max_ms, uint64_t seed)
    : initial_ms_(initial_ms), max_ms_(max_ms), rng_(seed) {}

int Backoff::NextMs() {
  const int64_t ceiling = std::min<int64_t>(
      max_ms_, int64_t{initial_ms_} << std::min(attempt_, 20));
  ++attempt_;
  return std::uniform_int_distribution<int>(0, static_cast<int>(ceiling))(rng_);
}

hakd::v1::Measurement SimMeasurement(const std::string& run_id, int entry) {
  hakd::v1::Measurement m;
  hakd::v1::LayerSpec* l = m.mutable_layer();
  l->set_kind(hakd::v1::LAYER_KIND_CONV2D);
  l->set_batch(1);
  l->set_in_channels(entry + 1);
  l->set_out_channels(8);
  l->set_height(8);
  l->set_width(8);
  l->set_kernel(3);
  l->set_stride(1);
  l->set_padding(1);
  l->set_groups(1);
  l->set_dtype(hakd::v1::DTYPE_FLOAT32);
  const double median = 100 + entry;
  m.set_backend("cpu");
  m.set_threads(1);
  m.set_median_us(median);
  m.set_p10_us(median * 0.97);
  m.set_p90_us(median * 1.04);
  m.set_mean_us(median * 1.01);
  m.set_stddev_us(median * 0.02);
  m.set_samples(15);
  m.set_runs_per_sample(4);
  m.set_measured_unix_ms(WallMs());
  m.set_run_id(run_id);
  m.set_cv(0.02);
  m.set_robust_cv(0.02);
  m.set_attempts(1);
  m.set_interop_threads(1);
  return m;
}

double Quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double pos = q * (values.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (pos - lo) * (values[hi] - values[lo]);
}

}  // namespace hakd::sim
