// TrainingServiceImpl: users' side of the training queue — submit, watch,
// list and cancel training tasks, fetch artifacts, list workers.
#ifndef HAKD_SERVER_TRAINING_SERVICE_H_
#define HAKD_SERVER_TRAINING_SERVICE_H_

#include "hakd/v1/training.grpc.pb.h"
#include "server/artifact_store.h"
#include "server/auth.h"
#include "server/training_store.h"

namespace hakd {

class TrainingServiceImpl final : public hakd::v1::TrainingService::Service {
 public:
  // Every pointer must outlive the service.
  TrainingServiceImpl(const Authorizer* auth, TrainingStore* store,
                      ArtifactStore* artifacts)
      : auth_(auth), store_(store), artifacts_(artifacts) {}

  // Needs kControl. INVALID_ARGUMENT names the bad field; NOT_FOUND for an
  // unknown teacher artifact.
  grpc::Status SubmitTraining(grpc::ServerContext* context,
                              const hakd::v1::SubmitTrainingRequest* request,
                              hakd::v1::TrainingTask* response) override;
  // Needs kRead.
  grpc::Status GetTrainingTask(grpc::ServerContext* context,
                               const hakd::v1::GetTrainingTaskRequest* request,
                               hakd::v1::TrainingTask* response) override;
  // Needs kRead. Newest first, without epoch history.
  grpc::Status ListTrainingTasks(
      grpc::ServerContext* context,
      const hakd::v1::ListTrainingTasksRequest* request,
      hakd::v1::ListTrainingTasksResponse* response) override;
  // Needs kRead. The task now, again on every change (and at least every
  // 5 s), until it ends or the client or server goes away.
  grpc::Status WatchTrainingTask(
      grpc::ServerContext* context,
      const hakd::v1::GetTrainingTaskRequest* request,
      grpc::ServerWriter<hakd::v1::TrainingTask>* writer) override;
  // Needs kControl. FAILED_PRECONDITION for a task that has ended.
  grpc::Status CancelTrainingTask(
      grpc::ServerContext* context,
      const hakd::v1::GetTrainingTaskRequest* request,
      hakd::v1::TrainingTask* response) override;
  // Needs kRead. Header chunk, then 1 MiB data chunks.
  grpc::Status GetArtifact(
      grpc::ServerContext* context, const hakd::v1::GetArtifactRequest* request,
      grpc::ServerWriter<hakd::v1::ArtifactChunk>* writer) override;
  // Needs kRead.
  grpc::Status ListWorkers(grpc::ServerContext* context,
                           const hakd::v1::ListWorkersRequest* request,
                           hakd::v1::ListWorkersResponse* response) override;

 private:
  const Authorizer* const auth_;
  TrainingStore* const store_;
  ArtifactStore* const artifacts_;
};

}  // namespace hakd

#endif  // HAKD_SERVER_TRAINING_SERVICE_H_
