// Validation, shape inference and cost of a hakd.v1.NetworkSpec: the plain
// layers a network runs (with their parameter and multiply-accumulate
// counts) and its attention-transfer points. Torch-free; the LibTorch module
// built from the same spec (common/torch/network_module.h) has exactly the
// parameter count computed here.
#ifndef HAKD_COMMON_NETWORK_NETWORK_ANALYSIS_H_
#define HAKD_COMMON_NETWORK_NETWORK_ANALYSIS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "hakd/v1/network.pb.h"
#include "hakd/v1/types.pb.h"

namespace hakd {

// Limits that keep a typo from describing an absurd network.
struct NetworkLimits {
  // Largest channel count anywhere. Default 65536.
  int32_t max_channels = 65536;
  // Largest input height or width. Default 4096.
  int32_t max_spatial = 4096;
  // Largest number of blocks over all stages. Default 10000.
  int32_t max_blocks = 10000;
  // Largest kernel. Default 31 (as LayerLimits).
  int32_t max_kernel = 31;
  // Largest number of classes. Default 100000.
  int32_t max_classes = 100000;
  // Most multiply-accumulates of the whole network (NetworkAnalysis's
  // total_macs, convolutions counted as they are added). Default 1e16, far
  // beyond any real network; keeps the counts from overflowing.
  int64_t max_macs = 10'000'000'000'000'000;
};

// One plain layer the network runs, at batch 1, float32.
struct NetworkLayer {
  // Where it sits, e.g. "stages[1].blocks[0].residual.conv1" or "head.fc".
  std::string name;
  // Its shape (kind CONV2D, LINEAR, AVG_POOL or BATCHNORM_RELU; batch 1).
  hakd::v1::LayerSpec layer;
  // Learnable parameters: conv weights (no conv biases), BN weight and bias
  // (running statistics are buffers, not parameters), linear weight and
  // bias; 0 for pooling.
  int64_t params = 0;
  // Operations of one sample as BlockSwap's count_ops counts them (the
  // convention behind the published 328.3M of WRN-40-2): a convolution's
  // multiply-accumulates, a linear layer's weights plus biases, one per
  // element for BN-ReLU (the ReLU; BN folds away), 0 for pooling. See
  // LayerMacs in common/layer_spec.h for a count that includes pooling.
  int64_t macs = 0;
};

// An attention-transfer point: the output of a stage.
struct AttentionPoint {
  int stage = 0;        // index into NetworkSpec.stages
  std::string name;     // the stage's name, or "stages[i]" when it has none
  int32_t channels = 0;
  int32_t height = 0;
  int32_t width = 0;
};

// A unit of the network (stem, one block, head) with the shape entering it:
// what the predictor sums and the agent times (hakd.v1.BlockUnit).
struct NetworkUnit {
  std::string name;  // "stem", "stages[1].blocks[0]", "head"
  hakd::v1::BlockUnit unit;
};

// Everything inferred from a valid spec.
struct NetworkAnalysis {
  // Plain layers in execution order (residual additions and dense
  // concatenations are not layers and cost nothing here).
  std::vector<NetworkLayer> layers;
  // One per stage, in order.
  std::vector<AttentionPoint> attention_points;
  // Stem, every block, head, in execution order. Empty for AnalyzeUnit.
  std::vector<NetworkUnit> units;
  // Sums over `layers`.
  int64_t total_params = 0;
  int64_t total_macs = 0;
  // Channels and extent entering the head (after the last stage).
  int32_t final_channels = 0;
  int32_t final_height = 0;
  int32_t final_width = 0;
};

// Checks the spec and infers every shape; INVALID_ARGUMENT naming the field
// path on the first problem, e.g.
// "stages[2].blocks[3].residual.cheap.groups: 3 does not divide 64".
absl::StatusOr<NetworkAnalysis> AnalyzeNetwork(
    const hakd::v1::NetworkSpec& spec,
    const NetworkLimits& limits = NetworkLimits());

// Checks one unit alone and infers its layers; `final_*` is the shape
// leaving it. INVALID_ARGUMENT naming the field path inside the unit, e.g.
// "block.residual.cheap.groups: ...".
absl::StatusOr<NetworkAnalysis> AnalyzeUnit(
    const hakd::v1::BlockUnit& unit,
    const NetworkLimits& limits = NetworkLimits());

// AnalyzeNetwork's verdict alone.
absl::Status ValidateNetworkSpec(const hakd::v1::NetworkSpec& spec,
                                 const NetworkLimits& limits = NetworkLimits());

}  // namespace hakd

#endif  // HAKD_COMMON_NETWORK_NETWORK_ANALYSIS_H_
