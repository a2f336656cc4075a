#include "common/auth_token.h"

#include <openssl/rand.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/sha256.h"

namespace hakd {

absl::StatusOr<std::string> NewAuthToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return absl::InternalError("OpenSSL's random generator failed");
  }
  return absl::StrCat(
      "hakd_", absl::BytesToHexString(absl::string_view(
                   reinterpret_cast<const char*>(bytes), sizeof(bytes))));
}

absl::Status ValidateAuthName(absl::string_view value) {
  if (value.empty() || value.size() > 128) {
    return absl::InvalidArgumentError("must be 1 to 128 characters");
  }
  for (char c : value) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '_' && c != '-' && c != ':' && c != '@') {
      return absl::InvalidArgumentError(
          "may hold only letters, digits and . _ - : @");
    }
  }
  return absl::OkStatus();
}

std::string AuthTokenDigestHex(absl::string_view token) {
  return Sha256Hex(token);
}

std::string AuthFileLine(absl::string_view role, absl::string_view token,
                         absl::string_view name, absl::string_view device) {
  std::string line = absl::StrCat(role, " sha256:", AuthTokenDigestHex(token));
  if (!name.empty()) absl::StrAppend(&line, " name=", name);
  if (!device.empty()) absl::StrAppend(&line, " device=", device);
  return line;
}

}  // namespace hakd
