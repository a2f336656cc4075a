// Helpers shared by the coordinator's unit tests: temporary databases and
// well-formed measurements.
#ifndef HAKD_TESTS_SERVER_TEST_UTIL_H_
#define HAKD_TESTS_SERVER_TEST_UTIL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "hakd/v1/types.pb.h"
#include "server/latency_store.h"

namespace hakd::testing {

// A fresh directory under $TEST_TMPDIR or /tmp, removed by the OS later.
std::string MakeTempDir();

// A fresh store in its own temporary directory, without fsync (tests need
// isolation, not durability).
absl::StatusOr<std::unique_ptr<LatencyStore>> OpenTempStore();

// A 3x3 conv layer c->c at hw x hw.
hakd::v1::LayerSpec ConvLayer(int channels, int hw);

// A plausible measurement of `layer`.
hakd::v1::Measurement MeasurementOf(const hakd::v1::LayerSpec& layer,
                                    double median_us);

}  // namespace hakd::testing

#endif  // HAKD_TESTS_SERVER_TEST_UTIL_H_
