// TimeUnit runs every kind of network unit, and a whole network, with
// LibTorch on the CPU; invalid units are refused naming the field.
#include "common/torch/unit_timer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "common/network/network_analysis.h"
#include "common/network/network_builders.h"
#include "common/network/unit_key.h"

namespace hakd {
namespace {

using hakd::v1::BlockUnit;
using hakd::v1::CheapConv;
using hakd::v1::UnitSpec;

// Just enough timing to get a number: these tests check that units run,
// not how fast.
TimingOptions Quick() {
  TimingOptions o;
  o.warmup_runs = 1;
  o.min_samples = 3;
  o.max_samples = 5;
  o.min_sample_ms = 0.1;
  o.max_seconds_per_layer = 0.2;
  o.max_settle_runs = 5;
  o.max_settle_seconds = 0.05;
  return o;
}

BlockUnit Input(int c, int hw) {
  BlockUnit u;
  u.mutable_input()->set_channels(c);
  u.mutable_input()->set_height(hw);
  u.mutable_input()->set_width(hw);
  return u;
}

UnitSpec Wrap(const BlockUnit& b) {
  UnitSpec u;
  *u.mutable_block() = b;
  return u;
}

CheapConv Cheap(CheapConv::Type type, int groups, int bottleneck) {
  CheapConv c;
  c.set_type(type);
  c.set_groups(groups);
  c.set_bottleneck(bottleneck);
  return c;
}

void ExpectTimes(const UnitSpec& unit) {
  SCOPED_TRACE(unit.ShortDebugString());
  ASSERT_TRUE(ValidateUnitSpec(unit, "unit").ok());
  auto t = TimeUnit(unit, Quick());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_GT(t->median_us, 0);
  EXPECT_GE(t->samples, 1);
  EXPECT_GE(t->runs_per_sample, 1);
}

TEST(TimeUnitTest, Stem) {
  BlockUnit u = Input(3, 8);
  u.mutable_stem()->set_out_channels(8);
  ExpectTimes(Wrap(u));
  u.mutable_stem()->set_batchnorm_relu(true);
  u.mutable_stem()->set_stride(2);
  ExpectTimes(Wrap(u));
}

TEST(TimeUnitTest, ResidualBlockOfEveryCheapType) {
  const std::vector<CheapConv> types = {
      CheapConv(), Cheap(CheapConv::TYPE_GROUPED, 4, 0),
      Cheap(CheapConv::TYPE_BOTTLENECK, 0, 2),
      Cheap(CheapConv::TYPE_BOTTLENECK_GROUPED, 2, 2),
      Cheap(CheapConv::TYPE_DEPTHWISE_SEPARABLE, 0, 0)};
  for (const CheapConv& cheap : types) {
    // Same shape in and out (identity shortcut) ...
    BlockUnit same = Input(8, 8);
    auto* r = same.mutable_block()->mutable_residual();
    r->set_out_channels(8);
    *r->mutable_cheap() = cheap;
    ExpectTimes(Wrap(same));
    // ... and a downsampling block with a 1x1 shortcut.
    BlockUnit down = Input(8, 8);
    auto* d = down.mutable_block()->mutable_residual();
    d->set_out_channels(16);
    d->set_stride(2);
    *d->mutable_cheap() = cheap;
    ExpectTimes(Wrap(down));
  }
  // A standard block with its own inner width.
  BlockUnit mid = Input(8, 8);
  mid.mutable_block()->mutable_residual()->set_out_channels(8);
  mid.mutable_block()->mutable_residual()->set_mid_channels(5);
  ExpectTimes(Wrap(mid));
}

TEST(TimeUnitTest, SeparableBlock) {
  BlockUnit u = Input(8, 8);
  u.mutable_block()->mutable_separable()->set_out_channels(16);
  u.mutable_block()->mutable_separable()->set_stride(2);
  ExpectTimes(Wrap(u));
}

TEST(TimeUnitTest, DenseLayer) {
  BlockUnit u = Input(8, 8);
  u.mutable_block()->mutable_dense()->set_growth(4);
  ExpectTimes(Wrap(u));
  *u.mutable_block()->mutable_dense()->mutable_cheap() =
      Cheap(CheapConv::TYPE_GROUPED, 2, 0);
  ExpectTimes(Wrap(u));
}

TEST(TimeUnitTest, Transition) {
  BlockUnit u = Input(8, 8);
  u.mutable_block()->mutable_transition()->set_out_channels(4);
  ExpectTimes(Wrap(u));
}

TEST(TimeUnitTest, Head) {
  BlockUnit u = Input(16, 4);
  u.mutable_head()->set_batchnorm_relu(true);
  u.set_num_classes(10);
  ExpectTimes(Wrap(u));
  u.mutable_head()->set_batchnorm_relu(false);
  ExpectTimes(Wrap(u));
}

TEST(TimeUnitTest, EveryUnitOfASmallNetworkAndTheWholeNetwork) {
  hakd::v1::InputShape input;
  input.set_channels(1);
  input.set_height(8);
  input.set_width(8);
  auto spec = WideResNet(10, 1, input, 4);
  ASSERT_TRUE(spec.ok()) << spec.status();
  auto analysis = AnalyzeNetwork(*spec);
  ASSERT_TRUE(analysis.ok()) << analysis.status();
  ASSERT_EQ(analysis->units.size(), 5u);
  for (const NetworkUnit& u : analysis->units) ExpectTimes(Wrap(u.unit));
  UnitSpec whole;
  *whole.mutable_network() = *spec;
  ExpectTimes(whole);
}

TEST(TimeUnitTest, InvalidUnitIsInvalidArgumentNamingTheField) {
  auto none = TimeUnit(UnitSpec(), Quick());
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(none.status().message(), "unit")) << none.status();

  BlockUnit bad = Input(8, 8);
  auto* r = bad.mutable_block()->mutable_residual();
  r->set_out_channels(8);
  *r->mutable_cheap() = Cheap(CheapConv::TYPE_GROUPED, 3, 0);  // 3 !| 8
  auto t = TimeUnit(Wrap(bad), Quick());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(t.status().message(),
                                "unit.block.block.residual.cheap.groups"))
      << t.status();

  BlockUnit no_input;
  no_input.mutable_stem()->set_out_channels(8);
  t = TimeUnit(Wrap(no_input), Quick());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(t.status().message(), "unit.block.input"))
      << t.status();

  UnitSpec net;
  auto spec = WideResNet(10, 1, CifarInput(), 10);
  ASSERT_TRUE(spec.ok());
  *net.mutable_network() = *spec;
  net.mutable_network()->mutable_stages(2)->mutable_blocks(0)->mutable_residual()
      ->set_out_channels(0);
  t = TimeUnit(net, Quick());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(
      t.status().message(), "unit.network.stages[2].blocks[0].residual.out_channels"))
      << t.status();

  // Invalid timing options are refused too.
  BlockUnit ok = Input(8, 8);
  ok.mutable_block()->mutable_transition()->set_out_channels(4);
  TimingOptions bad_options = Quick();
  bad_options.min_samples = 0;
  t = TimeUnit(Wrap(ok), bad_options);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(t.status().message(), "min_samples")) << t.status();
}

}  // namespace
}  // namespace hakd
