// The running sums behind Fisher saliency, shared by the saliency task
// (eval mode, summed loss) and Fisher pruning (training steps, mean loss):
// per residual block and mid channel c, sum over examples n of
// (sum over positions of a_n * g_n)^2, where a is the block's mid activation
// and g the gradient of example n's own loss with respect to it.
// Torch header: only torch code includes it.
#ifndef HAKD_WORKER_FISHER_ACCUMULATOR_H_
#define HAKD_WORKER_FISHER_ACCUMULATOR_H_

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "common/torch/torch_network_module.h"
#include "worker/fisher_saliency.h"

namespace hakd::worker {

class FisherAccumulator {
 public:
  // Starts capturing `module`'s residual block mid activations; the
  // destructor stops it. The module must outlive the accumulator.
  explicit FisherAccumulator(std::shared_ptr<NetworkModuleImpl> module);
  ~FisherAccumulator();
  FisherAccumulator(const FisherAccumulator&) = delete;
  FisherAccumulator& operator=(const FisherAccumulator&) = delete;

  // (stage, block) of every residual block, in network order; empty when
  // the network has none.
  const std::vector<std::pair<int, int>>& blocks() const { return blocks_; }

  // Call before every forward pass: forgets the previous pass's activations.
  void BeforeForward() { mids_.clear(); }

  // Call after the forward pass and before backward, so that the
  // activations keep their gradients.
  void RetainGrads();

  // Call after backward. `loss_scale` is what turns the gradient each
  // example received into that of its own loss: 1 for a loss summed over
  // the batch, the batch size for a batch mean.
  void Accumulate(double loss_scale);

  // Examples accumulated since construction or Reset.
  int64_t examples() const { return examples_; }

  // delta_c = sum / (2 * examples) for every block, in network order
  // (no channels before the first example).
  std::vector<BlockSaliency> Saliency() const;

  // Forgets every sum (after the network changed shape).
  void Reset();

 private:
  std::shared_ptr<NetworkModuleImpl> module_;
  std::vector<std::pair<int, int>> blocks_;
  std::vector<torch::Tensor> mids_;  // the current pass's activations
  std::vector<torch::Tensor> sums_;  // float64 on the CPU, one per block
  int64_t examples_ = 0;
};

}  // namespace hakd::worker

#endif  // HAKD_WORKER_FISHER_ACCUMULATOR_H_
