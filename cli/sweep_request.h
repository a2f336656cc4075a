// Builds the StartSweepRequest of `sweep start` from its flags, checking
// locally what can be checked so that mistakes fail before a sweep is queued.
#ifndef HAKD_CLI_SWEEP_REQUEST_H_
#define HAKD_CLI_SWEEP_REQUEST_H_

#include "absl/status/statusor.h"
#include "cli/args.h"
#include "hakd/v1/latency_service.pb.h"

namespace hakd::cli {

// The request for --device, --preset, --family..., --network FILE...,
// --units-of FILE..., --label, --chunk-size and the measurement settings.
// --network adds each file's network as one unit timed end to end;
// --units-of adds every unit (stem, each block, head) of each file's
// network; units that compute the same thing (hakd::UnitKey) are sent once.
// Only settings given are set (0 keeps the agent's default). Usage errors:
// no --device, an unknown preset, --preset together with --family, either
// of them together with --network / --units-of, a bad SPEC, a spec file that
// cannot be read or is invalid (named), --min-samples above --max-samples.
absl::StatusOr<hakd::v1::StartSweepRequest> SweepRequestFromFlags(
    const FlagValues& flags);

// The measurement settings flags (--min-samples ... --max-remeasure), shared
// by `sweep start` and `latency predict --measure-missing`. Only settings
// given are set. A usage error when --min-samples exceeds --max-samples.
absl::StatusOr<hakd::v1::MeasurementSettings> MeasurementSettingsFromFlags(
    const FlagValues& flags);

}  // namespace hakd::cli

#endif  // HAKD_CLI_SWEEP_REQUEST_H_
