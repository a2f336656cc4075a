// Small helpers shared by the benchmarks: percentiles, synthetic rows, and
// a description of the machine they ran on.
#ifndef HAKD_BENCH_BENCH_UTIL_H_
#define HAKD_BENCH_BENCH_UTIL_H_

#include <random>
#include <string>
#include <vector>

#include "hakd/v1/types.pb.h"

namespace hakd::bench {

// The q-quantile (0..1) of `values` by linear interpolation; sorts a copy.
double Quantile(std::vector<double> values, double q);

// A synthetic but valid measurement of one of `distinct_layers` conv shapes.
hakd::v1::Measurement SyntheticMeasurement(std::mt19937_64* rng,
                                           int distinct_layers);

// "model name, N cores, kernel" of this machine, for the report header.
std::string MachineDescription();

// Reads a flag "--name=value" or "--name value" from argv; `fallback` if absent.
std::string FlagValue(int argc, char** argv, const std::string& name,
                      const std::string& fallback);

}  // namespace hakd::bench

#endif  // HAKD_BENCH_BENCH_UTIL_H_
