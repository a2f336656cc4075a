// Unit identity (validation, normalisation, keys, families) and the units
// AnalyzeNetwork cuts a network into.
#include "common/network/unit_key.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "common/network/network_analysis.h"
#include "common/network/network_builders.h"

namespace hakd {
namespace {

using hakd::v1::BlockUnit;
using hakd::v1::CheapConv;
using hakd::v1::NetworkSpec;
using hakd::v1::UnitSpec;

CheapConv Cheap(CheapConv::Type type, int groups, int bottleneck) {
  CheapConv c;
  c.set_type(type);
  c.set_groups(groups);
  c.set_bottleneck(bottleneck);
  return c;
}

std::vector<CheapConv> AllCheap() {
  return {CheapConv(), Cheap(CheapConv::TYPE_GROUPED, 4, 0),
          Cheap(CheapConv::TYPE_BOTTLENECK, 0, 2),
          Cheap(CheapConv::TYPE_BOTTLENECK_GROUPED, 2, 2),
          Cheap(CheapConv::TYPE_DEPTHWISE_SEPARABLE, 0, 0)};
}

void SetInput(BlockUnit* u, int c, int hw) {
  u->mutable_input()->set_channels(c);
  u->mutable_input()->set_height(hw);
  u->mutable_input()->set_width(hw);
}

// A residual block unit in -> out at hw x hw; other fields left at 0.
BlockUnit Residual(int in, int out, int hw, int stride = 0) {
  BlockUnit u;
  SetInput(&u, in, hw);
  auto* r = u.mutable_block()->mutable_residual();
  r->set_out_channels(out);
  r->set_stride(stride);
  return u;
}

UnitSpec Wrap(const BlockUnit& b) {
  UnitSpec u;
  *u.mutable_block() = b;
  return u;
}

UnitSpec Wrap(const NetworkSpec& n) {
  UnitSpec u;
  *u.mutable_network() = n;
  return u;
}

NetworkSpec Wrn(int depth, int k) {
  auto spec = WideResNet(depth, k, CifarInput(), 10);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.value_or(NetworkSpec());
}

// --- ValidateUnitSpec -------------------------------------------------------

TEST(ValidateUnitSpecTest, ValidBlockAndNetworkPass) {
  EXPECT_TRUE(ValidateUnitSpec(Wrap(Residual(16, 32, 8, 2)), "unit").ok());
  EXPECT_TRUE(ValidateUnitSpec(Wrap(Wrn(10, 1)), "unit").ok());
}

TEST(ValidateUnitSpecTest, NeitherSetIsInvalidAndNamesTheField) {
  const absl::Status st = ValidateUnitSpec(UnitSpec(), "items[3].unit");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(st.message(), "items[3].unit")) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "neither")) << st;
}

TEST(ValidateUnitSpecTest, BadBlockNamesTheFieldPathInsideTheUnit) {
  BlockUnit b = Residual(16, 16, 8);
  *b.mutable_block()->mutable_residual()->mutable_cheap() =
      Cheap(CheapConv::TYPE_GROUPED, 3, 0);  // 3 does not divide 16
  const absl::Status st = ValidateUnitSpec(Wrap(b), "unit");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  // UnitSpec.block (a BlockUnit) -> BlockUnit.block (a Block) -> residual.
  EXPECT_TRUE(absl::StartsWith(st.message(),
                               "unit.block.block.residual.cheap.groups"))
      << st;

  BlockUnit no_input = Residual(0, 16, 8);
  const absl::Status in = ValidateUnitSpec(Wrap(no_input), "unit");
  EXPECT_EQ(in.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(in.message(), "unit.block.input.channels"))
      << in;

  BlockUnit stem;
  SetInput(&stem, 3, 32);
  stem.mutable_stem()->set_out_channels(16);
  stem.set_num_classes(10);  // only heads have classes
  const absl::Status nc = ValidateUnitSpec(Wrap(stem), "unit");
  EXPECT_EQ(nc.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(nc.message(), "unit.block.num_classes")) << nc;
}

TEST(ValidateUnitSpecTest, BadNetworkNamesTheFieldPathInsideTheNetwork) {
  NetworkSpec n = Wrn(10, 1);
  n.mutable_stages(1)->mutable_blocks(0)->mutable_residual()->set_kernel(4);
  const absl::Status st = ValidateUnitSpec(Wrap(n), "unit");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(
      st.message(), "unit.network.stages[1].blocks[0].residual.kernel"))
      << st;
}

// --- NormalizeBlockUnit -----------------------------------------------------

TEST(NormalizeBlockUnitTest, WritesResidualDefaultsOut) {
  const BlockUnit n = NormalizeBlockUnit(Residual(16, 32, 8));
  const auto& r = n.block().residual();
  EXPECT_EQ(r.out_channels(), 32);
  EXPECT_EQ(r.stride(), 1);
  EXPECT_EQ(r.kernel(), 3);
  EXPECT_EQ(r.mid_channels(), 32);
  EXPECT_EQ(r.cheap().type(), CheapConv::TYPE_STANDARD);
  EXPECT_EQ(n.input().channels(), 16);
  EXPECT_EQ(n.input().height(), 8);
}

TEST(NormalizeBlockUnitTest, BottleneckKeepsMidZeroAndClearsUnusedCheapFields) {
  BlockUnit b = Residual(16, 16, 8);
  *b.mutable_block()->mutable_residual()->mutable_cheap() =
      Cheap(CheapConv::TYPE_BOTTLENECK, 0, 2);
  EXPECT_EQ(NormalizeBlockUnit(b).block().residual().mid_channels(), 0);

  BlockUnit ds = Residual(16, 16, 8);
  *ds.mutable_block()->mutable_residual()->mutable_cheap() =
      Cheap(CheapConv::TYPE_DEPTHWISE_SEPARABLE, 0, 0);
  // A copy: the normalised unit is a temporary.
  const CheapConv c = NormalizeBlockUnit(ds).block().residual().cheap();
  EXPECT_EQ(c.groups(), 0);
  EXPECT_EQ(c.bottleneck(), 0);
}

TEST(NormalizeBlockUnitTest, WritesStemSeparableAndDenseDefaultsOut) {
  BlockUnit stem;
  SetInput(&stem, 3, 32);
  stem.mutable_stem()->set_out_channels(16);
  const BlockUnit s = NormalizeBlockUnit(stem);
  EXPECT_EQ(s.stem().kernel(), 3);
  EXPECT_EQ(s.stem().stride(), 1);

  BlockUnit sep;
  SetInput(&sep, 32, 16);
  sep.mutable_block()->mutable_separable()->set_out_channels(64);
  const BlockUnit p = NormalizeBlockUnit(sep);
  EXPECT_EQ(p.block().separable().kernel(), 3);
  EXPECT_EQ(p.block().separable().stride(), 1);

  BlockUnit dense;
  SetInput(&dense, 24, 16);
  dense.mutable_block()->mutable_dense()->set_growth(12);
  EXPECT_EQ(NormalizeBlockUnit(dense).block().dense().bottleneck_channels(), 48);
}

// --- Keys -------------------------------------------------------------------

TEST(BlockUnitKeyTest, ReadableKeyWithDefaultsWrittenOut) {
  EXPECT_EQ(BlockUnitKey(Residual(32, 64, 32, 2)),
            "residual c32 h32 o64 m64 s2 k3 t0 g0 b0");
}

TEST(BlockUnitKeyTest, SpecsDifferingOnlyInDefaultsShareAKey) {
  BlockUnit implicit = Residual(32, 32, 16);
  BlockUnit explicit_ = Residual(32, 32, 16);
  auto* r = explicit_.mutable_block()->mutable_residual();
  r->set_kernel(3);
  r->set_mid_channels(32);
  r->set_stride(1);
  EXPECT_EQ(BlockUnitKey(implicit), BlockUnitKey(explicit_));

  BlockUnit k0 = Residual(32, 32, 16);
  BlockUnit k3 = Residual(32, 32, 16);
  k3.mutable_block()->mutable_residual()->set_kernel(3);
  EXPECT_EQ(BlockUnitKey(k0), BlockUnitKey(k3));

  BlockUnit m0 = Residual(16, 32, 16);
  BlockUnit mout = Residual(16, 32, 16);
  mout.mutable_block()->mutable_residual()->set_mid_channels(32);
  EXPECT_EQ(BlockUnitKey(m0), BlockUnitKey(mout));

  // The same through UnitKey.
  EXPECT_EQ(UnitKey(Wrap(m0)), UnitKey(Wrap(mout)));
}

TEST(BlockUnitKeyTest, DifferentComputationsHaveDifferentKeys) {
  EXPECT_NE(BlockUnitKey(Residual(32, 32, 16)), BlockUnitKey(Residual(32, 40, 16)));
  EXPECT_NE(BlockUnitKey(Residual(32, 32, 16)), BlockUnitKey(Residual(40, 40, 16)));
  EXPECT_NE(BlockUnitKey(Residual(32, 32, 16)), BlockUnitKey(Residual(32, 32, 8)));
  EXPECT_NE(BlockUnitKey(Residual(32, 32, 16)),
            BlockUnitKey(Residual(32, 32, 16, 2)));
  BlockUnit mid = Residual(32, 32, 16);
  mid.mutable_block()->mutable_residual()->set_mid_channels(16);
  EXPECT_NE(BlockUnitKey(Residual(32, 32, 16)), BlockUnitKey(mid));
  BlockUnit g = Residual(32, 32, 16);
  *g.mutable_block()->mutable_residual()->mutable_cheap() =
      Cheap(CheapConv::TYPE_GROUPED, 4, 0);
  BlockUnit g2 = g;
  g2.mutable_block()->mutable_residual()->mutable_cheap()->set_groups(2);
  EXPECT_NE(BlockUnitKey(Residual(32, 32, 16)), BlockUnitKey(g));
  EXPECT_NE(BlockUnitKey(g), BlockUnitKey(g2));
}

TEST(UnitKeyTest, NetworksDifferingOnlyInNamesShareAKey) {
  NetworkSpec a = Wrn(16, 2);
  NetworkSpec b = a;
  b.set_name("another name");
  for (auto& stage : *b.mutable_stages()) stage.set_name("renamed");
  const std::string key = UnitKey(Wrap(a));
  EXPECT_TRUE(absl::StartsWith(key, "network ")) << key;
  EXPECT_EQ(key.size(), std::string("network ").size() + 16) << key;
  EXPECT_EQ(key, UnitKey(Wrap(b)));

  // Defaults written out explicitly do not change it either.
  NetworkSpec c = a;
  c.mutable_stem()->set_kernel(3);
  c.mutable_stages(0)->mutable_blocks(0)->mutable_residual()->set_stride(1);
  EXPECT_EQ(key, UnitKey(Wrap(c)));
}

TEST(UnitKeyTest, DifferentNetworksHaveDifferentKeys) {
  NetworkSpec a = Wrn(16, 2);
  NetworkSpec wider = a;
  wider.mutable_stages(2)->mutable_blocks(1)->mutable_residual()->set_out_channels(
      120);
  NetworkSpec classes = a;
  classes.set_num_classes(100);
  const std::string key = UnitKey(Wrap(a));
  EXPECT_NE(key, UnitKey(Wrap(wider)));
  EXPECT_NE(key, UnitKey(Wrap(classes)));
  EXPECT_NE(key, UnitKey(Wrap(Wrn(16, 1))));
  auto fashion = WideResNet(16, 2, FashionMnistInput(), 10);
  ASSERT_TRUE(fashion.ok());
  EXPECT_NE(key, UnitKey(Wrap(*fashion)));
}

// --- Families ---------------------------------------------------------------

TEST(FamilyOfTest, ResidualWithEqualWidthsFollowsTheWidth) {
  const UnitFamily f = FamilyOf(Residual(48, 48, 16));
  EXPECT_EQ(f.width, 48);
  EXPECT_EQ(f.family, "residual c=w h16 m=w s1 k3 t0 g0 b0");
  // Other widths of the same shape share the family.
  const UnitFamily g = FamilyOf(Residual(64, 64, 16));
  EXPECT_EQ(g.width, 64);
  EXPECT_EQ(g.family, f.family);
  EXPECT_TRUE(absl::StrContains(f.family, "c=w")) << f.family;
  EXPECT_TRUE(absl::StrContains(f.family, "m=w")) << f.family;
}

TEST(FamilyOfTest, ResidualWithOtherInputKeepsTheInputFixed) {
  const UnitFamily f = FamilyOf(Residual(32, 64, 16, 2));
  EXPECT_EQ(f.width, 64);
  EXPECT_EQ(f.family, "residual c32 h16 m=w s2 k3 t0 g0 b0");
  EXPECT_EQ(FamilyOf(Residual(32, 80, 16, 2)).family, f.family);
  EXPECT_NE(FamilyOf(Residual(40, 80, 16, 2)).family, f.family);

  // An explicit inner width other than the output is kept too.
  BlockUnit mid = Residual(64, 64, 16);
  mid.mutable_block()->mutable_residual()->set_mid_channels(24);
  const UnitFamily m = FamilyOf(mid);
  EXPECT_EQ(m.width, 64);
  EXPECT_EQ(m.family, "residual c=w h16 m24 s1 k3 t0 g0 b0");
}

TEST(FamilyOfTest, DenseFamilyWidthIsTheInputChannels) {
  BlockUnit d;
  SetInput(&d, 72, 16);
  d.mutable_block()->mutable_dense()->set_growth(12);
  const UnitFamily f = FamilyOf(d);
  EXPECT_EQ(f.width, 72);
  EXPECT_FALSE(absl::StrContains(f.family, "c72")) << f.family;
  EXPECT_TRUE(absl::StartsWith(f.family, "dense ")) << f.family;
  BlockUnit d2 = d;
  d2.mutable_input()->set_channels(84);
  EXPECT_EQ(FamilyOf(d2).width, 84);
  EXPECT_EQ(FamilyOf(d2).family, f.family);
}

TEST(FamilyOfTest, HeadWidthIsTheInputChannels) {
  BlockUnit h;
  SetInput(&h, 128, 8);
  h.mutable_head()->set_batchnorm_relu(true);
  h.set_num_classes(10);
  const UnitFamily f = FamilyOf(h);
  EXPECT_EQ(f.width, 128);
  EXPECT_TRUE(absl::StartsWith(f.family, "head ")) << f.family;
  EXPECT_FALSE(absl::StrContains(f.family, "128")) << f.family;
  BlockUnit h2 = h;
  h2.mutable_input()->set_channels(96);
  EXPECT_EQ(FamilyOf(h2).family, f.family);
  EXPECT_EQ(FamilyOf(h2).width, 96);
}

TEST(FamilyOfTest, StemWidthIsTheOutputChannels) {
  BlockUnit s;
  SetInput(&s, 3, 32);
  s.mutable_stem()->set_out_channels(24);
  const UnitFamily f = FamilyOf(s);
  EXPECT_EQ(f.width, 24);
  EXPECT_EQ(f.family, "stem c3 h32 s1 k3 r0");
}

// --- AnalyzeNetwork(...).units -----------------------------------------------

void ExpectInput(const NetworkUnit& u, int c, int hw) {
  EXPECT_EQ(u.unit.input().channels(), c) << u.name;
  EXPECT_EQ(u.unit.input().height(), hw) << u.name;
  EXPECT_EQ(u.unit.input().width(), hw) << u.name;
}

TEST(NetworkUnitsTest, Wrn16x2HasStemSixBlocksAndHeadWithTheirInputs) {
  const NetworkSpec spec = Wrn(16, 2);
  auto a = AnalyzeNetwork(spec);
  ASSERT_TRUE(a.ok()) << a.status();
  const auto& u = a->units;
  ASSERT_EQ(u.size(), 8u);
  EXPECT_EQ(u[0].name, "stem");
  EXPECT_TRUE(u[0].unit.has_stem());
  EXPECT_EQ(u[0].unit.stem().out_channels(), 16);
  ExpectInput(u[0], 3, 32);
  const char* const kNames[] = {"stages[0].blocks[0]", "stages[0].blocks[1]",
                                "stages[1].blocks[0]", "stages[1].blocks[1]",
                                "stages[2].blocks[0]", "stages[2].blocks[1]"};
  const int kInC[] = {16, 32, 32, 64, 64, 128};
  const int kInHw[] = {32, 32, 32, 16, 16, 8};
  for (int i = 0; i < 6; ++i) {
    const NetworkUnit& b = u[1 + i];
    EXPECT_EQ(b.name, kNames[i]);
    ASSERT_TRUE(b.unit.has_block()) << b.name;
    EXPECT_TRUE(b.unit.block().has_residual()) << b.name;
    ExpectInput(b, kInC[i], kInHw[i]);
    EXPECT_EQ(b.unit.num_classes(), 0) << b.name;
  }
  EXPECT_EQ(u[7].name, "head");
  EXPECT_TRUE(u[7].unit.has_head());
  EXPECT_TRUE(u[7].unit.head().batchnorm_relu());
  EXPECT_EQ(u[7].unit.num_classes(), 10);
  ExpectInput(u[7], 128, 8);
  // Every unit is valid on its own.
  for (const NetworkUnit& unit : u) {
    EXPECT_TRUE(ValidateUnitSpec(Wrap(unit.unit), "unit").ok()) << unit.name;
  }
}

// The units' own costs add up to the network's.
void ExpectUnitsSumToNetwork(const NetworkSpec& spec) {
  SCOPED_TRACE(spec.name());
  auto a = AnalyzeNetwork(spec);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_FALSE(a->units.empty());
  int64_t params = 0;
  int64_t macs = 0;
  for (const NetworkUnit& u : a->units) {
    auto ua = AnalyzeUnit(u.unit);
    ASSERT_TRUE(ua.ok()) << u.name << ": " << ua.status();
    EXPECT_TRUE(ua->units.empty());
    params += ua->total_params;
    macs += ua->total_macs;
  }
  EXPECT_EQ(params, a->total_params);
  EXPECT_EQ(macs, a->total_macs);
  // The head unit leaves num_classes x 1 x 1.
  auto head = AnalyzeUnit(a->units.back().unit);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->final_channels, spec.num_classes());
  EXPECT_EQ(head->final_height, 1);
}

TEST(NetworkUnitsTest, UnitCostsSumToTheNetworkForEveryFamily) {
  ExpectUnitsSumToNetwork(Wrn(16, 2));
  ExpectUnitsSumToNetwork(Wrn(40, 2));
  auto mobile = MobileNetV1(0.5, CifarInput(), 10);
  ASSERT_TRUE(mobile.ok());
  ExpectUnitsSumToNetwork(*mobile);
  auto dense = DenseNetBC(40, 12, CifarInput(), 10);
  ASSERT_TRUE(dense.ok());
  ExpectUnitsSumToNetwork(*dense);
  auto fashion = WideResNet(16, 2, FashionMnistInput(), 10);
  ASSERT_TRUE(fashion.ok());
  ExpectUnitsSumToNetwork(*fashion);
}

TEST(NetworkUnitsTest, UnitCostsSumToTheNetworkForEveryCheapBlockType) {
  auto dense = DenseNetBC(40, 12, CifarInput(), 10);
  ASSERT_TRUE(dense.ok());
  for (const CheapConv& cheap : AllCheap()) {
    SCOPED_TRACE(cheap.ShortDebugString());
    const NetworkSpec wrn = WithCheapBlocks(Wrn(16, 2), cheap);
    ASSERT_TRUE(ValidateNetworkSpec(wrn).ok()) << ValidateNetworkSpec(wrn);
    ExpectUnitsSumToNetwork(wrn);
    // Dense layers take the non-bottleneck types.
    if (cheap.type() == CheapConv::TYPE_BOTTLENECK ||
        cheap.type() == CheapConv::TYPE_BOTTLENECK_GROUPED) {
      continue;
    }
    const NetworkSpec d = WithCheapBlocks(*dense, cheap);
    ASSERT_TRUE(ValidateNetworkSpec(d).ok()) << ValidateNetworkSpec(d);
    ExpectUnitsSumToNetwork(d);
  }
}

}  // namespace
}  // namespace hakd
