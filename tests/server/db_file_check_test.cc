// A database file that is not SQLite, is truncated or corrupt, or has a
// newer schema is refused at open with a message naming the file and the
// problem, and its bytes are never changed.
#include "server/db_file_check.h"

#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/latency_store.h"
#include "server/schema.h"
#include "tests/server/test_util.h"

namespace hakd {
namespace {

using hakd::testing::ConvLayer;
using hakd::testing::MeasurementOf;
using ::testing::HasSubstr;

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

std::string Garbage(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

class DatabaseFileCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = hakd::testing::MakeTempDir();
    // A valid database of some 70 pages, closed (WAL checkpointed).
    const std::string path = dir_ + "/valid.db";
    {
      StoreOptions options;
      options.path = path;
      options.synchronous_full = false;
      auto store = LatencyStore::Open(options);
      ASSERT_TRUE(store.ok()) << store.status();
      auto device = (*store)->RegisterDevice("board", {}, 1);
      ASSERT_TRUE(device.ok());
      for (int b = 0; b < 20; ++b) {
        hakd::v1::MeasurementBatch batch;
        batch.set_batch_id("b-" + std::to_string(b));
        for (int c = 1; c <= 50; ++c) {
          *batch.add_measurements() =
              MeasurementOf(ConvLayer(b * 50 + c, 16), c);
        }
        PendingBatch p[] = {{device->id, &batch}};
        ASSERT_TRUE((*store)->CommitBatches(p, 2).ok());
      }
    }
    ASSERT_FALSE(Exists(path + "-wal"));
    valid_ = ReadBytes(path);
    ASSERT_GT(valid_.size(), 50u * 4096);
  }

  // Writes `bytes` as NAME, opens a store on it and expects a refusal with
  // `code` whose message names the file and says `problem`; the file must
  // be unchanged and no -wal or -shm left beside it.
  void ExpectRefused(const std::string& name, const std::string& bytes,
                     absl::StatusCode code, const std::string& problem) {
    SCOPED_TRACE(name);
    const std::string path = dir_ + "/" + name;
    WriteBytes(path, bytes);
    StoreOptions options;
    options.path = path;
    auto store = LatencyStore::Open(options);
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status().code(), code) << store.status();
    EXPECT_THAT(std::string(store.status().message()),
                HasSubstr("latency database '" + path + "': " + problem));
    EXPECT_THAT(std::string(store.status().message()),
                HasSubstr("the file was left unchanged"));
    EXPECT_EQ(store.status().message().find('\n'), std::string::npos);
    EXPECT_TRUE(ReadBytes(path) == bytes) << "the file was changed";
    EXPECT_FALSE(Exists(path + "-wal"));
    EXPECT_FALSE(Exists(path + "-shm"));
  }

  std::string dir_;
  std::string valid_;
};

TEST_F(DatabaseFileCheckTest, RandomGarbageIsNotADatabase) {
  ExpectRefused("garbage.db", Garbage(64 * 1024, 1),
                absl::StatusCode::kDataLoss,
                "not a SQLite database (bad header");
  ExpectRefused("short.db", "SQLite format 3", absl::StatusCode::kDataLoss,
                "not a SQLite database (bad header");
  ExpectRefused("header-only.db", valid_.substr(0, 60),
                absl::StatusCode::kDataLoss, "truncated: 60 bytes");
}

TEST_F(DatabaseFileCheckTest, TruncatedDatabaseIsCorrupt) {
  ExpectRefused("truncated.db", valid_.substr(0, valid_.size() / 2),
                absl::StatusCode::kDataLoss, "corrupt (");
}

TEST_F(DatabaseFileCheckTest, PageOverwrittenWithGarbageIsCorrupt) {
  std::string bytes = valid_;
  const size_t page = 4096;
  const size_t middle = (bytes.size() / page / 2) * page;
  bytes.replace(middle, page, Garbage(page, 2));
  ExpectRefused("overwritten.db", bytes, absl::StatusCode::kDataLoss,
                "corrupt (");
}

TEST_F(DatabaseFileCheckTest, NewerSchemaIsRefusedBeforeAnyWrite) {
  std::string bytes = valid_;
  // PRAGMA user_version lives at offset 60, big-endian.
  const int newer = kSchemaVersion + 1;
  bytes[60] = 0;
  bytes[61] = 0;
  bytes[62] = 0;
  bytes[63] = static_cast<char>(newer);
  ExpectRefused("newer.db", bytes, absl::StatusCode::kFailedPrecondition,
                "database schema version " + std::to_string(newer) +
                    " is newer than this hakd-server understands");
}

TEST_F(DatabaseFileCheckTest, ValidMissingAndEmptyFilesPass) {
  const std::string path = dir_ + "/copy.db";
  WriteBytes(path, valid_);
  EXPECT_TRUE(CheckDatabaseFile(path).ok());
  EXPECT_TRUE(CheckDatabaseFile(dir_ + "/missing.db").ok());
  WriteBytes(dir_ + "/empty.db", "");
  EXPECT_TRUE(CheckDatabaseFile(dir_ + "/empty.db").ok());
  StoreOptions options;
  options.path = path;
  auto store = LatencyStore::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->CountMeasurements(1).value_or(-1), 1000);
}

}  // namespace
}  // namespace hakd
