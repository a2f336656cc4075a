// The worker process: registers with the coordinator, leases one training
// task at a time, keeps the lease alive while training, uploads a checkpoint
// after every epoch (the resume point if this worker dies) and the model at
// the end.
#ifndef HAKD_WORKER_WORKER_H_
#define HAKD_WORKER_WORKER_H_

#include <atomic>
#include <memory>
#include <string>

#include <grpcpp/channel.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "hakd/v1/training.grpc.pb.h"
#include "worker/training_job.h"
#include "worker/data_parallel.h"
#include "worker/worker_options.h"

namespace hakd::worker {

class Worker {
 public:
  // Validates options, reads the token, opens the channel.
  static absl::StatusOr<std::unique_ptr<Worker>> Create(const WorkerOptions& options);

  // Serves until Stop (OK) or until the coordinator refuses the worker
  // (UNAUTHENTICATED, PERMISSION_DENIED, INVALID_ARGUMENT). Transient
  // failures are retried with backoff.
  absl::Status Run();

  // Asks Run to return; a task in progress is handed back (retryable) at its
  // next step. Thread-safe.
  void Stop();

  // True once registered with the coordinator, until a call fails with
  // UNAVAILABLE (or the coordinator no longer knows the worker); true again
  // after the next registration. Readiness of --health-port. Thread-safe.
  bool connected() const { return connected_; }

 private:
  Worker(WorkerOptions options, std::string token, std::shared_ptr<grpc::Channel> channel);

  struct Lease;
  absl::Status Register();
  // Data-parallel groups (group_member.cc). The port this worker offers as
  // a group's rank 0 (0: it takes no group tasks).
  int OfferedGroupPort() const;
  // Waits, renewing the member lease through AwaitGroup, until every member
  // of the group in `assignment` joined. CANCELLED when the task was
  // cancelled or the worker stops; FAILED_PRECONDITION when the group
  // broke up or the lease was lost.
  absl::StatusOr<hakd::v1::GroupAssignment> WaitForGroup(
      const std::string& lease_id, int64_t task_id,
      hakd::v1::GroupAssignment assignment, int lease_ms);
  // Joins the ready group through c10d (rank 0 serves the TCPStore).
  absl::StatusOr<std::unique_ptr<DataParallelGroup>> ConnectGroup(
      int64_t task_id, const hakd::v1::GroupAssignment& assignment);
  // Leases and runs one task; false when the queue was empty.
  absl::StatusOr<bool> RunOneTask();
  absl::StatusOr<std::string> Download(const Lease& lease, const std::string& artifact_id);
  absl::StatusOr<hakd::v1::ArtifactInfo> Upload(const Lease& lease, const std::string& kind,
                                                const std::string& bytes);
  // Uploads the job's model (if it made one) and completes the task with
  // what its kind reports (saliency, pruned network, nonzero parameters).
  absl::Status Complete(Lease& lease, const hakd::v1::TrainingTask& task, const JobResult& result);
  void Context(grpc::ClientContext* context, int deadline_ms) const;
  bool Sleep(int ms);

  const WorkerOptions options_;
  const std::string token_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<hakd::v1::WorkerService::Stub> stub_;
  DatasetCache datasets_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};  // see connected()
  absl::Notification stopped_;
};

}  // namespace hakd::worker

#endif  // HAKD_WORKER_WORKER_H_
