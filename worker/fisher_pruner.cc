#include "worker/fisher_pruner.h"

#include <torch/optim/sgd.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/torch/torch_network_module.h"
#include "worker/batch_loader.h"
#include "worker/fisher_accumulator.h"
#include "worker/losses.h"

namespace hakd::worker {
namespace {

using Clock = std::chrono::steady_clock;

absl::Status FromException(const std::exception& e, absl::string_view what) {
  const std::string message = e.what();
  if (absl::StrContains(message, "out of memory")) {
    return absl::ResourceExhaustedError(absl::StrCat(what, ": ", message.substr(0, 1000)));
  }
  return absl::InternalError(absl::StrCat(what, ": ", message.substr(0, 1000)));
}

std::string BlockName(int stage, int block) {
  return absl::StrCat("stages[", stage, "].blocks[", block, "]");
}

const PlainBlock* ResidualAt(const PlainNetwork& network, int stage, int block) {
  if (stage < 0 || stage >= static_cast<int>(network.stages.size())) return nullptr;
  const std::vector<PlainBlock>& blocks = network.stages[stage];
  if (block < 0 || block >= static_cast<int>(blocks.size())) return nullptr;
  return blocks[block].kind == PlainBlock::Kind::kResidual ? &blocks[block] : nullptr;
}

// Refuses residual blocks whose mid channels surgery cannot remove.
absl::Status CheckStandardBlocks(const PlainNetwork& network) {
  for (size_t s = 0; s < network.stages.size(); ++s) {
    for (size_t b = 0; b < network.stages[s].size(); ++b) {
      const PlainBlock& block = network.stages[s][b];
      if (block.kind == PlainBlock::Kind::kResidual && block.cheap != PlainBlock::Cheap::kStandard) {
        return absl::InvalidArgumentError(absl::StrCat(
            BlockName(s, b), ": Fisher pruning removes mid channels of standard residual blocks only"));
      }
    }
  }
  return absl::OkStatus();
}

// Every table's latency for `network`, in order; errors name the table.
absl::StatusOr<std::vector<double>> Latencies(const std::vector<LatencyBudget>& tables,
                                              const PlainNetwork& network) {
  std::vector<double> out;
  for (size_t i = 0; i < tables.size(); ++i) {
    absl::StatusOr<double> us = PredictLatency(tables[i], network);
    if (!us.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("fisher.tables[", i, "]: ", us.status().message()));
    }
    out.push_back(*us);
  }
  return out;
}

// Predicted latency over budget of the tightest table.
double WorstRatio(const std::vector<LatencyBudget>& tables, const std::vector<double>& latency_us) {
  double worst = 0;
  for (size_t i = 0; i < tables.size(); ++i) {
    worst = std::max(worst, latency_us[i] / tables[i].budget_us);
  }
  return worst;
}

// One line per table, e.g. "cpu 812.5 us (budget 500 us)".
std::string Describe(const std::vector<LatencyBudget>& tables, const std::vector<double>& latency_us) {
  std::string out;
  for (size_t i = 0; i < tables.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ", ", tables[i].device.empty() ? absl::StrCat("tables[", i, "]") : tables[i].device,
                    " ", latency_us[i], " us (budget ", tables[i].budget_us, " us)");
  }
  return out;
}

// FAILED_PRECONDITION when some table stays over budget even with every
// block at the best width it may reach (min_width or its own, if narrower).
absl::Status CheckReachable(const std::vector<LatencyBudget>& tables, const PlainNetwork& network,
                            int min_width) {
  for (size_t i = 0; i < tables.size(); ++i) {
    double lowest = tables[i].fixed_us;
    for (const BlockLatency& curve : tables[i].blocks) {
      const PlainBlock* block = ResidualAt(network, curve.stage, curve.block);
      const int width = block->mid_channels;  // checked by Latencies
      double best = curve.us_by_width[width - 1];
      for (int w = std::min(min_width, width); w <= width; ++w) best = std::min(best, curve.us_by_width[w - 1]);
      lowest += best;
    }
    if (lowest > tables[i].budget_us) {
      return absl::FailedPreconditionError(absl::StrCat(
          "fisher.tables[", i, "] (", tables[i].device, "): the budget of ", tables[i].budget_us,
          " us cannot be met: the table predicts at least ", lowest, " us with every block at min_width ",
          min_width));
    }
  }
  return absl::OkStatus();
}

// Channels a uniform shrinking (one channel at a time from the widest block
// with a curve) would still remove before every budget is met: the
// progress report's estimate of the total.
int EstimateToRemove(const std::vector<LatencyBudget>& tables, PlainNetwork network, int min_width) {
  std::vector<std::pair<int, int>> curves;
  for (const LatencyBudget& t : tables) {
    for (const BlockLatency& c : t.blocks) curves.emplace_back(c.stage, c.block);
  }
  std::sort(curves.begin(), curves.end());
  curves.erase(std::unique(curves.begin(), curves.end()), curves.end());
  int removed = 0;
  while (true) {
    absl::StatusOr<std::vector<double>> latency = Latencies(tables, network);
    if (!latency.ok() || WorstRatio(tables, *latency) <= 1) return removed;
    PlainBlock* widest = nullptr;
    for (const auto& [s, b] : curves) {
      PlainBlock& block = network.stages[s][b];
      if (block.mid_channels > min_width && (widest == nullptr || block.mid_channels > widest->mid_channels)) {
        widest = &block;
      }
    }
    if (widest == nullptr) return removed;
    --widest->mid_channels;
    ++removed;
  }
}

// Indices 0..width-1 without `removed` (sorted), as an int64 tensor.
torch::Tensor KeptIndices(int width, const std::vector<int>& removed, const torch::Device& device) {
  std::vector<int64_t> kept;
  for (int c = 0; c < width; ++c) {
    if (!std::binary_search(removed.begin(), removed.end(), c)) kept.push_back(c);
  }
  return torch::tensor(kept, torch::kInt64).to(device);
}

// The fine-tuning and pruning loop of FisherPrune.
class Pruner {
 public:
  Pruner(const Dataset& train, const FisherPruneOptions& options,
         const std::function<bool(const PruneProgress&)>& on_progress)
      : train_(train), options_(options), on_progress_(on_progress) {}

  absl::StatusOr<PruneResult> Run(std::unique_ptr<TorchNetwork> network) {
    PruneResult result;
    absl::StatusOr<std::vector<double>> latency = Latencies(options_.tables, network->plain());
    if (!latency.ok()) return latency.status();
    if (WorstRatio(options_.tables, *latency) <= 1) {
      result.network = std::move(network);
      result.latency_us = std::move(*latency);
      return result;
    }
    if (absl::Status st = CheckReachable(options_.tables, network->plain(), options_.min_width); !st.ok()) {
      return st;
    }
    while (true) {
      progress_.latency_over_budget = WorstRatio(options_.tables, *latency);
      progress_.channels_to_remove =
          progress_.channels_removed + EstimateToRemove(options_.tables, network->plain(), options_.min_width);
      absl::StatusOr<std::vector<BlockSaliency>> saliency = FineTune(*network);
      if (!saliency.ok()) return saliency.status();
      std::vector<MidChannel> remove =
          LeastSalientChannels(*saliency, options_.channels_per_prune, options_.min_width);
      if (remove.empty()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "fisher: every block is at min_width ", options_.min_width,
            " and the budgets are still not met: ", Describe(options_.tables, *latency)));
      }
      absl::StatusOr<std::unique_ptr<TorchNetwork>> pruned = RemoveMidChannels(*network, remove);
      if (!pruned.ok()) return pruned.status();
      network = std::move(*pruned);
      progress_.channels_removed += static_cast<int>(remove.size());
      latency = Latencies(options_.tables, network->plain());
      if (!latency.ok()) return latency.status();
      progress_.latency_over_budget = WorstRatio(options_.tables, *latency);
      if (on_progress_ && !on_progress_(progress_)) return absl::CancelledError("pruning cancelled");
      if (progress_.latency_over_budget <= 1) break;
    }
    result.network = std::move(network);
    result.channels_removed = progress_.channels_removed;
    result.steps = progress_.steps;
    result.latency_us = std::move(*latency);
    return result;
  }

 private:
  // steps_between_prunes SGD steps on `network` with a fresh optimiser,
  // accumulating Fisher saliency on the same passes; returns it.
  absl::StatusOr<std::vector<BlockSaliency>> FineTune(TorchNetwork& network) {
    try {
      std::shared_ptr<NetworkModuleImpl> module = network.module();
      module->train();
      // Momentum buffers are per tensor shape: a new network needs a new
      // optimiser (pytorch-prunes rebuilds it after every removal too).
      torch::optim::SGD optimizer(module->parameters(),
                                  torch::optim::SGDOptions(options_.learning_rate)
                                      .momentum(options_.momentum)
                                      .nesterov(options_.nesterov && options_.momentum > 0)
                                      .weight_decay(options_.weight_decay));
      FisherAccumulator fisher(module);
      const torch::Device device(network.device());
      double loss_sum = 0;
      int64_t correct = 0, seen = 0;
      const Clock::time_point start = Clock::now();
      for (int64_t step = 0; step < options_.steps_between_prunes; ++step) {
        Batch& batch = NextBatch();
        torch::Tensor x = torch::from_blob(batch.images.data(),
                                           {batch.size, train_.channels, train_.height, train_.width},
                                           torch::kFloat32).to(device);
        torch::Tensor y = torch::from_blob(batch.labels.data(), {batch.size}, torch::kInt64).to(device);
        fisher.BeforeForward();
        NetworkModuleOutput out = module->forward(x);
        fisher.RetainGrads();
        torch::Tensor loss = CrossEntropyLoss(out.logits, y);
        optimizer.zero_grad();
        loss.backward();
        // The loss is a batch mean: each example's own gradient is the
        // batch size times what it received.
        fisher.Accumulate(batch.size);
        optimizer.step();
        const double value = loss.item<double>();
        if (!std::isfinite(value)) {
          return absl::InternalError(absl::StrCat("fisher pruning: loss became ", value, " at step ",
                                                  progress_.steps + 1, " (learning rate ",
                                                  options_.learning_rate, " too high?)"));
        }
        ++progress_.steps;
        loss_sum += value * batch.size;
        correct += out.logits.argmax(1).eq(y).sum().item<int64_t>();
        seen += batch.size;
        progress_.loss = loss_sum / seen;
        progress_.accuracy = static_cast<double>(correct) / seen;
        progress_.images_per_second =
            seen / std::max(1e-9, std::chrono::duration<double>(Clock::now() - start).count());
        if (on_progress_ && !on_progress_(progress_)) return absl::CancelledError("pruning cancelled");
      }
      optimizer.zero_grad();
      return fisher.Saliency();
    } catch (const std::exception& e) {
      return FromException(e, "fisher pruning");
    }
  }

  // The next training batch, epoch after epoch (a new order each).
  Batch& NextBatch() {
    while (loader_ == nullptr || !loader_->Next(&batch_)) {
      loader_.reset();
      LoaderOptions lo;
      lo.batch_size = options_.batch_size;
      lo.seed = options_.seed;
      lo.epoch = epoch_++;
      lo.threads = options_.loader_threads;
      loader_ = std::make_unique<BatchLoader>(train_, lo);
    }
    return batch_;
  }

  const Dataset& train_;
  const FisherPruneOptions& options_;
  const std::function<bool(const PruneProgress&)>& on_progress_;
  PruneProgress progress_;
  std::unique_ptr<BatchLoader> loader_;
  Batch batch_;
  int epoch_ = 0;
};

}  // namespace

absl::StatusOr<double> PredictLatency(const LatencyBudget& table, const PlainNetwork& network) {
  double us = table.fixed_us;
  for (const BlockLatency& curve : table.blocks) {
    const PlainBlock* block = ResidualAt(network, curve.stage, curve.block);
    if (block == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the curve of ", BlockName(curve.stage, curve.block), " names no residual block"));
    }
    const int width = block->mid_channels;
    if (width < 1 || width > static_cast<int>(curve.us_by_width.size())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the curve of ", BlockName(curve.stage, curve.block), " has ", curve.us_by_width.size(),
          " values, the block has mid width ", width));
    }
    us += curve.us_by_width[width - 1];
  }
  return us;
}

std::vector<MidChannel> LeastSalientChannels(const std::vector<BlockSaliency>& saliency, int count,
                                             int min_width) {
  // (saliency, block index, channel); NaN sorts last.
  std::vector<std::tuple<double, size_t, int>> all;
  for (size_t i = 0; i < saliency.size(); ++i) {
    const std::vector<double>& channels = saliency[i].channels;
    if (static_cast<int>(channels.size()) <= min_width) continue;
    for (size_t c = 0; c < channels.size(); ++c) {
      const double v = std::isnan(channels[c]) ? std::numeric_limits<double>::infinity() : channels[c];
      all.emplace_back(v, i, static_cast<int>(c));
    }
  }
  std::sort(all.begin(), all.end());
  std::vector<int> taken(saliency.size(), 0);
  std::vector<MidChannel> out;
  for (const auto& [value, i, c] : all) {
    if (static_cast<int>(out.size()) >= count) break;
    if (static_cast<int>(saliency[i].channels.size()) - taken[i] <= min_width) continue;
    ++taken[i];
    out.push_back(MidChannel{saliency[i].stage, saliency[i].block, c});
  }
  return out;
}

absl::StatusOr<std::unique_ptr<TorchNetwork>> RemoveMidChannels(const TorchNetwork& network,
                                                                const std::vector<MidChannel>& channels) {
  PlainNetwork plain = network.plain();
  std::map<std::pair<int, int>, std::vector<int>> by_block;
  for (const MidChannel& c : channels) {
    const PlainBlock* block = ResidualAt(plain, c.stage, c.block);
    if (block == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(BlockName(c.stage, c.block), " is not a residual block"));
    }
    if (block->cheap != PlainBlock::Cheap::kStandard) {
      return absl::InvalidArgumentError(absl::StrCat(
          BlockName(c.stage, c.block), ": Fisher pruning removes mid channels of standard residual blocks only"));
    }
    if (c.channel < 0 || c.channel >= block->mid_channels) {
      return absl::InvalidArgumentError(absl::StrCat(BlockName(c.stage, c.block), ": no mid channel ", c.channel,
                                                     " (the block has ", block->mid_channels, ")"));
    }
    by_block[{c.stage, c.block}].push_back(c.channel);
  }
  for (auto& [key, removed] : by_block) {
    std::sort(removed.begin(), removed.end());
    if (std::adjacent_find(removed.begin(), removed.end()) != removed.end()) {
      return absl::InvalidArgumentError(absl::StrCat(BlockName(key.first, key.second), ": a channel is named twice"));
    }
    PlainBlock& block = plain.stages[key.first][key.second];
    if (static_cast<int>(removed.size()) >= block.mid_channels) {
      return absl::InvalidArgumentError(absl::StrCat(BlockName(key.first, key.second), ": removing ", removed.size(),
                                                     " of ", block.mid_channels, " mid channels leaves none"));
    }
    block.mid_channels -= static_cast<int>(removed.size());
  }
  absl::StatusOr<std::unique_ptr<TorchNetwork>> pruned = TorchNetwork::Create(plain, network.device());
  if (!pruned.ok()) return pruned.status();
  try {
    torch::NoGradGuard no_grad;
    const torch::Device device(network.device());
    std::shared_ptr<NetworkModuleImpl> from = network.module();
    std::shared_ptr<NetworkModuleImpl> to = (*pruned)->module();
    std::map<std::string, torch::Tensor> source;
    for (const auto& p : from->named_parameters()) source[p.key()] = p.value();
    for (const auto& b : from->named_buffers()) source[b.key()] = b.value();
    // The module names a block's tensors "stage<s>.<b>.<path>".
    std::vector<std::pair<std::string, torch::Tensor>> kept;
    for (const auto& [key, removed] : by_block) {
      kept.emplace_back(absl::StrCat("stage", key.first, ".", key.second, "."),
                        KeptIndices(network.plain().stages[key.first][key.second].mid_channels, removed, device));
    }
    auto copy = [&](const std::string& name, torch::Tensor target) -> absl::Status {
      auto it = source.find(name);
      if (it == source.end()) return absl::InternalError(absl::StrCat("weight surgery: no tensor ", name));
      torch::Tensor value = it->second.detach();
      if (value.sizes() != target.sizes()) {
        // The one dimension of mid channels shrank: keep the survivors.
        for (const auto& [prefix, index] : kept) {
          if (!absl::StartsWith(name, prefix) || value.dim() != target.dim()) continue;
          for (int64_t d = 0; d < value.dim(); ++d) {
            if (value.size(d) != target.size(d)) {
              value = value.index_select(d, index);
              break;
            }
          }
        }
        if (value.sizes() != target.sizes()) {
          return absl::InternalError(absl::StrCat("weight surgery: ", name, " does not fit the pruned network"));
        }
      }
      target.detach().copy_(value);
      return absl::OkStatus();
    };
    for (const auto& p : to->named_parameters()) {
      if (absl::Status st = copy(p.key(), p.value()); !st.ok()) return st;
    }
    for (const auto& b : to->named_buffers()) {
      if (absl::Status st = copy(b.key(), b.value()); !st.ok()) return st;
    }
    to->train(from->is_training());
  } catch (const std::exception& e) {
    return FromException(e, "weight surgery");
  }
  return pruned;
}

absl::StatusOr<PruneResult> FisherPrune(std::unique_ptr<TorchNetwork> network, const Dataset& train,
                                        const FisherPruneOptions& options,
                                        const std::function<bool(const PruneProgress&)>& on_progress) {
  if (network == nullptr) return absl::InvalidArgumentError("fisher: no network");
  if (options.tables.empty()) return absl::InvalidArgumentError("fisher.tables: at least one latency table");
  if (options.steps_between_prunes < 1 || options.channels_per_prune < 1 || options.min_width < 1 ||
      options.batch_size < 1 || !(options.learning_rate >= 0)) {
    return absl::InvalidArgumentError(
        "fisher: steps_between_prunes, channels_per_prune, min_width and batch_size must be >= 1, "
        "learning_rate >= 0");
  }
  if (train.size() == 0) return absl::InvalidArgumentError("fisher: empty training split");
  if (absl::Status st = CheckStandardBlocks(network->plain()); !st.ok()) return st;
  Pruner pruner(train, options, on_progress);
  return pruner.Run(std::move(network));
}

}  // namespace hakd::worker
