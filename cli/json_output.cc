#include "cli/json_output.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"

namespace hakd::cli {

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  const auto status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot print ",
                                            message.GetTypeName(),
                                            " as JSON: ", status.ToString()));
  }
  return json;
}

std::string WithBoolMember(std::string json, absl::string_view key,
                           bool value) {
  const size_t close = json.rfind('}');
  if (close == std::string::npos) return json;  // not an object
  const bool empty =
      json.find_first_not_of(" \t\r\n", json.find('{') + 1) == close;
  json.insert(close, absl::StrCat(empty ? "" : ",", "\"", key, "\":",
                                  value ? "true" : "false"));
  return json;
}

absl::Status JsonArrayWriter::Add(const google::protobuf::Message& message) {
  absl::StatusOr<std::string> json = ToJson(message);
  if (!json.ok()) return json.status();
  AddJson(*json);
  return absl::OkStatus();
}

void JsonArrayWriter::AddJson(absl::string_view json) {
  out_ << (count_ == 0 ? "[\n" : ",\n") << json;
  ++count_;
}

void JsonArrayWriter::Close() { out_ << (count_ == 0 ? "[]\n" : "\n]\n"); }

}  // namespace hakd::cli
