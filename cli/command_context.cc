#include "cli/command_context.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/errors.h"
#include "cli/json_output.h"

namespace hakd::cli {

CommandContext::CommandContext(const CommandLine& line,
                               const GlobalOptions& options, std::ostream& out,
                               std::ostream& err, bool out_is_terminal,
                               std::function<int64_t()> clock,
                               Connector connect)
    : line_(line),
      options_(options),
      out_(out),
      err_(err),
      out_is_terminal_(out_is_terminal),
      clock_(std::move(clock)),
      connect_(std::move(connect)) {}

absl::StatusOr<LatencyClient*> CommandContext::Client() {
  if (client_ == nullptr) {
    absl::StatusOr<std::unique_ptr<LatencyClient>> client = connect_(options_);
    if (!client.ok()) return client.status();
    client_ = *std::move(client);
  }
  return client_.get();
}

absl::StatusOr<std::string> CommandContext::RequiredFlag(
    absl::string_view name) const {
  std::optional<std::string> value = line_.flags.String(name);
  if (!value.has_value())
    return UsageError(absl::StrCat("--", name, " is required"));
  return *value;
}

absl::Status CommandContext::PrintJson(
    const google::protobuf::Message& message) {
  absl::StatusOr<std::string> json = ToJson(message);
  if (!json.ok()) return json.status();
  out_ << *json << "\n";
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ParseSweepId(absl::string_view text) {
  int64_t id = 0;
  const bool digits =
      !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return absl::ascii_isdigit(static_cast<unsigned char>(c));
      });
  if (!digits || !absl::SimpleAtoi(text, &id) || id < 1) {
    return UsageError(absl::StrCat(
        "expected a sweep ID (a whole number >= 1), got '", text, "'"));
  }
  return id;
}

}  // namespace hakd::cli
