// Helpers shared by the hakd-sim subcommands: flag parsing, event lines the
// fault scripts parse, reconnect backoff, and the synthetic measurements.
#ifndef HAKD_TESTS_FAULT_SIM_UTIL_H_
#define HAKD_TESTS_FAULT_SIM_UTIL_H_

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hakd/v1/agent_service.pb.h"

namespace hakd::sim {

// "--name value" / "--name=value" flags of one subcommand. A flag may be
// repeated (All returns every value). Unknown names are an error, so a typo
// in a script fails loudly instead of running with a default.
class Flags {
 public:
  // Parses argv[first..argc); `known` lists the accepted names (no dashes).
  static absl::StatusOr<Flags> Parse(int argc, char** argv, int first,
                                     const std::set<std::string>& known);

  // The last value of `name`, or `fallback` when absent.
  std::string Get(const std::string& name,
                  const std::string& fallback = "") const;
  // Every value of `name`, in order.
  std::vector<std::string> All(const std::string& name) const;
  // The last value as an integer; `fallback` when absent. Exits with a usage
  // message (status 2) when the value is not an integer.
  int64_t Int(const std::string& name, int64_t fallback) const;
  bool Has(const std::string& name) const { return values_.count(name) > 0; }

 private:
  std::map<std::string, std::vector<std::string>> values_;
};

// Milliseconds since the Unix epoch (the clock the scripts' `date +%s%3N`
// reads, so that event times and script times compare).
int64_t WallMs();

// Milliseconds on the monotonic clock, for durations.
double MonoMs();

// Writes one event line to stderr: "hakd-sim: t_ms=<WallMs> <who> <event>
// <details>", flushed at once. The fault scripts grep these.
void Event(absl::string_view who, absl::string_view event,
           absl::string_view details = "");

// Reads a token file (the token without surrounding white space); exits
// with status 2 naming the file on failure.
std::string TokenOrDie(const std::string& path);

// Every non-empty line of a file, trimmed; exits with status 2 if the file
// cannot be read or holds no line.
std::vector<std::string> LinesOrDie(const std::string& path);

// Exponential backoff with full jitter: the n-th delay is uniform in
// [0, min(max_ms, initial_ms * 2^n)].
class Backoff {
 public:
  Backoff(int initial_ms, int max_ms, uint64_t seed);
  // The next delay in milliseconds.
  int NextMs();
  // After a success: the next delay starts small again.
  void Reset() { attempt_ = 0; }

 private:
  int initial_ms_;
  int max_ms_;
  int attempt_ = 0;
  std::mt19937_64 rng_;
};

// A valid, traceable synthetic measurement: entry `entry` (0-based) of the
// batch `run_id`. The layer shape depends only on `entry` (in_channels =
// entry + 1), so the entries of one batch have distinct layers and a
// committed batch is recognisable in the database by run_id alone.
hakd::v1::Measurement SimMeasurement(const std::string& run_id, int entry);

// The q-quantile (0..1) of `values` by linear interpolation; 0 when empty.
double Quantile(std::vector<double> values, double q);

}  // namespace hakd::sim

#endif  // HAKD_TESTS_FAULT_SIM_UTIL_H_
