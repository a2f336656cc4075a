// Helpers shared by the coordinator's unit tests: temporary databases and
// well-formed measurements.
#ifndef HAKD_TESTS_SERVER_TEST_UTIL_H_
#define HAKD_TESTS_SERVER_TEST_UTIL_H_

#include <string>

#include "hakd/v1/types.pb.h"

namespace hakd::testing {

// A fresh directory under $TEST_TMPDIR or /tmp, removed by the OS later.
std::string MakeTempDir();

// A 3x3 conv layer c->c at hw x hw.
hakd::v1::LayerSpec ConvLayer(int channels, int hw);

// A plausible measurement of `layer`.
hakd::v1::Measurement MeasurementOf(const hakd::v1::LayerSpec& layer,
                                    double median_us);

}  // namespace hakd::testing

#endif  // HAKD_TESTS_SERVER_TEST_UTIL_H_
