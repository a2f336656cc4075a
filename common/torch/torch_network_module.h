// The torch::nn module of a PlainNetwork (torch_network.h). Includes torch
// headers: only torch code (never a file that includes protobuf headers)
// may include it.
#ifndef HAKD_COMMON_TORCH_TORCH_NETWORK_MODULE_H_
#define HAKD_COMMON_TORCH_TORCH_NETWORK_MODULE_H_

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include <utility>
#include <vector>

#include "common/torch/torch_network.h"

namespace hakd {

// Logits and the feature maps at the attention-transfer points.
struct NetworkModuleOutput {
  torch::Tensor logits;                 // [batch, num_classes]
  std::vector<torch::Tensor> features;  // one per stage, NCHW
};

// Stem, stages (each a Sequential of blocks), optional BN-ReLU, global
// average pooling, linear classifier with bias.
class NetworkModuleImpl : public torch::nn::Module {
 public:
  // Registers every submodule of `network` (validated by the caller).
  explicit NetworkModuleImpl(const PlainNetwork& network);

  // x: [batch, C, H, W] with the network's input shape.
  NetworkModuleOutput forward(const torch::Tensor& x);

  // From now on every forward appends to *capture, for each residual block
  // in order, its mid activation: the output of the BN-ReLU feeding the
  // block's last convolution stage (mid_channels; the narrow channels of a
  // bottleneck) - the channels Fisher pruning removes. Null stops it.
  // Returns (stage, block) of each captured block, in capture order.
  std::vector<std::pair<int, int>> CaptureBlockMids(
      std::vector<torch::Tensor>* capture);

 private:
  torch::nn::Sequential stem_;
  std::vector<torch::nn::Sequential> stages_;
  torch::nn::BatchNorm2d head_bn_{nullptr};
  torch::nn::Linear fc_{nullptr};
};

}  // namespace hakd

#endif  // HAKD_COMMON_TORCH_TORCH_NETWORK_MODULE_H_
