// Designer benchmark: the coordinator-side work of one design job's DESIGN
// stage on a 99-block teacher (WRN-202-1 on CIFAR: three stages of 33
// residual blocks) with two devices whose profiles are complete and
// synthetic, and random saliency. Times CoverageUnits (uniform networks
// included) + DesignStudents + UniformBaseline; torch-free.
//
// Usage: hakd-bench-designer [--depth 202] [--runs 3] [--budget 0.5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "common/network/network_analysis.h"
#include "common/network/network_builders.h"
#include "common/network/unit_key.h"
#include "server/designer.h"

namespace hakd::bench {
namespace {

using Clock = std::chrono::steady_clock;
using hakd::v1::BlockUnit;
using hakd::v1::NetworkSpec;

// 10 us per layer, a share proportional to the MACs, and a 6 us step per
// started group of 8 inner channels (as tests/server/designer_test.cc).
double SyntheticUs(const BlockUnit& unit, double speed) {
  auto a = AnalyzeUnit(unit);
  if (!a.ok()) return 0;
  double us = 10.0 * a->layers.size() + a->total_macs / 20000.0;
  if (unit.has_block() && unit.block().has_residual()) {
    const auto& r = unit.block().residual();
    const bool bottleneck =
        r.cheap().type() == hakd::v1::CheapConv::TYPE_BOTTLENECK ||
        r.cheap().type() == hakd::v1::CheapConv::TYPE_BOTTLENECK_GROUPED;
    const int inner = bottleneck ? r.out_channels() / r.cheap().bottleneck()
                      : r.mid_channels() == 0 ? r.out_channels()
                                              : r.mid_channels();
    us += 6 * ((inner + 7) / 8);
  }
  return us * speed;
}

int Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "hakd-bench-designer: %s: %s\n", what.c_str(),
               status.ToString().c_str());
  return 1;
}

int Main(int argc, char** argv) {
  const int depth = std::stoi(FlagValue(argc, argv, "depth", "202"));
  const int runs = std::max(1, std::stoi(FlagValue(argc, argv, "runs", "3")));
  const double budget = std::stod(FlagValue(argc, argv, "budget", "0.5"));
  auto teacher = WideResNet(depth, 1, CifarInput(), 10);
  if (!teacher.ok()) return Fail("teacher", teacher.status());
  int blocks = 0;
  for (const auto& stage : teacher->stages()) blocks += stage.blocks_size();

  // Fixture (not timed): complete profiles of two devices, random saliency.
  auto coverage = CoverageUnits(*teacher, /*uniform=*/true);
  if (!coverage.ok()) return Fail("coverage", coverage.status());
  std::vector<DeviceProfile> devices(2);
  devices[0].device = "board-a";
  devices[1].device = "board-b";
  devices[1].overhead.set_scale(1.1);
  devices[1].overhead.set_intercept_us(40);
  devices[1].overhead.set_per_unit_us(1.5);
  for (const BlockUnit& u : *coverage) {
    const std::string key = BlockUnitKey(u);
    devices[0].unit_us[key] = SyntheticUs(u, 1.0);
    devices[1].unit_us[key] = SyntheticUs(u, 1.5);
  }
  for (DeviceProfile& d : devices) {
    auto us = PredictFromProfile(*teacher, d);
    if (!us.ok()) return Fail("teacher latency", us.status());
    d.budget_us = budget * *us;
  }
  std::mt19937 rng(42);
  std::exponential_distribution<double> dist(1.0);
  std::vector<hakd::v1::BlockSaliency> saliency;
  for (int s = 0; s < teacher->stages_size(); ++s) {
    for (int b = 0; b < teacher->stages(s).blocks_size(); ++b) {
      auto& e = saliency.emplace_back();
      e.set_stage(s);
      e.set_block(b);
      const int n = teacher->stages(s).blocks(b).residual().out_channels();
      for (int c = 0; c < n; ++c) e.add_channels(dist(rng));
    }
  }

  std::vector<double> seconds;
  std::vector<double> parts[3];  // coverage, design, uniform
  size_t units = 0;
  DesignOutcome outcome;
  std::string uniform;
  for (int run = 0; run < runs; ++run) {
    auto since = [](Clock::time_point t) {
      return std::chrono::duration<double>(Clock::now() - t).count();
    };
    const auto start = Clock::now();
    auto cov = CoverageUnits(*teacher, /*uniform=*/true);
    if (!cov.ok()) return Fail("CoverageUnits", cov.status());
    parts[0].push_back(since(start));
    const auto design_start = Clock::now();
    auto designed = DesignStudents(*teacher, saliency, devices);
    if (!designed.ok()) return Fail("DesignStudents", designed.status());
    parts[1].push_back(since(design_start));
    const auto uniform_start = Clock::now();
    auto baseline = UniformBaseline(*teacher, saliency, devices);
    if (!baseline.ok()) return Fail("UniformBaseline", baseline.status());
    parts[2].push_back(since(uniform_start));
    seconds.push_back(since(start));
    units = cov->size();
    outcome = *std::move(designed);
    uniform = baseline->description();
  }
  std::printf("machine: %s\n", MachineDescription().c_str());
  std::printf(
      "method: WRN-%d-1 on CIFAR (%d residual blocks, 3 stages), 2 synthetic "
      "devices (budgets %.0f%% of the teacher), 6 cheap convolutions; "
      "CoverageUnits(uniform) + DesignStudents + UniformBaseline, best and "
      "median of %d runs, one thread\n",
      depth, blocks, 100 * budget, runs);
  std::printf("designer_time_s: %.3f\n",
              *std::min_element(seconds.begin(), seconds.end()));
  std::printf("designer_time_median_s: %.3f\n", Quantile(seconds, 0.5));
  std::printf("coverage_time_s: %.3f\n", Quantile(parts[0], 0.5));
  std::printf("design_students_time_s: %.3f\n", Quantile(parts[1], 0.5));
  std::printf("uniform_baseline_time_s: %.3f\n", Quantile(parts[2], 0.5));
  std::printf("designer_configurations: %d\n", outcome.configurations);
  std::printf("designer_within_budget: %d\n", outcome.within_budget);
  std::printf("designer_front: %zu\n", outcome.front.size());
  std::printf("coverage_units: %zu\n", units);
  if (!outcome.front.empty()) {
    std::printf("designer_best: %s (saliency kept %.3f)\n",
                outcome.front[0].description().c_str(),
                outcome.front[0].saliency_kept());
  }
  std::printf("uniform_baseline: %s\n", uniform.c_str());
  return 0;
}

}  // namespace
}  // namespace hakd::bench

int main(int argc, char** argv) { return hakd::bench::Main(argc, argv); }
