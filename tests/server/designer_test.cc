// The designer on a WRN-16-1 teacher with synthetic saliency and synthetic
// latency profiles (MACs plus a step every 8 inner channels): budgets,
// Pareto front, selection, errors, baselines and descriptions.
#include "server/designer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "common/network/network_analysis.h"
#include "common/network/network_builders.h"
#include "common/network/unit_key.h"

namespace hakd {
namespace {

using hakd::v1::BlockSaliency;
using hakd::v1::BlockUnit;
using hakd::v1::Candidate;
using hakd::v1::CheapConv;
using hakd::v1::NetworkSpec;

NetworkSpec Teacher() {
  auto spec = WideResNet(16, 1, FashionMnistInput(), 10);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.value_or(NetworkSpec());
}

int InnerOf(const hakd::v1::ResidualBlock& r) {
  if (r.cheap().type() == CheapConv::TYPE_BOTTLENECK ||
      r.cheap().type() == CheapConv::TYPE_BOTTLENECK_GROUPED) {
    return r.out_channels() / r.cheap().bottleneck();
  }
  return r.mid_channels() == 0 ? r.out_channels() : r.mid_channels();
}

// Latency (us) of a unit: 10 us per layer run (so cheap blocks, which run
// more layers, are not free), plus a share proportional to its MACs, plus
// a step of 6 us for every started group of 8 inner channels (the
// staircase of a library that vectorises by 8), times `speed`.
double SyntheticUs(const BlockUnit& unit, double speed) {
  auto a = AnalyzeUnit(unit);
  EXPECT_TRUE(a.ok()) << a.status();
  double us = 10.0 * a->layers.size() + a->total_macs / 20000.0;
  if (unit.has_block() && unit.block().has_residual()) {
    us += 6 * ((InnerOf(unit.block().residual()) + 7) / 8);
  }
  return us * speed;
}

// A profile covering everything CoverageUnits lists (uniform networks too).
DeviceProfile Profile(const NetworkSpec& teacher, const std::string& name,
                      double speed, const DesignerOptions& options = {}) {
  DeviceProfile p;
  p.device = name;
  auto units = CoverageUnits(teacher, /*uniform=*/true, options);
  EXPECT_TRUE(units.ok()) << units.status();
  for (const BlockUnit& u : units.value_or(std::vector<BlockUnit>())) {
    p.unit_us[BlockUnitKey(u)] = SyntheticUs(u, speed);
  }
  return p;
}

double TeacherUs(const NetworkSpec& teacher, const DeviceProfile& p) {
  auto us = PredictFromProfile(teacher, p);
  EXPECT_TRUE(us.ok()) << us.status();
  return us.value_or(0);
}

// Two devices: "board-a" (no overhead) and "board-b" (1.5x slower, with an
// overhead model), budgets a share of the teacher's latency on each.
std::vector<DeviceProfile> Devices(const NetworkSpec& teacher, double share_a,
                                   double share_b,
                                   const DesignerOptions& options = {}) {
  DeviceProfile a = Profile(teacher, "board-a", 1.0, options);
  DeviceProfile b = Profile(teacher, "board-b", 1.5, options);
  b.overhead.set_scale(1.1);
  b.overhead.set_intercept_us(40);
  b.overhead.set_per_unit_us(1.5);
  a.budget_us = share_a * TeacherUs(teacher, a);
  b.budget_us = share_b * TeacherUs(teacher, b);
  return {a, b};
}

// Random saliency, one value per teacher mid channel.
std::vector<BlockSaliency> Saliency(const NetworkSpec& teacher) {
  std::mt19937 rng(7);
  std::exponential_distribution<double> dist(1.0);
  std::vector<BlockSaliency> out;
  for (int s = 0; s < teacher.stages_size(); ++s) {
    for (int b = 0; b < teacher.stages(s).blocks_size(); ++b) {
      BlockSaliency& e = out.emplace_back();
      e.set_stage(s);
      e.set_block(b);
      const int n = InnerOf(teacher.stages(s).blocks(b).residual());
      for (int c = 0; c < n; ++c) e.add_channels(dist(rng) * (s + 1));
    }
  }
  return out;
}

double Ratio(const Candidate& c) {
  double r = 0;
  for (const auto& l : c.latency())
    r = std::max(r, l.predicted_ms() / l.budget_ms());
  return r;
}

TEST(DesignerTest, CoverageUnitsAreUniqueValidAndIncludeTheTeacher) {
  const NetworkSpec teacher = Teacher();
  auto units = CoverageUnits(teacher, /*uniform=*/false);
  ASSERT_TRUE(units.ok()) << units.status();
  std::set<std::string> keys;
  for (const BlockUnit& u : *units) {
    ASSERT_TRUE(AnalyzeUnit(u).ok()) << u.DebugString();
    EXPECT_TRUE(keys.insert(BlockUnitKey(u)).second) << BlockUnitKey(u);
  }
  auto analysis = AnalyzeNetwork(teacher);
  ASSERT_TRUE(analysis.ok());
  for (const NetworkUnit& u : analysis->units) {
    EXPECT_EQ(keys.count(BlockUnitKey(u.unit)), 1u) << u.name;
  }
  // Five distinct block shapes (group1's two blocks are alike). Variants
  // per shape with inner width T: standard, G(2) and DW 8 each (step T/8),
  // G(4) 4 when T = 16 else 8, B(2) out/2..1 and BG(2,2) out/2..2: 35 for
  // group1, 41 for each group2 shape, 43 for each group3 shape; plus stem
  // and head.
  EXPECT_EQ(units->size(), 35u + 2 * 41u + 2 * 43u + 2u);
  // Stable: the same call gives the same list.
  auto again = CoverageUnits(teacher, /*uniform=*/false);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), units->size());
  for (size_t i = 0; i < units->size(); ++i) {
    EXPECT_EQ(BlockUnitKey((*again)[i]), BlockUnitKey((*units)[i]));
  }
  // Uniform networks add units (their stages are narrower).
  auto with_uniform = CoverageUnits(teacher, /*uniform=*/true);
  ASSERT_TRUE(with_uniform.ok());
  EXPECT_GT(with_uniform->size(), units->size());
}

TEST(DesignerTest, EveryCandidateMeetsEveryBudget) {
  const NetworkSpec teacher = Teacher();
  const auto devices = Devices(teacher, 0.5, 0.55);
  const auto saliency = Saliency(teacher);
  auto outcome = DesignStudents(teacher, saliency, devices);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->configurations, 6 * 6 * 6);
  EXPECT_GT(outcome->within_budget, 0);
  EXPECT_LE(outcome->within_budget, outcome->configurations);
  ASSERT_FALSE(outcome->front.empty());
  EXPECT_LE(static_cast<int>(outcome->front.size()), outcome->within_budget);
  auto teacher_analysis = AnalyzeNetwork(teacher);
  ASSERT_TRUE(teacher_analysis.ok());
  std::set<std::string> networks;
  for (size_t i = 0; i < outcome->front.size(); ++i) {
    const Candidate& c = outcome->front[i];
    SCOPED_TRACE(c.name() + ": " + c.description());
    EXPECT_EQ(c.name(), "hakd-" + std::to_string(i + 1));
    EXPECT_EQ(c.network().name(), c.name());
    EXPECT_EQ(c.role(), hakd::v1::ROLE_HAKD);
    EXPECT_TRUE(c.pareto());
    ASSERT_EQ(c.latency_size(), 2);
    for (int d = 0; d < 2; ++d) {
      auto us = PredictFromProfile(c.network(), devices[d]);
      ASSERT_TRUE(us.ok()) << us.status();
      EXPECT_LE(*us, devices[d].budget_us * (1 + 1e-9));
      EXPECT_EQ(c.latency(d).device(), devices[d].device);
      EXPECT_NEAR(c.latency(d).predicted_ms(), *us / 1000, 1e-9);
      EXPECT_NEAR(c.latency(d).budget_ms(), devices[d].budget_us / 1000, 1e-9);
      EXPECT_TRUE(c.latency(d).meets_budget());
    }
    auto a = AnalyzeNetwork(c.network());
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_EQ(c.params(), a->total_params);
    EXPECT_EQ(c.macs(), a->total_macs);
    EXPECT_LT(c.params(), teacher_analysis->total_params);
    EXPECT_DOUBLE_EQ(c.saliency_kept(), SaliencyKept(c.network(), saliency));
    EXPECT_GT(c.saliency_kept(), 0);
    EXPECT_LT(c.saliency_kept(), 1);
    EXPECT_EQ(c.description(), DescribeStudent(c.network()));
    // Students keep the teacher's stem, stage widths, strides and head.
    ASSERT_EQ(c.network().stages_size(), teacher.stages_size());
    EXPECT_EQ(c.network().stem().out_channels(), teacher.stem().out_channels());
    for (int s = 0; s < teacher.stages_size(); ++s) {
      ASSERT_EQ(c.network().stages(s).blocks_size(),
                teacher.stages(s).blocks_size());
      for (int b = 0; b < teacher.stages(s).blocks_size(); ++b) {
        const auto& r = c.network().stages(s).blocks(b).residual();
        const auto& t = teacher.stages(s).blocks(b).residual();
        EXPECT_EQ(r.out_channels(), t.out_channels());
        EXPECT_EQ(r.stride(), t.stride());
        EXPECT_EQ(r.cheap().type(),
                  c.network().stages(s).blocks(0).residual().cheap().type());
        EXPECT_LE(InnerOf(r), InnerOf(t));
      }
    }
    EXPECT_TRUE(networks.insert(c.network().SerializeAsString()).second);
  }
}

TEST(DesignerTest, FrontIsNonDominatedAndRankedByScore) {
  const NetworkSpec teacher = Teacher();
  const double teacher_params = AnalyzeNetwork(teacher)->total_params;
  auto outcome =
      DesignStudents(teacher, Saliency(teacher), Devices(teacher, 0.5, 0.6));
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  const auto& front = outcome->front;
  ASSERT_GE(front.size(), 2u);
  for (const Candidate& a : front) {
    for (const Candidate& b : front) {
      if (&a == &b) continue;
      const bool dominates =
          Ratio(a) <= Ratio(b) && a.saliency_kept() >= b.saliency_kept() &&
          a.params() >= b.params() &&
          (Ratio(a) < Ratio(b) || a.saliency_kept() > b.saliency_kept() ||
           a.params() > b.params());
      EXPECT_FALSE(dominates) << a.name() << " dominates " << b.name();
    }
  }
  auto score = [&](const Candidate& c) {
    return (c.saliency_kept() + c.params() / teacher_params) / 2;
  };
  for (size_t i = 1; i < front.size(); ++i) {
    EXPECT_GE(score(front[i - 1]), score(front[i])) << front[i].name();
  }
}

TEST(DesignerTest, SelectsTheFirstK) {
  const NetworkSpec teacher = Teacher();
  DesignerOptions options;
  options.candidates = 2;
  auto outcome = DesignStudents(teacher, Saliency(teacher),
                                Devices(teacher, 0.6, 0.7), options);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  ASSERT_GE(outcome->front.size(), 3u);
  int selected = 0;
  for (size_t i = 0; i < outcome->front.size(); ++i) {
    EXPECT_EQ(outcome->front[i].selected(), i < 2) << i;
    selected += outcome->front[i].selected();
  }
  EXPECT_EQ(selected, 2);
}

TEST(DesignerTest, TighterBudgetGivesFasterStudents) {
  const NetworkSpec teacher = Teacher();
  const auto saliency = Saliency(teacher);
  const auto loose_devices = Devices(teacher, 0.8, 0.9);
  const auto tight_devices = Devices(teacher, 0.4, 0.45);
  auto loose = DesignStudents(teacher, saliency, loose_devices);
  auto tight = DesignStudents(teacher, saliency, tight_devices);
  ASSERT_TRUE(loose.ok()) << loose.status();
  ASSERT_TRUE(tight.ok()) << tight.status();
  EXPECT_LT(tight->within_budget, loose->within_budget);
  auto slowest = [](const DesignOutcome& o, int d) {
    double ms = 0;
    for (const Candidate& c : o.front)
      ms = std::max(ms, c.latency(d).predicted_ms());
    return ms;
  };
  for (int d = 0; d < 2; ++d) {
    EXPECT_LE(slowest(*tight, d), tight_devices[d].budget_us / 1000);
  }
  // The looser budget is spent: some student is slower than the tight
  // budget allows, and the best keeps more saliency.
  EXPECT_GT(slowest(*loose, 0), tight_devices[0].budget_us / 1000);
  EXPECT_GT(loose->front[0].saliency_kept(), tight->front[0].saliency_kept());
}

TEST(DesignerTest, UnreachableBudgetIsFailedPrecondition) {
  const NetworkSpec teacher = Teacher();
  auto devices = Devices(teacher, 0.6, 0.7);
  devices[1].budget_us = 50;  // below the overhead alone
  auto outcome = DesignStudents(teacher, Saliency(teacher), devices);
  ASSERT_EQ(outcome.status().code(), absl::StatusCode::kFailedPrecondition)
      << outcome.status();
  const std::string msg(outcome.status().message());
  EXPECT_TRUE(absl::StrContains(msg, "no student meets the budgets")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "fastest reachable is")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "on board-b (budget 0.050 ms)")) << msg;
}

TEST(DesignerTest, MissingUnitIsNotFoundWithItsKey) {
  const NetworkSpec teacher = Teacher();
  auto devices = Devices(teacher, 0.6, 0.7);
  // Drop one G(2) variant of a group2 block from board-a.
  std::string dropped;
  for (const auto& [key, us] : devices[0].unit_us) {
    if (absl::StrContains(key, "residual c32 h14 o32 m16") &&
        absl::StrContains(key, "t1 g2")) {
      dropped = key;
      break;
    }
  }
  ASSERT_FALSE(dropped.empty());
  devices[0].unit_us.erase(dropped);
  auto outcome = DesignStudents(teacher, Saliency(teacher), devices);
  ASSERT_EQ(outcome.status().code(), absl::StatusCode::kNotFound)
      << outcome.status();
  EXPECT_TRUE(absl::StrContains(outcome.status().message(), dropped))
      << outcome.status();
  EXPECT_TRUE(absl::StrContains(outcome.status().message(), "board-a"))
      << outcome.status();
}

TEST(DesignerTest, NonResidualTeacherIsRefused) {
  auto mobilenet = MobileNetV1(0.25, CifarInput(), 10);
  ASSERT_TRUE(mobilenet.ok());
  auto units = CoverageUnits(*mobilenet, false);
  ASSERT_EQ(units.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(units.status().message(),
            "teacher.stages[0].blocks[0]: the designer handles residual "
            "blocks only");
  // A residual teacher with one separable block in its second stage.
  NetworkSpec teacher = Teacher();
  auto* block = teacher.mutable_stages(1)->mutable_blocks(1);
  block->mutable_separable()->set_out_channels(32);
  auto outcome = DesignStudents(teacher, {}, Devices(Teacher(), 0.6, 0.7));
  ASSERT_EQ(outcome.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(outcome.status().message(),
                                "teacher.stages[1].blocks[1]: the designer "
                                "handles residual blocks only"))
      << outcome.status();
}

TEST(DesignerTest, RefusesIncompleteSaliencyAndBadOptions) {
  const NetworkSpec teacher = Teacher();
  auto saliency = Saliency(teacher);
  saliency.pop_back();
  auto outcome = DesignStudents(teacher, saliency, Devices(teacher, 0.6, 0.7));
  ASSERT_EQ(outcome.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      absl::StrContains(outcome.status().message(), "stages[2].blocks[1]"))
      << outcome.status();
  DesignerOptions options;
  options.candidates = 0;
  outcome = DesignStudents(teacher, Saliency(teacher),
                           Devices(teacher, 0.6, 0.7), options);
  ASSERT_EQ(outcome.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      absl::StrContains(outcome.status().message(), "options.candidates"));
  outcome = DesignStudents(teacher, Saliency(teacher), {});
  EXPECT_EQ(outcome.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(DesignerTest, OnlyTheOfferedCheapConvolutionsAreUsed) {
  const NetworkSpec teacher = Teacher();
  DesignerOptions options;
  CheapConv g2;
  g2.set_type(CheapConv::TYPE_GROUPED);
  g2.set_groups(2);
  options.cheap = {CheapConv(), g2};
  options.width_step = 4;
  auto outcome = DesignStudents(teacher, Saliency(teacher),
                                Devices(teacher, 0.6, 0.7, options), options);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->configurations, 8);
  for (const Candidate& c : outcome->front) {
    for (const auto& stage : c.network().stages()) {
      for (const auto& block : stage.blocks()) {
        const auto& r = block.residual();
        EXPECT_TRUE(r.cheap().type() == CheapConv::TYPE_STANDARD ||
                    r.cheap().type() == CheapConv::TYPE_GROUPED);
        EXPECT_EQ(InnerOf(r) % 4, 0) << c.description();
      }
    }
  }
}

TEST(DesignerTest, IdenticalNetworksAreOneCandidate) {
  const NetworkSpec teacher = Teacher();
  DesignerOptions options;
  options.cheap = {CheapConv(), CheapConv()};  // every combination alike
  auto outcome = DesignStudents(teacher, Saliency(teacher),
                                Devices(teacher, 0.7, 0.8), options);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->configurations, 8);
  EXPECT_EQ(outcome->within_budget, 8);
  ASSERT_EQ(outcome->front.size(), 1u);
  EXPECT_EQ(outcome->front[0].name(), "hakd-1");
  EXPECT_TRUE(outcome->front[0].selected());
}

TEST(DesignerTest, UniformBaselinePicksTheWidestFittingFactor) {
  const NetworkSpec teacher = Teacher();
  auto devices = Devices(teacher, 1, 1);
  // Budgets exactly the x0.5 network's latency: x0.55 is slower.
  NetworkSpec half = teacher;
  half.mutable_stem()->set_out_channels(8);
  for (auto& stage : *half.mutable_stages()) {
    for (auto& block : *stage.mutable_blocks()) {
      auto* r = block.mutable_residual();
      r->set_out_channels(r->out_channels() / 2);
      r->set_mid_channels(r->out_channels());
    }
  }
  for (auto& d : devices) d.budget_us = TeacherUs(half, d);
  const auto saliency = Saliency(teacher);
  auto uniform = UniformBaseline(teacher, saliency, devices);
  ASSERT_TRUE(uniform.ok()) << uniform.status();
  EXPECT_EQ(uniform->name(), "uniform");
  EXPECT_EQ(uniform->role(), hakd::v1::ROLE_UNIFORM);
  EXPECT_EQ(uniform->description(), "uniform x0.5");
  EXPECT_TRUE(uniform->selected());
  EXPECT_EQ(uniform->network().stages(2).blocks(1).residual().out_channels(),
            32);
  EXPECT_EQ(uniform->network().stages(2).blocks(1).residual().mid_channels(),
            32);
  EXPECT_EQ(uniform->network().stem().out_channels(), 8);
  EXPECT_EQ(uniform->params(), AnalyzeNetwork(half)->total_params);
  EXPECT_DOUBLE_EQ(uniform->saliency_kept(), SaliencyKept(half, saliency));
  ASSERT_EQ(uniform->latency_size(), 2);
  EXPECT_NEAR(uniform->latency(1).predicted_ms(), devices[1].budget_us / 1000,
              1e-9);
  // A budget no factor meets.
  for (auto& d : devices) d.budget_us = 1;
  EXPECT_EQ(UniformBaseline(teacher, saliency, devices).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(DesignerTest, FisherTablesReproduceThePrediction) {
  const NetworkSpec teacher = Teacher();
  const auto devices = Devices(teacher, 0.6, 0.7);
  auto tables = FisherLatencyTables(teacher, devices);
  ASSERT_TRUE(tables.ok()) << tables.status();
  ASSERT_EQ(tables->size(), 2u);
  // The teacher, and the teacher pruned to grid widths (multiples of 2, 4
  // and 8 in the three stages).
  NetworkSpec pruned = teacher;
  const int mids[3][2] = {{6, 10}, {12, 32}, {24, 8}};
  for (int s = 0; s < 3; ++s) {
    for (int b = 0; b < 2; ++b) {
      pruned.mutable_stages(s)
          ->mutable_blocks(b)
          ->mutable_residual()
          ->set_mid_channels(mids[s][b]);
    }
  }
  for (int d = 0; d < 2; ++d) {
    const auto& t = (*tables)[d];
    EXPECT_EQ(t.device(), devices[d].device);
    EXPECT_EQ(t.budget_us(), devices[d].budget_us);
    ASSERT_EQ(t.blocks_size(), 6);
    double teacher_us = t.fixed_us(), pruned_us = t.fixed_us();
    for (const auto& curve : t.blocks()) {
      const int width = InnerOf(
          teacher.stages(curve.stage()).blocks(curve.block()).residual());
      ASSERT_EQ(curve.us_by_width_size(), width);
      teacher_us += curve.us_by_width(width - 1);
      pruned_us += curve.us_by_width(mids[curve.stage()][curve.block()] - 1);
    }
    const double want = TeacherUs(teacher, devices[d]);
    EXPECT_NEAR(teacher_us, want, 1e-6 * want);
    const double want_pruned = TeacherUs(pruned, devices[d]);
    EXPECT_NEAR(pruned_us, want_pruned, 1e-6 * want_pruned);
  }
  // Between grid widths the curve is linear; below the narrowest it holds.
  const auto& group3 = (*tables)[0].blocks(5).us_by_width();  // grid step 8
  EXPECT_NEAR(group3[11], (group3[7] + group3[15]) / 2, 1e-9);
  EXPECT_EQ(group3[0], group3[7]);
  EXPECT_LT(group3[7], group3[8]);
}

TEST(DesignerTest, SaliencyKeptCountsTheMostSalientChannels) {
  auto teacher = WideResNet(10, 1, CifarInput(), 10);  // blocks 16, 32, 64
  ASSERT_TRUE(teacher.ok());
  std::vector<BlockSaliency> saliency(3);
  for (int s = 0; s < 3; ++s) {
    saliency[s].set_stage(s);
    saliency[s].set_block(0);
  }
  for (int c = 0; c < 16; ++c) saliency[0].add_channels(c + 1);  // sum 136
  for (int c = 0; c < 32; ++c) saliency[1].add_channels(1);      // 32
  for (int c = 0; c < 64; ++c) saliency[2].add_channels(0.5);    // 32
  EXPECT_DOUBLE_EQ(SaliencyKept(*teacher, saliency), 1.0);
  NetworkSpec student = *teacher;
  student.mutable_stages(0)
      ->mutable_blocks(0)
      ->mutable_residual()
      ->set_mid_channels(4);
  student.mutable_stages(1)
      ->mutable_blocks(0)
      ->mutable_residual()
      ->set_mid_channels(16);
  // (16 + 15 + 14 + 13) + 16 + 32 = 106 of 200.
  EXPECT_DOUBLE_EQ(SaliencyKept(student, saliency), 106.0 / 200);
  // A B(4) last block keeps 64 / 4 = 16 channels: 8 of its 32.
  auto* r = student.mutable_stages(2)->mutable_blocks(0)->mutable_residual();
  r->mutable_cheap()->set_type(CheapConv::TYPE_BOTTLENECK);
  r->mutable_cheap()->set_bottleneck(4);
  EXPECT_DOUBLE_EQ(SaliencyKept(student, saliency), 82.0 / 200);
  EXPECT_DOUBLE_EQ(SaliencyKept(student, {}), 0.0);
}

TEST(DesignerTest, DescribeStudentText) {
  NetworkSpec s = Teacher();
  auto block = [&](int st, int b) {
    return s.mutable_stages(st)->mutable_blocks(b)->mutable_residual();
  };
  block(0, 1)->set_mid_channels(12);
  for (int b = 0; b < 2; ++b) {
    block(1, b)->mutable_cheap()->set_type(CheapConv::TYPE_GROUPED);
    block(1, b)->mutable_cheap()->set_groups(2);
  }
  block(1, 1)->set_mid_channels(24);
  block(2, 0)->mutable_cheap()->set_type(CheapConv::TYPE_BOTTLENECK);
  block(2, 0)->mutable_cheap()->set_bottleneck(2);
  block(2, 1)->mutable_cheap()->set_type(CheapConv::TYPE_BOTTLENECK_GROUPED);
  block(2, 1)->mutable_cheap()->set_bottleneck(4);
  block(2, 1)->mutable_cheap()->set_groups(2);
  EXPECT_EQ(DescribeStudent(s),
            "group1: mid 16,12 | group2: mid 32,24 G(2) | group3: B(2) 32, "
            "BG(4,2) 16");
  s.mutable_stages(0)->clear_name();
  for (int b = 0; b < 2; ++b) {
    block(0, b)->mutable_cheap()->set_type(CheapConv::TYPE_DEPTHWISE_SEPARABLE);
  }
  EXPECT_TRUE(
      absl::StartsWith(DescribeStudent(s), "stages[0]: mid 16,12 DW | "))
      << DescribeStudent(s);
}

TEST(DesignerTest, PredictFromProfileReadsScaleZeroAsOne) {
  const NetworkSpec teacher = Teacher();
  DeviceProfile p = Profile(teacher, "board", 1.0);
  const double sum = TeacherUs(teacher, p);
  p.overhead.set_intercept_us(10);
  p.overhead.set_per_unit_us(0.5);  // 8 units
  EXPECT_NEAR(TeacherUs(teacher, p), sum + 10 + 4, 1e-9);
  p.overhead.set_scale(2);
  EXPECT_NEAR(TeacherUs(teacher, p), 2 * sum + 14, 1e-9);
  p.unit_us.erase(BlockUnitKey(AnalyzeNetwork(teacher)->units[0].unit));
  auto missing = PredictFromProfile(teacher, p);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(missing.status().message(), "stem"))
      << missing.status();
}

}  // namespace
}  // namespace hakd
