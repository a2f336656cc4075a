// hakd.v1.NetworkSpec as JSON (proto3 JSON mapping; field names may be
// snake_case or lowerCamelCase), the form people and hakdctl write.
#ifndef HAKD_COMMON_NETWORK_NETWORK_JSON_H_
#define HAKD_COMMON_NETWORK_NETWORK_JSON_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hakd/v1/network.pb.h"

namespace hakd {

// Indented JSON with snake_case field names; fields at their default are
// left out.
absl::StatusOr<std::string> NetworkSpecToJson(const hakd::v1::NetworkSpec& spec);

// Parses and validates (ValidateNetworkSpec) a spec. Unknown fields are
// errors. INVALID_ARGUMENT messages start with `source` (e.g. a file name).
absl::StatusOr<hakd::v1::NetworkSpec> NetworkSpecFromJson(
    absl::string_view json, absl::string_view source);

// Reads, parses and validates a spec file; errors name the file (NOT_FOUND
// when it cannot be opened).
absl::StatusOr<hakd::v1::NetworkSpec> ReadNetworkSpecFile(
    const std::string& path);

// Writes the spec as NetworkSpecToJson does, replacing the file; errors name
// the file.
absl::Status WriteNetworkSpecFile(const std::string& path,
                                  const hakd::v1::NetworkSpec& spec);

}  // namespace hakd

#endif  // HAKD_COMMON_NETWORK_NETWORK_JSON_H_
