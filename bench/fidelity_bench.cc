// Fidelity of the latency predictor: random realistic networks (every
// family, both input sizes, widths off any grid) are measured end to end by
// the agent of a device and predicted from the database; prints the share
// within +-10% and +-5% and the median absolute error.
//
// Method: the units (stem, blocks, head) of every network are timed in one
// sweep; a separate set of calibration networks is timed end to end and the
// device's overhead model is fitted on them alone (FitOverhead); then the
// scored networks are timed end to end and PredictNetwork is compared with
// each measured median. Talks to a running coordinator whose device has an
// agent online (bench/run.sh fidelity starts both).
//
//   hakd-bench-fidelity --server ADDR --token-file F --device NAME
//       [--networks 60] [--calibration 12] [--seed 1]
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_client.h"
#include "bench/bench_util.h"
#include "common/grpc_client.h"
#include "common/network/network_analysis.h"
#include "common/network/network_sampler.h"
#include "common/network/unit_key.h"
#include "hakd/v1/latency_service.grpc.pb.h"

namespace hakd::bench {
namespace {

using hakd::v1::NetworkSpec;

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since)
      .count();
}

// Times `units` in one sweep labelled `label`; returns its id.
int64_t SweepAndWait(BenchClient& c, const std::vector<hakd::v1::UnitSpec>& units,
                     const std::string& label) {
  hakd::v1::StartSweepRequest req;
  req.set_label(label);
  req.set_chunk_size(16);
  for (const auto& u : units) *req.add_units() = u;
  return RunSweepToEnd(c, req, label, 50).id();
}

// item_index -> median_us of the unit measurements of `sweep_id`; counts
// the results flagged throttled into *throttled.
std::map<int, double> SweepResults(BenchClient& c, int64_t sweep_id,
                                   int* throttled = nullptr) {
  std::map<int, double> out;
  for (const auto& m : SweepMeasurements(c, sweep_id, /*units=*/true)) {
    out[m.item_index()] = m.median_us();
    if (throttled != nullptr && m.throttled()) ++*throttled;
  }
  return out;
}

std::vector<NetworkSpec> Draw(int count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<NetworkSpec> out;
  for (int i = 0; i < count; ++i) {
    SampleRequest r;
    r.family = static_cast<SampledFamily>(i % 3);
    r.fashion_mnist = (i / 3) % 2 == 1;
    absl::StatusOr<NetworkSpec> spec = SampleNetwork(r, rng);
    if (!spec.ok()) {
      std::fprintf(stderr, "hakd-bench-fidelity: %s\n",
                   spec.status().ToString().c_str());
      std::exit(1);
    }
    out.push_back(*spec);
  }
  return out;
}

int Run(int argc, char** argv) {
  int networks = 60;
  int calibration = 12;
  uint64_t seed = 1;
  absl::StatusOr<BenchClient> client =
      ConnectBench("hakd-bench-fidelity", argc, argv);
  if (!absl::SimpleAtoi(FlagValue(argc, argv, "networks", "60"), &networks) ||
      !absl::SimpleAtoi(FlagValue(argc, argv, "calibration", "12"),
                        &calibration) ||
      !absl::SimpleAtoi(FlagValue(argc, argv, "seed", "1"), &seed) ||
      networks < 1 || calibration < 1 ||
      client.status().code() == absl::StatusCode::kInvalidArgument) {
    std::fprintf(
        stderr,
        "usage: hakd-bench-fidelity --server ADDR --token-file F "
        "--device NAME [--networks 60] [--calibration 12] [--seed 1]\n");
    return 2;
  }
  if (!client.ok()) {
    std::fprintf(stderr, "hakd-bench-fidelity: %s\n",
                 client.status().ToString().c_str());
    return 1;
  }
  BenchClient& c = *client;

  // Calibration and scored networks come from different seeds: nothing
  // fitted ever sees a scored network.
  const std::vector<NetworkSpec> fit_nets =
      Draw(calibration, seed * 1000003 + 17);
  const std::vector<NetworkSpec> score_nets = Draw(networks, seed);
  const auto start = std::chrono::steady_clock::now();

  // 1. Every unit of every network, once.
  std::vector<hakd::v1::UnitSpec> units;
  std::set<std::string> seen;
  int unit_occurrences = 0;
  for (const auto* set : {&fit_nets, &score_nets}) {
    for (const NetworkSpec& n : *set) {
      absl::StatusOr<NetworkAnalysis> a = AnalyzeNetwork(n);
      for (const NetworkUnit& u : a->units) {
        ++unit_occurrences;
        hakd::v1::UnitSpec spec;
        *spec.mutable_block() = u.unit;
        if (seen.insert(UnitKey(spec)).second) units.push_back(spec);
      }
    }
  }
  std::fprintf(stderr,
               "fidelity: %zu distinct units (%d in all) of %d networks\n",
               units.size(), unit_occurrences, networks + calibration);
  const int64_t units_sweep = SweepAndWait(c, units, "fidelity-units");
  const double units_s = Seconds(start);

  // 2. Calibration networks end to end, then the overhead fit on them.
  std::vector<hakd::v1::UnitSpec> fit_units;
  for (const NetworkSpec& n : fit_nets)
    *fit_units.emplace_back().mutable_network() = n;
  const int64_t fit_sweep = SweepAndWait(c, fit_units, "fidelity-calibration");
  hakd::v1::OverheadModel model;
  {
    grpc::ClientContext ctx;
    AddBearerToken(&ctx, c.token);
    hakd::v1::FitOverheadRequest req;
    req.set_device(c.device);
    req.add_sweep_ids(fit_sweep);
    if (grpc::Status st = c.stub->FitOverhead(&ctx, req, &model); !st.ok()) {
      Die(c, "FitOverhead", st);
    }
  }
  std::fprintf(stderr,
               "overhead model: %.4f * sum %+.1f us %+.2f us/unit (fit on %d "
               "networks, median err %.2f%%, max %.2f%%)\n",
               model.scale(), model.intercept_us(), model.per_unit_us(),
               model.networks(), model.fit_median_abs_err_pct(),
               model.fit_max_abs_err_pct());

  // 3. Scored networks end to end.
  std::vector<hakd::v1::UnitSpec> score_units;
  for (const NetworkSpec& n : score_nets)
    *score_units.emplace_back().mutable_network() = n;
  const int64_t score_sweep = SweepAndWait(c, score_units, "fidelity-score");
  int throttled_networks = 0;
  int throttled_units = 0;
  const std::map<int, double> measured =
      SweepResults(c, score_sweep, &throttled_networks);
  SweepResults(c, units_sweep, &throttled_units);

  // 4. Predictions against measurements.
  std::vector<double> errors;
  int within10 = 0, within5 = 0, interpolated = 0, incomplete = 0;
  std::map<std::string, std::vector<double>> by_family;
  for (int i = 0; i < networks; ++i) {
    auto it = measured.find(i);
    if (it == measured.end()) {
      std::fprintf(stderr, "  %-60s not measured\n",
                   score_nets[i].name().c_str());
      continue;
    }
    grpc::ClientContext ctx;
    AddBearerToken(&ctx, c.token);
    hakd::v1::PredictNetworkRequest req;
    req.set_device(c.device);
    *req.mutable_network() = score_nets[i];
    hakd::v1::PredictNetworkResponse p;
    if (grpc::Status st = c.stub->PredictNetwork(&ctx, req, &p); !st.ok()) {
      Die(c, "PredictNetwork", st);
    }
    interpolated += p.interpolated_units();
    if (!p.complete()) {
      ++incomplete;
      std::fprintf(stderr, "  %-60s incomplete (%d units missing)\n",
                   score_nets[i].name().c_str(), p.missing_units());
      errors.push_back(100);
      continue;
    }
    const double err = 100 * (p.predicted_us() - it->second) / it->second;
    errors.push_back(std::fabs(err));
    within10 += std::fabs(err) <= 10;
    within5 += std::fabs(err) <= 5;
    const std::string family = score_nets[i].name().substr(0, 3);
    by_family[family].push_back(std::fabs(err));
    std::fprintf(stderr,
                 "  %-60s measured %9.3f ms  predicted %9.3f ms  %+6.2f%%\n",
                 score_nets[i].name().c_str(), it->second / 1000,
                 p.predicted_us() / 1000, err);
  }
  const double n = static_cast<double>(errors.size());
  std::printf("machine: %s\n", MachineDescription().c_str());
  std::printf(
      "method: %d random networks (WRN/ResNet, MobileNet v1, DenseNet-BC; "
      "3x32x32 and 1x28x28) timed end to end by the agent vs "
      "PredictNetwork; overhead fitted on %d other networks\n",
      networks, calibration);
  std::printf("fidelity_networks: %.0f\n", n);
  std::printf("fidelity_within_10pct: %.3f\n", n > 0 ? within10 / n : 0);
  std::printf("fidelity_within_5pct: %.3f\n", n > 0 ? within5 / n : 0);
  std::printf("fidelity_median_abs_err_pct: %.2f\n", Quantile(errors, 0.5));
  std::printf("fidelity_p90_abs_err_pct: %.2f\n", Quantile(errors, 0.9));
  std::printf(
      "fidelity_max_abs_err_pct: %.2f\n",
      errors.empty() ? 0 : *std::max_element(errors.begin(), errors.end()));
  for (const auto& [family, errs] : by_family) {
    std::printf("fidelity_median_abs_err_pct_%s: %.2f\n", family.c_str(),
                Quantile(errs, 0.5));
  }
  std::printf("fidelity_incomplete_predictions: %d\n", incomplete);
  std::printf("fidelity_interpolated_units: %d\n", interpolated);
  std::printf("fidelity_distinct_units: %zu\n", units.size());
  // Results the agent's throttling detector flagged: the machine ran slower
  // than its best while they were taken, so the figures above are suspect
  // when these are many.
  std::printf("fidelity_throttled_units: %d\n", throttled_units);
  std::printf("fidelity_throttled_networks: %d\n", throttled_networks);
  std::printf("fidelity_overhead_scale: %.4f\n", model.scale());
  std::printf("fidelity_overhead_intercept_us: %.1f\n", model.intercept_us());
  std::printf("fidelity_overhead_per_unit_us: %.2f\n", model.per_unit_us());
  std::printf("fidelity_units_sweep_s: %.1f\n", units_s);
  std::printf("fidelity_wall_s: %.1f\n", Seconds(start));
  return 0;
}

}  // namespace
}  // namespace hakd::bench

int main(int argc, char** argv) { return hakd::bench::Run(argc, argv); }
