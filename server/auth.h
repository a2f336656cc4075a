// Bearer-token authentication and role-based authorisation.
//
// The auth file is text, one "ROLE TOKEN" pair per line; '#' starts a
// comment. Roles: agent (may only connect as an agent and send its own
// measurements), worker (may only call WorkerService: lease, report and
// upload training tasks), reader (queries, including training tasks,
// artifacts and workers), admin (everything).
#ifndef HAKD_SERVER_AUTH_H_
#define HAKD_SERVER_AUTH_H_

#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <utility>
#include <vector>

#include <grpcpp/server_context.h>

#include "absl/status/statusor.h"

namespace hakd {

enum class Role { kAgent, kReader, kAdmin, kWorker };

// What a call needs.
enum class Permission {
  kConnectAgent,  // AgentService.Connect
  kRead,          // queries of the latency database
  kControl,       // starting and cancelling sweeps and training tasks
  kWorker,        // WorkerService calls (training workers)
};

// Name of a role as the auth file spells it.
absl::string_view RoleName(Role role);

// The parsed auth file.
class AuthTable {
 public:
  // Parses auth-file text; `source` names it in errors ("auth.txt:3: ...").
  static absl::StatusOr<AuthTable> Parse(absl::string_view text,
                                         absl::string_view source);
  // Reads and parses a file.
  static absl::StatusOr<AuthTable> Load(const std::string& path);

  // The role of a token, compared in constant time; nullopt if unknown.
  std::optional<Role> RoleOf(absl::string_view token) const;
  size_t size() const { return entries_.size(); }

 private:
  std::vector<std::pair<std::string, Role>> entries_;
};

// True when `role` may do what `permission` guards.
bool RoleAllows(Role role, Permission permission);

// Checks each call's bearer token against an AuthTable.
class Authorizer {
 public:
  // With no table, every call is allowed (only for --no-auth on loopback).
  explicit Authorizer(std::optional<AuthTable> table) : table_(std::move(table)) {}

  // OK, UNAUTHENTICATED (no or unknown token) or PERMISSION_DENIED (the role
  // may not); `what` names the call in the message. On OK, *role (if given)
  // holds the caller's role.
  grpc::Status Check(const grpc::ServerContext* context, Permission permission,
                     absl::string_view what, Role* role = nullptr) const;

 private:
  std::optional<AuthTable> table_;
};

}  // namespace hakd

#endif  // HAKD_SERVER_AUTH_H_
