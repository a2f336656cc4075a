// Turns a failed call to the coordinator into the sentence and exit code the
// user sees. The same gRPC code means different things to a person depending
// on the call (which token, which server, what was attempted), so the context
// travels in.
#ifndef HAKD_CLI_RPC_ERRORS_H_
#define HAKD_CLI_RPC_ERRORS_H_

#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace hakd::cli {

// Where and with what credentials calls are made.
struct CallTarget {
  std::string server;          // host:port, named when it cannot be reached
  std::string token_file;      // named when the token is refused
  double timeout_seconds = 0;  // named when a deadline passes
};

// Returns the status to report for a failed call. `action` completes "may
// not ..." (e.g. "start sweeps"). OK stays OK.
//   UNAVAILABLE        -> "cannot reach the coordinator at ADDR: ..."   exit 3
//   UNAUTHENTICATED    -> "the coordinator refused the token in FILE
//                          (unauthenticated)"                         exit 4
//   PERMISSION_DENIED  -> "the token's role may not ACTION: ..."      exit 4
//   NOT_FOUND          -> the server's message                        exit 5
//   anything else      -> "CODE_NAME: message"                        exit 1
absl::Status RpcFailure(const grpc::Status& status, const CallTarget& target,
                        absl::string_view action);

}  // namespace hakd::cli

#endif  // HAKD_CLI_RPC_ERRORS_H_
