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

 private:
  Worker(WorkerOptions options, std::string token, std::shared_ptr<grpc::Channel> channel);

  struct Lease;
  absl::Status Register();
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
  absl::Notification stopped_;
};

}  // namespace hakd::worker

#endif  // HAKD_WORKER_WORKER_H_
