// Query benchmark: fills a latency database with one million measurements
// (--populate), or times single-layer QueryMeasurements calls against a
// running hakd-server over loopback gRPC (--server), reporting p50 and p99.
//
// Usage: hakd-bench-query --populate PATH [--rows 1000000] [--devices 4]
//        hakd-bench-query --server ADDR --token-file F [--queries 2000]
//        hakd-bench-query --direct PATH [--queries 2000]   (no gRPC)
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "common/grpc_client.h"
#include "hakd/v1/latency_service.grpc.pb.h"
#include "server/latency_store.h"

namespace hakd::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kDistinctLayers = 4096;

int Populate(const std::string& path, int64_t rows, int devices) {
  StoreOptions options;
  options.path = path;
  options.synchronous_full = false;  // filling a fixture, not measuring ingest
  auto store = LatencyStore::Open(options);
  if (!store.ok()) {
    std::fprintf(stderr, "hakd-bench-query: %s\n", store.status().ToString().c_str());
    return 1;
  }
  std::vector<int64_t> ids;
  for (int d = 0; d < devices; ++d) {
    ids.push_back((*store)->RegisterDevice(absl::StrCat("board", d), {}, 1)->id);
  }
  std::mt19937_64 rng(7);
  int64_t done = 0;
  int batch_no = 0;
  while (done < rows) {
    std::vector<hakd::v1::MeasurementBatch> group(devices);
    std::vector<PendingBatch> pending;
    for (int d = 0; d < devices; ++d) {
      group[d].set_batch_id(absl::StrCat("fill-", batch_no));
      for (int i = 0; i < 2500 && done < rows; ++i, ++done) {
        *group[d].add_measurements() = SyntheticMeasurement(&rng, kDistinctLayers);
      }
      if (group[d].measurements_size() > 0) pending.push_back({ids[d], &group[d]});
    }
    ++batch_no;
    auto r = (*store)->CommitBatches(pending, 1);
    if (!r.ok()) {
      std::fprintf(stderr, "hakd-bench-query: %s\n", r.status().ToString().c_str());
      return 1;
    }
  }
  std::fprintf(stderr, "hakd-bench-query: %lld measurements on %d devices in %s\n",
               static_cast<long long>(done), devices, path.c_str());
  return 0;
}

// The exact-shape filter of a synthetic measurement's layer.
hakd::v1::LayerFilter ExactFilter(const hakd::v1::LayerSpec& l) {
  hakd::v1::LayerFilter f;
  f.set_kind(l.kind());
  f.set_batch(l.batch());
  f.set_in_channels(l.in_channels());
  f.set_out_channels(l.out_channels());
  f.set_height(l.height());
  f.set_width(l.width());
  f.set_kernel(l.kernel());
  f.set_stride(l.stride());
  f.set_padding(l.padding());
  f.set_groups(l.groups());
  f.set_dtype(l.dtype());
  return f;
}

// The same queries straight on the store (no gRPC), to split the cost.
int Direct(const std::string& path, int queries) {
  StoreOptions options;
  options.path = path;
  auto store = LatencyStore::Open(options);
  if (!store.ok()) return 1;
  std::mt19937_64 rng(99);
  std::vector<double> latencies;
  for (int i = 0; i < queries + 50; ++i) {
    hakd::v1::Measurement m = SyntheticMeasurement(&rng, kDistinctLayers);
    const auto t0 = Clock::now();
    auto device = (*store)->FindDevice(absl::StrCat("board", i % 4));
    if (!device.ok()) return 1;
    auto r = (*store)->QueryMeasurements(device->id, ExactFilter(m.layer()), 1000, false);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!r.ok()) return 1;
    if (i >= 50) latencies.push_back(ms);
  }
  std::printf("store_query_p50_ms: %.3f\n", Quantile(latencies, 0.5));
  std::printf("store_query_p99_ms: %.3f\n", Quantile(latencies, 0.99));
  return 0;
}

int Query(const std::string& server, const std::string& token_file, int queries) {
  auto token = ReadTokenFile(token_file);
  if (!token.ok()) {
    std::fprintf(stderr, "hakd-bench-query: %s\n", token.status().ToString().c_str());
    return 2;
  }
  ClientOptions copts;
  copts.server = server;
  auto channel = CreateClientChannel(copts);
  if (!channel.ok()) return 2;
  auto stub = hakd::v1::LatencyService::NewStub(*channel);
  std::mt19937_64 rng(99);
  std::vector<double> latencies;
  size_t rows_returned = 0;
  for (int i = 0; i < queries + 50; ++i) {
    hakd::v1::Measurement m = SyntheticMeasurement(&rng, kDistinctLayers);
    const hakd::v1::LayerSpec& l = m.layer();
    hakd::v1::QueryMeasurementsRequest req;
    req.set_device(absl::StrCat("board", i % 4));
    *req.mutable_filter() = ExactFilter(l);
    grpc::ClientContext ctx;
    AddBearerToken(&ctx, *token);
    hakd::v1::QueryMeasurementsResponse resp;
    const auto t0 = Clock::now();
    grpc::Status st = stub->QueryMeasurements(&ctx, req, &resp);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!st.ok()) {
      std::fprintf(stderr, "hakd-bench-query: %s\n", st.error_message().c_str());
      return 1;
    }
    if (i >= 50) {  // the first calls warm the channel and caches
      latencies.push_back(ms);
      rows_returned += resp.measurements_size();
    }
  }
  std::printf("machine: %s\n", MachineDescription().c_str());
  std::printf("method: %d QueryMeasurements calls over loopback gRPC, each one "
              "layer shape (all fields fixed) on one of 4 devices, after 50 warm-up "
              "calls; database of 1,000,000 measurements over %d shapes\n",
              queries, kDistinctLayers);
  std::printf("rows_per_query_mean: %.1f\n",
              static_cast<double>(rows_returned) / latencies.size());
  std::printf("query_p50_ms: %.3f\n", Quantile(latencies, 0.5));
  std::printf("query_p99_ms: %.3f\n", Quantile(latencies, 0.99));
  return 0;
}

}  // namespace
}  // namespace hakd::bench

int main(int argc, char** argv) {
  using namespace hakd::bench;
  const std::string populate = FlagValue(argc, argv, "populate", "");
  const std::string direct = FlagValue(argc, argv, "direct", "");
  if (!direct.empty()) {
    return Direct(direct, std::stoi(FlagValue(argc, argv, "queries", "2000")));
  }
  if (!populate.empty()) {
    return Populate(populate, std::stoll(FlagValue(argc, argv, "rows", "1000000")),
                    std::stoi(FlagValue(argc, argv, "devices", "4")));
  }
  return Query(FlagValue(argc, argv, "server", "127.0.0.1:50051"),
               FlagValue(argc, argv, "token-file", ""),
               std::stoi(FlagValue(argc, argv, "queries", "2000")));
}
