// Fisher pruning on a tiny WRN with synthetic data: weight surgery, the
// choice of channels, and the loop's stopping rule. A "dead" channel is one
// whose BatchNorm scale and shift are zero: its ReLU output is zero in train
// and eval mode, so it contributes nothing, its Fisher saliency is exactly
// zero, and no gradient (nor weight decay) ever revives it. Built from a
// PlainNetwork so that no protobuf header meets torch's.
#include "worker/fisher_pruner.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <random>
#include <string>

#include "common/torch/torch_network_module.h"
#include "tests/worker/tiny_fixtures.h"

namespace hakd::worker {
namespace {

std::unique_ptr<TorchNetwork> Build(uint64_t seed) {
  torch::manual_seed(seed);
  auto net = TorchNetwork::Create(TinyNetwork(), "cpu");
  EXPECT_TRUE(net.ok()) << net.status();
  return std::move(*net);
}

torch::Tensor Tensor(const TorchNetwork& net, const std::string& name) {
  for (const auto& p : net.module()->named_parameters()) {
    if (p.key() == name) return p.value();
  }
  for (const auto& b : net.module()->named_buffers()) {
    if (b.key() == name) return b.value();
  }
  ADD_FAILURE() << "no tensor " << name;
  return {};
}

// Zeroes the BatchNorm scale and shift of mid channel `c` of the block whose
// tensors start with `block` ("stage1.0").
void KillChannel(TorchNetwork& net, const std::string& block, int c) {
  torch::NoGradGuard no_grad;
  Tensor(net, block + ".body.1.weight")[c].zero_();
  Tensor(net, block + ".body.1.bias")[c].zero_();
}

// Running statistics other than the initial (0, 1), so that eval mode
// exercises them.
void RandomiseRunningStats(TorchNetwork& net) {
  torch::NoGradGuard no_grad;
  for (auto& b : net.module()->named_buffers()) {
    if (b.key().find("running_mean") != std::string::npos) b.value().uniform_(-0.5, 0.5);
    if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 2.0);
  }
}

std::vector<float> Input(int batch) {
  std::vector<float> x(batch * 64);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(std::sin(0.37 * i) * 1.5);
  return x;
}

float MaxDifference(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float worst = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

// A table where every mid channel costs 1 us, on top of `fixed` us.
LatencyBudget LinearTable(double fixed, double budget) {
  LatencyBudget t;
  t.device = "cpu";
  t.fixed_us = fixed;
  t.budget_us = budget;
  t.blocks.push_back(BlockLatency{0, 0, {1, 2, 3, 4}});
  t.blocks.push_back(BlockLatency{1, 0, {1, 2, 3, 4, 5, 6}});
  return t;
}

FisherPruneOptions Options(double budget) {
  FisherPruneOptions o;
  o.tables = {LinearTable(10, budget)};
  o.steps_between_prunes = 2;
  o.batch_size = 16;
  o.learning_rate = 0.01;
  o.loader_threads = 1;
  return o;
}

// ---- weight surgery ----------------------------------------------------------------

TEST(RemoveMidChannelsTest, DeadChannelsGoWithoutChangingTheFunction) {
  auto net = Build(1);
  RandomiseRunningStats(*net);
  KillChannel(*net, "stage1.0", 2);
  KillChannel(*net, "stage1.0", 5);
  KillChannel(*net, "stage0.0", 0);
  auto before = net->Forward(Input(5), 5);
  ASSERT_TRUE(before.ok()) << before.status();

  auto pruned = RemoveMidChannels(*net, {{1, 0, 5}, {0, 0, 0}, {1, 0, 2}});
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ((*pruned)->plain().stages[0][0].mid_channels, 3);
  EXPECT_EQ((*pruned)->plain().stages[1][0].mid_channels, 4);
  EXPECT_EQ((*pruned)->plain().stages[1][0].out_channels, 8);
  EXPECT_EQ((*pruned)->ParameterCount(),
            net->ParameterCount() - (4 * 9 + 2 + 4 * 9) - 2 * (4 * 9 + 2 + 8 * 9));
  auto after = (*pruned)->Forward(Input(5), 5);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_LT(MaxDifference(before->logits, after->logits), 1e-5);
  for (size_t i = 0; i < before->features.size(); ++i) {
    EXPECT_LT(MaxDifference(before->features[i], after->features[i]), 1e-5) << "stage " << i;
  }

  // The survivors' tensors are the old ones, in order.
  const torch::Tensor kept = torch::tensor({0, 1, 3, 4}, torch::kInt64);
  EXPECT_TRUE(torch::equal(Tensor(**pruned, "stage1.0.body.0.weight"),
                           Tensor(*net, "stage1.0.body.0.weight").index_select(0, kept)));
  EXPECT_TRUE(torch::equal(Tensor(**pruned, "stage1.0.body.1.running_var"),
                           Tensor(*net, "stage1.0.body.1.running_var").index_select(0, kept)));
  EXPECT_TRUE(torch::equal(Tensor(**pruned, "stage1.0.body.3.weight"),
                           Tensor(*net, "stage1.0.body.3.weight").index_select(1, kept)));
  EXPECT_TRUE(torch::equal(Tensor(**pruned, "fc.weight"), Tensor(*net, "fc.weight")));
}

TEST(RemoveMidChannelsTest, ALiveChannelChangesTheFunction) {
  auto net = Build(2);
  auto before = net->Forward(Input(3), 3);
  auto pruned = RemoveMidChannels(*net, {{1, 0, 1}});
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  auto after = (*pruned)->Forward(Input(3), 3);
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_GT(MaxDifference(before->logits, after->logits), 1e-4);
}

TEST(RemoveMidChannelsTest, BadRequestsAreInvalid) {
  auto net = Build(3);
  const std::vector<std::vector<MidChannel>> bad = {
      {{2, 0, 0}},                                   // no such stage
      {{0, 1, 0}},                                   // no such block
      {{0, 0, 4}},                                   // no such channel
      {{0, 0, -1}},
      {{1, 0, 1}, {1, 0, 1}},                        // twice
      {{0, 0, 0}, {0, 0, 1}, {0, 0, 2}, {0, 0, 3}},  // none left
  };
  for (const auto& channels : bad) {
    EXPECT_EQ(RemoveMidChannels(*net, channels).status().code(), absl::StatusCode::kInvalidArgument)
        << channels[0].stage << " " << channels[0].block << " " << channels[0].channel;
  }
  PlainNetwork grouped = TinyNetwork();
  grouped.stages[1][0].cheap = PlainBlock::Cheap::kGrouped;
  grouped.stages[1][0].groups = 2;
  auto g = TorchNetwork::Create(grouped, "cpu");
  ASSERT_TRUE(g.ok()) << g.status();
  absl::Status st = RemoveMidChannels(**g, {{1, 0, 0}}).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("standard residual blocks only"), std::string::npos) << st;
}

// ---- choosing channels and predicting latency -----------------------------------------

TEST(LeastSalientChannelsTest, LowestFirstAcrossBlocksRespectingMinWidth) {
  const std::vector<BlockSaliency> saliency = {
      {0, 0, {5, 0.5, 7, 0.1}},
      {1, 0, {0.3, 9, 0.2, 8, 0.05, 6}},
  };
  auto one = LeastSalientChannels(saliency, 1, 1);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].stage, 1);
  EXPECT_EQ(one[0].channel, 4);

  auto three = LeastSalientChannels(saliency, 3, 1);
  ASSERT_EQ(three.size(), 3u);
  EXPECT_EQ(std::make_pair(three[0].stage, three[0].channel), std::make_pair(1, 4));
  EXPECT_EQ(std::make_pair(three[1].stage, three[1].channel), std::make_pair(0, 3));
  EXPECT_EQ(std::make_pair(three[2].stage, three[2].channel), std::make_pair(1, 2));

  // min_width 4: block 0 (width 4) gives nothing; block 1 gives two.
  auto limited = LeastSalientChannels(saliency, 5, 4);
  ASSERT_EQ(limited.size(), 2u);
  EXPECT_EQ(limited[0].stage, 1);
  EXPECT_EQ(limited[0].channel, 4);
  EXPECT_EQ(limited[1].stage, 1);
  EXPECT_EQ(limited[1].channel, 2);
  EXPECT_TRUE(LeastSalientChannels(saliency, 3, 6).empty());

  // Ties go to the earlier block.
  auto tie = LeastSalientChannels({{0, 0, {1, 1}}, {1, 0, {1, 1}}}, 1, 1);
  ASSERT_EQ(tie.size(), 1u);
  EXPECT_EQ(tie[0].stage, 0);
  EXPECT_EQ(tie[0].channel, 0);
}

TEST(PredictLatencyTest, FixedPlusEachBlockAtItsWidth) {
  auto us = PredictLatency(LinearTable(10, 100), TinyNetwork());
  ASSERT_TRUE(us.ok()) << us.status();
  EXPECT_DOUBLE_EQ(*us, 10 + 4 + 6);
  LatencyBudget short_curve = LinearTable(10, 100);
  short_curve.blocks[1].us_by_width.pop_back();
  EXPECT_EQ(PredictLatency(short_curve, TinyNetwork()).status().code(), absl::StatusCode::kInvalidArgument);
  LatencyBudget no_block = LinearTable(10, 100);
  no_block.blocks[0].stage = 2;
  EXPECT_EQ(PredictLatency(no_block, TinyNetwork()).status().code(), absl::StatusCode::kInvalidArgument);
}

// ---- the loop ---------------------------------------------------------------------

class FisherPruneTest : public ::testing::Test {
 protected:
  Dataset train_ = RandomData(48);
};

TEST_F(FisherPruneTest, StopsAsSoonAsTheBudgetIsMet) {
  // 20 us now; 17 us needs three channels removed.
  FisherPruneOptions options = Options(17);
  int calls = 0, last_removed = 0;
  int64_t last_steps = 0;
  auto result = FisherPrune(Build(4), train_, options, [&](const PruneProgress& p) {
    ++calls;
    EXPECT_GE(p.channels_removed, last_removed);
    EXPECT_GE(p.steps, last_steps);
    EXPECT_GE(p.channels_to_remove, p.channels_removed);
    EXPECT_TRUE(std::isfinite(p.loss));
    last_removed = p.channels_removed;
    last_steps = p.steps;
    return true;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->channels_removed, 3);
  EXPECT_EQ(result->steps, 3 * 2);
  EXPECT_EQ(last_removed, 3);
  EXPECT_EQ(calls, 3 * 2 + 3);  // every step and every removal
  ASSERT_EQ(result->latency_us.size(), 1u);
  EXPECT_DOUBLE_EQ(result->latency_us[0], 17);
  const PlainNetwork& plain = result->network->plain();
  EXPECT_EQ(plain.stages[0][0].mid_channels + plain.stages[1][0].mid_channels, 7);
  EXPECT_TRUE(result->network->Forward(Input(2), 2).ok());

  // Met already: nothing to do, no training.
  calls = 0;
  auto untouched = FisherPrune(Build(4), train_, Options(20), [&](const PruneProgress&) {
    ++calls;
    return true;
  });
  ASSERT_TRUE(untouched.ok()) << untouched.status();
  EXPECT_EQ(untouched->channels_removed, 0);
  EXPECT_EQ(untouched->steps, 0);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(untouched->network->plain().stages[1][0].mid_channels, 6);
}

TEST_F(FisherPruneTest, RemovesTheLeastSalientChannel) {
  auto net = Build(5);
  KillChannel(*net, "stage1.0", 3);
  auto result = FisherPrune(std::move(net), train_, Options(19));
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->channels_removed, 1);
  const PlainNetwork& plain = result->network->plain();
  EXPECT_EQ(plain.stages[0][0].mid_channels, 4);
  ASSERT_EQ(plain.stages[1][0].mid_channels, 5);
  // The dead channel stays dead while fine-tuning; it is no longer there.
  torch::Tensor w = Tensor(*result->network, "stage1.0.body.1.weight");
  torch::Tensor b = Tensor(*result->network, "stage1.0.body.1.bias");
  for (int c = 0; c < 5; ++c) {
    EXPECT_FALSE(w[c].item<float>() == 0 && b[c].item<float>() == 0) << "dead channel kept at " << c;
  }
}

TEST_F(FisherPruneTest, NoBlockGoesBelowMinWidth) {
  auto net = Build(6);
  KillChannel(*net, "stage0.0", 1);  // least salient, but its block is at min_width
  FisherPruneOptions options = Options(18);
  options.min_width = 4;
  auto result = FisherPrune(std::move(net), train_, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->channels_removed, 2);
  EXPECT_EQ(result->network->plain().stages[0][0].mid_channels, 4);
  EXPECT_EQ(result->network->plain().stages[1][0].mid_channels, 4);
}

TEST_F(FisherPruneTest, AnUnreachableBudgetFailsBeforeTraining) {
  // At min_width 2 everywhere: 10 + 2 + 2 = 14 us.
  FisherPruneOptions options = Options(13.5);
  options.min_width = 2;
  int calls = 0;
  auto result = FisherPrune(Build(7), train_, options, [&](const PruneProgress&) {
    ++calls;
    return true;
  });
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(result.status().message().find("budget of 13.5 us cannot be met"), std::string::npos)
      << result.status();
  EXPECT_NE(result.status().message().find("at least 14 us with every block at min_width 2"), std::string::npos)
      << result.status();
  EXPECT_EQ(calls, 0);
  // 14 us is reachable.
  options.tables[0].budget_us = 14;
  auto reached = FisherPrune(Build(7), train_, options);
  ASSERT_TRUE(reached.ok()) << reached.status();
  EXPECT_EQ(reached->channels_removed, 6);
}

TEST_F(FisherPruneTest, BadOptionsNonStandardBlocksAndCancellation) {
  FisherPruneOptions no_tables = Options(17);
  no_tables.tables.clear();
  EXPECT_EQ(FisherPrune(Build(8), train_, no_tables).status().code(), absl::StatusCode::kInvalidArgument);
  FisherPruneOptions zero_steps = Options(17);
  zero_steps.steps_between_prunes = 0;
  EXPECT_EQ(FisherPrune(Build(8), train_, zero_steps).status().code(), absl::StatusCode::kInvalidArgument);
  FisherPruneOptions bad_curve = Options(17);
  bad_curve.tables[0].blocks[0].us_by_width.resize(3);
  EXPECT_EQ(FisherPrune(Build(8), train_, bad_curve).status().code(), absl::StatusCode::kInvalidArgument);

  PlainNetwork grouped = TinyNetwork();
  grouped.stages[0][0].cheap = PlainBlock::Cheap::kGrouped;
  grouped.stages[0][0].groups = 2;
  auto g = TorchNetwork::Create(grouped, "cpu");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(FisherPrune(std::move(*g), train_, Options(17)).status().code(), absl::StatusCode::kInvalidArgument);

  auto cancelled = FisherPrune(Build(8), train_, Options(17), [](const PruneProgress&) { return false; });
  EXPECT_EQ(cancelled.status().code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace hakd::worker
