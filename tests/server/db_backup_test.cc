// Online backups: a snapshot taken while another thread keeps committing
// holds every committed batch wholly or not at all (a prefix of the commits),
// passes quick_check, and restores: a store opened on it answers queries and
// takes writes. AdminService.Backup streams it to admins only, one at a
// time, and leaves no file behind.
#include <dirent.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <sqlite3.h>

#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/auth_token.h"
#include "common/grpc_client.h"
#include "common/sha256.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "hakd/v1/admin_service.grpc.pb.h"
#include "server/admin_service.h"
#include "server/db_snapshot.h"
#include "server/latency_store.h"
#include "server/schema.h"
#include "server/server.h"
#include "tests/server/test_util.h"

namespace hakd {
namespace {

using hakd::testing::ConvLayer;
using hakd::testing::MeasurementOf;

constexpr int kPerBatch = 20;
constexpr char kAdmin[] = "admin-token-0123456789";
constexpr char kReader[] = "reader-token-0123456789";

std::vector<std::string> BackupFilesIn(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  while (dirent* e = readdir(d)) {
    if (absl::StrContains(e->d_name, ".backup-")) names.push_back(e->d_name);
  }
  closedir(d);
  return names;
}

void CopyFile(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  std::ofstream(to, std::ios::binary) << in.rdbuf();
}

// Rows of a one-or-two-column query on a database file, read-only.
std::vector<std::pair<std::string, int64_t>> Rows(const std::string& path,
                                                  const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  std::vector<std::pair<std::string, int64_t>> rows;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(st, 0);
    rows.emplace_back(
        text ? reinterpret_cast<const char*>(text) : "",
        sqlite3_column_count(st) > 1 ? sqlite3_column_int64(st, 1) : 0);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rows;
}

hakd::v1::MeasurementBatch Batch(const std::string& id, int n) {
  hakd::v1::MeasurementBatch b;
  b.set_batch_id(id);
  for (int c = 1; c <= n; ++c) {
    hakd::v1::Measurement m = MeasurementOf(ConvLayer(c, 16), 10.0 + c);
    m.set_run_id(id);
    *b.add_measurements() = m;
  }
  return b;
}

// Checks that the database at `path` holds batches pre-0..pre-(pre-1) and
// w-0..w-(k-1) for one k, each with all of its measurements; returns k.
int CheckPrefix(const std::string& path, int pre) {
  EXPECT_EQ(Rows(path, "PRAGMA quick_check"),
            (std::vector<std::pair<std::string, int64_t>>{{"ok", 0}}));
  std::set<std::string> batches;
  for (const auto& [id, n] :
       Rows(path, "SELECT batch_id, entries FROM batches")) {
    batches.insert(id);
    EXPECT_EQ(n, kPerBatch) << id;
  }
  std::map<std::string, int64_t> per_run;
  for (const auto& [run, n] : Rows(
           path, "SELECT run_id, count(*) FROM measurements GROUP BY run_id")) {
    per_run[run] = n;
  }
  int k = 0;
  while (batches.count("w-" + std::to_string(k)) > 0) ++k;
  EXPECT_EQ(batches.size(), static_cast<size_t>(pre + k))
      << "not a prefix of the commits";
  for (int i = 0; i < pre; ++i) {
    EXPECT_EQ(batches.count("pre-" + std::to_string(i)), 1u);
  }
  EXPECT_EQ(per_run.size(), batches.size());
  for (const auto& [run, n] : per_run) {
    EXPECT_TRUE(batches.count(run) > 0)
        << run << " stored without its batch row";
    EXPECT_EQ(n, kPerBatch) << run << " only partly in the snapshot";
  }
  return k;
}

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = hakd::testing::MakeTempDir();
    path_ = dir_ + "/hakd.db";
    StoreOptions options;
    options.path = path_;
    options.synchronous_full = false;
    auto store = LatencyStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    device_ = store_->RegisterDevice("board", {}, 1)->id;
    for (int i = 0; i < kPre; ++i) Commit("pre-" + std::to_string(i));
  }

  void TearDown() { StopWriter(); }

  void Commit(const std::string& id) {
    auto b = Batch(id, kPerBatch);
    PendingBatch p[] = {{device_, &b}};
    ASSERT_TRUE(store_->CommitBatches(p, 2).ok());
  }

  // Commits w-0, w-1, ... on another thread until StopWriter.
  void StartWriter() {
    writer_ = std::thread([this] {
      for (int i = 0; !stop_.load(); ++i) {
        Commit("w-" + std::to_string(i));
        committed_.store(i + 1);
      }
    });
  }

  void StopWriter() {
    stop_.store(true);
    if (writer_.joinable()) writer_.join();
  }

  static constexpr int kPre = 50;
  std::string dir_;
  std::string path_;
  std::unique_ptr<LatencyStore> store_;
  int64_t device_ = 0;
  std::thread writer_;
  std::atomic<bool> stop_{false};
  std::atomic<int> committed_{0};
};

TEST_F(BackupTest, SnapshotUnderSteadyIngestIsAConsistentPrefixAndRestores) {
  StartWriter();
  while (committed_.load() < 3) absl::SleepFor(absl::Milliseconds(1));
  SnapshotOptions options;
  options.pages_per_step = 4;  // slow, so that commits land meanwhile
  options.pause = absl::Milliseconds(5);
  const int before = committed_.load();
  auto snapshot = TakeSnapshot(path_, options);
  const int after = committed_.load();
  StopWriter();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_GT(after, before) << "the backup blocked the writer";
  const SnapshotInfo& info = (*snapshot)->info();
  EXPECT_EQ(info.schema_version, kSchemaVersion);
  EXPECT_GT(info.tables, 5);
  EXPECT_GT(info.pages, 20);
  EXPECT_EQ(info.size_bytes, info.pages * info.page_size);
  EXPECT_THAT(BackupFilesIn(dir_), ::testing::SizeIs(1));

  // Restore: the snapshot copied to a database path, a store opened on it.
  const std::string restored = dir_ + "/restored.db";
  CopyFile((*snapshot)->path(), restored);
  snapshot->reset();
  EXPECT_THAT(BackupFilesIn(dir_), ::testing::IsEmpty());
  const int k = CheckPrefix(restored, kPre);
  EXPECT_GE(k, before);
  EXPECT_LE(k, after);
  StoreOptions options2;
  options2.path = restored;
  auto store = LatencyStore::Open(options2);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->FindDevice("board")->id, device_);
  EXPECT_EQ((*store)->CountMeasurements(device_).value_or(-1),
            int64_t{kPerBatch} * (kPre + k));
  auto next = Batch("after-restore", 5);
  PendingBatch p[] = {{device_, &next}};
  EXPECT_TRUE((*store)->CommitBatches(p, 3).ok());
}

TEST_F(BackupTest, CancelledSnapshotLeavesNothing) {
  SnapshotOptions options;
  options.pages_per_step = 1;
  auto snapshot = TakeSnapshot(path_, options, [] { return true; });
  EXPECT_EQ(snapshot.status().code(), absl::StatusCode::kCancelled);
  EXPECT_THAT(BackupFilesIn(dir_), ::testing::IsEmpty());
}

// AdminServiceImpl alone on a server of its own, with slow snapshots.
class AdminServiceTest : public BackupTest {
 protected:
  void SetUp() override {
    BackupTest::SetUp();
    AdminServiceOptions options;
    options.snapshot.pages_per_step = 1;
    options.snapshot.pause = absl::Milliseconds(10);
    options.chunk_bytes = 4096;
    service_ = std::make_unique<AdminServiceImpl>(&auth_, path_, options);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    stub_ = hakd::v1::AdminService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    server_->Shutdown();
    BackupTest::TearDown();
  }

  Authorizer auth_{std::nullopt};  // --no-auth: every caller is admin
  std::unique_ptr<AdminServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<hakd::v1::AdminService::Stub> stub_;
};

TEST_F(AdminServiceTest, OneBackupAtATimeAndCancelledOnesLeaveNothing) {
  grpc::ClientContext first;
  std::thread running([&] {
    auto reader = stub_->Backup(&first, hakd::v1::BackupRequest());
    hakd::v1::BackupChunk chunk;
    while (reader->Read(&chunk)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  });
  while (!service_->backup_running()) absl::SleepFor(absl::Milliseconds(1));
  grpc::ClientContext second;
  auto reader = stub_->Backup(&second, hakd::v1::BackupRequest());
  hakd::v1::BackupChunk chunk;
  EXPECT_FALSE(reader->Read(&chunk));
  const grpc::Status refused = reader->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(refused.error_message(),
            "a backup is already running; try again when it has finished");
  first.TryCancel();
  running.join();
  while (service_->backup_running()) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_THAT(BackupFilesIn(dir_), ::testing::IsEmpty());
}

// Through HakdServer, with the auth file's roles.
TEST(AdminServerTest, AdminsGetAVerifiedSnapshotReadersDoNot) {
  const std::string dir = hakd::testing::MakeTempDir();
  std::ofstream(dir + "/auth.txt")
      << AuthFileLine("admin", kAdmin, "", "") << "\n"
      << AuthFileLine("reader", kReader, "", "") << "\n";
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.db_path = dir + "/hakd.db";
  options.auth_file = dir + "/auth.txt";
  options.synchronous_full = false;
  auto server = HakdServer::BuildAndStart(options);
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = hakd::v1::AdminService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                          grpc::InsecureChannelCredentials()));
  auto backup = [&](const char* token, hakd::v1::BackupInfo* info,
                    std::string* data) {
    grpc::ClientContext context;
    AddBearerToken(&context, token);
    auto reader = stub->Backup(&context, hakd::v1::BackupRequest());
    hakd::v1::BackupChunk chunk;
    int messages = 0;
    while (reader->Read(&chunk)) {
      if (messages++ == 0) {
        EXPECT_TRUE(chunk.has_info());
        *info = chunk.info();
      } else {
        EXPECT_FALSE(chunk.has_info());
        *data += chunk.data();
      }
    }
    return reader->Finish();
  };
  hakd::v1::BackupInfo info;
  std::string data;
  const grpc::Status denied = backup(kReader, &info, &data);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(denied.error_message(), ::testing::HasSubstr("take backups"));

  const grpc::Status ok = backup(kAdmin, &info, &data);
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(info.size_bytes(), static_cast<int64_t>(data.size()));
  EXPECT_EQ(info.sha256(), Sha256Hex(data));
  EXPECT_EQ(info.schema_version(), kSchemaVersion);
  EXPECT_EQ(info.database(), options.db_path);
  EXPECT_EQ(info.pages() * info.page_size(), info.size_bytes());
  EXPECT_GT(info.created_unix_ms(), 0);
  EXPECT_GT(info.tables(), 5);
  EXPECT_THAT(BackupFilesIn(dir), ::testing::IsEmpty());
  (*server)->Shutdown(absl::Milliseconds(100));
  server->reset();

  // Restoring it: the file becomes the database of a new store.
  const std::string restored = dir + "/restored.db";
  std::ofstream(restored, std::ios::binary) << data;
  StoreOptions store_options;
  store_options.path = restored;
  auto store = LatencyStore::Open(store_options);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE((*store)->ListDevices().ok());
}

}  // namespace
}  // namespace hakd
