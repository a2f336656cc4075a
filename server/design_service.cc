#include "server/design_service.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_grpc.h"

namespace hakd {
namespace {

using grpc::Status;
using grpc::StatusCode;

constexpr int kDefaultListLimit = 100;
constexpr int kMaxListLimit = 10000;

#define HAKD_CHECK_AUTH(permission, what)                                \
  if (Status _st = auth_->Check(context, permission, what); !_st.ok()) { \
    return _st;                                                          \
  }

// For streaming calls: also holds one of the caller's stream slots until the
// handler returns.
#define HAKD_CHECK_STREAM_AUTH(permission, what)                             \
  StreamSlot _slot;                                                          \
  if (Status _st = auth_->CheckStream(context, permission, what, &_slot);    \
      !_st.ok()) {                                                           \
    return _st;                                                              \
  }

Status CheckJobId(int64_t job_id) {
  if (job_id <= 0) {
    return Status(StatusCode::INVALID_ARGUMENT,
                  absl::StrCat("job_id: must be positive, got ", job_id));
  }
  return Status::OK;
}

bool Ended(hakd::v1::DesignState state) {
  return state != hakd::v1::DESIGN_RUNNING;
}

}  // namespace

Status DesignServiceImpl::SubmitDesign(
    grpc::ServerContext* context, const hakd::v1::SubmitDesignRequest* request,
    hakd::v1::DesignJob* response) {
  HAKD_CHECK_AUTH(Permission::kControl, "submit design jobs");
  if (!request->has_spec()) {
    return Status(StatusCode::INVALID_ARGUMENT, "spec: is missing");
  }
  absl::StatusOr<hakd::v1::DesignJob> job = manager_->Submit(request->spec());
  if (!job.ok()) return ToGrpcStatus(job.status());
  *response = *std::move(job);
  return Status::OK;
}

Status DesignServiceImpl::GetDesign(grpc::ServerContext* context,
                                    const hakd::v1::GetDesignRequest* request,
                                    hakd::v1::DesignJob* response) {
  HAKD_CHECK_AUTH(Permission::kRead, "read design jobs");
  if (Status st = CheckJobId(request->job_id()); !st.ok()) return st;
  absl::StatusOr<hakd::v1::DesignJob> job = store_->Get(request->job_id());
  if (!job.ok()) return ToGrpcStatus(job.status());
  *response = *std::move(job);
  return Status::OK;
}

Status DesignServiceImpl::ListDesigns(
    grpc::ServerContext* context, const hakd::v1::ListDesignsRequest* request,
    hakd::v1::ListDesignsResponse* response) {
  HAKD_CHECK_AUTH(Permission::kRead, "list design jobs");
  if (request->limit() < 0 || request->limit() > kMaxListLimit) {
    return Status(StatusCode::INVALID_ARGUMENT,
                  absl::StrCat("limit: ", request->limit(), " is not in [1, ",
                               kMaxListLimit, "] (0: default ",
                               kDefaultListLimit, ")"));
  }
  absl::StatusOr<std::vector<hakd::v1::DesignJob>> jobs = store_->List(
      request->limit() == 0 ? kDefaultListLimit : request->limit());
  if (!jobs.ok()) return ToGrpcStatus(jobs.status());
  for (hakd::v1::DesignJob& job : *jobs) {
    // Listings stay small: no saliency, only the networks that were trained.
    job.clear_saliency();
    hakd::v1::DesignJob slim = job;
    slim.clear_candidates();
    for (const hakd::v1::Candidate& c : job.candidates()) {
      if (c.selected()) *slim.add_candidates() = c;
    }
    *response->add_jobs() = std::move(slim);
  }
  return Status::OK;
}

Status DesignServiceImpl::WatchDesign(
    grpc::ServerContext* context, const hakd::v1::GetDesignRequest* request,
    grpc::ServerWriter<hakd::v1::DesignJob>* writer) {
  HAKD_CHECK_STREAM_AUTH(Permission::kRead, "watch design jobs");
  if (Status st = CheckJobId(request->job_id()); !st.ok()) return st;
  int64_t version = store_->version();
  std::string last_sent;
  absl::Time last_write = absl::InfinitePast();
  while (!context->IsCancelled()) {
    absl::StatusOr<hakd::v1::DesignJob> job = store_->Get(request->job_id());
    if (!job.ok()) return ToGrpcStatus(job.status());
    // Resend at least every 5 s so a client can tell a stalled job from a
    // dead stream.
    const std::string encoded = job->SerializeAsString();
    if (encoded != last_sent || absl::Now() - last_write > absl::Seconds(5)) {
      if (!writer->Write(*job)) return Status(StatusCode::CANCELLED, "client gone");
      last_sent = encoded;
      last_write = absl::Now();
    }
    if (Ended(job->state())) return Status::OK;
    store_->WaitForChange(&version, absl::Milliseconds(500));
  }
  return Status(StatusCode::CANCELLED, "watch cancelled");
}

Status DesignServiceImpl::CancelDesign(grpc::ServerContext* context,
                                       const hakd::v1::GetDesignRequest* request,
                                       hakd::v1::DesignJob* response) {
  HAKD_CHECK_AUTH(Permission::kControl, "cancel design jobs");
  if (Status st = CheckJobId(request->job_id()); !st.ok()) return st;
  absl::StatusOr<hakd::v1::DesignJob> job = manager_->Cancel(request->job_id());
  if (!job.ok()) return ToGrpcStatus(job.status());
  *response = *std::move(job);
  return Status::OK;
}

}  // namespace hakd
