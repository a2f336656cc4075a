// Canned design jobs for the design command tests: one job (id 12, teacher
// art-ab-1, budgets rpi4=5ms and nano=2.5ms) at each state, with a teacher,
// three HAKD students (one untrained on the Pareto front) and two baselines.
#ifndef HAKD_TESTS_CLI_DESIGN_FIXTURES_H_
#define HAKD_TESTS_CLI_DESIGN_FIXTURES_H_

#include <cstdint>

#include "hakd/v1/design.pb.h"

namespace hakd::cli::testing {

// The clock of the tests; the job was created 2h03m before.
inline constexpr int64_t kDesignNow = 1'700'000'000'000;

// The job in `state`:
//   SUCCEEDED  every stage done (teacher skipped), hakd-1 recommended,
//              verified latencies; finished at kDesignNow.
//   RUNNING    in distillation (2/5, "training hakd-2"), verification and
//              report pending; no measured latency, hakd-1 alone trained.
//   FAILED     verification failed ("device nano went offline").
//   CANCELLED  cancelled in distillation.
hakd::v1::DesignJob MakeDesignJob(hakd::v1::DesignState state);

}  // namespace hakd::cli::testing

#endif  // HAKD_TESTS_CLI_DESIGN_FIXTURES_H_
