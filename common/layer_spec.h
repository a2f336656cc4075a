// Validation and description of layer specifications and measurements, the
// outside input every process receives. Torch-free: the coordinator uses it to
// refuse bad batches, the agent to refuse bad tasks, the CLI to check filters.
#ifndef HAKD_COMMON_LAYER_SPEC_H_
#define HAKD_COMMON_LAYER_SPEC_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "hakd/v1/agent_service.pb.h"
#include "hakd/v1/types.pb.h"

namespace hakd {

// Limits on what a single layer or batch may be. Sized so that any layer a
// real network uses passes, while a typo (1e9 channels) cannot exhaust an
// agent's memory.
struct LayerLimits {
  int32_t max_batch = 4096;
  int32_t max_channels = 65536;
  int32_t max_spatial = 8192;
  int32_t max_kernel = 31;
  // Input or output tensor elements (batch*channels*height*width).
  int64_t max_tensor_elements = int64_t{1} << 31;
};

// Limits on one measurement batch.
struct BatchLimits {
  int32_t max_measurements = 4096;
  // A single forward run longer than this is not a latency, it is a fault.
  double max_latency_us = 600e6;  // 10 minutes
  int32_t max_samples = 10'000'000;
};

// Checks a layer specification. On failure the message names the field, with
// `field` as prefix (e.g. "batch.measurements[3].layer.groups").
absl::Status ValidateLayerSpec(const hakd::v1::LayerSpec& layer,
                               absl::string_view field,
                               const LayerLimits& limits = LayerLimits());

// Checks one measurement (its layer and its statistics).
absl::Status ValidateMeasurement(const hakd::v1::Measurement& m,
                                 absl::string_view field,
                                 const LayerLimits& layer_limits = LayerLimits(),
                                 const BatchLimits& limits = BatchLimits());

// Checks a whole batch; the first problem found is returned.
absl::Status ValidateBatch(const hakd::v1::MeasurementBatch& batch,
                           const LayerLimits& layer_limits = LayerLimits(),
                           const BatchLimits& limits = BatchLimits());

// Checks a device name: [A-Za-z][A-Za-z0-9._-]{0,63}.
absl::Status ValidateDeviceName(absl::string_view name, absl::string_view field);

// Output height (or width) of a layer with this input extent, or 0 when the
// kind has no spatial extent.
int32_t OutputExtent(const hakd::v1::LayerSpec& layer, int32_t input_extent);

// True for a convolution with groups == in == out > 1.
bool IsDepthwise(const hakd::v1::LayerSpec& layer);

// Multiply-accumulates of one forward run (batch included).
int64_t LayerMacs(const hakd::v1::LayerSpec& layer);

// Short name of a kind: "conv2d", "linear", "maxpool", "avgpool", "bnrelu".
absl::string_view LayerKindName(hakd::v1::LayerKind kind);

// Parses a short kind name (as LayerKindName prints it); UNSPECIFIED if unknown.
hakd::v1::LayerKind ParseLayerKind(absl::string_view name);

// One-line human description, e.g. "conv2d 3x3/1 p1 g1 32->32 @32x32 b1".
std::string DescribeLayer(const hakd::v1::LayerSpec& layer);

}  // namespace hakd

#endif  // HAKD_COMMON_LAYER_SPEC_H_
