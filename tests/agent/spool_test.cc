// MeasurementSpool: batches survive closing and crashing, come back in
// sequence order, and files that are not usable spools are refused without
// being touched.
#include "agent/spool.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "agent/agent_options.h"
#include "gtest/gtest.h"

namespace hakd::agent {
namespace {

// A fresh path under the test's temporary directory (nothing there yet).
std::string TempPath(const std::string& name) {
  const std::string path = ::testing::TempDir() + "/spool_test_" + name;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::remove((path + suffix).c_str());
  }
  return path;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

// A batch with one measurement per item of `items` in sweep 7.
hakd::v1::MeasurementBatch Batch(const std::string& id,
                                 const std::vector<int>& items) {
  hakd::v1::MeasurementBatch b;
  b.set_batch_id(id);
  for (int item : items) {
    hakd::v1::Measurement* m = b.add_measurements();
    m->set_sweep_id(7);
    m->set_item_index(item);
    m->set_median_us(10.0 + item);
    m->mutable_layer()->set_in_channels(8 * (item + 1));
  }
  return b;
}

std::unique_ptr<MeasurementSpool> MustOpen(const std::string& path,
                                           const std::string& name = "board") {
  absl::StatusOr<std::unique_ptr<MeasurementSpool>> spool =
      MeasurementSpool::Open(path, name);
  EXPECT_TRUE(spool.ok()) << spool.status();
  return spool.ok() ? std::move(*spool) : nullptr;
}

std::vector<std::string> LoadedIds(const MeasurementSpool& spool) {
  absl::StatusOr<std::vector<SpooledBatch>> loaded = spool.Load();
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  std::vector<std::string> ids;
  if (loaded.ok()) {
    for (const SpooledBatch& b : *loaded) ids.push_back(b.batch.batch_id());
  }
  return ids;
}

TEST(MeasurementSpoolTest, AddAckAndReloadAcrossReopen) {
  const std::string path = TempPath("reopen");
  {
    std::unique_ptr<MeasurementSpool> spool = MustOpen(path);
    ASSERT_NE(spool, nullptr);
    EXPECT_EQ(*spool->Count(), 0);
    ASSERT_TRUE(spool->Add(1, Batch("a-1", {0, 1})).ok());
    ASSERT_TRUE(spool->Add(2, Batch("a-2", {2})).ok());
    ASSERT_TRUE(spool->Add(3, Batch("a-3", {3, 4, 5})).ok());
    ASSERT_TRUE(spool->Remove("a-2").ok());  // acknowledged
    ASSERT_TRUE(spool->Remove("unknown").ok());
    EXPECT_EQ(*spool->Count(), 2);
    // Ids and sequence numbers are unique.
    EXPECT_EQ(spool->Add(4, Batch("a-1", {9})).code(),
              absl::StatusCode::kAlreadyExists);
    EXPECT_EQ(spool->Add(3, Batch("a-9", {9})).code(),
              absl::StatusCode::kAlreadyExists);
  }
  std::unique_ptr<MeasurementSpool> spool = MustOpen(path);
  ASSERT_NE(spool, nullptr);
  absl::StatusOr<std::vector<SpooledBatch>> loaded = spool->Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0].seq, 1u);
  EXPECT_EQ((*loaded)[0].batch.SerializeAsString(),
            Batch("a-1", {0, 1}).SerializeAsString());
  EXPECT_EQ((*loaded)[1].seq, 3u);
  EXPECT_EQ((*loaded)[1].batch.SerializeAsString(),
            Batch("a-3", {3, 4, 5}).SerializeAsString());
  ASSERT_TRUE(spool->Remove("a-1").ok());
  ASSERT_TRUE(spool->Remove("a-3").ok());
  EXPECT_EQ(*spool->Count(), 0);
}

TEST(MeasurementSpoolTest, LoadsInSequenceOrder) {
  const std::string path = TempPath("order");
  {
    std::unique_ptr<MeasurementSpool> spool = MustOpen(path);
    ASSERT_NE(spool, nullptr);
    for (uint64_t seq : {5ull, 2ull, 1000000000000ull, 9ull, 10ull}) {
      ASSERT_TRUE(spool->Add(seq, Batch("x-" + std::to_string(seq), {1})).ok());
    }
  }
  std::unique_ptr<MeasurementSpool> spool = MustOpen(path);
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(LoadedIds(*spool),
            (std::vector<std::string>{"x-2", "x-5", "x-9", "x-10",
                                      "x-1000000000000"}));
}

TEST(MeasurementSpoolTest, BatchSurvivesCloseWithoutAck) {
  const std::string path = TempPath("close");
  {
    std::unique_ptr<MeasurementSpool> spool = MustOpen(path);
    ASSERT_NE(spool, nullptr);
    ASSERT_TRUE(spool->Add(1, Batch("c-1", {0})).ok());
  }  // "crash": gone without an acknowledgement
  std::unique_ptr<MeasurementSpool> spool = MustOpen(path);
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(LoadedIds(*spool), std::vector<std::string>{"c-1"});
}

TEST(MeasurementSpoolTest, BatchSurvivesSigkill) {
  const std::string path = TempPath("sigkill");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // No gtest assertions here: exit codes tell the parent what failed.
    absl::StatusOr<std::unique_ptr<MeasurementSpool>> spool =
        MeasurementSpool::Open(path, "board");
    if (!spool.ok()) _exit(10);
    if (!(*spool)->Add(1, Batch("k-1", {0, 1})).ok()) _exit(11);
    if (!(*spool)->Add(2, Batch("k-2", {2})).ok()) _exit(12);
    if (!(*spool)->Remove("k-1").ok()) _exit(13);
    kill(getpid(), SIGKILL);  // no close, no checkpoint
    _exit(14);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status))
      << "child exited with " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  std::unique_ptr<MeasurementSpool> spool = MustOpen(path);
  ASSERT_NE(spool, nullptr);
  absl::StatusOr<std::vector<SpooledBatch>> loaded = spool->Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].seq, 2u);
  EXPECT_EQ((*loaded)[0].batch.SerializeAsString(),
            Batch("k-2", {2}).SerializeAsString());
}

TEST(MeasurementSpoolTest, EmptyFileBecomesASpool) {
  const std::string path = TempPath("empty");
  WriteBytes(path, "");
  std::unique_ptr<MeasurementSpool> spool = MustOpen(path);
  ASSERT_NE(spool, nullptr);
  EXPECT_TRUE(spool->Add(1, Batch("e-1", {0})).ok());
}

TEST(MeasurementSpoolTest, FileThatIsNotSqliteIsRefusedUntouched) {
  const std::string path = TempPath("text");
  std::string text;
  for (int i = 0; i < 200; ++i) text += "results of a board, not a database\n";
  WriteBytes(path, text);
  absl::StatusOr<std::unique_ptr<MeasurementSpool>> spool =
      MeasurementSpool::Open(path, "board");
  ASSERT_FALSE(spool.ok());
  EXPECT_EQ(spool.status().code(), absl::StatusCode::kDataLoss)
      << spool.status();
  EXPECT_NE(spool.status().message().find("spool " + path + ":"),
            std::string::npos)
      << spool.status();
  EXPECT_NE(spool.status().message().find("not a hakd-agent spool"),
            std::string::npos)
      << spool.status();
  EXPECT_EQ(ReadBytes(path), text);
  EXPECT_FALSE(Exists(path + "-wal"));
  EXPECT_FALSE(Exists(path + "-journal"));
}

TEST(MeasurementSpoolTest, CorruptSpoolIsRefusedUntouched) {
  const std::string path = TempPath("corrupt");
  {
    std::unique_ptr<MeasurementSpool> spool = MustOpen(path);
    ASSERT_NE(spool, nullptr);
    for (uint64_t seq = 1; seq <= 20; ++seq) {
      ASSERT_TRUE(
          spool->Add(seq, Batch("b-" + std::to_string(seq), {0, 1, 2})).ok());
    }
  }
  ASSERT_FALSE(Exists(path + "-wal")) << "closing checkpoints the WAL";
  std::string bytes = ReadBytes(path);
  ASSERT_GT(bytes.size(), 3 * 4096u);
  // Keep the header (page 1) intact, garble the batches table's root page.
  for (size_t i = 4096; i < 2 * 4096; ++i) bytes[i] = static_cast<char>(0xA5);
  WriteBytes(path, bytes);

  absl::StatusOr<std::unique_ptr<MeasurementSpool>> spool =
      MeasurementSpool::Open(path, "board");
  ASSERT_FALSE(spool.ok());
  EXPECT_EQ(spool.status().code(), absl::StatusCode::kDataLoss)
      << spool.status();
  EXPECT_NE(spool.status().message().find("corrupt"), std::string::npos)
      << spool.status();
  EXPECT_EQ(ReadBytes(path), bytes);
  EXPECT_FALSE(Exists(path + "-wal"));
}

TEST(MeasurementSpoolTest, AnotherProgramsDatabaseIsRefusedUntouched) {
  const std::string path = TempPath("other_db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE devices(id INTEGER PRIMARY KEY, name "
                         "TEXT); INSERT INTO devices(name) VALUES('board');",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  const std::string before = ReadBytes(path);

  absl::StatusOr<std::unique_ptr<MeasurementSpool>> spool =
      MeasurementSpool::Open(path, "board");
  ASSERT_FALSE(spool.ok());
  EXPECT_EQ(spool.status().code(), absl::StatusCode::kFailedPrecondition)
      << spool.status();
  EXPECT_NE(spool.status().message().find("another program"), std::string::npos)
      << spool.status();
  EXPECT_EQ(ReadBytes(path), before);
}

TEST(MeasurementSpoolTest, SecondOpenWhileInUseIsRefused) {
  const std::string path = TempPath("in_use");
  std::unique_ptr<MeasurementSpool> first = MustOpen(path);
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(first->Add(1, Batch("u-1", {0})).ok());
  absl::StatusOr<std::unique_ptr<MeasurementSpool>> second =
      MeasurementSpool::Open(path, "board");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable)
      << second.status();
  EXPECT_NE(second.status().message().find("another hakd-agent"),
            std::string::npos)
      << second.status();
  // The first is unharmed, and the lock goes with it.
  EXPECT_TRUE(first->Add(2, Batch("u-2", {1})).ok());
  first.reset();
  std::unique_ptr<MeasurementSpool> again = MustOpen(path);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(LoadedIds(*again), (std::vector<std::string>{"u-1", "u-2"}));
}

TEST(MeasurementSpoolTest, BatchesOfAnotherDeviceNameAreRefused) {
  const std::string path = TempPath("names");
  {
    std::unique_ptr<MeasurementSpool> spool = MustOpen(path, "board-a");
    ASSERT_NE(spool, nullptr);
    ASSERT_TRUE(spool->Add(1, Batch("n-1", {0})).ok());
  }
  absl::StatusOr<std::unique_ptr<MeasurementSpool>> other =
      MeasurementSpool::Open(path, "board-b");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(other.status().message().find("--name board-a"), std::string::npos)
      << other.status();
  {
    std::unique_ptr<MeasurementSpool> spool = MustOpen(path, "board-a");
    ASSERT_NE(spool, nullptr);
    EXPECT_EQ(LoadedIds(*spool), std::vector<std::string>{"n-1"});
    ASSERT_TRUE(spool->Remove("n-1").ok());
  }
  // Empty, it may change hands.
  std::unique_ptr<MeasurementSpool> spool = MustOpen(path, "board-b");
  EXPECT_NE(spool, nullptr);
}

TEST(MeasurementSpoolTest, DefaultFileNamesDeviceAndCoordinator) {
  EXPECT_EQ(DefaultSpoolFile("rpi4-lab1", "coordinator:50051"),
            "hakd-agent-rpi4-lab1@coordinator_50051.spool");
  EXPECT_EQ(DefaultSpoolFile("b", "[::1]:5/x"), "hakd-agent-b@___1__5_x.spool");
}

}  // namespace
}  // namespace hakd::agent
