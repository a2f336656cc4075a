// Fisher saliency against an independent computation: for one example,
// sum over positions of a * dL/da for channel c equals dL/d(eps) when the
// channel is scaled by (1 + eps); scaling the BatchNorm feeding the block's
// mid ReLU does exactly that (ReLU is positively homogeneous). Central
// differences of per-example losses then give delta_c without autograd
// hooks. Built from a PlainNetwork so that no protobuf header meets torch's.
#include "worker/fisher_saliency.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <random>
#include <string>

#include "common/torch/torch_network_module.h"
#include "tests/worker/tiny_fixtures.h"

namespace hakd::worker {
namespace {

torch::Tensor Param(NetworkModuleImpl& m, const std::string& name) {
  for (auto& p : m.named_parameters()) {
    if (p.key() == name) return p.value();
  }
  ADD_FAILURE() << "no parameter " << name;
  return {};
}

// Per-example cross-entropy of the whole dataset, eval mode.
torch::Tensor PerExampleLoss(NetworkModuleImpl& m, Dataset& d) {
  torch::NoGradGuard no_grad;
  m.eval();
  torch::Tensor x = torch::from_blob(d.images.data(), {d.size(), 1, 8, 8}, torch::kUInt8)
                        .to(torch::kFloat32)
                        .div(255.0)
                        .sub(0.5)
                        .div(0.25);
  torch::Tensor y = torch::from_blob(d.labels.data(), {d.size()}, torch::kUInt8).to(torch::kInt64);
  return torch::nn::functional::cross_entropy(
      m.forward(x).logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
}

TEST(FisherSaliencyTest, MatchesFiniteDifferencesOfPerExampleLosses) {
  torch::manual_seed(3);
  auto net = TorchNetwork::Create(TinyNetwork(), "cpu");
  ASSERT_TRUE(net.ok()) << net.status();
  Dataset data = RandomData(40);
  SaliencyOptions options;
  options.batch_size = 16;  // several batches, one partial
  options.examples = 0;
  absl::StatusOr<std::vector<BlockSaliency>> saliency = ComputeFisherSaliency(net->get(), data, options);
  ASSERT_TRUE(saliency.ok()) << saliency.status();
  ASSERT_EQ(saliency->size(), 2u);
  EXPECT_EQ((*saliency)[0].stage, 0);
  EXPECT_EQ((*saliency)[1].stage, 1);
  ASSERT_EQ((*saliency)[0].channels.size(), 4u);
  ASSERT_EQ((*saliency)[1].channels.size(), 6u);

  NetworkModuleImpl& m = *(*net)->module();
  const char* bn[] = {"stage0.0.body.1", "stage1.0.body.1"};
  const double eps = 1e-2;
  for (int blk = 0; blk < 2; ++blk) {
    torch::Tensor w = Param(m, std::string(bn[blk]) + ".weight");
    torch::Tensor b = Param(m, std::string(bn[blk]) + ".bias");
    for (size_t c = 0; c < (*saliency)[blk].channels.size(); ++c) {
      torch::Tensor w0 = w.detach().clone(), b0 = b.detach().clone();
      auto scale = [&](double f) {
        torch::NoGradGuard no_grad;
        w.copy_(w0);
        b.copy_(b0);
        w[c].mul_(f);
        b[c].mul_(f);
      };
      scale(1 + eps);
      torch::Tensor up = PerExampleLoss(m, data).to(torch::kFloat64);
      scale(1 - eps);
      torch::Tensor down = PerExampleLoss(m, data).to(torch::kFloat64);
      scale(1);
      const double expected = ((up - down) / (2 * eps)).pow(2).sum().item<double>() / (2.0 * data.size());
      const double got = (*saliency)[blk].channels[c];
      EXPECT_NEAR(got, expected, 0.03 * expected + 1e-9) << "block " << blk << " channel " << c;
    }
  }
}

TEST(FisherSaliencyTest, ADeadChannelHasZeroSaliencyAndWeightsStayUnchanged) {
  torch::manual_seed(4);
  auto net = TorchNetwork::Create(TinyNetwork(), "cpu");
  ASSERT_TRUE(net.ok());
  NetworkModuleImpl& m = *(*net)->module();
  {
    torch::NoGradGuard no_grad;
    Param(m, "stage1.0.body.1.weight")[2].zero_();
    Param(m, "stage1.0.body.1.bias")[2].zero_();
  }
  absl::StatusOr<std::string> before = (*net)->SerializeWeights();
  ASSERT_TRUE(before.ok());
  Dataset data = RandomData(32);
  auto saliency = ComputeFisherSaliency(net->get(), data);
  ASSERT_TRUE(saliency.ok()) << saliency.status();
  EXPECT_EQ((*saliency)[1].channels[2], 0.0);
  for (size_t c = 0; c < 6; ++c) {
    if (c != 2) {
      EXPECT_GT((*saliency)[1].channels[c], 0.0) << c;
    }
  }
  EXPECT_EQ(*(*net)->SerializeWeights(), *before);

  // Capture is switched off again: a later forward keeps nothing.
  Dataset twice = data;
  twice.images.insert(twice.images.end(), data.images.begin(), data.images.end());
  twice.labels.insert(twice.labels.end(), data.labels.begin(), data.labels.end());
  auto again = ComputeFisherSaliency(net->get(), twice);
  ASSERT_TRUE(again.ok());
  // 1/(2N) normalisation: the same examples twice give the same saliency.
  for (size_t c = 0; c < 6; ++c) {
    EXPECT_NEAR((*again)[1].channels[c], (*saliency)[1].channels[c], 1e-6 * (1 + (*saliency)[1].channels[c]));
  }
}

TEST(FisherSaliencyTest, EmptyDataIsRefused) {
  auto net = TorchNetwork::Create(TinyNetwork(), "cpu");
  ASSERT_TRUE(net.ok());
  Dataset empty = RandomData(0);
  EXPECT_EQ(ComputeFisherSaliency(net->get(), empty).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hakd::worker
