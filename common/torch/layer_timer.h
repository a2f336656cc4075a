// Times one layer of a network with LibTorch. Torch-free header.
#ifndef HAKD_COMMON_TORCH_LAYER_TIMER_H_
#define HAKD_COMMON_TORCH_LAYER_TIMER_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/torch/timing.h"
#include "hakd/v1/types.pb.h"

namespace hakd {

// Options from a task's settings on `device`: zero fields take the
// TimingOptions defaults.
TimingOptions TimingOptionsFromSettings(
    const hakd::v1::MeasurementSettings& settings, const std::string& device);

// Builds the layer (random weights, eval mode) on options.device, feeds it a
// random normal input of the layer's dtype (UNSPECIFIED: float32) and times
// forward runs under RunTimingProtocol, without autograd. CUDA work is
// synchronised before the clock starts and stops.
//
// Errors: INVALID_ARGUMENT for an invalid spec or options, the error of
// CheckDevice for an unusable device, RESOURCE_EXHAUSTED when memory runs
// out, INTERNAL for any other LibTorch failure (e.g. a dtype the backend does
// not implement). Messages start with the layer's DescribeLayer. Never
// throws. Concurrent calls work but disturb each other's timing.
absl::StatusOr<LayerTiming> TimeLayer(const hakd::v1::LayerSpec& layer,
                                      const TimingOptions& options);

}  // namespace hakd

#endif  // HAKD_COMMON_TORCH_LAYER_TIMER_H_
