#include "worker/data_parallel.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/torch.h>

#include <chrono>
#include <functional>
#include <map>

#include "absl/strings/str_cat.h"

// CMake defines HAKD_TORCH_CUDA for a CUDA LibTorch and HAKD_HAVE_NCCL when
// it also found nccl.h (docs/training.md, "CUDA agents and workers").
#if defined(HAKD_TORCH_CUDA) && defined(HAKD_HAVE_NCCL)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#define HAKD_WITH_NCCL 1
#endif

namespace hakd::worker {
namespace {

// The message of a c10d/Gloo exception without LibTorch's C++ backtrace.
std::string Message(const std::exception& e) {
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) {
    return c10->what_without_backtrace();
  }
  return e.what();
}

}  // namespace

void DataParallelGroup::OnFlattened(
    const std::vector<at::Tensor>& tensors, const char* what,
    const std::function<void(std::vector<at::Tensor>&)>& collective) {
  try {
    torch::NoGradGuard no_grad;
    // One buffer per dtype: one collective carries a whole step's tensors.
    std::map<c10::ScalarType, std::vector<const at::Tensor*>> by_type;
    for (const at::Tensor& t : tensors) by_type[t.scalar_type()].push_back(&t);
    for (auto& [type, group] : by_type) {
      std::vector<at::Tensor> parts;
      parts.reserve(group.size());
      for (const at::Tensor* t : group) parts.push_back(t->reshape({-1}));
      std::vector<at::Tensor> flat = {torch::cat(parts)};
      collective(flat);
      int64_t offset = 0;
      for (const at::Tensor* t : group) {
        const int64_t n = t->numel();
        // Logical (NCHW) order both ways, whatever t's memory format.
        t->copy_(flat[0].narrow(0, offset, n).view(t->sizes()));
        offset += n;
      }
    }
  } catch (const std::exception& e) {
    throw GroupError(absl::StrCat("data-parallel ", what, " (", backend_,
                                  ", rank ", rank_, " of ", world_size_,
                                  "): ", Message(e)));
  }
}

struct DataParallelGroup::State {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> group;
};

DataParallelGroup::DataParallelGroup(int rank, int world_size,
                                     std::string backend,
                                     std::unique_ptr<State> state)
    : rank_(rank),
      world_size_(world_size),
      backend_(std::move(backend)),
      state_(std::move(state)) {}

DataParallelGroup::~DataParallelGroup() {
  try {
    // The process group before the store it rendezvoused through.
    state_->group.reset();
    state_->store.reset();
  } catch (const std::exception&) {
    // Tearing down after a broken peer may throw; nothing is left to do.
  }
}

absl::StatusOr<std::unique_ptr<DataParallelGroup>> DataParallelGroup::Connect(
    const GroupOptions& o) {
  if (o.world_size < 1 || o.rank < 0 || o.rank >= o.world_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "data-parallel group: rank ", o.rank, " of world size ", o.world_size));
  }
  if (o.master_host.empty() || o.master_port < 1 || o.master_port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("data-parallel group: master address '", o.master_host,
                     ":", o.master_port, "' is not host:port"));
  }
  const bool cuda = o.device.rfind("cuda", 0) == 0;
#ifndef HAKD_WITH_NCCL
  if (cuda) {
    return absl::UnimplementedError(
        "data-parallel group on CUDA needs ProcessGroupNCCL: build hakd-worker "
        "with -DHAKD_CUDA=ON against a CUDA LibTorch whose nccl.h CMake finds");
  }
#endif
  const auto timeout = std::chrono::milliseconds(o.timeout_ms);
  auto state = std::make_unique<State>();
  std::string backend = cuda ? "nccl" : "gloo";
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(o.master_port);
    store_options.isServer = o.rank == 0;
    store_options.numWorkers = static_cast<std::size_t>(o.world_size);
    store_options.waitWorkers = true;
    store_options.timeout = timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(o.master_host, store_options);
    state->store = c10::make_intrusive<c10d::PrefixStore>(o.prefix, tcp);
#ifdef HAKD_WITH_NCCL
    if (cuda) {
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      state->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(
          state->store, o.rank, o.world_size, options);
    }
#endif
    if (!cuda) {
      auto options = c10d::ProcessGroupGloo::Options::create(timeout);
      options->devices.push_back(
          c10d::ProcessGroupGloo::createDeviceForHostname(o.host));
      options->threads = 2;
      state->group = c10::make_intrusive<c10d::ProcessGroupGloo>(
          state->store, o.rank, o.world_size, options);
    }
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(
        "data-parallel group: rank ", o.rank, " of ", o.world_size,
        " could not join through ", o.master_host, ":", o.master_port, " (",
        backend, "): ", Message(e)));
  }
  return std::unique_ptr<DataParallelGroup>(new DataParallelGroup(
      o.rank, o.world_size, std::move(backend), std::move(state)));
}

void DataParallelGroup::AllReduceSum(const std::vector<at::Tensor>& tensors) {
  if (world_size_ == 1 || tensors.empty()) return;
  OnFlattened(tensors, "all-reduce", [this](std::vector<at::Tensor>& flat) {
    state_->group->allreduce(flat)->wait();
  });
}

void DataParallelGroup::Broadcast(const std::vector<at::Tensor>& tensors,
                                  int root) {
  if (world_size_ == 1 || tensors.empty()) return;
  c10d::BroadcastOptions options;
  options.rootRank = root;
  OnFlattened(tensors, "broadcast", [this, &options](std::vector<at::Tensor>& flat) {
    state_->group->broadcast(flat, options)->wait();
  });
}

void DataParallelGroup::Barrier() {
  if (world_size_ == 1) return;
  try {
    state_->group->barrier()->wait();
  } catch (const std::exception& e) {
    throw GroupError(absl::StrCat("data-parallel barrier (", backend_,
                                  ", rank ", rank_, " of ", world_size_,
                                  "): ", Message(e)));
  }
}

}  // namespace hakd::worker
