// hakdctl admin token create: a new bearer token, shown once, and the auth
// file line that stores only its digest. Runs locally: the coordinator is
// not called, so it works before any coordinator exists.
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/errors.h"
#include "common/auth_token.h"
#include "common/status_macros.h"

namespace hakd::cli {
namespace {

// The auth file's rule for identities and device names, as a usage error.
absl::Status CheckName(const std::string& value, absl::string_view flag) {
  absl::Status st = ValidateAuthName(value);
  if (st.ok()) return st;
  return UsageError(absl::StrCat("--", flag, ": '", value, "' ", st.message()));
}

}  // namespace

absl::Status RunAdminTokenCreate(CommandContext& ctx) {
  HAKD_ASSIGN_OR_RETURN(std::string role, ctx.RequiredFlag("role"));
  if (role != "agent" && role != "worker" && role != "reader" && role != "admin") {
    return UsageError(absl::StrCat(
        "--role: '", role, "' is not agent, worker, reader or admin"));
  }
  const std::string device = ctx.flags().String("device").value_or("");
  const std::string name = ctx.flags().String("name").value_or("");
  if (!device.empty()) {
    if (role != "agent") {
      return UsageError(
          "--device: only agent tokens can be bound to a device");
    }
    HAKD_RETURN_IF_ERROR(CheckName(device, "device"));
  }
  if (!name.empty()) HAKD_RETURN_IF_ERROR(CheckName(name, "name"));
  HAKD_ASSIGN_OR_RETURN(std::string token, NewAuthToken());
  const std::string line = AuthFileLine(role, token, name, device);
  if (ctx.options().json) {
    // Every value is hex or a checked name: nothing to escape.
    ctx.out() << "{\"role\":\"" << role << "\",\"name\":\"" << name
              << "\",\"device\":\"" << device << "\",\"token\":\"" << token
              << "\",\"sha256\":\"" << AuthTokenDigestHex(token)
              << "\",\"auth_line\":\"" << line << "\"}\n";
    return absl::OkStatus();
  }
  ctx.out() << "token (shown only now; put it in the " << role
            << "'s --token-file, readable only by it):\n  " << token << "\n"
            << "auth line (append to the coordinator's --auth-file, then "
               "send it SIGHUP):\n  "
            << line << "\n";
  return absl::OkStatus();
}

}  // namespace hakd::cli
