// Magnitude pruning: which weights survive, what is never pruned, and the
// counts. Built from a PlainNetwork so that no protobuf header meets
// torch's.
#include "worker/magnitude_pruning.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <vector>

#include "common/torch/torch_network_module.h"
#include "tests/worker/tiny_fixtures.h"

namespace hakd::worker {
namespace {

// Stem 1*4*9, block 0: 4*4*9 twice, block 1: 4*6*9 + 6*8*9 + shortcut 4*8,
// fc 8*3.
constexpr int64_t kWeights = 36 + 288 + 216 + 432 + 32 + 24;

std::unique_ptr<TorchNetwork> Build() {
  torch::manual_seed(11);
  auto net = TorchNetwork::Create(TinyNetwork(), "cpu");
  EXPECT_TRUE(net.ok()) << net.status();
  // Every parameter nonzero and every magnitude distinct: weights get
  // 1, 2, 3, ... in a shuffled order, BatchNorm and biases -1.
  torch::NoGradGuard no_grad;
  int64_t total = 0;
  for (const auto& p : (*net)->module()->parameters()) total += p.dim() >= 2 ? p.numel() : 0;
  torch::Tensor values = torch::randperm(total, torch::kFloat32).add(1);
  int64_t at = 0;
  for (auto& p : (*net)->module()->parameters()) {
    if (p.dim() < 2) {
      p.fill_(-1);
      continue;
    }
    p.copy_(values.narrow(0, at, p.numel()).view(p.sizes()));
    at += p.numel();
  }
  return std::move(*net);
}

TEST(MagnitudePruningTest, KeepsExactlyTheLargestWeights) {
  auto net = Build();
  ASSERT_EQ(PrunableWeightCount(*net), kWeights);
  auto all = CountNonzero(*net);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->prunable, kWeights);
  EXPECT_EQ(all->parameters, net->ParameterCount());

  ASSERT_TRUE(KeepLargestWeights(net.get(), 100).ok());
  auto count = CountNonzero(*net);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->prunable, 100);
  EXPECT_EQ(count->parameters, net->ParameterCount() - kWeights + 100);
  // The survivors are kWeights-99 .. kWeights; BatchNorm and biases stay.
  for (const auto& p : net->module()->named_parameters()) {
    torch::Tensor v = p.value().flatten();
    for (int64_t i = 0; i < v.numel(); ++i) {
      const float x = v[i].item<float>();
      if (p.value().dim() < 2) {
        EXPECT_EQ(x, -1) << p.key();
      } else {
        EXPECT_TRUE(x == 0 || x > kWeights - 100) << p.key() << "[" << i << "] = " << x;
      }
    }
  }
}

TEST(MagnitudePruningTest, TiesCannotKeepMore) {
  auto net = Build();
  {
    torch::NoGradGuard no_grad;
    for (auto& p : net->module()->parameters()) {
      if (p.dim() >= 2) p.fill_(0.5);
    }
  }
  ASSERT_TRUE(KeepLargestWeights(net.get(), 17).ok());
  EXPECT_EQ(CountNonzero(*net)->prunable, 17);
}

TEST(MagnitudePruningTest, BoundsAreChecked) {
  auto net = Build();
  EXPECT_EQ(KeepLargestWeights(net.get(), -1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KeepLargestWeights(net.get(), kWeights + 1).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(KeepLargestWeights(net.get(), kWeights).ok());
  EXPECT_EQ(CountNonzero(*net)->prunable, kWeights);
  ASSERT_TRUE(KeepLargestWeights(net.get(), 0).ok());
  EXPECT_EQ(CountNonzero(*net)->prunable, 0);
}

}  // namespace
}  // namespace hakd::worker
