#include "server/auth.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace hakd {
namespace {

// Tokens shorter than this are refused: they can be guessed.
constexpr size_t kMinTokenLength = 16;

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
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
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    const std::string where = absl::StrCat(source, ":", line_no, ": ");
    if (words.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "expected 'ROLE TOKEN', got ", words.size(), " words"));
    }
    Role role;
    if (words[0] == "agent") {
      role = Role::kAgent;
    } else if (words[0] == "reader") {
      role = Role::kReader;
    } else if (words[0] == "admin") {
      role = Role::kAdmin;
    } else if (words[0] == "worker") {
      role = Role::kWorker;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          where, "unknown role '", words[0],
          "' (agent, worker, reader or admin)"));
    }
    if (words[1].size() < kMinTokenLength) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, "token is shorter than ", kMinTokenLength, " characters"));
    }
    for (const auto& [token, unused] : table.entries_) {
      if (token == words[1]) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, "token appears twice"));
      }
    }
    table.entries_.emplace_back(std::string(words[1]), role);
  }
  if (table.entries_.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": holds no token, so nobody could connect"));
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

std::optional<Role> AuthTable::RoleOf(absl::string_view token) const {
  std::optional<Role> found;
  // Visit every entry so timing does not reveal which one matched.
  for (const auto& [candidate, role] : entries_) {
    if (ConstantTimeEquals(candidate, token)) found = role;
  }
  return found;
}

bool RoleAllows(Role role, Permission permission) {
  if (role == Role::kAdmin) return true;
  switch (permission) {
    case Permission::kConnectAgent: return role == Role::kAgent;
    case Permission::kRead: return role == Role::kReader;
    case Permission::kControl: return false;
    case Permission::kWorker: return role == Role::kWorker;
  }
  return false;
}

grpc::Status Authorizer::Check(const grpc::ServerContext* context,
                               Permission permission, absl::string_view what,
                               Role* role) const {
  if (!table_.has_value()) {
    if (role != nullptr) *role = Role::kAdmin;
    return grpc::Status::OK;
  }
  const auto& metadata = context->client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "missing 'authorization: Bearer TOKEN' metadata");
  }
  absl::string_view value(it->second.data(), it->second.size());
  if (!absl::ConsumePrefix(&value, "Bearer ")) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "authorization metadata must be 'Bearer TOKEN'");
  }
  std::optional<Role> found = table_->RoleOf(value);
  if (!found.has_value()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "unknown token");
  }
  if (!RoleAllows(*found, permission)) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        absl::StrCat("role '", RoleName(*found),
                                     "' may not ", what));
  }
  if (role != nullptr) *role = *found;
  return grpc::Status::OK;
}

}  // namespace hakd
