// Random realistic networks: valid, reproducible, and varied enough to
// exercise cheap blocks and off-grid widths.
#include "common/network/network_sampler.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>

#include "common/network/network_analysis.h"

namespace hakd {
namespace {

using hakd::v1::CheapConv;
using hakd::v1::NetworkSpec;

constexpr int kDraws = 200;

SampleRequest RequestFor(int i) {
  static constexpr SampledFamily kFamilies[] = {
      SampledFamily::kWideResNet, SampledFamily::kMobileNet,
      SampledFamily::kDenseNet};
  SampleRequest r;
  r.family = kFamilies[i % 3];
  r.fashion_mnist = (i / 3) % 2 == 1;
  return r;
}

TEST(NetworkSamplerTest, DrawsAreValidForEveryFamilyAndInput) {
  std::mt19937_64 rng(42);
  int per_family[3] = {0, 0, 0};
  for (int i = 0; i < kDraws; ++i) {
    const SampleRequest request = RequestFor(i);
    auto spec = SampleNetwork(request, rng);
    ASSERT_TRUE(spec.ok()) << "draw " << i << ": " << spec.status();
    SCOPED_TRACE(spec->name());
    const absl::Status valid = ValidateNetworkSpec(*spec);
    ASSERT_TRUE(valid.ok()) << valid;
    EXPECT_FALSE(spec->name().empty());
    EXPECT_EQ(spec->num_classes(), 10);
    if (request.fashion_mnist) {
      EXPECT_EQ(spec->input().channels(), 1);
      EXPECT_EQ(spec->input().height(), 28);
      EXPECT_NE(spec->name().find("28x28"), std::string::npos);
    } else {
      EXPECT_EQ(spec->input().channels(), 3);
      EXPECT_EQ(spec->input().height(), 32);
    }
    ASSERT_GT(spec->stages_size(), 0);
    const auto& first = spec->stages(0).blocks(0);
    switch (request.family) {
      case SampledFamily::kWideResNet:
        EXPECT_TRUE(first.has_residual());
        EXPECT_EQ(spec->name().rfind("WRN-", 0), 0u);
        ++per_family[0];
        break;
      case SampledFamily::kMobileNet:
        EXPECT_TRUE(first.has_separable());
        EXPECT_EQ(spec->name().rfind("MobileNet", 0), 0u);
        ++per_family[1];
        break;
      case SampledFamily::kDenseNet:
        EXPECT_TRUE(first.has_dense());
        EXPECT_EQ(spec->name().rfind("DenseNet-BC", 0), 0u);
        ++per_family[2];
        break;
    }
  }
  EXPECT_GT(per_family[0], 60);
  EXPECT_GT(per_family[1], 60);
  EXPECT_GT(per_family[2], 60);
}

TEST(NetworkSamplerTest, DeterministicForASeed) {
  std::mt19937_64 a(7);
  std::mt19937_64 b(7);
  std::mt19937_64 c(8);
  bool any_differs_from_other_seed = false;
  for (int i = 0; i < 30; ++i) {
    const SampleRequest request = RequestFor(i);
    auto x = SampleNetwork(request, a);
    auto y = SampleNetwork(request, b);
    auto z = SampleNetwork(request, c);
    ASSERT_TRUE(x.ok() && y.ok() && z.ok());
    EXPECT_EQ(x->name(), y->name());
    EXPECT_EQ(x->SerializeAsString(), y->SerializeAsString()) << x->name();
    if (x->SerializeAsString() != z->SerializeAsString()) {
      any_differs_from_other_seed = true;
    }
  }
  EXPECT_TRUE(any_differs_from_other_seed);
}

TEST(NetworkSamplerTest, CoversCheapBlockTypesAndOffGridWidths) {
  std::mt19937_64 rng(1234);
  std::set<int> residual_types;
  std::set<int> dense_types;
  bool separable = false;
  bool off_grid_width = false;
  bool mid_differs = false;
  std::set<std::string> names;
  for (int i = 0; i < kDraws; ++i) {
    auto spec = SampleNetwork(RequestFor(i), rng);
    ASSERT_TRUE(spec.ok()) << spec.status();
    names.insert(spec->name());
    for (const auto& stage : spec->stages()) {
      for (const auto& block : stage.blocks()) {
        int out = 0;
        if (block.has_residual()) {
          residual_types.insert(block.residual().cheap().type());
          out = block.residual().out_channels();
          if (block.residual().mid_channels() != 0 &&
              block.residual().mid_channels() != out) {
            mid_differs = true;
          }
        } else if (block.has_separable()) {
          separable = true;
          out = block.separable().out_channels();
        } else if (block.has_dense()) {
          dense_types.insert(block.dense().cheap().type());
        } else if (block.has_transition()) {
          out = block.transition().out_channels();
        }
        if (out % 8 != 0) off_grid_width = true;
      }
    }
  }
  EXPECT_EQ(residual_types,
            (std::set<int>{CheapConv::TYPE_STANDARD, CheapConv::TYPE_GROUPED,
                           CheapConv::TYPE_BOTTLENECK,
                           CheapConv::TYPE_BOTTLENECK_GROUPED,
                           CheapConv::TYPE_DEPTHWISE_SEPARABLE}));
  EXPECT_EQ(dense_types,
            (std::set<int>{CheapConv::TYPE_STANDARD, CheapConv::TYPE_GROUPED,
                           CheapConv::TYPE_DEPTHWISE_SEPARABLE}));
  EXPECT_TRUE(separable);
  EXPECT_TRUE(off_grid_width);
  EXPECT_TRUE(mid_differs);
  // Draws are varied, not a handful of networks repeated.
  EXPECT_GT(names.size(), 100u);
}

}  // namespace
}  // namespace hakd
