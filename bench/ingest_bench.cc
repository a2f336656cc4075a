// Ingest benchmark: N simulated agents stream synthetic measurement batches
// over loopback to a running hakd-server; we time from each batch's send to
// its acknowledgement (sent only after commit). Then the same rows are
// appended straight into a fresh database of the same schema with a prepared
// INSERT, which is the raw SQLite rate the farm is compared against.
//
// Usage: hakd-bench-ingest --server ADDR --token-file F --raw-db PATH
//          [--agents 16] [--batches 40] [--batch-size 256] [--window 8]
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "bench/bench_util.h"
#include "common/grpc_client.h"
#include "hakd/v1/agent_service.grpc.pb.h"
#include "server/latency_store.h"
#include "server/sqlite_db.h"

namespace hakd::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct AgentResult {
  int64_t rows_acked = 0;
  int64_t rejected = 0;
  std::vector<double> ack_ms;
  Clock::time_point first_send, last_ack;
  std::string error;
};

void RunAgent(const std::shared_ptr<grpc::Channel>& channel, const std::string& token,
              int index, const std::vector<hakd::v1::MeasurementBatch>& batches,
              int window, AgentResult* out) {
  auto stub = hakd::v1::AgentService::NewStub(channel);
  grpc::ClientContext ctx;
  AddBearerToken(&ctx, token);
  auto stream = stub->Connect(&ctx);
  hakd::v1::AgentMessage hello;
  hello.mutable_hello()->set_name(absl::StrCat("bench-agent-", index));
  hello.mutable_hello()->mutable_facts()->set_hostname(absl::StrCat("bench-", index));
  hello.mutable_hello()->mutable_facts()->set_arch("synthetic");
  hakd::v1::CoordinatorMessage reply;
  if (!stream->Write(hello) || !stream->Read(&reply) || !reply.has_welcome()) {
    out->error = absl::StrCat("agent ", index, ": no welcome: ",
                              stream->Finish().error_message());
    return;
  }
  absl::Mutex mu;
  int in_flight = 0;
  std::map<std::string, Clock::time_point> sent_at;
  std::map<std::string, int> rows_of;
  std::thread reader([&] {
    hakd::v1::CoordinatorMessage msg;
    size_t acked = 0;
    while (acked < batches.size() && stream->Read(&msg)) {
      if (!msg.has_ack()) continue;
      const auto now = Clock::now();
      absl::MutexLock lock(&mu);
      const std::string& id = msg.ack().batch_id();
      out->ack_ms.push_back(
          std::chrono::duration<double, std::milli>(now - sent_at[id]).count());
      if (msg.ack().code() == 0) {
        out->rows_acked += rows_of[id];
      } else {
        ++out->rejected;
      }
      out->last_ack = now;
      --in_flight;
      ++acked;
    }
  });
  out->first_send = Clock::now();
  for (const auto& batch : batches) {
    {
      absl::MutexLock lock(&mu);
      std::pair<int*, int> limit(&in_flight, window);
      mu.Await(absl::Condition(
          +[](std::pair<int*, int>* a) { return *a->first < a->second; }, &limit));
      sent_at[batch.batch_id()] = Clock::now();
      rows_of[batch.batch_id()] = batch.measurements_size();
      ++in_flight;
    }
    hakd::v1::AgentMessage msg;
    *msg.mutable_batch() = batch;
    if (!stream->Write(msg)) break;
  }
  reader.join();
  stream->WritesDone();
  ctx.TryCancel();
  stream->Finish();
}

// Appends every row with one prepared INSERT per row, 4096 rows per
// transaction, on the same schema and PRAGMAs as the coordinator.
absl::StatusOr<double> RawAppendRate(
    const std::string& path, const std::vector<std::vector<hakd::v1::MeasurementBatch>>& all) {
  StoreOptions options;
  options.path = path;
  auto store = LatencyStore::Open(options);  // creates the schema
  if (!store.ok()) return store.status();
  auto device = (*store)->RegisterDevice("raw", {}, 1);
  if (!device.ok()) return device.status();
  // Create the layers through the store once, so only appends are timed.
  {
    hakd::v1::MeasurementBatch warm;
    warm.set_batch_id("warm");
    std::map<std::string, bool> seen;
    for (const auto& batches : all)
      for (const auto& b : batches)
        for (const auto& m : b.measurements()) {
          if (seen.emplace(m.layer().SerializeAsString(), true).second) {
            *warm.add_measurements() = m;
          }
        }
    PendingBatch p[] = {{device->id, &warm}};
    auto r = (*store)->CommitBatches(p, 1);
    if (!r.ok()) return r.status();
  }
  store->reset();
  auto db = SqliteDb::Open(path, SQLITE_OPEN_READWRITE, 5000);
  if (!db.ok()) return db.status();
  SqliteDb* d = db->get();
  if (auto st = d->Exec("PRAGMA synchronous = FULL"); !st.ok()) return st;
  std::map<std::string, int64_t> layer_ids;
  for (const auto& batches : all)
    for (const auto& b : batches)
      for (const auto& m : b.measurements()) {
        const auto& l = m.layer();
        auto key = l.SerializeAsString();
        if (layer_ids.count(key)) continue;
        auto st = d->Prepare(
            "SELECT id FROM layers WHERE kind=?1 AND batch=?2 AND in_channels=?3 AND "
            "out_channels=?4 AND height=?5 AND width=?6 AND kernel=?7 AND stride=?8 "
            "AND padding=?9 AND groups=?10 AND dtype=?11");
        st->Bind(1, int64_t{l.kind()}).Bind(2, int64_t{l.batch()})
            .Bind(3, int64_t{l.in_channels()}).Bind(4, int64_t{l.out_channels()})
            .Bind(5, int64_t{l.height()}).Bind(6, int64_t{l.width()})
            .Bind(7, int64_t{l.kernel()}).Bind(8, int64_t{l.stride()})
            .Bind(9, int64_t{l.padding()}).Bind(10, int64_t{l.groups()})
            .Bind(11, int64_t{l.dtype()});
        auto row = st->Step();
        if (!row.ok() || !*row) return absl::InternalError("layer missing");
        layer_ids[key] = st->ColumnInt(0);
      }
  const auto start = Clock::now();
  int64_t rows = 0;
  bool open = false;
  for (const auto& batches : all)
    for (const auto& b : batches)
      for (const auto& m : b.measurements()) {
        if (!open) {
          if (auto st = d->Exec("BEGIN"); !st.ok()) return st;
          open = true;
        }
        auto ins = d->Prepare(
            "INSERT INTO measurements(device_id, layer_id, backend, threads, "
            "median_us, p10_us, p90_us, mean_us, stddev_us, samples, "
            "runs_per_sample, measured_ms, received_ms, run_id, cv, unstable, "
            "attempts, interop_threads, governor, frequency_khz, "
            "temperature_c, load_1m, settings) VALUES(?1, ?2, ?3, ?4, ?5, ?6, "
            "?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, "
            "?20, ?21, ?22, ?23)");
        ins->Bind(1, device->id).Bind(2, layer_ids[m.layer().SerializeAsString()])
            .Bind(3, m.backend()).Bind(4, int64_t{m.threads()}).Bind(5, m.median_us())
            .Bind(6, m.p10_us()).Bind(7, m.p90_us()).Bind(8, m.mean_us())
            .Bind(9, m.stddev_us()).Bind(10, int64_t{m.samples()})
            .Bind(11, int64_t{m.runs_per_sample()}).Bind(12, m.measured_unix_ms())
            .Bind(13, int64_t{1}).Bind(14, m.run_id()).Bind(15, m.cv())
            .Bind(16, int64_t{m.unstable()}).Bind(17, int64_t{m.attempts()})
            .Bind(18, int64_t{m.interop_threads()})
            .Bind(19, m.state().frequency_governor())
            .Bind(20, m.state().frequency_khz()).Bind(21, m.state().temperature_c())
            .Bind(22, m.state().load_average_1m())
            .BindBlob(23, m.settings().SerializeAsString());
        if (auto st = ins->Run(); !st.ok()) return st;
        if (++rows % 4096 == 0) {
          if (auto st = d->Exec("COMMIT"); !st.ok()) return st;
          open = false;
        }
      }
  if (open) {
    if (auto st = d->Exec("COMMIT"); !st.ok()) return st;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return rows / seconds;
}

int Main(int argc, char** argv) {
  const std::string server = FlagValue(argc, argv, "server", "127.0.0.1:50051");
  const std::string token_file = FlagValue(argc, argv, "token-file", "");
  const std::string raw_db = FlagValue(argc, argv, "raw-db", "/tmp/hakd-bench-raw.db");
  const int agents = std::stoi(FlagValue(argc, argv, "agents", "16"));
  const int batches = std::stoi(FlagValue(argc, argv, "batches", "40"));
  const int batch_size = std::stoi(FlagValue(argc, argv, "batch-size", "256"));
  const int window = std::stoi(FlagValue(argc, argv, "window", "8"));
  auto token = ReadTokenFile(token_file);
  if (!token.ok()) {
    std::fprintf(stderr, "hakd-bench-ingest: %s\n", token.status().ToString().c_str());
    return 2;
  }
  std::vector<std::vector<hakd::v1::MeasurementBatch>> work(agents);
  std::mt19937_64 rng(42);
  for (int a = 0; a < agents; ++a) {
    for (int b = 0; b < batches; ++b) {
      hakd::v1::MeasurementBatch batch;
      batch.set_batch_id(absl::StrCat("bench", a, "-", b));
      for (int i = 0; i < batch_size; ++i) {
        *batch.add_measurements() = SyntheticMeasurement(&rng, 4096);
      }
      work[a].push_back(std::move(batch));
    }
  }
  std::vector<AgentResult> results(agents);
  std::vector<std::thread> threads;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int a = 0; a < agents; ++a) {
    // One channel (one TCP connection) per agent, as real boards have.
    // A local subchannel pool gives each agent its own TCP connection.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    channels.push_back(
        grpc::CreateCustomChannel(server, grpc::InsecureChannelCredentials(), args));
  }
  const auto start = Clock::now();
  for (int a = 0; a < agents; ++a) {
    threads.emplace_back(RunAgent, channels[a], *token, a, std::cref(work[a]), window,
                         &results[a]);
  }
  for (auto& t : threads) t.join();
  int64_t rows = 0, rejected = 0;
  std::vector<double> acks;
  Clock::time_point end = start;
  for (const auto& r : results) {
    if (!r.error.empty()) {
      std::fprintf(stderr, "hakd-bench-ingest: %s\n", r.error.c_str());
      return 1;
    }
    rows += r.rows_acked;
    rejected += r.rejected;
    acks.insert(acks.end(), r.ack_ms.begin(), r.ack_ms.end());
    end = std::max(end, r.last_ack);
  }
  const double seconds = std::chrono::duration<double>(end - start).count();
  const double farm_rate = rows / seconds;
  auto raw = RawAppendRate(raw_db, work);
  if (!raw.ok()) {
    std::fprintf(stderr, "hakd-bench-ingest: raw append: %s\n", raw.status().ToString().c_str());
    return 1;
  }
  std::printf("machine: %s\n", MachineDescription().c_str());
  std::printf("method: %d agents x %d batches x %d measurements over loopback gRPC, "
              "%d batches in flight per agent, acks after commit (synchronous=FULL); "
              "raw = prepared INSERT, 4096 rows per transaction, same schema\n",
              agents, batches, batch_size, window);
  std::printf("rows_committed: %lld\n", static_cast<long long>(rows));
  std::printf("batches_rejected: %lld\n", static_cast<long long>(rejected));
  std::printf("ingest_seconds: %.3f\n", seconds);
  std::printf("ingest_rows_per_s: %.0f\n", farm_rate);
  std::printf("ingest_ack_p50_ms: %.2f\n", Quantile(acks, 0.5));
  std::printf("ingest_ack_p99_ms: %.2f\n", Quantile(acks, 0.99));
  std::printf("sqlite_raw_rows_per_s: %.0f\n", *raw);
  std::printf("ingest_ratio: %.3f\n", farm_rate / *raw);
  return rejected == 0 && rows == int64_t{agents} * batches * batch_size ? 0 : 1;
}

}  // namespace
}  // namespace hakd::bench

int main(int argc, char** argv) { return hakd::bench::Main(argc, argv); }
