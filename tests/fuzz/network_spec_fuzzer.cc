// Fuzzes network specifications as protobuf (hakd.v1.NetworkSpec, as in
// PredictNetwork, training and design requests and artifact files):
// validation and analysis, then what the coordinator derives from a valid
// network: its units, each unit's key and family, and the network's key.
// Every unit of a valid network must itself be a valid unit.
#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "common/network/network_analysis.h"
#include "common/network/unit_key.h"
#include "hakd/v1/network.pb.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/proto_mutator.h"

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size,
                                          size_t max_size, unsigned seed) {
  hakd::v1::NetworkSpec message;
  return hakd::fuzz::MutateProtoInput(&message, data, size, max_size, seed);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using hakd::fuzz::Require;
  hakd::v1::NetworkSpec spec;
  if (!hakd::fuzz::ParseProto(data, size, &spec)) return 0;
  absl::StatusOr<hakd::NetworkAnalysis> analysis = hakd::AnalyzeNetwork(spec);
  if (!analysis.ok()) return 0;
  Require(analysis->total_params >= 0 && analysis->total_macs >= 0,
          "negative parameter or MAC count");
  for (const hakd::NetworkUnit& unit : analysis->units) {
    Require(hakd::AnalyzeUnit(unit.unit).ok(),
            "a unit of a valid network is not a valid unit");
    (void)hakd::BlockUnitKey(unit.unit);
    (void)hakd::FamilyOf(unit.unit);
  }
  hakd::v1::UnitSpec whole;
  *whole.mutable_network() = spec;
  Require(hakd::ValidateUnitSpec(whole, "unit").ok(),
          "a valid network is not a valid unit");
  (void)hakd::UnitKey(whole);
  return 0;
}
