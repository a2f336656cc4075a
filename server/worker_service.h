// WorkerServiceImpl: training workers' side of the queue — register, lease
// a task, report progress (which renews the lease), upload and download
// artifacts, complete or fail the task. Every call needs Permission::kWorker.
#ifndef HAKD_SERVER_WORKER_SERVICE_H_
#define HAKD_SERVER_WORKER_SERVICE_H_

#include "hakd/v1/training.grpc.pb.h"
#include "server/artifact_store.h"
#include "server/auth.h"
#include "server/training_store.h"

namespace hakd {

class WorkerServiceImpl final : public hakd::v1::WorkerService::Service {
 public:
  // Every pointer must outlive the service.
  WorkerServiceImpl(const Authorizer* auth, TrainingStore* store,
                    ArtifactStore* artifacts)
      : auth_(auth), store_(store), artifacts_(artifacts) {}

  // Validates the name and capabilities and upserts the worker.
  grpc::Status RegisterWorker(grpc::ServerContext* context,
                              const hakd::v1::RegisterWorkerRequest* request,
                              hakd::v1::RegisterWorkerResponse* response) override;
  // The oldest queued task under a new lease, or leased = false.
  grpc::Status LeaseTask(grpc::ServerContext* context,
                         const hakd::v1::LeaseTaskRequest* request,
                         hakd::v1::LeaseTaskResponse* response) override;
  // Renews the lease; FAILED_PRECONDITION once it is lost.
  grpc::Status ReportProgress(grpc::ServerContext* context,
                              const hakd::v1::ReportProgressRequest* request,
                              hakd::v1::ReportProgressResponse* response) override;
  // Header chunk, then data; acknowledged only once verified and indexed.
  grpc::Status UploadArtifact(grpc::ServerContext* context,
                              grpc::ServerReader<hakd::v1::ArtifactChunk>* reader,
                              hakd::v1::ArtifactInfo* response) override;
  // A model, or a checkpoint of the task the lease holds.
  grpc::Status DownloadArtifact(
      grpc::ServerContext* context,
      const hakd::v1::DownloadArtifactRequest* request,
      grpc::ServerWriter<hakd::v1::ArtifactChunk>* writer) override;
  grpc::Status CompleteTask(grpc::ServerContext* context,
                            const hakd::v1::CompleteTaskRequest* request,
                            hakd::v1::CompleteTaskResponse* response) override;
  grpc::Status FailTask(grpc::ServerContext* context,
                        const hakd::v1::FailTaskRequest* request,
                        hakd::v1::FailTaskResponse* response) override;
  grpc::Status AwaitGroup(grpc::ServerContext* context,
                          const hakd::v1::AwaitGroupRequest* request,
                          hakd::v1::GroupAssignment* response) override;

 private:
  // OK when `who` took `lease_id` (or is an admin); PERMISSION_DENIED when
  // another identity holds it, so one worker's token cannot report, upload
  // or finish for another's task.
  grpc::Status CheckHolds(const Principal& who, const std::string& lease_id);

  const Authorizer* const auth_;
  TrainingStore* const store_;
  ArtifactStore* const artifacts_;
};

}  // namespace hakd

#endif  // HAKD_SERVER_WORKER_SERVICE_H_
