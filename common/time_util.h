// Wall-clock helpers shared by every process.
#ifndef HAKD_COMMON_TIME_UTIL_H_
#define HAKD_COMMON_TIME_UTIL_H_

#include <cstdint>

namespace hakd {

// Milliseconds since the Unix epoch, from the system clock.
int64_t NowUnixMs();

}  // namespace hakd

#endif  // HAKD_COMMON_TIME_UTIL_H_
