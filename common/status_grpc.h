// Conversions between absl::Status (used inside every module) and grpc::Status
// (used on the wire). The codes share numbering, so the mapping is exact.
#ifndef HAKD_COMMON_STATUS_GRPC_H_
#define HAKD_COMMON_STATUS_GRPC_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace hakd {

// Returns the gRPC status carrying the same code and message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Returns the absl status carrying the same code and message.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace hakd

#endif  // HAKD_COMMON_STATUS_GRPC_H_
