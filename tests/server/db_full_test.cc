// A full database, with PRAGMA max_page_count standing in for a full disk:
// every write path fails RESOURCE_EXHAUSTED with a message saying so and
// that nothing was stored, rolls back whole, reads go on, and writes work
// again once the space returns, without reopening anything.
#include <sqlite3.h>

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/design_store.h"
#include "server/ingest_committer.h"
#include "server/latency_store.h"
#include "server/training_store.h"
#include "tests/server/test_util.h"

namespace hakd {
namespace {

using hakd::testing::ConvLayer;
using hakd::testing::MeasurementOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kFullCause[] =
    " (disk or PRAGMA max_page_count limit reached); nothing of this ";

// Pages of the database as a fresh connection sees it (WAL included).
int64_t PageCount(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &st, nullptr);
  const int64_t pages =
      sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_finalize(st);
  sqlite3_close(db);
  return pages;
}

// A batch of `n` measurements of distinct layers (so the layers table grows
// too), tagged with the batch id.
hakd::v1::MeasurementBatch Batch(const std::string& id, int first, int n) {
  hakd::v1::MeasurementBatch b;
  b.set_batch_id(id);
  for (int c = first; c < first + n; ++c) {
    hakd::v1::Measurement m = MeasurementOf(ConvLayer(c, 16), 10.0 + c);
    m.set_run_id(id);
    for (int s = 0; s < 20; ++s) m.add_samples_us(10.0 + s);
    *b.add_measurements() = m;
  }
  return b;
}

class DatabaseFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = hakd::testing::MakeTempDir() + "/hakd.db";
    StoreOptions options;
    options.path = path_;
    options.synchronous_full = false;
    auto store = LatencyStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto device = store_->RegisterDevice("board", {}, 1000);
    ASSERT_TRUE(device.ok()) << device.status();
    device_ = device->id;
    auto first = Batch("b-0", 1, 10);
    PendingBatch p[] = {{device_, &first}};
    ASSERT_TRUE(store_->CommitBatches(p, 2000).ok());
  }

  int64_t Count() { return store_->CountMeasurements(device_).value_or(-1); }

  // Caps the store at its current size, then commits batches until one
  // fails; returns that batch's status, leaving `*failed` the batch.
  absl::Status FillUntilFull(hakd::v1::MeasurementBatch* failed) {
    EXPECT_TRUE(store_->SetMaxPageCount(PageCount(path_) + 2).ok());
    for (int i = 1; i < 200; ++i) {
      *failed = Batch("fill-" + std::to_string(i), 100 * i, 40);
      PendingBatch p[] = {{device_, failed}};
      const int64_t before = Count();
      absl::StatusOr<CommitSummary> s = store_->CommitBatches(p, 3000 + i);
      if (!s.ok()) {
        EXPECT_EQ(Count(), before) << "a failed commit stored something";
        return s.status();
      }
    }
    return absl::OkStatus();
  }

  std::string path_;
  std::unique_ptr<LatencyStore> store_;
  int64_t device_ = 0;
};

TEST_F(DatabaseFullTest, LatencyWritesFailWholeReadsGoOnAndSpaceReturns) {
  hakd::v1::MeasurementBatch failed;
  const absl::Status full = FillUntilFull(&failed);
  ASSERT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
  EXPECT_EQ(
      full.message(),
      absl::StrCat("database full: cannot store measurement batch '",
                   failed.batch_id(), "'", kFullCause, "batch was stored"));
  const int64_t stored = Count();

  // Every other write path says the same, and stores nothing.
  std::vector<hakd::v1::LayerSpec> layers;
  for (int c = 1; c <= 300; ++c) layers.push_back(ConvLayer(c, 64));
  auto sweep = store_->CreateSweep(device_, "custom", {}, layers, 8, 4000);
  ASSERT_EQ(sweep.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(sweep.status().message(),
            absl::StrCat("database full: cannot create a sweep of 300 items",
                         kFullCause, "sweep was stored"));
  hakd::v1::DeviceFacts big;
  big.set_os(std::string(20000, 'x'));
  auto second = store_->RegisterDevice("board2", big, 4000);
  ASSERT_EQ(second.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(second.status().message()),
              StartsWith("database full: cannot register device 'board2'"));

  // Reads go on.
  EXPECT_EQ(store_->ListDevices()->size(), 1u);
  EXPECT_TRUE(store_->ListSweeps(0)->empty());
  auto query = store_->QueryMeasurements(device_, {}, 5000, false);
  ASSERT_TRUE(query.ok()) << query.status();
  EXPECT_EQ(static_cast<int64_t>(query->measurements.size()), stored);
  // Heartbeats rewrite a row in place and need no new page.
  EXPECT_TRUE(store_->TouchDevice(device_, 5000).ok());

  // Space returns: the very same writes succeed, nothing was half there.
  ASSERT_TRUE(store_->SetMaxPageCount(0).ok());
  PendingBatch p[] = {{device_, &failed}};
  auto again = store_->CommitBatches(p, 6000);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->results[0].duplicate);
  EXPECT_EQ(again->results[0].stored, 40);
  EXPECT_EQ(Count(), stored + 40);
  EXPECT_TRUE(store_->CreateSweep(device_, "custom", {}, layers, 8, 7000).ok());
  EXPECT_TRUE(store_->RegisterDevice("board2", big, 7000).ok());
}

TEST_F(DatabaseFullTest, CommitterAnswersEveryWaiterAndKeepsGoing) {
  int commits = 0;
  IngestCommitter committer(store_.get(), IngestCommitterOptions(),
                            [&](const CommitSummary&) { ++commits; });
  hakd::v1::MeasurementBatch failed;
  ASSERT_EQ(FillUntilFull(&failed).code(),
            absl::StatusCode::kResourceExhausted);
  const int64_t stored = Count();
  BatchResult r = committer.Commit(device_, failed);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(r.status.message()),
              HasSubstr("nothing of this batch was stored"));
  EXPECT_EQ(commits, 0);
  EXPECT_EQ(Count(), stored);

  ASSERT_TRUE(store_->SetMaxPageCount(0).ok());
  r = committer.Commit(device_, failed);
  EXPECT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.stored, 40);
  EXPECT_EQ(commits, 1);
  EXPECT_EQ(Count(), stored + 40);
}

TEST_F(DatabaseFullTest, TrainingAndDesignStoresToo) {
  TrainingStoreOptions to;
  to.path = path_;
  to.synchronous_full = false;
  auto training = TrainingStore::Open(to);
  ASSERT_TRUE(training.ok()) << training.status();
  DesignStoreOptions dopt;
  dopt.path = path_;
  dopt.synchronous_full = false;
  auto designs = DesignStore::Open(dopt);
  ASSERT_TRUE(designs.ok()) << designs.status();
  auto job = (*designs)->Create(hakd::v1::DesignJob(), 1);
  ASSERT_TRUE(job.ok()) << job.status();

  const int64_t cap = PageCount(path_) + 2;
  ASSERT_TRUE((*training)->SetMaxPageCount(cap).ok());
  ASSERT_TRUE((*designs)->SetMaxPageCount(cap).ok());
  hakd::v1::TrainingSpec spec;
  spec.set_name(std::string(3000, 'n'));
  absl::Status full;
  int queued = 0;
  for (; queued < 200; ++queued) {
    full = (*training)->Submit(spec, 0, 10).status();
    if (!full.ok()) break;
  }
  ASSERT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
  EXPECT_EQ(full.message(), absl::StrCat("database full: cannot queue a "
                                         "training task",
                                         kFullCause, "task was stored"));
  EXPECT_EQ((*training)->ListTasks(1000, {})->size(),
            static_cast<size_t>(queued));

  hakd::v1::DesignJob big;
  big.mutable_spec()->set_name(std::string(20000, 'j'));
  auto created = (*designs)->Create(big, 20);
  ASSERT_EQ(created.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(created.status().message(),
            absl::StrCat("database full: cannot store a new design job",
                         kFullCause, "job was stored"));
  big.set_job_id(job->job_id());
  const absl::Status saved = (*designs)->Save(big, 20);
  ASSERT_EQ(saved.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(saved.message()),
              StartsWith(absl::StrCat("database full: cannot save design job ",
                                      job->job_id())));
  EXPECT_EQ((*designs)->List(10)->size(), 1u);
  EXPECT_EQ((*designs)->Get(job->job_id())->spec().name(), "");

  ASSERT_TRUE((*training)->SetMaxPageCount(0).ok());
  ASSERT_TRUE((*designs)->SetMaxPageCount(0).ok());
  EXPECT_TRUE((*training)->Submit(spec, 0, 30).ok());
  EXPECT_TRUE((*designs)->Create(big, 30).ok());
  EXPECT_TRUE((*designs)->Save(big, 30).ok());
}

TEST_F(DatabaseFullTest, CapAtOpenComesFromTheOptions) {
  store_.reset();
  StoreOptions options;
  options.path = path_;
  options.synchronous_full = false;
  options.max_page_count = 1;  // below the file's size: the size it has
  auto store = LatencyStore::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  auto b = Batch("after-open", 500, 200);
  PendingBatch p[] = {{device_, &b}};
  EXPECT_EQ((*store)->CommitBatches(p, 1).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ((*store)->CountMeasurements(device_).value_or(-1), 10);
}

}  // namespace
}  // namespace hakd
