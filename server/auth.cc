#include "server/auth.h"

#include <fstream>
#include <sstream>

#include <grpcpp/security/auth_context.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/auth_token.h"
#include "common/sha256.h"

namespace hakd {
namespace {

constexpr absl::string_view kDigestPrefix = "sha256:";
constexpr absl::string_view kCertPrefix = "cert:";
// What gRPC's TLS layer calls the verified subject common name.
constexpr char kCommonNameProperty[] = "x509_common_name";

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

bool IsLowerHex(absl::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Identities, device names and certificate names (common/auth_token.h).
absl::Status CheckName(absl::string_view value, absl::string_view what,
                       absl::string_view where) {
  absl::Status st = ValidateAuthName(value);
  if (st.ok()) return st;
  return absl::InvalidArgumentError(absl::StrCat(where, what, " ", st.message()));
}

absl::StatusOr<Role> ParseRole(absl::string_view word, absl::string_view where) {
  if (word == "agent") return Role::kAgent;
  if (word == "reader") return Role::kReader;
  if (word == "admin") return Role::kAdmin;
  if (word == "worker") return Role::kWorker;
  return absl::InvalidArgumentError(absl::StrCat(
      where, "unknown role '", word, "' (agent, worker, reader or admin)"));
}

grpc::Status Unauthenticated(absl::string_view message) {
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string(message));
}

}  // namespace

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAgent: return "agent";
    case Role::kReader: return "reader";
    case Role::kAdmin: return "admin";
    case Role::kWorker: return "worker";
  }
  return "unknown";
}

absl::StatusOr<AuthTable> AuthTable::Parse(absl::string_view text,
                                           absl::string_view source) {
  AuthTable table;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    if (size_t hash = line.find('#'); hash != absl::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    std::vector<absl::string_view> words =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    const std::string where = absl::StrCat(source, ":", line_no, ": ");
    if (words.size() < 2 || words.size() > 4) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, "expected 'ROLE sha256:HEX|cert:CN [name=ID] [device=NAME]', got ",
          words.size(), " words"));
    }
    absl::StatusOr<Role> role = ParseRole(words[0], where);
    if (!role.ok()) return role.status();
    Entry entry;
    entry.principal.role = *role;
    absl::string_view credential = words[1];
    if (absl::ConsumePrefix(&credential, kDigestPrefix)) {
      if (credential.size() != 64 || !IsLowerHex(credential)) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, "a token digest is 'sha256:' and 64 lowercase hex digits"));
      }
      entry.credential = absl::HexStringToBytes(credential);
      entry.principal.identity =
          absl::StrCat("token-", credential.substr(0, 12));
    } else if (absl::ConsumePrefix(&credential, kCertPrefix)) {
      if (absl::Status st = CheckName(credential, "a certificate common name", where);
          !st.ok()) {
        return st;
      }
      entry.is_certificate = true;
      entry.credential = std::string(credential);
      entry.principal.identity = std::string(credential);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          where,
          "tokens are not stored in clear: give 'sha256:' and the token's "
          "SHA-256 digest (`hakdctl admin token create --role ROLE` makes a "
          "token and its line; `printf %s TOKEN | sha256sum` digests an "
          "existing one), or 'cert:CN' for a client certificate"));
    }
    for (size_t i = 2; i < words.size(); ++i) {
      absl::string_view option = words[i];
      if (absl::ConsumePrefix(&option, "name=")) {
        if (absl::Status st = CheckName(option, "name=", where); !st.ok()) return st;
        entry.principal.identity = std::string(option);
      } else if (absl::ConsumePrefix(&option, "device=")) {
        if (*role != Role::kAgent) {
          return absl::InvalidArgumentError(
              absl::StrCat(where, "device= binds agents only, not role '",
                           words[0], "'"));
        }
        if (absl::Status st = CheckName(option, "device=", where); !st.ok()) return st;
        entry.principal.device = std::string(option);
      } else {
        return absl::InvalidArgumentError(absl::StrCat(
            where, "unknown option '", words[i], "' (name=ID or device=NAME)"));
      }
    }
    for (const Entry& other : table.entries_) {
      if (other.is_certificate == entry.is_certificate &&
          other.credential == entry.credential) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, "credential appears twice"));
      }
      if (other.principal.identity == entry.principal.identity) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, "identity '", entry.principal.identity, "' appears twice"));
      }
    }
    table.entries_.push_back(std::move(entry));
  }
  if (table.entries_.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": holds no credential, so nobody could connect"));
  }
  return table;
}

absl::StatusOr<AuthTable> AuthTable::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("--auth-file: cannot read '", path, "'"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

std::optional<Principal> AuthTable::FindToken(absl::string_view token) const {
  Sha256 hash;
  hash.Update(token);
  const std::string digest = hash.FinishRaw();
  std::optional<Principal> found;
  // Visit every entry so timing does not reveal which one matched.
  for (const Entry& entry : entries_) {
    if (!entry.is_certificate && ConstantTimeEquals(entry.credential, digest)) {
      found = entry.principal;
    }
  }
  return found;
}

std::optional<Principal> AuthTable::FindCertificate(
    absl::string_view common_name) const {
  for (const Entry& entry : entries_) {
    if (entry.is_certificate && entry.credential == common_name) {
      return entry.principal;
    }
  }
  return std::nullopt;
}

std::optional<Role> AuthTable::RoleOf(absl::string_view token) const {
  std::optional<Principal> p = FindToken(token);
  if (!p.has_value()) return std::nullopt;
  return p->role;
}

bool RoleAllows(Role role, Permission permission) {
  if (role == Role::kAdmin) return true;
  switch (permission) {
    case Permission::kConnectAgent: return role == Role::kAgent;
    case Permission::kRead: return role == Role::kReader;
    case Permission::kControl: return false;
    case Permission::kWorker: return role == Role::kWorker;
    case Permission::kAdmin: return false;
  }
  return false;
}

Authorizer::Authorizer(std::optional<AuthTable> table,
                       int max_streams_per_identity)
    : streams_(max_streams_per_identity) {
  if (table.has_value()) {
    table_ = std::make_shared<const AuthTable>(*std::move(table));
  }
}

absl::Status Authorizer::Replace(AuthTable table) {
  absl::MutexLock lock(&mu_);
  if (table_ == nullptr) {
    return absl::FailedPreconditionError(
        "the coordinator runs with --no-auth: there is no auth file to reload");
  }
  table_ = std::make_shared<const AuthTable>(std::move(table));
  return absl::OkStatus();
}

std::shared_ptr<const AuthTable> Authorizer::Table() const {
  absl::MutexLock lock(&mu_);
  return table_;
}

grpc::Status Authorizer::Check(const grpc::ServerContext* context,
                               Permission permission, absl::string_view what,
                               Principal* who) const {
  const std::shared_ptr<const AuthTable> table = Table();
  if (table == nullptr) {
    if (who != nullptr) *who = Principal{Role::kAdmin, "no-auth", ""};
    return grpc::Status::OK;
  }
  std::optional<Principal> found;
  // A verified client certificate (mutual TLS) is the caller's identity.
  std::shared_ptr<const grpc::AuthContext> auth = context->auth_context();
  if (auth != nullptr && auth->IsPeerAuthenticated()) {
    std::vector<grpc::string_ref> names =
        auth->FindPropertyValues(kCommonNameProperty);
    if (names.empty()) {
      return Unauthenticated("client certificate has no subject common name");
    }
    const absl::string_view cn(names.front().data(), names.front().size());
    found = table->FindCertificate(cn);
    if (!found.has_value()) {
      return Unauthenticated(absl::StrCat(
          "client certificate CN '", cn, "' has no 'cert:' line in the auth file"));
    }
  } else {
    const auto& metadata = context->client_metadata();
    auto it = metadata.find("authorization");
    if (it == metadata.end()) {
      return Unauthenticated(
          "missing 'authorization: Bearer TOKEN' metadata or client certificate");
    }
    absl::string_view value(it->second.data(), it->second.size());
    if (!absl::ConsumePrefix(&value, "Bearer ")) {
      return Unauthenticated("authorization metadata must be 'Bearer TOKEN'");
    }
    found = table->FindToken(value);
    if (!found.has_value()) return Unauthenticated("unknown token");
  }
  if (!RoleAllows(found->role, permission)) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        absl::StrCat("role '", RoleName(found->role), "' (",
                                     found->identity, ") may not ", what));
  }
  if (who != nullptr) *who = std::move(*found);
  return grpc::Status::OK;
}

grpc::Status Authorizer::CheckStream(const grpc::ServerContext* context,
                                     Permission permission,
                                     absl::string_view what, StreamSlot* slot,
                                     Principal* who) const {
  Principal caller;
  if (grpc::Status st = Check(context, permission, what, &caller); !st.ok()) {
    return st;
  }
  absl::StatusOr<StreamSlot> acquired = streams_.Acquire(caller.identity);
  if (!acquired.ok()) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        std::string(acquired.status().message()));
  }
  *slot = *std::move(acquired);
  if (who != nullptr) *who = std::move(caller);
  return grpc::Status::OK;
}

}  // namespace hakd
