#include "server/training_service.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_grpc.h"
#include "common/time_util.h"
#include "server/training_validation.h"

namespace hakd {
namespace {

using grpc::Status;
using grpc::StatusCode;

constexpr int kDefaultListLimit = 100;
constexpr int kMaxListLimit = 10000;

#define HAKD_CHECK_AUTH(permission, what)                                   \
  if (Status _st = auth_->Check(context, permission, what); !_st.ok()) {    \
    return _st;                                                             \
  }

// For streaming calls: also holds one of the caller's stream slots until the
// handler returns.
#define HAKD_CHECK_STREAM_AUTH(permission, what)                             \
  StreamSlot _slot;                                                          \
  if (Status _st = auth_->CheckStream(context, permission, what, &_slot);    \
      !_st.ok()) {                                                           \
    return _st;                                                              \
  }

Status CheckTaskId(int64_t task_id) {
  if (task_id <= 0) {
    return Status(StatusCode::INVALID_ARGUMENT,
                  absl::StrCat("task_id: must be positive, got ", task_id));
  }
  return Status::OK;
}

bool IsTerminal(hakd::v1::TaskState state) {
  return state == hakd::v1::TASK_SUCCEEDED ||
         state == hakd::v1::TASK_FAILED || state == hakd::v1::TASK_CANCELLED;
}

}  // namespace

Status TrainingServiceImpl::SubmitTraining(
    grpc::ServerContext* context, const hakd::v1::SubmitTrainingRequest* request,
    hakd::v1::TrainingTask* response) {
  HAKD_CHECK_AUTH(Permission::kControl, "submit training tasks");
  if (absl::Status st = ValidateSubmitTraining(*request); !st.ok()) {
    return ToGrpcStatus(st);
  }
  absl::StatusOr<hakd::v1::TrainingTask> task =
      store_->Submit(request->spec(), request->max_attempts(), NowUnixMs());
  if (!task.ok()) return ToGrpcStatus(task.status());
  *response = *std::move(task);
  return Status::OK;
}

Status TrainingServiceImpl::GetTrainingTask(
    grpc::ServerContext* context, const hakd::v1::GetTrainingTaskRequest* request,
    hakd::v1::TrainingTask* response) {
  HAKD_CHECK_AUTH(Permission::kRead, "read training tasks");
  if (Status st = CheckTaskId(request->task_id()); !st.ok()) return st;
  absl::StatusOr<hakd::v1::TrainingTask> task = store_->GetTask(request->task_id());
  if (!task.ok()) return ToGrpcStatus(task.status());
  *response = *std::move(task);
  return Status::OK;
}

Status TrainingServiceImpl::ListTrainingTasks(
    grpc::ServerContext* context,
    const hakd::v1::ListTrainingTasksRequest* request,
    hakd::v1::ListTrainingTasksResponse* response) {
  HAKD_CHECK_AUTH(Permission::kRead, "list training tasks");
  if (request->limit() < 0 || request->limit() > kMaxListLimit) {
    return Status(StatusCode::INVALID_ARGUMENT,
                  absl::StrCat("limit: ", request->limit(), " is not in [1, ",
                               kMaxListLimit, "] (0: default ",
                               kDefaultListLimit, ")"));
  }
  if (!hakd::v1::TaskState_IsValid(request->state())) {
    return Status(StatusCode::INVALID_ARGUMENT,
                  absl::StrCat("state: unknown task state ", request->state()));
  }
  absl::StatusOr<std::vector<hakd::v1::TrainingTask>> tasks = store_->ListTasks(
      request->limit() == 0 ? kDefaultListLimit : request->limit(),
      request->state());
  if (!tasks.ok()) return ToGrpcStatus(tasks.status());
  for (hakd::v1::TrainingTask& t : *tasks) {
    *response->add_tasks() = std::move(t);
  }
  return Status::OK;
}

Status TrainingServiceImpl::WatchTrainingTask(
    grpc::ServerContext* context, const hakd::v1::GetTrainingTaskRequest* request,
    grpc::ServerWriter<hakd::v1::TrainingTask>* writer) {
  HAKD_CHECK_STREAM_AUTH(Permission::kRead, "watch training tasks");
  if (Status st = CheckTaskId(request->task_id()); !st.ok()) return st;
  int64_t version = store_->version();
  std::string last_sent;
  absl::Time last_write = absl::InfinitePast();
  while (!context->IsCancelled()) {
    absl::StatusOr<hakd::v1::TrainingTask> task =
        store_->GetTask(request->task_id());
    if (!task.ok()) return ToGrpcStatus(task.status());
    // Resend at least every 5 s so a client can tell a stalled task from a
    // dead stream.
    const std::string encoded = task->SerializeAsString();
    if (encoded != last_sent || absl::Now() - last_write > absl::Seconds(5)) {
      if (!writer->Write(*task)) return Status(StatusCode::CANCELLED, "client gone");
      last_sent = encoded;
      last_write = absl::Now();
    }
    if (IsTerminal(task->state())) return Status::OK;
    // Wakes on any task's change; the short timeout bounds how late a
    // cancelled client or a server shutdown is noticed.
    store_->WaitForChange(&version, absl::Milliseconds(500));
  }
  return Status(StatusCode::CANCELLED, "watch cancelled");
}

Status TrainingServiceImpl::CancelTrainingTask(
    grpc::ServerContext* context, const hakd::v1::GetTrainingTaskRequest* request,
    hakd::v1::TrainingTask* response) {
  HAKD_CHECK_AUTH(Permission::kControl, "cancel training tasks");
  if (Status st = CheckTaskId(request->task_id()); !st.ok()) return st;
  absl::StatusOr<hakd::v1::TrainingTask> task =
      store_->Cancel(request->task_id(), NowUnixMs());
  if (!task.ok()) return ToGrpcStatus(task.status());
  *response = *std::move(task);
  return Status::OK;
}

Status TrainingServiceImpl::GetArtifact(
    grpc::ServerContext* context, const hakd::v1::GetArtifactRequest* request,
    grpc::ServerWriter<hakd::v1::ArtifactChunk>* writer) {
  HAKD_CHECK_STREAM_AUTH(Permission::kRead, "read artifacts");
  if (absl::Status st = ValidateArtifactId(request->artifact_id(), "artifact_id");
      !st.ok()) {
    return ToGrpcStatus(st);
  }
  absl::StatusOr<ArtifactRecord> record =
      store_->GetArtifact(request->artifact_id());
  if (!record.ok()) return ToGrpcStatus(record.status());
  return ToGrpcStatus(artifacts_->Stream(
      *record, [writer](const hakd::v1::ArtifactChunk& chunk) {
        return writer->Write(chunk);
      }));
}

Status TrainingServiceImpl::ListWorkers(grpc::ServerContext* context,
                                        const hakd::v1::ListWorkersRequest*,
                                        hakd::v1::ListWorkersResponse* response) {
  HAKD_CHECK_AUTH(Permission::kRead, "list workers");
  absl::StatusOr<std::vector<hakd::v1::WorkerInfo>> workers =
      store_->ListWorkers(NowUnixMs());
  if (!workers.ok()) return ToGrpcStatus(workers.status());
  for (hakd::v1::WorkerInfo& w : *workers) *response->add_workers() = std::move(w);
  return Status::OK;
}

}  // namespace hakd
