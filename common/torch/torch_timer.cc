// The only file that compiles LibTorch's layer headers. It includes no
// protobuf header (see torch_timer.h).
#include "common/torch/torch_timer.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>
#include <torch/cuda.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>
#if HAKD_TORCH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAGuard.h>
#endif

#include <chrono>
#include <exception>
#include <functional>
#include <new>
#include <stdexcept>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/torch/torch_runtime.h"

namespace hakd {
namespace {

at::ScalarType ToScalarType(TorchLayer::DType dtype) {
  switch (dtype) {
    case TorchLayer::DType::kFloat16:
      return at::kHalf;
    case TorchLayer::DType::kBFloat16:
      return at::kBFloat16;
    case TorchLayer::DType::kFloat32:
      break;
  }
  return at::kFloat;
}

// Builds the layer and its input on `device`; returns one forward run.
std::function<void()> BuildWorkload(const TorchLayer& l,
                                    const at::Device& device) {
  namespace nn = torch::nn;
  const at::ScalarType dtype = ToScalarType(l.dtype);
  // Draw in float32 and convert: CPU kernels for random numbers in half
  // precision are missing in some LibTorch versions.
  auto random = [&](at::IntArrayRef shape) {
    return at::randn(shape, at::TensorOptions().dtype(at::kFloat))
        .to(device, dtype);
  };
  switch (l.kind) {
    case TorchLayer::Kind::kConv2d: {
      nn::Conv2d conv(nn::Conv2dOptions(l.in_channels, l.out_channels, l.kernel)
                          .stride(l.stride)
                          .padding(l.padding)
                          .groups(l.groups)
                          .bias(false));
      conv->to(device, dtype);
      conv->eval();
      at::Tensor x = random({l.batch, l.in_channels, l.height, l.width});
      return [conv, x]() mutable { conv->forward(x); };
    }
    case TorchLayer::Kind::kLinear: {
      nn::Linear linear(l.in_channels, l.out_channels);
      linear->to(device, dtype);
      linear->eval();
      at::Tensor x = random({l.batch, l.in_channels});
      return [linear, x]() mutable { linear->forward(x); };
    }
    case TorchLayer::Kind::kMaxPool: {
      nn::MaxPool2d pool(
          nn::MaxPool2dOptions(l.kernel).stride(l.stride).padding(l.padding));
      at::Tensor x = random({l.batch, l.in_channels, l.height, l.width});
      return [pool, x]() mutable { pool->forward(x); };
    }
    case TorchLayer::Kind::kAvgPool: {
      nn::AvgPool2d pool(
          nn::AvgPool2dOptions(l.kernel).stride(l.stride).padding(l.padding));
      at::Tensor x = random({l.batch, l.in_channels, l.height, l.width});
      return [pool, x]() mutable { pool->forward(x); };
    }
    case TorchLayer::Kind::kBatchNormRelu: {
      nn::BatchNorm2d bn(l.in_channels);
      bn->to(device, dtype);
      bn->eval();  // running statistics, as at inference
      at::Tensor x = random({l.batch, l.in_channels, l.height, l.width});
      // In-place ReLU, as inference graphs fuse or reuse the buffer.
      return [bn, x]() mutable { bn->forward(x).relu_(); };
    }
  }
  throw std::invalid_argument(
      absl::StrCat("unsupported layer kind ", static_cast<int>(l.kind)));
}

absl::Status FromException(const std::exception& e) {
  const std::string message = ExceptionMessage(e);
  const bool out_of_memory =
      dynamic_cast<const c10::OutOfMemoryError*>(&e) != nullptr ||
      dynamic_cast<const std::bad_alloc*>(&e) != nullptr ||
      absl::StrContains(message, "out of memory") ||
      absl::StrContains(message, "not enough memory");
  return out_of_memory ? absl::ResourceExhaustedError(message)
                       : absl::InternalError(message);
}

}  // namespace

absl::StatusOr<LayerTiming> TimeTorchLayer(const TorchLayer& layer,
                                           const TimingOptions& options) {
  absl::StatusOr<ComputeDevice> parsed = ParseComputeDevice(options.device);
  if (!parsed.ok()) return parsed.status();
  std::function<void()> forward;
  try {
    const at::Device device =
        parsed->cuda
            ? at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(parsed->index))
            : at::Device(at::kCPU);
    forward = BuildWorkload(layer, device);
  } catch (const std::exception& e) {
    return FromException(e);
  }
  return TimeTorchWorkload(forward, options);
}

absl::StatusOr<LayerTiming> TimeTorchWorkload(
    const std::function<void()>& forward, const TimingOptions& options) {
  absl::StatusOr<ComputeDevice> parsed = ParseComputeDevice(options.device);
  if (!parsed.ok()) return parsed.status();
  const bool cuda = parsed->cuda;
  const int index = parsed->index;
  // No autograd bookkeeping (version counters, views) in the timed runs.
  c10::InferenceMode inference_mode;
  auto time_runs = [&](int64_t runs) -> absl::StatusOr<double> {
    try {
#if HAKD_TORCH_CUDA
      if (cuda) {
        // Never time an asynchronous launch: drain the queue, then let the
        // device's own clock bracket the runs (CUDA events on the current
        // stream) and wait for the last one before reading it.
        c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(index));
        torch::cuda::synchronize(index);
        at::cuda::CUDAEvent start(cudaEventDefault);
        at::cuda::CUDAEvent stop(cudaEventDefault);
        start.record();
        for (int64_t i = 0; i < runs; ++i) forward();
        stop.record();
        stop.synchronize();
        return start.elapsed_time(stop) / 1000.0;
      }
#endif
      // Without CUDA headers (a CPU LibTorch) a "cuda" device cannot exist;
      // the synchronisation stays for safety.
      if (cuda) torch::cuda::synchronize(index);
      const auto start = std::chrono::steady_clock::now();
      for (int64_t i = 0; i < runs; ++i) forward();
      if (cuda) torch::cuda::synchronize(index);
      const std::chrono::duration<double> elapsed =
          std::chrono::steady_clock::now() - start;
      return elapsed.count();
    } catch (const std::exception& e) {
      return FromException(e);
    }
  };
  return RunTimingProtocol(time_runs, options);
}

}  // namespace hakd
