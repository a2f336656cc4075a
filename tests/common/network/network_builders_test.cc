// Published parameter and MAC counts of the standard families.
#include "common/network/network_builders.h"

#include <gtest/gtest.h>

#include "common/network/network_analysis.h"

namespace hakd {
namespace {

NetworkAnalysis Analyze(const absl::StatusOr<hakd::v1::NetworkSpec>& spec) {
  EXPECT_TRUE(spec.ok()) << spec.status();
  auto a = AnalyzeNetwork(*spec);
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? *a : NetworkAnalysis();
}

// Zagoruyko's WRN with 10 classes; BlockSwap tables: 2,243.5K / 328.3M,
// 691.7K, 563.9K, 175.1K.
TEST(WideResNetTest, PublishedCifarCounts) {
  const NetworkAnalysis wrn402 = Analyze(WideResNet(40, 2, CifarInput(), 10));
  EXPECT_EQ(wrn402.total_params, 2243546);
  // Convolutions 327,598,080 + ReLU elements 704,512 + linear weights and
  // biases 1,290, as BlockSwap's count_ops counts: 328.3M.
  EXPECT_EQ(wrn402.total_macs, 327598080 + 704512 + 1290);
  EXPECT_EQ(Analyze(WideResNet(16, 2, CifarInput(), 10)).total_params, 691674);
  EXPECT_EQ(Analyze(WideResNet(40, 1, CifarInput(), 10)).total_params, 563930);
  EXPECT_EQ(Analyze(WideResNet(16, 1, CifarInput(), 10)).total_params, 175066);
}

TEST(WideResNetTest, AttentionPointsAtGroupEnds) {
  const NetworkAnalysis a = Analyze(WideResNet(16, 2, CifarInput(), 10));
  ASSERT_EQ(a.attention_points.size(), 3u);
  EXPECT_EQ(a.attention_points[0].name, "group1");
  EXPECT_EQ(a.attention_points[0].channels, 32);
  EXPECT_EQ(a.attention_points[0].height, 32);
  EXPECT_EQ(a.attention_points[1].channels, 64);
  EXPECT_EQ(a.attention_points[1].height, 16);
  EXPECT_EQ(a.attention_points[2].channels, 128);
  EXPECT_EQ(a.attention_points[2].height, 8);
  const NetworkAnalysis f = Analyze(WideResNet(16, 2, FashionMnistInput(), 10));
  EXPECT_EQ(f.attention_points[0].height, 28);
  EXPECT_EQ(f.attention_points[1].height, 14);
  EXPECT_EQ(f.attention_points[2].height, 7);
  // Only the stem sees 1 input channel.
  EXPECT_EQ(f.total_params, Analyze(WideResNet(16, 2, CifarInput(), 10))
                                    .total_params - 2 * 16 * 9);
}

TEST(WideResNetTest, RefusesBadDepth) {
  EXPECT_FALSE(WideResNet(41, 2, CifarInput(), 10).ok());
  EXPECT_FALSE(WideResNet(4, 2, CifarInput(), 10).ok());
  EXPECT_FALSE(WideResNet(16, 0, CifarInput(), 10).ok());
}

// The usual CIFAR MobileNet v1 (kuangliu/pytorch-cifar): 3,217,226 params.
TEST(MobileNetV1Test, CifarCounts) {
  const NetworkAnalysis a = Analyze(MobileNetV1(1.0, CifarInput(), 10));
  EXPECT_EQ(a.total_params, 3217226);
  // No published figure under this convention; a regression value.
  EXPECT_EQ(a.total_macs, 46766090);
  int64_t sum = 0;
  for (const auto& l : a.layers) sum += l.macs;
  EXPECT_EQ(sum, a.total_macs);
  ASSERT_EQ(a.attention_points.size(), 5u);
  EXPECT_EQ(a.attention_points.back().height, 2);
  EXPECT_EQ(a.attention_points.back().channels, 1024);
  EXPECT_EQ(Analyze(MobileNetV1(1.0, FashionMnistInput(), 10))
                .attention_points.back().height, 2);
  EXPECT_FALSE(MobileNetV1(0, CifarInput(), 10).ok());
}

// DenseNet-BC-100 (k=12) on CIFAR-10: 769,162 params as in the common
// PyTorch implementations (the paper rounds to 0.8M).
TEST(DenseNetBCTest, CifarCounts) {
  const NetworkAnalysis a = Analyze(DenseNetBC(100, 12, CifarInput(), 10));
  EXPECT_EQ(a.total_params, 769162);
  EXPECT_EQ(a.final_channels, 342);
  ASSERT_EQ(a.attention_points.size(), 3u);
  EXPECT_EQ(a.attention_points[0].channels, 216);
  EXPECT_EQ(a.attention_points[1].height, 16);
  EXPECT_EQ(a.attention_points[2].height, 8);
  const NetworkAnalysis f = Analyze(DenseNetBC(100, 12, FashionMnistInput(), 10));
  EXPECT_EQ(f.attention_points[2].height, 7);
}

}  // namespace
}  // namespace hakd
