// Magnitude pruning (Han et al., Deep Compression's first stage): keep the
// largest-magnitude convolution and linear weights of a network, zero the
// rest, and keep them zero while training (TrainerConfig::keep_zero_weights
// re-applies the mask after every optimiser step). BatchNorm parameters and
// biases are never pruned. Torch-free header.
#ifndef HAKD_WORKER_MAGNITUDE_PRUNING_H_
#define HAKD_WORKER_MAGNITUDE_PRUNING_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/torch/torch_network.h"

namespace hakd::worker {

// Convolution and linear weights of `network`: every parameter of two or
// more dimensions (BatchNorm weights and biases have one).
int64_t PrunableWeightCount(const TorchNetwork& network);

// Zeroes all but the `keep` largest-magnitude prunable weights, taken over
// the whole network at once (ties broken by position, so exactly `keep`
// survive unless some of them are zero already). INVALID_ARGUMENT when
// `keep` is negative or above PrunableWeightCount; INTERNAL for LibTorch
// failures. Never throws.
absl::Status KeepLargestWeights(TorchNetwork* network, int64_t keep);

// Nonzero values of a network's parameters (running statistics excluded).
struct NonzeroCount {
  int64_t prunable = 0;    // convolution and linear weights
  int64_t parameters = 0;  // every parameter, prunable ones included
};

// Counts them. INTERNAL for LibTorch failures. Never throws.
absl::StatusOr<NonzeroCount> CountNonzero(const TorchNetwork& network);

}  // namespace hakd::worker

#endif  // HAKD_WORKER_MAGNITUDE_PRUNING_H_
