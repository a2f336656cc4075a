// The LatencyService client the benchmarks share: connect from flags, run a
// sweep to its end, read a sweep's results. A benchmark has nobody to hand
// an RPC error to, so these end the process with a one-line message.
#ifndef HAKD_BENCH_BENCH_CLIENT_H_
#define HAKD_BENCH_BENCH_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "hakd/v1/latency_service.grpc.pb.h"

namespace hakd::bench {

struct BenchClient {
  std::string program;  // prefix of every message, e.g. "hakd-bench-sweep"
  std::unique_ptr<hakd::v1::LatencyService::Stub> stub;
  std::string token;
  std::string device;  // --device
};

// Reads --server, --token-file and --device. INVALID_ARGUMENT when --server
// or --device is missing (a usage error); the token file's or channel's
// error otherwise.
absl::StatusOr<BenchClient> ConnectBench(const std::string& program, int argc,
                                         char** argv);

// Prints "<program>: <what>: <message>" and exits 1.
[[noreturn]] void Die(const BenchClient& c, const std::string& what,
                      const grpc::Status& st);

// Starts `request` on the client's device and polls it until done, printing
// "  <label>: done/total" to stderr every `print_every` items. Exits when the
// sweep is cancelled. Returns the finished sweep.
hakd::v1::Sweep RunSweepToEnd(BenchClient& c,
                              hakd::v1::StartSweepRequest request,
                              const std::string& label, int print_every);

// The measurements of one sweep of the client's device: of units when
// `units`, of layers otherwise.
std::vector<hakd::v1::Measurement> SweepMeasurements(BenchClient& c,
                                                     int64_t sweep_id,
                                                     bool units);

}  // namespace hakd::bench

#endif  // HAKD_BENCH_BENCH_CLIENT_H_
