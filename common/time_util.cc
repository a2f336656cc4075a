#include "common/time_util.h"

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace hakd {

int64_t NowUnixMs() { return absl::ToUnixMillis(absl::Now()); }

}  // namespace hakd
