// Builds the LayerFilter of `latency query` and `latency staircase` from the
// layer flags. Only flags actually given are set (LayerFilter's fields are
// proto3 optional: unset means "any"), so --padding 0 filters for zero
// padding while leaving --padding out does not filter at all.
#ifndef HAKD_CLI_LAYER_FILTER_H_
#define HAKD_CLI_LAYER_FILTER_H_

#include "absl/status/statusor.h"
#include "cli/args.h"
#include "hakd/v1/latency_service.pb.h"

namespace hakd::cli {

// The filter described by --kind, --in, --out, --channels, --res, --height,
// --width, --kernel, --stride, --padding, --groups, --depthwise,
// --not-depthwise, --batch and --dtype. Contradictory flags (--channels with
// --in, --res with --height, --depthwise with --not-depthwise) and unknown
// kind or dtype names are usage errors.
absl::StatusOr<hakd::v1::LayerFilter> LayerFilterFromFlags(
    const FlagValues& flags);

}  // namespace hakd::cli

#endif  // HAKD_CLI_LAYER_FILTER_H_
