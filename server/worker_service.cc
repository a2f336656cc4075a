#include "server/worker_service.h"

#include <memory>
#include <string>

#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/log.h"
#include "common/status_grpc.h"
#include "common/time_util.h"
#include "server/training_validation.h"

namespace hakd {
namespace {

using grpc::Status;
using grpc::StatusCode;

// Declares `who`, the authenticated caller.
#define HAKD_CHECK_AUTH(what)                                                \
  Principal who;                                                             \
  if (Status _st = auth_->Check(context, Permission::kWorker, what, &who);   \
      !_st.ok()) {                                                           \
    return _st;                                                              \
  }

// For streaming calls: also holds one of the caller's stream slots.
#define HAKD_CHECK_STREAM_AUTH(what)                                         \
  Principal who;                                                             \
  StreamSlot _slot;                                                          \
  if (Status _st = auth_->CheckStream(context, Permission::kWorker, what,    \
                                      &_slot, &who);                         \
      !_st.ok()) {                                                           \
    return _st;                                                              \
  }

#define HAKD_CHECK_HOLDS(lease_id)                                           \
  if (Status _st = CheckHolds(who, lease_id); !_st.ok()) return _st;

#define HAKD_CHECK_VALID(expr)                                               \
  if (absl::Status _st = (expr); !_st.ok()) return ToGrpcStatus(_st);

constexpr size_t kMaxErrorLength = 4096;

// The IP address in a gRPC peer string ("ipv4:10.0.0.5:4242",
// "ipv6:[::1]:4242", percent-encoded brackets in some versions); empty for
// other transports (unix sockets), which cannot host group members.
std::string PeerHost(std::string peer) {
  absl::string_view rest = peer;
  if (absl::ConsumePrefix(&rest, "ipv4:")) {
    return std::string(rest.substr(0, rest.rfind(':')));
  }
  if (absl::ConsumePrefix(&rest, "ipv6:")) {
    std::string host(rest.substr(0, rest.rfind(':')));
    host = absl::StrReplaceAll(host, {{"%5B", ""}, {"%5D", ""}, {"[", ""}, {"]", ""}});
    return host;
  }
  return "";
}

}  // namespace

Status WorkerServiceImpl::CheckHolds(const Principal& who,
                                     const std::string& lease_id) {
  if (who.role == Role::kAdmin) return Status::OK;
  absl::StatusOr<std::string> holder = store_->LeaseIdentity(lease_id);
  if (!holder.ok()) return ToGrpcStatus(holder.status());
  // Empty: a lease taken before identities were recorded (schema 6), which
  // its worker may finish after an upgrade.
  if (!holder->empty() && *holder != who.identity) {
    return Status(StatusCode::PERMISSION_DENIED,
                  absl::StrCat("lease_id: the lease is not held by '",
                               who.identity, "'; a worker may act only for "
                               "tasks it leased itself"));
  }
  return Status::OK;
}

Status WorkerServiceImpl::RegisterWorker(
    grpc::ServerContext* context, const hakd::v1::RegisterWorkerRequest* request,
    hakd::v1::RegisterWorkerResponse* response) {
  HAKD_CHECK_AUTH("register workers");
  HAKD_CHECK_VALID(ValidateWorkerName(request->name(), "name"));
  HAKD_CHECK_VALID(
      ValidateWorkerCapabilities(request->capabilities(), "capabilities"));
  HAKD_CHECK_VALID(store_->RegisterWorker(request->name(),
                                          request->capabilities(), NowUnixMs()));
  response->set_lease_ms(store_->lease_ms());
  return Status::OK;
}

Status WorkerServiceImpl::LeaseTask(grpc::ServerContext* context,
                                    const hakd::v1::LeaseTaskRequest* request,
                                    hakd::v1::LeaseTaskResponse* response) {
  HAKD_CHECK_AUTH("lease training tasks");
  HAKD_CHECK_VALID(ValidateWorkerName(request->worker(), "worker"));
  HAKD_CHECK_VALID(
      ValidateGroupJoin(request->group_host(), request->group_port(), ""));
  GroupJoin join;
  join.port = request->group_port();
  join.host = request->group_host().empty() ? PeerHost(context->peer())
                                            : request->group_host();
  absl::StatusOr<std::optional<LeaseGrant>> grant =
      store_->LeaseTask(request->worker(), NowUnixMs(), who.identity, join);
  if (!grant.ok()) return ToGrpcStatus(grant.status());
  response->set_lease_ms(store_->lease_ms());
  if (!grant->has_value()) {
    response->set_leased(false);
    return Status::OK;
  }
  LeaseGrant& g = **grant;
  if (g.group.has_value()) {
    LogLine("hakd-server",
            absl::StrCat("worker ", request->worker(), " joined training task ",
                         g.task.task_id(), "'s group as rank ", g.group->rank(),
                         " (", g.group->joined(), " of ",
                         g.group->world_size(), " joined",
                         g.group->ready() ? "; the group starts" : "", ")"));
    *response->mutable_group() = std::move(*g.group);
  } else {
    LogLine("hakd-server",
            absl::StrCat("training task ", g.task.task_id(), " leased to worker ",
                         request->worker(), " (attempt ", g.task.attempts(),
                         " of ", g.task.max_attempts(), ")"));
  }
  response->set_leased(true);
  response->set_lease_id(g.lease_id);
  *response->mutable_task() = std::move(g.task);
  return Status::OK;
}

Status WorkerServiceImpl::AwaitGroup(grpc::ServerContext* context,
                                     const hakd::v1::AwaitGroupRequest* request,
                                     hakd::v1::GroupAssignment* response) {
  HAKD_CHECK_AUTH("wait for training groups");
  HAKD_CHECK_VALID(ValidateLeaseId(request->lease_id(), "lease_id"));
  HAKD_CHECK_HOLDS(request->lease_id());
  absl::StatusOr<hakd::v1::GroupAssignment> a =
      store_->AwaitGroup(request->lease_id(), NowUnixMs());
  if (!a.ok()) return ToGrpcStatus(a.status());
  *response = std::move(*a);
  return Status::OK;
}

Status WorkerServiceImpl::ReportProgress(
    grpc::ServerContext* context, const hakd::v1::ReportProgressRequest* request,
    hakd::v1::ReportProgressResponse* response) {
  HAKD_CHECK_AUTH("report training progress");
  HAKD_CHECK_VALID(ValidateLeaseId(request->lease_id(), "lease_id"));
  HAKD_CHECK_HOLDS(request->lease_id());
  HAKD_CHECK_VALID(ValidateProgress(request->progress(), "progress"));
  const bool has_epoch = request->finished_epoch().epoch() != 0;
  if (has_epoch) {
    HAKD_CHECK_VALID(
        ValidateEpochMetrics(request->finished_epoch(), "finished_epoch"));
  }
  absl::StatusOr<bool> cancelled = store_->ReportProgress(
      request->lease_id(), request->progress(),
      has_epoch ? &request->finished_epoch() : nullptr, NowUnixMs());
  if (!cancelled.ok()) return ToGrpcStatus(cancelled.status());
  response->set_cancelled(*cancelled);
  return Status::OK;
}

Status WorkerServiceImpl::UploadArtifact(
    grpc::ServerContext* context,
    grpc::ServerReader<hakd::v1::ArtifactChunk>* reader,
    hakd::v1::ArtifactInfo* response) {
  HAKD_CHECK_STREAM_AUTH("upload artifacts");
  hakd::v1::ArtifactChunk chunk;
  if (!reader->Read(&chunk)) {
    return Status(StatusCode::INVALID_ARGUMENT,
                  "header: the stream ended before the header chunk");
  }
  if (!chunk.has_header()) {
    return Status(StatusCode::INVALID_ARGUMENT,
                  "header: the first chunk must be a header");
  }
  HAKD_CHECK_VALID(ValidateLeaseId(chunk.header().lease_id(), "header.lease_id"));
  HAKD_CHECK_HOLDS(chunk.header().lease_id());
  absl::StatusOr<std::unique_ptr<ArtifactUpload>> upload =
      artifacts_->BeginUpload(chunk.header(), NowUnixMs());
  if (!upload.ok()) return ToGrpcStatus(upload.status());
  while (reader->Read(&chunk)) {
    if (!chunk.has_data()) {
      return Status(StatusCode::INVALID_ARGUMENT,
                    "data: every chunk after the header must be data");
    }
    HAKD_CHECK_VALID((*upload)->Append(chunk.data()));
  }
  if (context->IsCancelled()) {
    return Status(StatusCode::CANCELLED, "upload cancelled by the client");
  }
  absl::StatusOr<ArtifactRecord> record = (*upload)->Finish(NowUnixMs());
  if (!record.ok()) return ToGrpcStatus(record.status());
  LogLine("hakd-server",
          absl::StrCat("artifact ", record->artifact_id, " (", record->kind, ", ",
                       record->size_bytes, " bytes) of training task ",
                       record->task_id, " stored"));
  *response = record->ToInfo();
  return Status::OK;
}

Status WorkerServiceImpl::DownloadArtifact(
    grpc::ServerContext* context, const hakd::v1::DownloadArtifactRequest* request,
    grpc::ServerWriter<hakd::v1::ArtifactChunk>* writer) {
  HAKD_CHECK_STREAM_AUTH("download artifacts");
  HAKD_CHECK_VALID(ValidateLeaseId(request->lease_id(), "lease_id"));
  HAKD_CHECK_HOLDS(request->lease_id());
  HAKD_CHECK_VALID(ValidateArtifactId(request->artifact_id(), "artifact_id"));
  absl::StatusOr<ArtifactRecord> record = artifacts_->ForWorker(
      request->lease_id(), request->artifact_id(), NowUnixMs());
  if (!record.ok()) return ToGrpcStatus(record.status());
  return ToGrpcStatus(artifacts_->Stream(
      *record, [writer](const hakd::v1::ArtifactChunk& chunk) {
        return writer->Write(chunk);
      }));
}

Status WorkerServiceImpl::CompleteTask(
    grpc::ServerContext* context, const hakd::v1::CompleteTaskRequest* request,
    hakd::v1::CompleteTaskResponse*) {
  HAKD_CHECK_AUTH("complete training tasks");
  HAKD_CHECK_VALID(ValidateLeaseId(request->lease_id(), "lease_id"));
  HAKD_CHECK_HOLDS(request->lease_id());
  // Empty for a saliency task; the store checks what each kind must send.
  if (!request->model_artifact_id().empty()) {
    HAKD_CHECK_VALID(
        ValidateArtifactId(request->model_artifact_id(), "model_artifact_id"));
  }
  HAKD_CHECK_VALID(store_->Complete(*request, NowUnixMs()));
  return Status::OK;
}

Status WorkerServiceImpl::FailTask(grpc::ServerContext* context,
                                   const hakd::v1::FailTaskRequest* request,
                                   hakd::v1::FailTaskResponse* response) {
  HAKD_CHECK_AUTH("fail training tasks");
  HAKD_CHECK_VALID(ValidateLeaseId(request->lease_id(), "lease_id"));
  HAKD_CHECK_HOLDS(request->lease_id());
  if (request->error().size() > kMaxErrorLength) {
    return Status(StatusCode::INVALID_ARGUMENT,
                  absl::StrCat("error: ", request->error().size(),
                               " bytes; at most ", kMaxErrorLength));
  }
  absl::StatusOr<bool> will_retry = store_->Fail(
      request->lease_id(), request->error(), request->retryable(), NowUnixMs());
  if (!will_retry.ok()) return ToGrpcStatus(will_retry.status());
  response->set_will_retry(*will_retry);
  return Status::OK;
}

}  // namespace hakd
