// Authentication (bearer tokens or client certificates) and role-based
// authorisation.
//
// The auth file is text, one principal per line; '#' starts a comment:
//
//   ROLE CREDENTIAL [name=IDENTITY] [device=DEVICE]
//
// ROLE is agent, worker, reader or admin. CREDENTIAL is either
// "sha256:<64 hex>", the SHA-256 of a bearer token (tokens are never stored
// in clear, so a leaked auth file does not let anyone in), or "cert:<CN>",
// a client certificate whose subject common name is CN, signed by the CA
// given to the coordinator (mutual TLS). IDENTITY names the principal in
// logs, limits and leases; default "token-<first 12 hex of the digest>" or
// the certificate's CN. DEVICE binds an agent to one device name: it may
// then connect, and so write measurements, only as that device.
//
// Roles: agent (may only connect as an agent and send its own
// measurements), worker (may only call WorkerService, and only for tasks it
// holds), reader (queries, including training tasks, artifacts and
// workers), admin (everything).
#ifndef HAKD_SERVER_AUTH_H_
#define HAKD_SERVER_AUTH_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/server_context.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/stream_limiter.h"

namespace hakd {

enum class Role { kAgent, kReader, kAdmin, kWorker };

// What a call needs.
enum class Permission {
  kConnectAgent,  // AgentService.Connect
  kRead,          // queries of the latency database
  kControl,       // starting and cancelling sweeps and training tasks
  kWorker,        // WorkerService calls (training workers)
  kAdmin,         // AdminService: backups and the like
};

// Name of a role as the auth file spells it.
absl::string_view RoleName(Role role);

// Who is calling, once authenticated.
struct Principal {
  Role role = Role::kAdmin;
  // Stable name of the caller: name= from the auth file, else
  // "token-<12 hex>" or the certificate's common name.
  std::string identity;
  // For an agent bound to one device, that device's name; empty otherwise.
  std::string device;
};

// The parsed auth file. Immutable once parsed, so safe to share.
class AuthTable {
 public:
  // Parses auth-file text; `source` names it in errors ("auth.txt:3: ...").
  static absl::StatusOr<AuthTable> Parse(absl::string_view text,
                                         absl::string_view source);
  // Reads and parses a file.
  static absl::StatusOr<AuthTable> Load(const std::string& path);

  // The principal a bearer token belongs to (its digest is compared in
  // constant time with every entry); nullopt if unknown.
  std::optional<Principal> FindToken(absl::string_view token) const;
  // The principal of a verified client certificate's common name; nullopt
  // if the auth file has no "cert:CN" line for it.
  std::optional<Principal> FindCertificate(absl::string_view common_name) const;
  // The role of a token; nullopt if unknown.
  std::optional<Role> RoleOf(absl::string_view token) const;
  // Lines parsed.
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    bool is_certificate = false;
    std::string credential;  // 32-byte digest, or the certificate CN
    Principal principal;
  };
  std::vector<Entry> entries_;
};

// True when `role` may do what `permission` guards.
bool RoleAllows(Role role, Permission permission);

// Checks each call's credentials against an AuthTable.
class Authorizer {
 public:
  // Default for max_streams_per_identity.
  static constexpr int kDefaultMaxStreamsPerIdentity = 64;

  // With no table, every call is allowed as admin (only for --no-auth on
  // loopback). Each identity may hold at most `max_streams_per_identity`
  // streaming calls open (see CheckStream).
  explicit Authorizer(std::optional<AuthTable> table,
                      int max_streams_per_identity = kDefaultMaxStreamsPerIdentity);

  // Replaces the table (an auth file read again, e.g. on SIGHUP): calls
  // checked after it returns use the new one; streams already open stay.
  // FAILED_PRECONDITION when built without a table (--no-auth).
  absl::Status Replace(AuthTable table);

  // OK, UNAUTHENTICATED (no or unknown credentials) or PERMISSION_DENIED
  // (the role may not); `what` names the call in the message. A verified
  // client certificate is used when the connection has one; otherwise the
  // "authorization: Bearer TOKEN" metadata. On OK, *who (if given) holds the
  // caller.
  grpc::Status Check(const grpc::ServerContext* context, Permission permission,
                     absl::string_view what, Principal* who = nullptr) const;

  // Check for a streaming call, which also takes one of the caller's stream
  // slots into *slot (held until the handler returns): RESOURCE_EXHAUSTED
  // naming the limit when the identity already holds all of them.
  grpc::Status CheckStream(const grpc::ServerContext* context,
                           Permission permission, absl::string_view what,
                           StreamSlot* slot, Principal* who = nullptr) const;

  // The per-identity stream caps (for tests and metrics).
  const StreamLimiter& streams() const { return streams_; }

 private:
  // The current table; null with --no-auth. Swapped whole by Replace.
  std::shared_ptr<const AuthTable> Table() const;

  mutable absl::Mutex mu_;
  std::shared_ptr<const AuthTable> table_ ABSL_GUARDED_BY(mu_);
  // Thread-safe on its own; mutable so that const checkers can count.
  mutable StreamLimiter streams_;
};

}  // namespace hakd

#endif  // HAKD_SERVER_AUTH_H_
