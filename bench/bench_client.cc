#include "bench/bench_client.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "bench/bench_util.h"
#include "common/grpc_client.h"

namespace hakd::bench {

absl::StatusOr<BenchClient> ConnectBench(const std::string& program, int argc,
                                         char** argv) {
  BenchClient c;
  c.program = program;
  c.device = FlagValue(argc, argv, "device", "");
  ClientOptions options;
  options.server = FlagValue(argc, argv, "server", "");
  if (options.server.empty() || c.device.empty()) {
    return absl::InvalidArgumentError("--server and --device are required");
  }
  absl::StatusOr<std::string> token =
      ReadTokenFile(FlagValue(argc, argv, "token-file", ""));
  if (!token.ok()) return token.status();
  c.token = *token;
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      CreateClientChannel(options);
  if (!channel.ok()) return channel.status();
  c.stub = hakd::v1::LatencyService::NewStub(*channel);
  return c;
}

void Die(const BenchClient& c, const std::string& what, const grpc::Status& st) {
  std::fprintf(stderr, "%s: %s: %s\n", c.program.c_str(), what.c_str(),
               st.error_message().c_str());
  std::exit(1);
}

hakd::v1::Sweep RunSweepToEnd(BenchClient& c,
                              hakd::v1::StartSweepRequest request,
                              const std::string& label, int print_every) {
  request.set_device(c.device);
  hakd::v1::Sweep sweep;
  {
    grpc::ClientContext ctx;
    AddBearerToken(&ctx, c.token);
    if (grpc::Status st = c.stub->StartSweep(&ctx, request, &sweep); !st.ok()) {
      Die(c, "StartSweep " + label, st);
    }
  }
  const auto start = std::chrono::steady_clock::now();
  int last_printed = -1;
  while (true) {
    grpc::ClientContext ctx;
    AddBearerToken(&ctx, c.token);
    hakd::v1::GetSweepRequest get;
    get.set_sweep_id(sweep.id());
    if (grpc::Status st = c.stub->GetSweep(&ctx, get, &sweep); !st.ok()) {
      Die(c, "GetSweep", st);
    }
    const int done = sweep.measured() + sweep.failed();
    if (done / print_every != last_printed / print_every ||
        sweep.state() >= hakd::v1::Sweep::STATE_DONE) {
      const std::chrono::duration<double> elapsed =
          std::chrono::steady_clock::now() - start;
      std::fprintf(stderr, "  %s: %d/%d (%d failed) %.0f s\n", label.c_str(),
                   done, sweep.total(), sweep.failed(), elapsed.count());
      last_printed = done;
    }
    if (sweep.state() == hakd::v1::Sweep::STATE_DONE) break;
    if (sweep.state() == hakd::v1::Sweep::STATE_CANCELLED) {
      std::fprintf(stderr, "%s: sweep %ld cancelled\n", c.program.c_str(),
                   static_cast<long>(sweep.id()));
      std::exit(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  if (sweep.failed() > 0) {
    std::fprintf(stderr, "  %s: %d items failed, last error: %s\n",
                 label.c_str(), sweep.failed(), sweep.last_error().c_str());
  }
  return sweep;
}

std::vector<hakd::v1::Measurement> SweepMeasurements(BenchClient& c,
                                                     int64_t sweep_id,
                                                     bool units) {
  grpc::ClientContext ctx;
  AddBearerToken(&ctx, c.token);
  hakd::v1::ExportMeasurementsRequest req;
  req.set_device(c.device);
  req.set_units(units);
  auto reader = c.stub->ExportMeasurements(&ctx, req);
  hakd::v1::MeasurementPage page;
  std::vector<hakd::v1::Measurement> out;
  while (reader->Read(&page)) {
    for (const auto& m : page.measurements()) {
      if (m.sweep_id() == sweep_id) out.push_back(m);
    }
  }
  if (grpc::Status st = reader->Finish(); !st.ok()) {
    Die(c, "ExportMeasurements", st);
  }
  return out;
}

}  // namespace hakd::bench
