// Bearer tokens as the farm makes and stores them. A token is shown once, to
// whoever creates it; the coordinator's auth file keeps only its SHA-256, so
// a copy of that file lets nobody in.
#ifndef HAKD_COMMON_AUTH_TOKEN_H_
#define HAKD_COMMON_AUTH_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hakd {

// A new token: "hakd_" and 64 hex digits of 32 random bytes from OpenSSL's
// generator (256 bits, beyond guessing). INTERNAL if the generator fails.
absl::StatusOr<std::string> NewAuthToken();

// Lowercase hex SHA-256 of a token: what the auth file stores after
// "sha256:".
std::string AuthTokenDigestHex(absl::string_view token);

// Checks an identity (name=), device name (device=) or certificate common
// name against the auth file's rule: 1 to 128 of [A-Za-z0-9._-:@].
// INVALID_ARGUMENT whose message is the rule broken, for the caller to
// prefix with where the value came from.
absl::Status ValidateAuthName(absl::string_view value);

// One auth-file line: "ROLE sha256:HEX [name=NAME] [device=DEVICE]", the
// optional parts only when non-empty.
std::string AuthFileLine(absl::string_view role, absl::string_view token,
                         absl::string_view name, absl::string_view device);

}  // namespace hakd

#endif  // HAKD_COMMON_AUTH_TOKEN_H_
