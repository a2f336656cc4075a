// Draws realistic random networks for benchmarks and tests: the published
// families (WRN-d-k / pre-activation ResNet, MobileNet v1, DenseNet-BC) at
// their published depths, turned into students the way HAKD and BlockSwap
// make them: per-stage widths scaled by random factors (so widths fall off
// any sweep grid), and cheap convolution blocks (G, B, BG, depthwise-
// separable) in place of standard ones. Torch-free.
#ifndef HAKD_COMMON_NETWORK_NETWORK_SAMPLER_H_
#define HAKD_COMMON_NETWORK_NETWORK_SAMPLER_H_

#include <cstdint>
#include <random>

#include "absl/status/statusor.h"
#include "hakd/v1/network.pb.h"

namespace hakd {

// The family a sampled network comes from.
enum class SampledFamily { kWideResNet, kMobileNet, kDenseNet };

// What to draw.
struct SampleRequest {
  SampledFamily family = SampledFamily::kWideResNet;
  // Fashion-MNIST (1x28x28) instead of CIFAR (3x32x32). Default false.
  bool fashion_mnist = false;
};

// Draws one valid network (checked with AnalyzeNetwork) named after its
// family and draw, e.g. "WRN-16-2 student (g1 x0.62 G4, ...)". Deterministic
// for a given generator state. INTERNAL only if no valid draw is found in
// many tries (a bug).
absl::StatusOr<hakd::v1::NetworkSpec> SampleNetwork(
    const SampleRequest& request, std::mt19937_64& rng);

}  // namespace hakd

#endif  // HAKD_COMMON_NETWORK_NETWORK_SAMPLER_H_
