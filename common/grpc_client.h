// Client-side connection set-up shared by the agent, the CLI and benchmarks:
// one place decides TLS, message limits and how the bearer token travels.
#ifndef HAKD_COMMON_GRPC_CLIENT_H_
#define HAKD_COMMON_GRPC_CLIENT_H_

#include <memory>
#include <string>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "absl/status/statusor.h"

namespace hakd {

// How a client reaches the coordinator.
struct ClientOptions {
  // host:port of the coordinator. Default: the local coordinator.
  std::string server = "127.0.0.1:50051";
  // PEM file of the CA that signed the coordinator's certificate. Empty (the
  // default) means plaintext, which is refused for non-loopback servers unless
  // allow_insecure is set, so a token never crosses a network in clear.
  std::string tls_ca_file;
  // PEM client certificate chain and key for mutual TLS (both or neither;
  // needs tls_ca_file). The coordinator then knows the client by the
  // certificate's common name and no token is needed. Default: none.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Name expected in the coordinator's certificate; default: the host part.
  std::string tls_server_name;
  // Permit plaintext to a non-loopback server. Default false.
  bool allow_insecure = false;
  // Largest message accepted from the coordinator. Default 16 MiB.
  int max_receive_message_bytes = 16 << 20;
  // gRPC keepalive ping period, 0 disables. Default 20 s, so a dead link is
  // noticed even when nothing is being sent.
  int keepalive_ms = 20000;
};

// Returns a channel to options.server, or INVALID_ARGUMENT when the address
// or TLS files are unusable.
absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateClientChannel(
    const ClientOptions& options);

// Reads a token file: the token is the file's content without surrounding
// white space. Errors name the file (NOT_FOUND, PERMISSION_DENIED,
// INVALID_ARGUMENT for an empty or malformed token).
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// Attaches the bearer token to one call; nothing when `token` is empty (a
// client authenticated by its TLS certificate).
void AddBearerToken(grpc::ClientContext* context, const std::string& token);

// True when host:port names a loopback address (127.0.0.0/8, ::1, localhost).
bool IsLoopbackAddress(const std::string& address);

}  // namespace hakd

#endif  // HAKD_COMMON_GRPC_CLIENT_H_
