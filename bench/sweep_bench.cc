// Cost and repeatability of sweeps, against a running coordinator whose
// device has an agent online (bench/run.sh sweep | repeatability).
//
// cost: runs one sweep of a preset (default "default") and reports its wall
//   time (the coordinator's started..finished) and the overhead ratio: wall
//   time over the time spent inside timed sample runs (sum over results of
//   samples x runs_per_sample x mean). Warm-up, inner-loop calibration,
//   re-measures, building layers and the wire are all overhead.
// repeatability: runs the same sweep twice, --gap-s seconds apart, and
//   reports the median (and p90) relative difference between the two
//   medians of every layer: |a - b| / ((a + b) / 2).
//
//   hakd-bench-sweep --mode cost|repeatability --server ADDR --token-file F
//       --device NAME [--preset default] [--gap-s 60]
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "bench/bench_client.h"
#include "bench/bench_util.h"
#include "common/grpc_client.h"
#include "hakd/v1/latency_service.grpc.pb.h"

namespace hakd::bench {
namespace {


hakd::v1::Sweep RunSweep(BenchClient& c, const std::string& preset) {
  hakd::v1::StartSweepRequest req;
  req.set_preset(preset);
  return RunSweepToEnd(c, req, "sweep " + preset, 200);
}

int Run(int argc, char** argv) {
  const std::string mode = FlagValue(argc, argv, "mode", "");
  int gap_s = 60;
  absl::StatusOr<BenchClient> client =
      ConnectBench("hakd-bench-sweep", argc, argv);
  if ((mode != "cost" && mode != "repeatability") ||
      client.status().code() == absl::StatusCode::kInvalidArgument ||
      !absl::SimpleAtoi(FlagValue(argc, argv, "gap-s", "60"), &gap_s)) {
    std::fprintf(
        stderr,
        "usage: hakd-bench-sweep --mode cost|repeatability --server ADDR "
        "--token-file F --device NAME [--preset P] [--gap-s 60]\n");
    return 2;
  }
  if (!client.ok()) {
    std::fprintf(stderr, "hakd-bench-sweep: %s\n",
                 client.status().ToString().c_str());
    return 1;
  }
  BenchClient& c = *client;
  const std::string preset =
      FlagValue(argc, argv, "preset", mode == "cost" ? "default" : "quick");
  std::printf("machine: %s\n", MachineDescription().c_str());
  if (mode == "cost") {
    const hakd::v1::Sweep sweep = RunSweep(c, preset);
    const std::vector<hakd::v1::Measurement> results = SweepMeasurements(c, sweep.id(), /*units=*/false);
    double timed_s = 0;
    double sampled_s = 0;
    double remeasured_timed_s = 0;
    int unstable = 0, throttled = 0, remeasured = 0;
    for (const auto& m : results) {
      if (m.attempts() > 1) {
        ++remeasured;
        remeasured_timed_s += m.timed_seconds();
      }
      timed_s += m.timed_seconds();
      sampled_s += 1e-6 * m.mean_us() * m.samples() * m.runs_per_sample();
      unstable += m.unstable();
      throttled += m.throttled();
    }
    const double wall_s =
        (sweep.finished_unix_ms() - sweep.started_unix_ms()) / 1000.0;
    std::printf(
        "method: preset '%s' (%d layers) on one agent; wall = sweep "
        "started..finished on the coordinator; timed = seconds inside "
        "timed runs (warm-up, calibration, samples, every attempt) as "
        "each result reports them; sampled = samples x runs_per_sample x "
        "mean of the kept attempt\n",
        preset.c_str(), sweep.total());
    std::printf("sweep_layers: %d\n", sweep.total());
    std::printf("sweep_wall_s: %.1f\n", wall_s);
    std::printf("sweep_timed_s: %.1f\n", timed_s);
    std::printf("sweep_sampled_s: %.1f\n", sampled_s);
    std::printf("sweep_overhead_ratio: %.3f\n",
                timed_s > 0 ? wall_s / timed_s : 0);
    std::printf("sweep_overhead_ratio_vs_samples: %.3f\n",
                sampled_s > 0 ? wall_s / sampled_s : 0);
    std::printf("sweep_remeasured: %d\n", remeasured);
    std::printf("sweep_remeasured_timed_s: %.1f\n", remeasured_timed_s);
    std::printf("sweep_unstable: %d\n", unstable);
    std::printf("sweep_throttled: %d\n", throttled);
    return 0;
  }
  const hakd::v1::Sweep first = RunSweep(c, preset);
  std::fprintf(stderr, "  waiting %d s before the second sweep\n", gap_s);
  std::this_thread::sleep_for(std::chrono::seconds(gap_s));
  const hakd::v1::Sweep second = RunSweep(c, preset);
  std::map<int, hakd::v1::Measurement> a;
  for (const auto& m : SweepMeasurements(c, first.id(), /*units=*/false)) a[m.item_index()] = m;
  std::vector<double> diffs;
  std::vector<double> quiet_diffs;  // neither result flagged throttled
  int throttled = 0;
  for (const auto& m : SweepMeasurements(c, second.id(), /*units=*/false)) {
    auto it = a.find(m.item_index());
    if (it == a.end()) continue;
    const double x = it->second.median_us();
    const double diff =
        100 * std::fabs(x - m.median_us()) / (0.5 * (x + m.median_us()));
    diffs.push_back(diff);
    if (it->second.throttled() || m.throttled()) {
      ++throttled;
    } else {
      quiet_diffs.push_back(diff);
    }
  }
  std::printf(
      "method: preset '%s' (%d layers) swept twice, %d s apart; "
      "relative difference of each layer's two medians\n",
      preset.c_str(), first.total(), gap_s);
  std::printf("repeatability_layers: %zu\n", diffs.size());
  std::printf("repeatability_median_diff_pct: %.2f\n", Quantile(diffs, 0.5));
  std::printf("repeatability_p90_diff_pct: %.2f\n", Quantile(diffs, 0.9));
  std::printf("repeatability_pairs_throttled: %d\n", throttled);
  std::printf("repeatability_median_diff_pct_unthrottled: %.2f\n",
              quiet_diffs.empty() ? 0 : Quantile(quiet_diffs, 0.5));
  return 0;
}

}  // namespace
}  // namespace hakd::bench

int main(int argc, char** argv) { return hakd::bench::Run(argc, argv); }
