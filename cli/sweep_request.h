// Builds the StartSweepRequest of `sweep start` from its flags, checking
// locally what can be checked so that mistakes fail before a sweep is queued.
#ifndef HAKD_CLI_SWEEP_REQUEST_H_
#define HAKD_CLI_SWEEP_REQUEST_H_

#include "absl/status/statusor.h"
#include "cli/args.h"
#include "hakd/v1/latency_service.pb.h"

namespace hakd::cli {

// The request for --device, --preset, --family..., --chunk-size and the
// measurement settings. Only settings given are set (0 keeps the agent's
// default). Usage errors: no --device, an unknown preset, --preset together
// with --family, a bad SPEC, --min-samples above --max-samples.
absl::StatusOr<hakd::v1::StartSweepRequest> SweepRequestFromFlags(
    const FlagValues& flags);

}  // namespace hakd::cli

#endif  // HAKD_CLI_SWEEP_REQUEST_H_
