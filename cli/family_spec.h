// The compact --family syntax of `sweep start`, e.g.
//   conv2d:k=3:c=8-256/8:res=32,16,8:s=2:dw
// parsed into a SweepFamily. Parsing is strict (unknown keys, keys that do
// not apply to the kind, missing required keys and bad numbers are errors
// naming the part) because a silently ignored typo costs hours of sweeping.
#ifndef HAKD_CLI_FAMILY_SPEC_H_
#define HAKD_CLI_FAMILY_SPEC_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hakd/v1/latency_service.pb.h"

namespace hakd::cli {

// Parses KIND:k=K:c=FROM-TO[/STEP]:res=R[,R...][:s=S][:dw][:g=G][:in=C][:b=B].
//   KIND  conv2d | linear | maxpool | avgpool | bnrelu
//   k     kernel; required for conv2d, maxpool, avgpool; else refused
//   c     channels FROM..TO by STEP (default 1), or one count; required
//   res   square resolutions; required for all kinds but linear (refused)
//   s     stride (conv2d, pools)      dw  depthwise (conv2d)
//   g     fixed groups (conv2d)       in  fixed input channels (conv2d, linear)
//   b     batch (all kinds)
// Unset optional keys stay 0 so the coordinator applies its defaults.
// Errors are usage errors beginning "--family 'SPEC': ".
absl::StatusOr<hakd::v1::SweepFamily> ParseFamilySpec(absl::string_view spec);

}  // namespace hakd::cli

#endif  // HAKD_CLI_FAMILY_SPEC_H_
