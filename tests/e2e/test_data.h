// Data and output helpers shared by the end-to-end tests.
#ifndef HAKD_TESTS_E2E_TEST_DATA_H_
#define HAKD_TESTS_E2E_TEST_DATA_H_

#include <cstdint>
#include <string>

namespace hakd::testing {

// Writes PREFIX-images-idx3-ubyte and PREFIX-labels-idx1-ubyte (IDX,
// uncompressed) of `n` 28x28 images into `dir`: each class (0..9) sets a
// bright horizontal band's row, with noise, so small networks learn it in a
// few epochs.
void WriteIdx(const std::string& dir, const std::string& prefix, int n,
              uint32_t seed);

// A two-stage residual network for 28x28 grey images and 10 classes (stem
// 8 channels, blocks of 8 and 16 channels), named `name`, as the JSON
// NetworkSpec hakdctl reads: small enough to train in seconds on a CPU.
std::string TinyNetworkJson(const std::string& name);

// The first value of "key" in JSON text (string or number, unquoted), or
// "" when absent. Enough for hakdctl's --json output.
std::string JsonField(const std::string& json, const std::string& key);

}  // namespace hakd::testing

#endif  // HAKD_TESTS_E2E_TEST_DATA_H_
