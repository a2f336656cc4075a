// Fisher pruning (Theis et al. 2018, as pytorch-prunes' "fisher" mode
// without its FLOPs penalty) of residual blocks' mid channels until a
// network meets latency budgets. From a trained network: fine-tune with SGD
// (cross-entropy, constant learning rate) for steps_between_prunes steps
// while accumulating every mid channel's Fisher saliency on those very
// steps, remove the channels_per_prune channels of least saliency across
// all blocks by weight surgery (a block keeps at least min_width), reset
// the sums and the optimiser, and repeat until every table's predicted
// latency is within its budget. Torch-free header (the implementation is
// torch code); works on PlainNetwork, not protobuf.
#ifndef HAKD_WORKER_FISHER_PRUNER_H_
#define HAKD_WORKER_FISHER_PRUNER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/torch/torch_network.h"
#include "worker/dataset.h"
#include "worker/fisher_saliency.h"

namespace hakd::worker {

// One residual block's latency by mid width (hakd.v1.BlockLatencyCurve):
// us_by_width[w - 1] at width w.
struct BlockLatency {
  int stage = 0;
  int block = 0;
  std::vector<double> us_by_width;
};

// A device's latency as fixed_us plus the blocks' curves at their current
// widths, and its budget (hakd.v1.LatencyTable). A residual block without a
// curve counts as part of fixed_us.
struct LatencyBudget {
  std::string device;
  double budget_us = 0;
  double fixed_us = 0;
  std::vector<BlockLatency> blocks;
};

// The latency `table` predicts for `network`. INVALID_ARGUMENT when a curve
// names no residual block or has no value for the block's width.
absl::StatusOr<double> PredictLatency(const LatencyBudget& table,
                                      const PlainNetwork& network);

// One mid channel of a residual block.
struct MidChannel {
  int stage = 0;
  int block = 0;
  int channel = 0;  // index among the block's current mid channels
};

// The `count` channels of least saliency over all blocks, lowest first,
// never taking a block below `min_width` (blocks already at or below it
// give nothing); fewer when no more can go. Ties go to the earlier block
// and channel. `saliency` as ComputeFisherSaliency returns it.
std::vector<MidChannel> LeastSalientChannels(
    const std::vector<BlockSaliency>& saliency, int count, int min_width);

// Weight surgery: a new network on the same device whose named standard
// residual blocks lack the given mid channels (dropped from the first
// convolution's outputs, the BatchNorm between the convolutions and the
// second convolution's inputs); every other tensor is copied, and the
// training mode is kept. When a removed channel contributes nothing (e.g.
// its BatchNorm scale and shift are zero) the new network computes the
// same function. INVALID_ARGUMENT for a block that is not a standard
// residual block, a channel out of range or repeated, or a block left
// without channels. Never throws.
absl::StatusOr<std::unique_ptr<TorchNetwork>> RemoveMidChannels(
    const TorchNetwork& network, const std::vector<MidChannel>& channels);

// How FisherPrune prunes and fine-tunes.
struct FisherPruneOptions {
  // Prune until every table is within its budget. At least one.
  std::vector<LatencyBudget> tables;
  // Fine-tuning steps before each removal. Default 10.
  int64_t steps_between_prunes = 10;
  // Channels removed at each removal. Default 1.
  int channels_per_prune = 1;
  // No block goes below this mid width. Default 1.
  int min_width = 1;
  // Fine-tuning: SGD on the training split with its augmentation.
  int batch_size = 128;         // default 128
  double learning_rate = 0.1;   // default 0.1, constant
  double momentum = 0.9;        // default 0.9
  bool nesterov = true;         // default true
  double weight_decay = 5e-4;   // default 5e-4
  uint64_t seed = 1;            // data order and augmentation; default 1
  int loader_threads = 2;       // default 2
};

// Progress after every fine-tuning step and every removal.
struct PruneProgress {
  int channels_removed = 0;
  // Estimate of the channels to remove in all (removed plus what a uniform
  // shrinking of the blocks would still need).
  int channels_to_remove = 0;
  int64_t steps = 0;        // fine-tuning steps so far
  double loss = 0;          // running mean since the last removal
  double accuracy = 0;      // running training accuracy, likewise
  double images_per_second = 0;
  // The predicted latency over the budget of the tightest table (<= 1:
  // every budget met).
  double latency_over_budget = 0;
};

// What FisherPrune returns.
struct PruneResult {
  std::unique_ptr<TorchNetwork> network;  // pruned and fine-tuned
  int channels_removed = 0;
  int64_t steps = 0;
  std::vector<double> latency_us;  // predicted, one per table
};

// Prunes `network` (its residual blocks must be standard; other blocks are
// kept as they are) on `train`. Returns at once, untouched, when the budgets
// are met already; stops right after the removal that meets them.
// `on_progress` (may be empty) returning false cancels. Errors:
// INVALID_ARGUMENT (bad options or tables, a non-standard residual block),
// FAILED_PRECONDITION when the budgets cannot be met with every block at
// min_width (checked before any training, and again if the tables' curves
// are not monotone), CANCELLED, INTERNAL / RESOURCE_EXHAUSTED for LibTorch
// failures. Never throws.
absl::StatusOr<PruneResult> FisherPrune(
    std::unique_ptr<TorchNetwork> network, const Dataset& train,
    const FisherPruneOptions& options,
    const std::function<bool(const PruneProgress&)>& on_progress = nullptr);

}  // namespace hakd::worker

#endif  // HAKD_WORKER_FISHER_PRUNER_H_
