// The LibTorch half of BuildNetworkModule (network_module.h): a network
// given as plain values, built as a torch::nn module behind an opaque
// handle. Free of protobuf on purpose (LibTorch distributions ship their own
// protobuf headers, see torch_timer.h) and of torch headers, so any code can
// include it. Torch code reaches the module through torch_network_module.h.
#ifndef HAKD_COMMON_TORCH_TORCH_NETWORK_H_
#define HAKD_COMMON_TORCH_TORCH_NETWORK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/torch/timing.h"

namespace hakd {

class NetworkModuleImpl;  // torch::nn::Module, see torch_network_module.h

// One block; fields mean what they mean in hakd.v1.NetworkSpec, with every
// "0 reads as" default already applied.
struct PlainBlock {
  enum class Kind { kResidual, kSeparable, kDense, kTransition };
  // How k x k convolutions are realised (hakd.v1.CheapConv.Type).
  enum class Cheap {
    kStandard,
    kGrouped,
    kBottleneck,
    kBottleneckGrouped,
    kDepthwiseSeparable
  };
  Kind kind = Kind::kResidual;
  int out_channels = 0;  // residual, separable, transition
  int mid_channels = 0;  // residual (standard, grouped, depthwise-separable)
  int stride = 1;        // residual, separable
  int kernel = 3;        // residual, separable
  Cheap cheap = Cheap::kStandard;  // residual, dense
  int groups = 0;                  // kGrouped, kBottleneckGrouped
  int bottleneck = 0;              // kBottleneck, kBottleneckGrouped
  int growth = 0;                  // dense
  int bottleneck_channels = 0;     // dense
};

// A whole network in plain values (hakd.v1.NetworkSpec after validation).
struct PlainNetwork {
  int in_channels = 0;
  int height = 0;
  int width = 0;
  int num_classes = 0;
  int stem_out_channels = 0;
  int stem_kernel = 3;
  int stem_stride = 1;
  bool stem_batchnorm_relu = false;
  std::vector<std::vector<PlainBlock>> stages;
  bool head_batchnorm_relu = false;
};

// Results of one forward pass, copied to the CPU as float32 (NCHW order).
struct NetworkOutputs {
  std::vector<int64_t> logits_shape;  // [batch, num_classes]
  std::vector<float> logits;
  // One per stage: the attention-transfer points.
  std::vector<std::vector<int64_t>> feature_shapes;
  std::vector<std::vector<float>> features;
};

// A built network: random initial weights (LibTorch's defaults), float32.
class TorchNetwork {
 public:
  // Builds `network` (validated by the caller) on `device` ("cpu" or
  // "cuda:N"). Errors as CheckDevice, RESOURCE_EXHAUSTED when memory runs
  // out, INTERNAL for other LibTorch failures. Never throws.
  static absl::StatusOr<std::unique_ptr<TorchNetwork>> Create(
      const PlainNetwork& network, const std::string& device);

  ~TorchNetwork();
  TorchNetwork(const TorchNetwork&) = delete;
  TorchNetwork& operator=(const TorchNetwork&) = delete;

  // Learnable parameters (numel summed over module.parameters()).
  int64_t ParameterCount() const;

  // Runs `input` (batch x C x H x W floats, NCHW) in eval mode without
  // autograd. INVALID_ARGUMENT when the size does not match; errors as
  // Create otherwise. Never throws.
  absl::StatusOr<NetworkOutputs> Forward(const std::vector<float>& input,
                                         int batch);

  // The parameters and buffers, LibTorch-serialised (an OutputArchive).
  // Errors as Create. Never throws.
  absl::StatusOr<std::string> SerializeWeights() const;

  // Loads what SerializeWeights wrote for a network of the same shape.
  // DATA_LOSS when the bytes do not fit this network. Never throws.
  absl::Status LoadWeights(const std::string& bytes);

  // The module itself, for torch code (training, distillation); its forward
  // returns the logits and the feature maps at the end of every stage.
  std::shared_ptr<NetworkModuleImpl> module() const { return module_; }

  // The device it lives on, as given to Create.
  const std::string& device() const { return device_; }

  // The network it was built from.
  const PlainNetwork& plain() const { return network_; }

 private:
  TorchNetwork(std::shared_ptr<NetworkModuleImpl> module, std::string device,
               PlainNetwork network);

  std::shared_ptr<NetworkModuleImpl> module_;
  std::string device_;
  PlainNetwork network_;
};

// What TimeTorchNetwork times.
enum class NetworkPart {
  kWhole,       // the network end to end (logits and every stage's features)
  kStem,        // the stem alone, on the network's input
  kFirstBlock,  // stages[0][0] alone, entering with in_channels x height
  kHead,        // optional BN-ReLU, pooling, linear, on in_channels x height
};

// Builds `part` of `network` (validated by the caller) with random weights
// in eval mode on options.device and times batch-1 forward runs of a random
// input under RunTimingProtocol (TimeTorchWorkload). Errors as
// TorchNetwork::Create. Never throws.
absl::StatusOr<LayerTiming> TimeTorchNetwork(const PlainNetwork& network,
                                             NetworkPart part,
                                             const TimingOptions& options);

// Times batch-1 forward runs of an already built network (a loaded model
// artifact: its own weights) in eval mode under RunTimingProtocol, on the
// network's device (options.device is ignored). Never throws.
absl::StatusOr<LayerTiming> TimeBuiltNetwork(const TorchNetwork& network,
                                             const TimingOptions& options);

}  // namespace hakd

#endif  // HAKD_COMMON_TORCH_TORCH_NETWORK_H_
