// Fuzzes network specifications as JSON (NetworkSpecFromJson: hakdctl's
// --network and --spec files, docs/examples). An accepted spec must print
// as JSON and read back to the same spec.
#include <google/protobuf/util/message_differencer.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/network/network_analysis.h"
#include "common/network/network_json.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using hakd::fuzz::Require;
  absl::StatusOr<hakd::v1::NetworkSpec> spec =
      hakd::NetworkSpecFromJson(hakd::fuzz::AsText(data, size), "fuzz.json");
  if (!spec.ok()) return 0;
  Require(hakd::AnalyzeNetwork(*spec).ok(), "accepted spec does not analyse");
  absl::StatusOr<std::string> json = hakd::NetworkSpecToJson(*spec);
  Require(json.ok(), "accepted spec does not print as JSON");
  absl::StatusOr<hakd::v1::NetworkSpec> again =
      hakd::NetworkSpecFromJson(*json, "again.json");
  Require(again.ok(), "printed JSON does not parse again");
  Require(google::protobuf::util::MessageDifferencer::Equals(*spec, *again),
          "JSON round trip changed the spec");
  return 0;
}
