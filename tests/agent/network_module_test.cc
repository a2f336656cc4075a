// The LibTorch module of a NetworkSpec agrees with the spec's analysis:
// exact parameter counts, logits and attention-transfer feature shapes.
#include "common/torch/network_module.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "common/network/network_analysis.h"
#include "common/network/network_builders.h"

namespace hakd {
namespace {

using hakd::v1::CheapConv;
using hakd::v1::InputShape;
using hakd::v1::NetworkSpec;

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

// Builds the module, checks its parameter count against the analysis, and
// runs a random batch of 2 through it.
void CheckSpec(const NetworkSpec& spec) {
  SCOPED_TRACE(spec.name() + " at " + std::to_string(spec.input().height()));
  auto analysis = AnalyzeNetwork(spec);
  ASSERT_TRUE(analysis.ok()) << analysis.status();
  auto net = BuildNetworkModule(spec);
  ASSERT_TRUE(net.ok()) << net.status();
  EXPECT_EQ(NetworkModuleParameterCount(**net), analysis->total_params);

  const int batch = 2;
  const InputShape& in = spec.input();
  std::vector<float> input(batch * in.channels() * in.height() * in.width());
  std::mt19937 gen(7);
  std::normal_distribution<float> normal;
  for (float& v : input) v = normal(gen);
  auto out = (*net)->Forward(input, batch);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->logits_shape,
            (std::vector<int64_t>{batch, spec.num_classes()}));
  ASSERT_EQ(out->logits.size(), size_t{batch} * spec.num_classes());
  for (float v : out->logits) ASSERT_TRUE(std::isfinite(v));
  ASSERT_EQ(out->feature_shapes.size(), analysis->attention_points.size());
  for (size_t i = 0; i < out->feature_shapes.size(); ++i) {
    const AttentionPoint& p = analysis->attention_points[i];
    EXPECT_EQ(out->feature_shapes[i],
              (std::vector<int64_t>{batch, p.channels, p.height, p.width}))
        << p.name;
    EXPECT_EQ(out->features[i].size(),
              size_t{batch} * p.channels * p.height * p.width);
  }
}

std::vector<InputShape> Inputs() { return {CifarInput(), FashionMnistInput()}; }

TEST(NetworkModuleTest, WideResNetEveryCheapBlock) {
  for (const InputShape& in : Inputs()) {
    for (const CheapConv& cheap : AllCheap()) {
      auto spec = WideResNet(10, 1, in, 10);
      ASSERT_TRUE(spec.ok());
      NetworkSpec s = WithCheapBlocks(*spec, cheap);
      s.set_name(s.name() + " cheap " + std::to_string(cheap.type()));
      CheckSpec(s);
    }
  }
}

TEST(NetworkModuleTest, MixedBlocksAndFreeWidths) {
  auto spec = WideResNet(16, 1, CifarInput(), 7);
  ASSERT_TRUE(spec.ok());
  auto* stages = spec->mutable_stages();
  *(*stages)[0].mutable_blocks(1)->mutable_residual()->mutable_cheap() =
      Cheap(CheapConv::TYPE_GROUPED, 2, 0);
  (*stages)[1].mutable_blocks(0)->mutable_residual()->set_mid_channels(20);
  (*stages)[1].mutable_blocks(1)->mutable_residual()->set_out_channels(24);
  *(*stages)[2].mutable_blocks(0)->mutable_residual()->mutable_cheap() =
      Cheap(CheapConv::TYPE_BOTTLENECK_GROUPED, 4, 4);
  (*stages)[2].mutable_blocks(1)->mutable_residual()->set_kernel(5);
  CheckSpec(*spec);
}

TEST(NetworkModuleTest, MobileNetV1) {
  for (const InputShape& in : Inputs()) {
    auto spec = MobileNetV1(0.125, in, 10);
    ASSERT_TRUE(spec.ok());
    CheckSpec(*spec);
  }
}

TEST(NetworkModuleTest, DenseNetBCWithCheapLayers) {
  for (const InputShape& in : Inputs()) {
    for (const CheapConv& cheap :
         {CheapConv(), Cheap(CheapConv::TYPE_GROUPED, 4, 0),
          Cheap(CheapConv::TYPE_DEPTHWISE_SEPARABLE, 0, 0)}) {
      auto spec = DenseNetBC(10, 4, in, 10);
      ASSERT_TRUE(spec.ok());
      CheckSpec(WithCheapBlocks(*spec, cheap));
    }
  }
}

// No forward pass: the counts alone.
TEST(NetworkModuleTest, FullSizeParameterCounts) {
  auto wrn = WideResNet(40, 2, CifarInput(), 10);
  ASSERT_TRUE(wrn.ok());
  auto net = BuildNetworkModule(*wrn);
  ASSERT_TRUE(net.ok()) << net.status();
  EXPECT_EQ(NetworkModuleParameterCount(**net), 2243546);
  auto bg = BuildNetworkModule(
      WithCheapBlocks(*wrn, Cheap(CheapConv::TYPE_BOTTLENECK_GROUPED, 4, 2)));
  ASSERT_TRUE(bg.ok()) << bg.status();
  auto bg_analysis = AnalyzeNetwork(
      WithCheapBlocks(*wrn, Cheap(CheapConv::TYPE_BOTTLENECK_GROUPED, 4, 2)));
  ASSERT_TRUE(bg_analysis.ok());
  EXPECT_EQ(NetworkModuleParameterCount(**bg), bg_analysis->total_params);
}

TEST(NetworkModuleTest, Errors) {
  auto spec = WideResNet(10, 1, CifarInput(), 10);
  ASSERT_TRUE(spec.ok());
  NetworkSpec bad = *spec;
  bad.set_num_classes(0);
  EXPECT_EQ(BuildNetworkModule(bad).status().code(),
            absl::StatusCode::kInvalidArgument);
  NetworkModuleOptions options;
  options.device = "tpu";
  EXPECT_EQ(BuildNetworkModule(*spec, options).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto net = BuildNetworkModule(*spec);
  ASSERT_TRUE(net.ok());
  EXPECT_EQ((*net)->Forward(std::vector<float>(10), 1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hakd
