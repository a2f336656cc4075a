#include "common/network/network_json.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "common/network/network_analysis.h"

namespace hakd {

absl::StatusOr<std::string> NetworkSpecToJson(const hakd::v1::NetworkSpec& spec) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  std::string json;
  const auto status =
      google::protobuf::util::MessageToJsonString(spec, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("network spec to JSON: ", status.ToString()));
  }
  return json;
}

absl::StatusOr<hakd::v1::NetworkSpec> NetworkSpecFromJson(
    absl::string_view json, absl::string_view source) {
  hakd::v1::NetworkSpec spec;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(
      std::string(json), &spec, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": not a network spec: ", std::string(status.message().data(), status.message().size())));
  }
  const absl::Status valid = ValidateNetworkSpec(spec);
  if (!valid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": ", valid.message()));
  }
  return spec;
}

absl::StatusOr<hakd::v1::NetworkSpec> ReadNetworkSpecFile(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat(path, ": read failed"));
  }
  return NetworkSpecFromJson(text.str(), path);
}

absl::Status WriteNetworkSpecFile(const std::string& path,
                                  const hakd::v1::NetworkSpec& spec) {
  absl::StatusOr<std::string> json = NetworkSpecToJson(spec);
  if (!json.ok()) {
    return absl::Status(json.status().code(),
                        absl::StrCat(path, ": ", json.status().message()));
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    return absl::PermissionDeniedError(
        absl::StrCat(path, ": cannot open for writing: ", std::strerror(errno)));
  }
  out << *json;
  out.close();
  if (!out) {
    return absl::DataLossError(absl::StrCat(path, ": write failed"));
  }
  return absl::OkStatus();
}

}  // namespace hakd
