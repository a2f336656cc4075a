// Times a network unit (stem, block, head with its input shape) or a whole
// network with LibTorch, exactly as the network module runs it. Torch-free
// header.
#ifndef HAKD_COMMON_TORCH_UNIT_TIMER_H_
#define HAKD_COMMON_TORCH_UNIT_TIMER_H_

#include "absl/status/statusor.h"
#include "common/torch/timing.h"
#include "hakd/v1/network.pb.h"

namespace hakd {

// Builds the unit (random weights, eval mode) on options.device and times
// batch-1 float32 forward runs of a random input under RunTimingProtocol.
// Errors: INVALID_ARGUMENT naming the field for an invalid unit or options,
// then as TimeTorchNetwork. Never throws.
absl::StatusOr<LayerTiming> TimeUnit(const hakd::v1::UnitSpec& unit,
                                     const TimingOptions& options);

}  // namespace hakd

#endif  // HAKD_COMMON_TORCH_UNIT_TIMER_H_
