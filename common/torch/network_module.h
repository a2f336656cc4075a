// Builds the LibTorch module of a hakd.v1.NetworkSpec. Torch-free header:
// the module sits behind the opaque TorchNetwork (torch_network.h); torch
// code reaches it through torch_network_module.h.
#ifndef HAKD_COMMON_TORCH_NETWORK_MODULE_H_
#define HAKD_COMMON_TORCH_NETWORK_MODULE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/torch/torch_network.h"
#include "hakd/v1/network.pb.h"

namespace hakd {

// How BuildNetworkModule builds.
struct NetworkModuleOptions {
  // Where the module lives: "cpu" or "cuda:N". Default "cpu".
  std::string device = "cpu";
};

// The spec in plain values, every default applied; errors as
// ValidateNetworkSpec.
absl::StatusOr<PlainNetwork> ToPlainNetwork(const hakd::v1::NetworkSpec& spec);

// One block in plain values, defaults applied; the block must be valid.
PlainBlock ToPlainBlock(const hakd::v1::Block& block);

// Validates `spec` and builds its module with random weights. Its
// parameter count equals AnalyzeNetwork(spec)->total_params, and its forward
// returns [batch, num_classes] logits plus the feature maps at
// AnalyzeNetwork(spec)->attention_points. Errors: INVALID_ARGUMENT for an
// invalid spec, then as TorchNetwork::Create. Never throws.
absl::StatusOr<std::unique_ptr<TorchNetwork>> BuildNetworkModule(
    const hakd::v1::NetworkSpec& spec,
    const NetworkModuleOptions& options = NetworkModuleOptions());

// Learnable parameters of a built module.
int64_t NetworkModuleParameterCount(const TorchNetwork& network);

}  // namespace hakd

#endif  // HAKD_COMMON_TORCH_NETWORK_MODULE_H_
