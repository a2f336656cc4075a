// Worker's part in data-parallel groups: offering a port, waiting for the
// group to form (renewing the member lease through AwaitGroup), and joining
// it through c10d. The coordinator's side is server/training_groups.cc.
#include <chrono>

#include <grpcpp/client_context.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/free_port.h"
#include "common/log.h"
#include "common/status_grpc.h"
#include "worker/worker.h"

namespace hakd::worker {
namespace {

namespace v1 = hakd::v1;

// How often a forming group's members ask whether it is complete.
constexpr int kGroupPollMs = 250;

}  // namespace

int Worker::OfferedGroupPort() const {
  if (!options_.data_parallel) return 0;
  return options_.group_port > 0 ? options_.group_port : PickFreeTcpPort();
}

absl::StatusOr<v1::GroupAssignment> Worker::WaitForGroup(
    const std::string& lease_id, int64_t task_id, v1::GroupAssignment a,
    int lease_ms) {
  auto last_renewed = std::chrono::steady_clock::now();
  int joined = a.joined();
  while (!a.ready()) {
    if (a.cancelled()) return absl::CancelledError("the task was cancelled");
    if (!Sleep(kGroupPollMs)) return absl::CancelledError("worker stopping");
    v1::AwaitGroupRequest request;
    request.set_lease_id(lease_id);
    v1::GroupAssignment next;
    grpc::ClientContext context;
    Context(&context, std::max(1000, lease_ms / 2));
    absl::Status st = FromGrpcStatus(stub_->AwaitGroup(&context, request, &next));
    if (!st.ok()) {
      if (st.code() == absl::StatusCode::kFailedPrecondition ||
          st.code() == absl::StatusCode::kNotFound ||
          st.code() == absl::StatusCode::kPermissionDenied) {
        return st;
      }
      // Transient: keep trying while the lease can still be alive.
      if (std::chrono::steady_clock::now() - last_renewed >
          std::chrono::milliseconds(lease_ms)) {
        return absl::UnavailableError(
            absl::StrCat("cannot reach the coordinator to wait for the group: ", st.message()));
      }
      continue;
    }
    last_renewed = std::chrono::steady_clock::now();
    a = next;
    if (a.joined() != joined) {
      joined = a.joined();
      hakd::LogLine("hakd-worker", absl::StrFormat("task %d: %d of %d group members joined", task_id,
                                                   a.joined(), a.world_size()));
    }
  }
  return a;
}

absl::StatusOr<std::unique_ptr<DataParallelGroup>> Worker::ConnectGroup(
    int64_t task_id, const v1::GroupAssignment& a) {
  GroupOptions o;
  o.rank = a.rank();
  o.world_size = a.world_size();
  o.master_host = a.master_host();
  o.master_port = a.master_port();
  o.host = a.host().empty() ? "127.0.0.1" : a.host();
  // A fresh key space per attempt: a restarted group never reads a broken
  // one's keys.
  o.prefix = absl::StrCat("task-", task_id, "-attempt-", a.attempt());
  o.device = options_.device;
  o.timeout_ms = options_.group_timeout_ms;
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<DataParallelGroup>> group = DataParallelGroup::Connect(o);
  if (group.ok()) {
    hakd::LogLine("hakd-worker",
                  absl::StrFormat("task %d: rank %d of %d connected (%s) in %.2f s", task_id, o.rank,
                                  o.world_size, (*group)->backend(),
                                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()));
  }
  return group;
}

}  // namespace hakd::worker
