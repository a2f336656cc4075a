#include "server/sweep_planner.h"

#include <set>
#include <string>

#include "common/layer_spec.h"
#include "gtest/gtest.h"

namespace hakd {
namespace {

TEST(SweepPlannerTest, DefaultPresetIsTheIssuesGrid) {
  hakd::v1::StartSweepRequest req;
  auto plan = PlanSweep(req);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->preset, "default");
  // 3 families x 3 resolutions x channels 8..256.
  EXPECT_EQ(plan->layers.size(), 3u * 3u * 249u);
  std::set<std::tuple<int, int, bool>> families;
  int min_c = 1 << 30, max_c = 0;
  for (const auto& l : plan->layers) {
    EXPECT_TRUE(ValidateLayerSpec(l, "l").ok());
    EXPECT_EQ(l.batch(), 1);
    families.insert({l.kernel(), l.height(), IsDepthwise(l)});
    min_c = std::min(min_c, l.out_channels());
    max_c = std::max(max_c, l.out_channels());
  }
  EXPECT_EQ(families.size(), 9u);
  EXPECT_EQ(min_c, 8);
  EXPECT_EQ(max_c, 256);
}

TEST(SweepPlannerTest, SmokeIsAFewDozenLayersOfEveryKind) {
  hakd::v1::StartSweepRequest req;
  req.set_preset("smoke");
  auto plan = PlanSweep(req);
  ASSERT_TRUE(plan.ok());
  EXPECT_GE(plan->layers.size(), 20u);
  EXPECT_LE(plan->layers.size(), 60u);
  std::set<int> kinds;
  for (const auto& l : plan->layers) kinds.insert(l.kind());
  EXPECT_EQ(kinds.size(), 5u);
}

TEST(SweepPlannerTest, CustomFamilyWithStepAndDepthwise) {
  hakd::v1::StartSweepRequest req;
  auto* f = req.add_families();
  f->set_kind(hakd::v1::LAYER_KIND_CONV2D);
  f->set_kernel(3);
  f->set_depthwise(true);
  f->mutable_channels()->set_start(16);
  f->mutable_channels()->set_stop(64);
  f->mutable_channels()->set_step(16);
  f->add_resolutions(32);
  f->add_resolutions(8);
  auto plan = PlanSweep(req);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->preset, "custom");
  ASSERT_EQ(plan->layers.size(), 8u);
  EXPECT_EQ(plan->layers[0].groups(), 16);
  EXPECT_EQ(plan->layers[3].out_channels(), 64);
  EXPECT_EQ(plan->layers[4].height(), 8);
}

TEST(SweepPlannerTest, BadRequestsNameTheField) {
  hakd::v1::StartSweepRequest req;
  req.set_preset("huge");
  auto plan = PlanSweep(req);
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(plan.status().message().find("smoke"), std::string::npos);

  hakd::v1::StartSweepRequest bad;
  auto* f = bad.add_families();
  f->set_kind(hakd::v1::LAYER_KIND_CONV2D);
  f->set_kernel(3);
  f->mutable_channels()->set_start(64);
  f->mutable_channels()->set_stop(8);
  f->add_resolutions(32);
  plan = PlanSweep(bad);
  EXPECT_NE(plan.status().message().find("families[0].channels"), std::string::npos);

  f->mutable_channels()->set_start(10);
  f->mutable_channels()->set_stop(12);
  f->set_groups(4);  // 4 does not divide 10
  plan = PlanSweep(bad);
  EXPECT_NE(plan.status().message().find("groups"), std::string::npos)
      << plan.status();

  f->set_groups(1);
  f->clear_resolutions();
  plan = PlanSweep(bad);
  EXPECT_NE(plan.status().message().find("resolutions"), std::string::npos);

  f->add_resolutions(32);
  f->mutable_channels()->set_start(1);
  f->mutable_channels()->set_stop(60000);
  SweepPlannerOptions small;
  small.max_layers = 1000;
  plan = PlanSweep(bad, small);
  EXPECT_NE(plan.status().message().find("more than 1000"), std::string::npos);
}

// Found by tests/fuzz/sweep_request_fuzzer: channels 1..INT32_MAX step
// INT32_MAX overflowed the loop counter (signed overflow, UBSan) after the
// first layer.
TEST(SweepPlannerTest, ChannelStepPastInt32MaxEndsTheRange) {
  const std::string input(
      "\x1a\x17\x08\x01\x10\x01\x32\x0e\x08\x01\x10\xff\xff\xff\xff\x07"
      "\x18\xff\xff\xff\xff\x07\x42\x01\x01",
      25);
  hakd::v1::StartSweepRequest req;
  ASSERT_TRUE(req.ParseFromString(input));
  ASSERT_EQ(req.families(0).channels().step(), 2147483647);
  auto plan = PlanSweep(req);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->layers.size(), 1u);
  EXPECT_EQ(plan->layers[0].out_channels(), 1);
}

}  // namespace
}  // namespace hakd
