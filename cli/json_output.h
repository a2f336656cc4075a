// Protobuf JSON as hakdctl prints it: field names as in the .proto
// (snake_case) and every field present even when zero, so scripts can rely on
// a key existing. Compact: one JSON document per line.
#ifndef HAKD_CLI_JSON_OUTPUT_H_
#define HAKD_CLI_JSON_OUTPUT_H_

#include <google/protobuf/message.h>

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hakd::cli {

// `message` as one line of JSON (no trailing newline).
absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message);

// `json`, a JSON object, with the member "`key`": true/false appended (after
// every field of the message, so keys keep their order). `key` must need no
// escaping.
std::string WithBoolMember(std::string json, absl::string_view key,
                           bool value);

// Writes a JSON array element by element, so an export of millions of
// measurements never sits in memory whole.
class JsonArrayWriter {
 public:
  // Writes to `out`, which must outlive the writer.
  explicit JsonArrayWriter(std::ostream& out) : out_(out) {}

  // Appends one element.
  absl::Status Add(const google::protobuf::Message& message);

  // Appends one element already printed as JSON (e.g. by ToJson).
  void AddJson(absl::string_view json);

  // Closes the array ("[]" when nothing was added). Call exactly once.
  void Close();

  // Elements added so far.
  int64_t count() const { return count_; }

 private:
  std::ostream& out_;
  int64_t count_ = 0;
};

}  // namespace hakd::cli

#endif  // HAKD_CLI_JSON_OUTPUT_H_
