// Cheap-block weight formulas, layer lists and validation errors.
#include "common/network/network_analysis.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/match.h"
#include "common/layer_spec.h"
#include "common/network/network_builders.h"

namespace hakd {
namespace {

using hakd::v1::CheapConv;
using hakd::v1::NetworkSpec;

CheapConv Cheap(CheapConv::Type type, int groups, int bottleneck) {
  CheapConv c;
  c.set_type(type);
  c.set_groups(groups);
  c.set_bottleneck(bottleneck);
  return c;
}

// Stem to n channels and one residual block n -> n, stride 1.
NetworkSpec OneBlock(int n, const CheapConv& cheap) {
  NetworkSpec spec;
  *spec.mutable_input() = CifarInput();
  spec.set_num_classes(10);
  spec.mutable_stem()->set_out_channels(n);
  auto* r = spec.add_stages()->add_blocks()->mutable_residual();
  r->set_out_channels(n);
  *r->mutable_cheap() = cheap;
  return spec;
}

// Convolution weights inside stages[0].blocks[0].
int64_t BlockConvWeights(const NetworkSpec& spec) {
  auto a = AnalyzeNetwork(spec);
  EXPECT_TRUE(a.ok()) << a.status();
  if (!a.ok()) return -1;
  int64_t sum = 0;
  for (const auto& l : a->layers) {
    if (absl::StartsWith(l.name, "stages[0].blocks[0]") &&
        l.layer.kind() == hakd::v1::LAYER_KIND_CONV2D) {
      sum += l.params;
    }
  }
  return sum;
}

constexpr int64_t kN = 64;
constexpr int64_t kK = 3;

TEST(CheapBlockTest, Standard) {
  EXPECT_EQ(BlockConvWeights(OneBlock(kN, CheapConv())), 2 * kN * kN * kK * kK);
}

TEST(CheapBlockTest, GroupedG4) {
  const int64_t g = 4;
  EXPECT_EQ(BlockConvWeights(OneBlock(kN, Cheap(CheapConv::TYPE_GROUPED, g, 0))),
            2 * (kN * kN * kK * kK / g + kN * kN));
}

TEST(CheapBlockTest, BottleneckB2AndB4) {
  for (int64_t b : {2, 4}) {
    EXPECT_EQ(
        BlockConvWeights(OneBlock(kN, Cheap(CheapConv::TYPE_BOTTLENECK, 0, b))),
        (kN / b) * (kN / b) * kK * kK + 2 * kN * kN / b);
  }
}

TEST(CheapBlockTest, BottleneckGroupedBG24) {
  const int64_t b = 2, g = 4;
  EXPECT_EQ(BlockConvWeights(
                OneBlock(kN, Cheap(CheapConv::TYPE_BOTTLENECK_GROUPED, g, b))),
            (kN / b) * (kN / b) * kK * kK / g + 2 * kN * kN / b);
}

TEST(CheapBlockTest, DepthwiseSeparable) {
  EXPECT_EQ(BlockConvWeights(
                OneBlock(kN, Cheap(CheapConv::TYPE_DEPTHWISE_SEPARABLE, 0, 0))),
            2 * (kN * kK * kK + kN * kN));
}

TEST(CheapBlockTest, WholeNetworkShrinks) {
  auto wrn = WideResNet(40, 2, CifarInput(), 10);
  ASSERT_TRUE(wrn.ok());
  auto bg = AnalyzeNetwork(WithCheapBlocks(
      *wrn, Cheap(CheapConv::TYPE_BOTTLENECK_GROUPED, 4, 2)));
  ASSERT_TRUE(bg.ok()) << bg.status();
  auto full = AnalyzeNetwork(*wrn);
  ASSERT_TRUE(full.ok());
  EXPECT_LT(bg->total_params, full->total_params / 5);
  EXPECT_LT(bg->total_macs, full->total_macs / 5);
}

TEST(AnalysisTest, LayersAreValidAndSumUp) {
  for (const auto& spec :
       {*WideResNet(16, 2, CifarInput(), 10),
        *MobileNetV1(0.5, FashionMnistInput(), 10),
        *DenseNetBC(40, 12, CifarInput(), 100)}) {
    auto a = AnalyzeNetwork(spec);
    ASSERT_TRUE(a.ok()) << a.status();
    int64_t params = 0, macs = 0;
    for (const auto& l : a->layers) {
      EXPECT_TRUE(ValidateLayerSpec(l.layer, l.name).ok())
          << l.name << " " << ValidateLayerSpec(l.layer, l.name);
      params += l.params;
      macs += l.macs;
    }
    EXPECT_EQ(params, a->total_params);
    EXPECT_EQ(macs, a->total_macs);
    EXPECT_EQ(a->layers.back().name, "head.fc");
    EXPECT_EQ(a->layers.back().layer.out_channels(), spec.num_classes());
  }
}

TEST(AnalysisTest, PerBlockWidthsAreFree) {
  auto spec = *WideResNet(16, 2, CifarInput(), 10);
  auto* r = spec.mutable_stages(1)->mutable_blocks(1)->mutable_residual();
  r->set_mid_channels(40);  // a pruned block
  auto a = AnalyzeNetwork(spec);
  ASSERT_TRUE(a.ok()) << a.status();
  auto full = AnalyzeNetwork(*WideResNet(16, 2, CifarInput(), 10));
  // conv1 64->40 and conv2 40->64 instead of 64->64 twice; bn2 on 40.
  EXPECT_EQ(full->total_params - a->total_params,
            2 * 9 * 64 * (64 - 40) + 2 * (64 - 40));
}

std::string Error(const NetworkSpec& spec) {
  return std::string(ValidateNetworkSpec(spec).message());
}

TEST(ValidationTest, GroupsMustDivide) {
  auto spec = *WideResNet(16, 4, CifarInput(), 10);
  *spec.mutable_stages(1)->mutable_blocks(1)->mutable_residual()->mutable_cheap() =
      Cheap(CheapConv::TYPE_GROUPED, 3, 0);
  EXPECT_EQ(ValidateNetworkSpec(spec).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Error(spec),
            "stages[1].blocks[1].residual.cheap.groups: 3 does not divide 128 "
            "(input channels of stages[1].blocks[1].residual.conv1)");
}

TEST(ValidationTest, BottleneckMustDivide) {
  auto spec = OneBlock(24, Cheap(CheapConv::TYPE_BOTTLENECK_GROUPED, 8, 2));
  EXPECT_EQ(Error(spec),
            "stages[0].blocks[0].residual.cheap.groups: 8 does not divide 12");
  spec = OneBlock(24, Cheap(CheapConv::TYPE_BOTTLENECK, 0, 5));
  EXPECT_EQ(Error(spec),
            "stages[0].blocks[0].residual.cheap.bottleneck: 5 does not divide 24");
}

TEST(ValidationTest, FieldsThatDoNotApply) {
  EXPECT_EQ(Error(OneBlock(16, Cheap(CheapConv::TYPE_STANDARD, 2, 0))),
            "stages[0].blocks[0].residual.cheap.groups: 2 must be 0 for this type");
  EXPECT_EQ(Error(OneBlock(16, Cheap(CheapConv::TYPE_GROUPED, 0, 0))),
            "stages[0].blocks[0].residual.cheap.groups: 0 must be >= 1");
  auto spec = OneBlock(16, Cheap(CheapConv::TYPE_BOTTLENECK, 0, 2));
  spec.mutable_stages(0)->mutable_blocks(0)->mutable_residual()->set_mid_channels(8);
  EXPECT_TRUE(absl::StartsWith(
      Error(spec), "stages[0].blocks[0].residual.mid_channels: must be 0"));
  auto dense = *DenseNetBC(40, 12, CifarInput(), 10);
  *dense.mutable_stages(2)->mutable_blocks(3)->mutable_dense()->mutable_cheap() =
      Cheap(CheapConv::TYPE_BOTTLENECK, 0, 2);
  EXPECT_TRUE(absl::StartsWith(Error(dense),
                               "stages[2].blocks[3].dense.cheap.type:"));
}

TEST(ValidationTest, ShapesAndTopLevel) {
  NetworkSpec spec = OneBlock(16, CheapConv());
  spec.mutable_input()->set_width(30);
  EXPECT_TRUE(absl::StartsWith(Error(spec), "input.width: 30 differs"));
  spec = OneBlock(16, CheapConv());
  spec.set_num_classes(0);
  EXPECT_EQ(Error(spec), "num_classes: 0 is not in [1, 100000]");
  spec = OneBlock(16, CheapConv());
  spec.mutable_stages(0)->add_blocks();
  EXPECT_TRUE(absl::StartsWith(Error(spec), "stages[0].blocks[1]: no block kind"));
  spec = OneBlock(16, CheapConv());
  spec.mutable_stages(0)->mutable_blocks(0)->mutable_residual()->set_kernel(4);
  EXPECT_EQ(Error(spec),
            "stages[0].blocks[0].residual.kernel: 4 is not an odd number in [1, 31]");
  spec = OneBlock(16, CheapConv());
  spec.clear_stages();
  EXPECT_EQ(Error(spec), "stages: a network needs at least one stage");
  // 28 -> 14 -> 7 -> 4 -> 2 -> 1 -> 1: still valid; an extra pool is not.
  auto dense = *DenseNetBC(10, 4, FashionMnistInput(), 10);
  for (int i = 0; i < 4; ++i) {
    dense.mutable_stages(2)->add_blocks()->mutable_transition()->set_out_channels(8);
  }
  EXPECT_TRUE(absl::StrContains(Error(dense), "too small for a 2x2 pool"))
      << Error(dense);
}

// Found by tests/fuzz/network_spec_fuzzer: a 4096x4096 input of 65536
// channels into a 31x31 stem convolution to 65536 channels (every field
// within its limit) overflowed the MAC count (signed overflow, UBSan).
TEST(ValidationTest, MacsBeyondTheLimitAreRefusedNotOverflowed) {
  const std::string input(
      "\x12\x0a\x08\x80\x80\x04\x10\x80\x20\x18\x80\x20\x18\x0a\x22\x06"
      "\x08\x80\x80\x04\x10\x1f\x2a\x08\x12\x06\x0a\x04\x08\x80\x80\x04",
      32);
  NetworkSpec spec;
  ASSERT_TRUE(spec.ParseFromString(input));
  ASSERT_EQ(spec.stem().kernel(), 31);
  const absl::Status status = ValidateNetworkSpec(spec);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(status.message(), "stem.conv")) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "multiply-accumulates"))
      << status;
  // The same network at 32x32 is within the limit.
  spec.mutable_input()->set_height(32);
  spec.mutable_input()->set_width(32);
  EXPECT_TRUE(ValidateNetworkSpec(spec).ok());
}

}  // namespace
}  // namespace hakd
