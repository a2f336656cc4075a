// Validation of design requests (hakd/v1/design.proto) that needs no
// database: every check answers INVALID_ARGUMENT whose message starts with
// the path of the bad field, e.g. "spec.budgets[1].budget_ms: -3 must be a
// positive number of milliseconds". Devices and teacher artifacts are
// checked against the databases by DesignManager::Submit.
#ifndef HAKD_SERVER_DESIGN_VALIDATION_H_
#define HAKD_SERVER_DESIGN_VALIDATION_H_

#include "absl/status/status.h"
#include "hakd/v1/design.pb.h"

namespace hakd {

// Limits of design requests.
inline constexpr int kMaxDesignDevices = 16;
inline constexpr int kMaxDesignCandidates = 32;
inline constexpr int kDefaultDesignCandidates = 3;
inline constexpr double kMaxBudgetMs = 1e6;

// Checks everything in `spec` that needs no database: exactly one teacher,
// 1..16 budgets with distinct devices and positive finite milliseconds, K in
// 1..32 (0: 3), known and distinct baselines, non-negative counts, a
// printable name of at most 128 bytes. The schedules and the teacher network
// are checked as training tasks would be (ValidateTrainingSpec) by Submit.
absl::Status ValidateDesignSpec(const hakd::v1::DesignSpec& spec);

}  // namespace hakd

#endif  // HAKD_SERVER_DESIGN_VALIDATION_H_
