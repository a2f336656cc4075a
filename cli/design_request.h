// Builds the SubmitDesignRequest of `design submit` from its flags, checking
// locally what can be checked so that a mistake names its flag before a job
// is queued (the coordinator checks again, devices and artifacts included).
#ifndef HAKD_CLI_DESIGN_REQUEST_H_
#define HAKD_CLI_DESIGN_REQUEST_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cli/args.h"
#include "hakd/v1/design.pb.h"

namespace hakd::cli {

// The request for the teacher (--teacher ARTIFACT or --teacher-network SPEC,
// exactly one), --dataset, --budget DEVICE=MS..., --candidates,
// --baselines, --name, the student schedule (the `train submit` schedule
// flags), the teacher schedule (the student's with --teacher-epochs,
// --teacher-batch-size and --teacher-lr applied; only with
// --teacher-network), --temperature / --alpha / --beta / --no-attention,
// --saliency-examples, --width-step, --prune-every and the measurement
// settings of the coverage and verification sweeps. Only what is given is
// set, so the coordinator's defaults apply to the rest. Usage errors (exit
// 2) name the flag.
absl::StatusOr<hakd::v1::SubmitDesignRequest> DesignRequestFromFlags(
    const FlagValues& flags);

// Parses one --budget value "DEVICE=MS" (split at the last '='): a
// non-empty device and a finite number of milliseconds > 0.
absl::StatusOr<hakd::v1::DeviceBudget> ParseBudget(absl::string_view text);

// Parses --baselines "uniform,fisher,magnitude" (any subset, each once).
absl::StatusOr<std::vector<hakd::v1::Baseline>> ParseBaselines(
    absl::string_view text);

// The teacher network of --teacher-network: "wrn-DEPTH-WIDTH" (Zagoruyko's
// wide ResNet, as common/network/network_builders.h builds it) for
// `dataset`'s images and 10 classes, or else a network spec JSON file,
// which must take `dataset`'s images.
absl::StatusOr<hakd::v1::NetworkSpec> TeacherNetworkFromSpec(
    absl::string_view spec, absl::string_view dataset);

// Parses a design job id argument (a whole number >= 1).
absl::StatusOr<int64_t> ParseDesignId(absl::string_view text);

}  // namespace hakd::cli

#endif  // HAKD_CLI_DESIGN_REQUEST_H_
