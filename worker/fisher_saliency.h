// Per-channel Fisher saliency (Theis et al. 2018, as pytorch-prunes uses it
// for Fisher pruning): for channel c of a block's mid activation a with
// gradient g of the loss, over N examples,
//   delta_c = 1/(2N) * sum_n (sum over positions of a_n * g_n)^2.
// The designer spends latency where saliency per microsecond is highest.
// Torch-free header.
#ifndef HAKD_WORKER_FISHER_SALIENCY_H_
#define HAKD_WORKER_FISHER_SALIENCY_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "common/torch/torch_network.h"
#include "worker/dataset.h"

namespace hakd::worker {

// The saliency of one residual block's mid channels.
struct BlockSaliency {
  int stage = 0;                 // index into NetworkSpec.stages
  int block = 0;                 // index into that stage's blocks
  std::vector<double> channels;  // delta_c, one per mid channel
};

struct SaliencyOptions {
  // Examples per forward/backward pass. Default 128.
  int batch_size = 128;
  // Examples used (the first N of the split, in order; 0: all). Default
  // 1024.
  int64_t examples = 1024;
  // Batch-preparing threads. Default 2.
  int loader_threads = 2;
  // After every batch with the examples done and the examples in all;
  // returning false cancels (CANCELLED). Default none.
  std::function<bool(int64_t done, int64_t total)> on_batch;
};

// Runs `network` in eval mode (BatchNorm on its running statistics, so that
// every example's gradient is its own) over `data` without augmentation,
// with the cross-entropy loss summed over examples, and returns every
// residual block's saliency in network order. The weights are not changed.
// Errors: INVALID_ARGUMENT (no residual block, empty data), CANCELLED when
// on_batch said stop, INTERNAL for LibTorch failures. Never throws.
absl::StatusOr<std::vector<BlockSaliency>> ComputeFisherSaliency(
    TorchNetwork* network, const Dataset& data,
    const SaliencyOptions& options = SaliencyOptions());

}  // namespace hakd::worker

#endif  // HAKD_WORKER_FISHER_SALIENCY_H_
