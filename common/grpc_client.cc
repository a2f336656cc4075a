#include "common/grpc_client.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace hakd {
namespace {

absl::StatusOr<std::string> ReadWholeFile(const std::string& path,
                                          absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    const std::string msg =
        absl::StrCat("cannot read ", what, " '", path, "': ", std::strerror(err));
    if (err == ENOENT) return absl::NotFoundError(msg);
    if (err == EACCES) return absl::PermissionDeniedError(msg);
    return absl::InvalidArgumentError(msg);
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Splits "host:port" / "[v6]:port" and returns the host part.
std::string HostOf(const std::string& address) {
  absl::string_view a = address;
  absl::ConsumePrefix(&a, "dns:///");
  absl::ConsumePrefix(&a, "ipv4:");
  absl::ConsumePrefix(&a, "ipv6:");
  if (absl::StartsWith(a, "[")) {
    const size_t end = a.find(']');
    return std::string(a.substr(1, end == absl::string_view::npos ? a.size() : end - 1));
  }
  const size_t colon = a.rfind(':');
  return std::string(colon == absl::string_view::npos ? a : a.substr(0, colon));
}

}  // namespace

bool IsLoopbackAddress(const std::string& address) {
  if (absl::StartsWith(address, "unix:")) return true;
  const std::string host = absl::AsciiStrToLower(HostOf(address));
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateClientChannel(
    const ClientOptions& options) {
  if (options.server.empty() || options.server.find(':') == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--server: expected host:port, got '", options.server, "'"));
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  if (options.keepalive_ms > 0) {
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, options.keepalive_ms);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  }
  // Reconnect quickly after a coordinator restart; callers add their own
  // backoff on top for whole-stream retries.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (!options.tls_ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadWholeFile(options.tls_ca_file, "--tls-ca");
    if (!ca.ok()) return ca.status();
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = *ca;
    if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
      return absl::InvalidArgumentError(
          "--tls-cert and --tls-key go together (the client certificate and "
          "its key)");
    }
    if (!options.tls_cert_file.empty()) {
      absl::StatusOr<std::string> cert =
          ReadWholeFile(options.tls_cert_file, "--tls-cert");
      if (!cert.ok()) return cert.status();
      absl::StatusOr<std::string> key =
          ReadWholeFile(options.tls_key_file, "--tls-key");
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = *cert;
      ssl.pem_private_key = *key;
    }
    creds = grpc::SslCredentials(ssl);
    if (!options.tls_server_name.empty()) {
      args.SetSslTargetNameOverride(options.tls_server_name);
    }
  } else {
    if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
      return absl::InvalidArgumentError(
          "--tls-cert/--tls-key need --tls-ca: a client certificate is only "
          "presented over TLS");
    }
    if (!options.allow_insecure && !IsLoopbackAddress(options.server)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--server ", options.server,
          " is not a loopback address: give --tls-ca to use TLS, or "
          "--allow-insecure to send the token in clear"));
    }
    creds = grpc::InsecureChannelCredentials();
  }
  return grpc::CreateCustomChannel(options.server, creds, args);
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError("--token-file: no token file given");
  }
  absl::StatusOr<std::string> content = ReadWholeFile(path, "token file");
  if (!content.ok()) return content.status();
  std::string token(absl::StripAsciiWhitespace(*content));
  if (token.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("token file '", path, "' is empty"));
  }
  for (char c : token) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c)) ||
        !absl::ascii_isprint(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "token file '", path,
          "' must hold just the token (one word of printable characters)"));
    }
  }
  return token;
}

void AddBearerToken(grpc::ClientContext* context, const std::string& token) {
  // Empty when the client authenticates with a certificate instead.
  if (token.empty()) return;
  context->AddMetadata("authorization", absl::StrCat("Bearer ", token));
}

}  // namespace hakd
