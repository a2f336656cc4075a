#include "common/torch/torch_runtime.h"

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <exception>

// CUDA properties need the CUDA toolkit's headers, which a CPU-only LibTorch
// (Debian's) lacks even though it ships ATen/cuda; CMake defines
// HAKD_TORCH_CUDA only when LibTorch was built with CUDA.
#if defined(HAKD_TORCH_CUDA) && __has_include(<ATen/cuda/CUDAContext.h>)
#include <ATen/cuda/CUDAContext.h>
#define HAKD_HAVE_CUDA_PROPERTIES 1
#endif

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace hakd {

std::string ExceptionMessage(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) {
    return c10_error->what_without_backtrace();
  }
  return e.what();
}

absl::StatusOr<ComputeDevice> ParseComputeDevice(absl::string_view device) {
  if (device == "cpu") return ComputeDevice{};
  absl::string_view rest = device;
  int index = -1;
  if (absl::ConsumePrefix(&rest, "cuda:") && !rest.empty() &&
      rest.find_first_not_of("0123456789") == absl::string_view::npos &&
      absl::SimpleAtoi(rest, &index) && index >= 0) {
    return ComputeDevice{true, index};
  }
  return absl::InvalidArgumentError(
      absl::StrCat("device '", device, "' is not \"cpu\" or \"cuda:N\""));
}

absl::Status ConfigureThreads(int intra_op_threads, int inter_op_threads) {
  if (intra_op_threads < 1 || inter_op_threads < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("thread counts must be >= 1, got intra-op ",
                     intra_op_threads, ", inter-op ", inter_op_threads));
  }
  try {
    at::set_num_threads(intra_op_threads);
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("cannot set intra-op threads: ", ExceptionMessage(e)));
  }
  try {
    at::set_num_interop_threads(inter_op_threads);
  } catch (const std::exception& e) {
    // Already fixed (by an earlier call or by parallel work): fine when it
    // holds the value asked for.
    int current = 0;
    try {
      current = at::get_num_interop_threads();
    } catch (const std::exception&) {
    }
    if (current != inter_op_threads) {
      return absl::FailedPreconditionError(
          absl::StrCat("inter-op threads are already fixed at ", current,
                       " and cannot become ", inter_op_threads,
                       " (set them once, before any parallel work)"));
    }
  }
  return absl::OkStatus();
}

std::string LibTorchVersion() { return TORCH_VERSION; }

absl::Status CheckDevice(const std::string& device) {
  absl::StatusOr<ComputeDevice> parsed = ParseComputeDevice(device);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->cuda) return absl::OkStatus();
  bool available = false;
  size_t count = 0;
  try {
    available = torch::cuda::is_available();
    count = available ? torch::cuda::device_count() : 0;
  } catch (const std::exception& e) {
    return absl::FailedPreconditionError(absl::StrCat(
        "device ", device, ": CUDA query failed: ", ExceptionMessage(e)));
  }
  if (!available) {
    return absl::FailedPreconditionError(absl::StrCat(
        "device ", device,
        ": CUDA is not available (LibTorch built without CUDA, no driver or "
        "no GPU)"));
  }
  if (static_cast<size_t>(parsed->index) >= count) {
    return absl::FailedPreconditionError(
        absl::StrCat("device ", device, ": only ", count,
                     " CUDA device(s), numbered from 0"));
  }
  return absl::OkStatus();
}

absl::StatusOr<AcceleratorInfo> GetAcceleratorInfo(const std::string& device) {
  if (absl::Status st = CheckDevice(device); !st.ok()) return st;
  AcceleratorInfo info;
#ifdef HAKD_HAVE_CUDA_PROPERTIES
  absl::StatusOr<ComputeDevice> parsed = ParseComputeDevice(device);
  if (parsed->cuda) {
    try {
      const cudaDeviceProp* prop = at::cuda::getDeviceProperties(parsed->index);
      info.name = prop->name;
      info.memory_bytes = static_cast<int64_t>(prop->totalGlobalMem);
    } catch (const std::exception& e) {
      return absl::FailedPreconditionError(
          absl::StrCat("device ", device,
                       ": cannot read properties: ", ExceptionMessage(e)));
    }
  }
#endif
  return info;
}

}  // namespace hakd
