// The LibTorch half of TimeLayer (layer_timer.h): builds and times a layer
// given as plain values. Free of protobuf on purpose: LibTorch distributions
// (pip wheels, the official archives) put their own, older protobuf headers
// on the include path, which would shadow the project's in any file that
// includes both. Callers normally use TimeLayer instead.
#ifndef HAKD_COMMON_TORCH_TORCH_TIMER_H_
#define HAKD_COMMON_TORCH_TORCH_TIMER_H_

#include <functional>

#include "absl/status/statusor.h"
#include "common/torch/timing.h"

namespace hakd {

// A layer shape; the fields mean what they mean in hakd.v1.LayerSpec.
struct TorchLayer {
  enum class Kind { kConv2d, kLinear, kMaxPool, kAvgPool, kBatchNormRelu };
  enum class DType { kFloat32, kFloat16, kBFloat16 };
  Kind kind = Kind::kConv2d;
  DType dtype = DType::kFloat32;
  int batch = 1;
  int in_channels = 1;
  int out_channels = 1;
  int height = 0;
  int width = 0;
  int kernel = 0;
  int stride = 0;
  int padding = 0;
  int groups = 0;
};

// Builds the layer with random weights in eval mode on options.device, feeds
// it a random normal input and times forward runs under RunTimingProtocol in
// inference mode. The caller has validated layer, options and device.
// Errors carry LibTorch's message without backtrace: RESOURCE_EXHAUSTED when
// memory runs out, INTERNAL otherwise. Never throws.
absl::StatusOr<LayerTiming> TimeTorchLayer(const TorchLayer& layer,
                                           const TimingOptions& options);

// Times `forward` (one run of a workload already built on options.device)
// under RunTimingProtocol in inference mode. On CUDA the queue is drained
// first and the runs are timed with CUDA events (with a CUDA LibTorch).
// Errors as TimeTorchLayer. Never throws.
absl::StatusOr<LayerTiming> TimeTorchWorkload(
    const std::function<void()>& forward, const TimingOptions& options);

}  // namespace hakd

#endif  // HAKD_COMMON_TORCH_TORCH_TIMER_H_
