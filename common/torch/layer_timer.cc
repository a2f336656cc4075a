// The protobuf half of TimeLayer: validation, conversion and messages. The
// LibTorch half is torch_timer.cc, which must not see protobuf headers.
#include "common/torch/layer_timer.h"

#include "absl/strings/str_cat.h"
#include "common/layer_spec.h"
#include "common/torch/torch_runtime.h"
#include "common/torch/torch_timer.h"

namespace hakd {
namespace {

using hakd::v1::LayerSpec;

TorchLayer ToTorchLayer(const LayerSpec& l) {
  TorchLayer t;
  switch (l.kind()) {
    case hakd::v1::LAYER_KIND_LINEAR:
      t.kind = TorchLayer::Kind::kLinear;
      break;
    case hakd::v1::LAYER_KIND_MAX_POOL:
      t.kind = TorchLayer::Kind::kMaxPool;
      break;
    case hakd::v1::LAYER_KIND_AVG_POOL:
      t.kind = TorchLayer::Kind::kAvgPool;
      break;
    case hakd::v1::LAYER_KIND_BATCHNORM_RELU:
      t.kind = TorchLayer::Kind::kBatchNormRelu;
      break;
    default:  // validated: CONV2D
      t.kind = TorchLayer::Kind::kConv2d;
      break;
  }
  switch (l.dtype()) {
    case hakd::v1::DTYPE_FLOAT16:
      t.dtype = TorchLayer::DType::kFloat16;
      break;
    case hakd::v1::DTYPE_BFLOAT16:
      t.dtype = TorchLayer::DType::kBFloat16;
      break;
    default:  // UNSPECIFIED reads as float32
      t.dtype = TorchLayer::DType::kFloat32;
      break;
  }
  t.batch = l.batch();
  t.in_channels = l.in_channels();
  t.out_channels = l.out_channels();
  t.height = l.height();
  t.width = l.width();
  t.kernel = l.kernel();
  t.stride = l.stride();
  t.padding = l.padding();
  t.groups = l.groups();
  return t;
}

// The status with the layer's description in front of its message.
absl::Status WithLayer(const absl::Status& status, const LayerSpec& layer) {
  return absl::Status(status.code(), absl::StrCat(DescribeLayer(layer), ": ",
                                                  status.message()));
}

}  // namespace

TimingOptions TimingOptionsFromSettings(
    const hakd::v1::MeasurementSettings& settings, const std::string& device) {
  TimingOptions options;
  options.device = device;
  if (settings.warmup_runs() != 0) options.warmup_runs = settings.warmup_runs();
  if (settings.min_sample_ms() != 0) {
    options.min_sample_ms = settings.min_sample_ms();
  }
  if (settings.min_samples() != 0) options.min_samples = settings.min_samples();
  if (settings.max_samples() != 0) options.max_samples = settings.max_samples();
  if (settings.max_seconds_per_layer() != 0) {
    options.max_seconds_per_layer = settings.max_seconds_per_layer();
  }
  if (settings.stable_cv() != 0) options.stable_cv = settings.stable_cv();
  return options;
}

absl::StatusOr<LayerTiming> TimeLayer(const LayerSpec& layer,
                                      const TimingOptions& options) {
  for (const absl::Status& st :
       {ValidateLayerSpec(layer, "layer"), ValidateTimingOptions(options),
        CheckDevice(options.device)}) {
    if (!st.ok()) return WithLayer(st, layer);
  }
  absl::StatusOr<LayerTiming> timing =
      TimeTorchLayer(ToTorchLayer(layer), options);
  if (!timing.ok()) return WithLayer(timing.status(), layer);
  return timing;
}

}  // namespace hakd
