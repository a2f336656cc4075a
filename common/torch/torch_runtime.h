// Process-wide LibTorch settings and facts: thread pools, version, device
// checks. The header is torch-free so callers compile without LibTorch.
#ifndef HAKD_COMMON_TORCH_TORCH_RUNTIME_H_
#define HAKD_COMMON_TORCH_TORCH_RUNTIME_H_

#include <cstdint>
#include <exception>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hakd {

// A parsed compute device string.
struct ComputeDevice {
  bool cuda = false;  // false: the CPU
  int index = 0;      // CUDA device index; 0 for the CPU
};

// Parses "cpu" or "cuda:N" (N a non-negative integer); anything else is
// INVALID_ARGUMENT. Does not check that the device exists.
absl::StatusOr<ComputeDevice> ParseComputeDevice(absl::string_view device);

// Sets LibTorch's intra-op and inter-op thread counts (both >= 1). The
// inter-op count can be set only once per process, before any parallel work;
// asking again for the value already in effect is OK, asking for another is
// FAILED_PRECONDITION. The intra-op count applies to the calling thread and
// to threads that start parallel work later, so a measuring thread should
// call this too.
absl::Status ConfigureThreads(int intra_op_threads, int inter_op_threads);

// The LibTorch version this binary was built against, e.g. "1.13.0".
std::string LibTorchVersion();

// OK for "cpu"; for "cuda:N" OK when CUDA is available and N < device count,
// else FAILED_PRECONDITION; INVALID_ARGUMENT for anything else.
absl::Status CheckDevice(const std::string& device);

// Name and memory of an accelerator.
struct AcceleratorInfo {
  std::string name;          // e.g. "NVIDIA H100 80GB HBM3"; empty for cpu
  int64_t memory_bytes = 0;  // total device memory; 0 for cpu
};

// Describes `device`: empty for "cpu" (and for CUDA devices when this build
// of hakd_torch has no CUDA headers); errors as CheckDevice.
absl::StatusOr<AcceleratorInfo> GetAcceleratorInfo(const std::string& device);

// The message of a LibTorch or standard exception, without the C++
// backtrace LibTorch appends to what().
std::string ExceptionMessage(const std::exception& e);

}  // namespace hakd

#endif  // HAKD_COMMON_TORCH_TORCH_RUNTIME_H_
