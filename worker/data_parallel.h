// DataParallelGroup: the members of one data-parallel training task, joined
// through LibTorch's own c10d layer: a TCPStore served by rank 0 for the
// rendezvous, then ProcessGroupGloo on CPU or ProcessGroupNCCL on CUDA for
// the collectives (broadcast of the initial weights, all-reduce of the
// gradients every step). The coordinator forms the group and tells every
// member its rank and rank 0's address (hakd.v1.GroupAssignment).
//
// The collectives throw GroupError (they run inside the trainer's
// try-blocks, which turn it into UNAVAILABLE: a retry with a new group can
// help). A member that dies makes the others' next collective fail at once
// (Gloo sees the closed connection); one that hangs, after `timeout_ms`.
#ifndef HAKD_WORKER_DATA_PARALLEL_H_
#define HAKD_WORKER_DATA_PARALLEL_H_

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace at {
class Tensor;
}  // namespace at

namespace hakd::worker {

// How a member joins its group.
struct GroupOptions {
  int rank = 0;                // 0..world_size-1. Default 0.
  int world_size = 1;          // Default 1.
  std::string master_host;     // rank 0's address (its TCPStore). Required.
  int master_port = 0;         // rank 0's TCPStore port. Required.
  // This member's own address: Gloo binds its device there. Default
  // "127.0.0.1".
  std::string host = "127.0.0.1";
  // Names this group's keys in the store, e.g. "task-7-attempt-2". Default
  // "hakd".
  std::string prefix = "hakd";
  // "cpu" (Gloo) or "cuda:N" (NCCL, in CUDA builds with NCCL). Default "cpu".
  std::string device = "cpu";
  // Rendezvous and collective timeout. Default 120000 ms.
  int timeout_ms = 120000;
};

// A collective failed (a member died, hung past the timeout, or the
// network broke).
class GroupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class DataParallelGroup {
 public:
  // Rendezvous: rank 0 serves the TCPStore on master_port and waits for
  // the others (up to timeout_ms); then the process group connects every
  // pair. UNAVAILABLE when the rendezvous fails, UNIMPLEMENTED for CUDA in
  // a build without NCCL, INVALID_ARGUMENT for bad options.
  static absl::StatusOr<std::unique_ptr<DataParallelGroup>> Connect(
      const GroupOptions& options);
  ~DataParallelGroup();
  DataParallelGroup(const DataParallelGroup&) = delete;
  DataParallelGroup& operator=(const DataParallelGroup&) = delete;

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  // "gloo" or "nccl".
  const std::string& backend() const { return backend_; }

  // Sums `tensors` across the group in place, as one flattened buffer per
  // dtype (one collective for all of a step's gradients). Throws GroupError.
  void AllReduceSum(const std::vector<at::Tensor>& tensors);
  // Copies rank `root`'s `tensors` into every member's. Throws GroupError.
  void Broadcast(const std::vector<at::Tensor>& tensors, int root = 0);
  // Waits until every member arrives. Throws GroupError.
  void Barrier();

 private:
  struct State;
  DataParallelGroup(int rank, int world_size, std::string backend,
                    std::unique_ptr<State> state);
  // Runs `collective` on one flattened copy of `tensors` per dtype and
  // copies the result back; any failure becomes GroupError naming `what`.
  void OnFlattened(const std::vector<at::Tensor>& tensors, const char* what,
                   const std::function<void(std::vector<at::Tensor>&)>& collective);

  const int rank_;
  const int world_size_;
  const std::string backend_;
  std::unique_ptr<State> state_;
};

}  // namespace hakd::worker

#endif  // HAKD_WORKER_DATA_PARALLEL_H_
