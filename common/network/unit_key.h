// Identity of the units the agent times and the predictor sums
// (hakd.v1.UnitSpec): validation, a canonical key per unit (so two specs
// that run the same computation share their measurements), and the family a
// block unit belongs to (the same block at other widths) for interpolation.
// Torch-free.
#ifndef HAKD_COMMON_NETWORK_UNIT_KEY_H_
#define HAKD_COMMON_NETWORK_UNIT_KEY_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "hakd/v1/network.pb.h"

namespace hakd {

// INVALID_ARGUMENT naming `field` and the path inside it when the unit is
// not exactly one of block / network, or is invalid (AnalyzeUnit,
// ValidateNetworkSpec).
absl::Status ValidateUnitSpec(const hakd::v1::UnitSpec& unit,
                              absl::string_view field);

// The unit with every "0 reads as" default written out and fields that do
// not apply cleared (free-text names too), so equal computations compare
// equal. The unit must be valid.
hakd::v1::BlockUnit NormalizeBlockUnit(const hakd::v1::BlockUnit& unit);
hakd::v1::NetworkSpec NormalizeNetworkSpec(const hakd::v1::NetworkSpec& spec);

// Canonical key of a valid unit, readable for blocks, e.g.
// "residual c32 h32 o64 m64 s2 k3 t0 g0 b0"; "network <16 hex digits>" (a
// 64-bit FNV-1a of the normalised spec's deterministic encoding) for whole
// networks.
std::string UnitKey(const hakd::v1::UnitSpec& unit);
std::string BlockUnitKey(const hakd::v1::BlockUnit& unit);

// The family of a block unit: the same unit at other widths, where `width`
// is the output channels (stem, residual, separable, transition) or the
// input channels (dense layer, head), and any other channel count equal to
// it follows it (a residual block with in = mid = out stays so). Written as
// the key with the width left out and followers as "=w", e.g.
// "residual c=w h32 m=w s1 k3 t1 g4 b0".
struct UnitFamily {
  std::string family;
  int32_t width = 0;
};
UnitFamily FamilyOf(const hakd::v1::BlockUnit& unit);

}  // namespace hakd

#endif  // HAKD_COMMON_NETWORK_UNIT_KEY_H_
