#include "cli/rpc_errors.h"

#include "absl/strings/str_cat.h"
#include "cli/errors.h"
#include "common/status_grpc.h"

namespace hakd::cli {

absl::Status RpcFailure(const grpc::Status& status, const CallTarget& target,
                        absl::string_view action) {
  if (status.ok()) return absl::OkStatus();
  const absl::Status base = FromGrpcStatus(status);
  const std::string& detail = status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return WithExitCode(
          absl::Status(base.code(),
                       absl::StrCat("cannot reach the coordinator at ",
                                    target.server, ": ", detail)),
          kExitUnavailable);
    case grpc::StatusCode::UNAUTHENTICATED:
      return WithExitCode(
          absl::Status(base.code(),
                       absl::StrCat("the coordinator refused the token in ",
                                    target.token_file, " (unauthenticated)")),
          kExitAuth);
    case grpc::StatusCode::PERMISSION_DENIED:
      return WithExitCode(
          absl::Status(base.code(), absl::StrCat("permission denied (", action, "): ",
                                                 detail)),
          kExitAuth);
    case grpc::StatusCode::NOT_FOUND:
      return WithExitCode(
          absl::Status(base.code(), detail.empty() ? "not found" : detail),
          kExitNotFound);
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return WithExitCode(
          absl::Status(
              base.code(),
              absl::StrCat("DEADLINE_EXCEEDED: no answer from the "
                           "coordinator at ",
                           target.server, " within ", target.timeout_seconds,
                           " s (see --timeout)")),
          kExitFailure);
    default:
      return WithExitCode(
          absl::Status(base.code(),
                       absl::StrCat(absl::StatusCodeToString(base.code()), ": ",
                                    detail)),
          kExitFailure);
  }
}

}  // namespace hakd::cli
