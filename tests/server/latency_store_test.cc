#include "server/latency_store.h"

#include <sqlite3.h>

#include "gtest/gtest.h"
#include "server/schema.h"
#include "tests/server/test_util.h"

namespace hakd {
namespace {

using hakd::testing::ConvLayer;
using hakd::testing::MeasurementOf;

class LatencyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.path = hakd::testing::MakeTempDir() + "/hakd.db";
    options_.synchronous_full = false;
    auto store = LatencyStore::Open(options_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    hakd::v1::DeviceFacts facts;
    facts.set_hostname("host");
    facts.set_arch("x86_64");
    auto dev = store_->RegisterDevice("board1", facts, 1000);
    ASSERT_TRUE(dev.ok()) << dev.status();
    device_ = *dev;
  }

  hakd::v1::MeasurementBatch Batch(const std::string& id, int first, int n) {
    hakd::v1::MeasurementBatch b;
    b.set_batch_id(id);
    for (int c = first; c < first + n; ++c) {
      *b.add_measurements() = MeasurementOf(ConvLayer(c, 16), 10.0 * c);
    }
    return b;
  }

  int64_t Count() {
    auto n = store_->CountMeasurements(device_.id);
    EXPECT_TRUE(n.ok());
    return n.value_or(-1);
  }

  StoreOptions options_;
  std::unique_ptr<LatencyStore> store_;
  DeviceRecord device_;
};

TEST_F(LatencyStoreTest, CreatesNewestSchemaInWalMode) {
  EXPECT_EQ(store_->schema_version(), kSchemaVersion);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(options_.path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST_F(LatencyStoreTest, DeviceKeepsItsIdAcrossRegistrationsAndReopen) {
  hakd::v1::DeviceFacts facts;
  facts.set_libtorch_version("1.13.1");
  auto again = store_->RegisterDevice("board1", facts, 2000);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id, device_.id);
  EXPECT_EQ(again->first_seen_ms, 1000);
  EXPECT_EQ(again->facts.libtorch_version(), "1.13.1");
  store_.reset();
  auto reopened = LatencyStore::Open(options_);
  ASSERT_TRUE(reopened.ok());
  auto found = (*reopened)->FindDevice("board1");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->id, device_.id);
  auto by_id = (*reopened)->FindDevice(std::to_string(device_.id));
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->name, "board1");
  EXPECT_EQ((*reopened)->FindDevice("nope").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(LatencyStoreTest, GroupCommitStoresEveryBatchOnce) {
  auto b1 = Batch("a-1", 8, 10);
  auto b2 = Batch("a-2", 18, 5);
  PendingBatch pending[] = {{device_.id, &b1}, {device_.id, &b2}};
  auto summary = store_->CommitBatches(pending, 5000);
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_EQ(summary->results.size(), 2u);
  EXPECT_EQ(summary->results[0].stored, 10);
  EXPECT_EQ(summary->results[1].stored, 5);
  EXPECT_EQ(Count(), 15);
}

TEST_F(LatencyStoreTest, ResentBatchIsAcknowledgedAsDuplicateAndNotStoredTwice) {
  auto b1 = Batch("a-1", 8, 10);
  PendingBatch p[] = {{device_.id, &b1}};
  ASSERT_TRUE(store_->CommitBatches(p, 5000).ok());
  auto again = store_->CommitBatches(p, 6000);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->results[0].duplicate);
  EXPECT_TRUE(again->results[0].status.ok());
  EXPECT_EQ(again->results[0].stored, 0);
  // The same id twice inside one group: the second is the duplicate.
  auto b2 = Batch("a-2", 30, 3);
  PendingBatch twice[] = {{device_.id, &b2}, {device_.id, &b2}};
  auto grouped = store_->CommitBatches(twice, 7000);
  ASSERT_TRUE(grouped.ok());
  EXPECT_FALSE(grouped->results[0].duplicate);
  EXPECT_TRUE(grouped->results[1].duplicate);
  EXPECT_EQ(Count(), 13);
}

TEST_F(LatencyStoreTest, QueryFindsOneLayerAndLatestOnly) {
  auto b1 = Batch("a-1", 8, 10);
  auto b2 = Batch("a-2", 8, 10);
  b2.mutable_measurements(0)->set_median_us(999);
  b2.mutable_measurements(0)->set_p90_us(1000);
  PendingBatch p[] = {{device_.id, &b1}, {device_.id, &b2}};
  ASSERT_TRUE(store_->CommitBatches(p, 5000).ok());
  hakd::v1::LayerFilter f;
  f.set_kind(hakd::v1::LAYER_KIND_CONV2D);
  f.set_in_channels(8);
  f.set_out_channels(8);
  f.set_height(16);
  auto all = store_->QueryMeasurements(device_.id, f, 100, false);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->measurements.size(), 2u);
  auto latest = store_->QueryMeasurements(device_.id, f, 100, true);
  ASSERT_TRUE(latest.ok());
  ASSERT_EQ(latest->measurements.size(), 1u);
  EXPECT_DOUBLE_EQ(latest->measurements[0].median_us(), 999);
  auto limited = store_->QueryMeasurements(device_.id, hakd::v1::LayerFilter(), 5, false);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->measurements.size(), 5u);
  EXPECT_TRUE(limited->truncated);
  f.set_depthwise(true);
  EXPECT_TRUE(store_->QueryMeasurements(device_.id, f, 100, false)->measurements.empty());
}

TEST_F(LatencyStoreTest, ExportPagesInIdOrderWithoutGapsOrRepeats) {
  auto b1 = Batch("a-1", 8, 25);
  PendingBatch p[] = {{device_.id, &b1}};
  ASSERT_TRUE(store_->CommitBatches(p, 5000).ok());
  int64_t after = 0;
  int total = 0;
  while (true) {
    auto page = store_->ExportPage(device_.id, after, 7);
    ASSERT_TRUE(page.ok());
    if (page->empty()) break;
    for (const auto& m : *page) {
      EXPECT_GT(m.id(), after);
      after = m.id();
      ++total;
    }
  }
  EXPECT_EQ(total, 25);
}

TEST_F(LatencyStoreTest, SweepItemsCompleteOnceAndSweepFinishes) {
  std::vector<hakd::v1::LayerSpec> layers;
  for (int c = 8; c < 13; ++c) layers.push_back(ConvLayer(c, 8));
  auto sweep = store_->CreateSweep(device_.id, "custom", {}, layers, 2, 100);
  ASSERT_TRUE(sweep.ok()) << sweep.status();
  auto chunks = store_->PendingChunks(sweep->id, 10);
  ASSERT_TRUE(chunks.ok());
  ASSERT_EQ(chunks->size(), 3u);  // 2 + 2 + 1
  EXPECT_EQ((*chunks)[2].pending_items.size(), 1u);

  hakd::v1::MeasurementBatch b;
  b.set_batch_id("s-1");
  for (int i = 0; i < 4; ++i) {
    auto m = MeasurementOf(layers[i], 5.0 + i);
    m.set_sweep_id(sweep->id);
    m.set_item_index(i);
    *b.add_measurements() = m;
  }
  // A measurement of item 0 again under another batch id (an agent that
  // measured it twice) must not create a second row.
  hakd::v1::MeasurementBatch again;
  again.set_batch_id("s-2");
  *again.add_measurements() = b.measurements(0);
  auto* f = again.add_failures();
  f->set_sweep_id(sweep->id);
  f->set_item_index(4);
  f->set_error("out of memory");
  PendingBatch p[] = {{device_.id, &b}, {device_.id, &again}};
  auto summary = store_->CommitBatches(p, 200);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->results[0].stored, 4);
  EXPECT_EQ(summary->results[1].stored, 0);
  auto done = store_->GetSweep(sweep->id);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->measured, 4);
  EXPECT_EQ(done->failed, 1);
  EXPECT_EQ(done->state, hakd::v1::Sweep::STATE_DONE);
  EXPECT_EQ(done->last_error, "out of memory");
  EXPECT_TRUE(store_->PendingChunks(sweep->id, 10)->empty());
  EXPECT_EQ(Count(), 4);
}

TEST_F(LatencyStoreTest, BatchForAnotherDevicesSweepOrWrongLayerIsRejectedWhole) {
  auto other = store_->RegisterDevice("board2", {}, 1000);
  ASSERT_TRUE(other.ok());
  std::vector<hakd::v1::LayerSpec> layers = {ConvLayer(8, 8), ConvLayer(9, 8)};
  auto sweep = store_->CreateSweep(device_.id, "custom", {}, layers, 32, 100);
  ASSERT_TRUE(sweep.ok());

  hakd::v1::MeasurementBatch b;
  b.set_batch_id("x-1");
  *b.add_measurements() = MeasurementOf(ConvLayer(20, 8), 5);  // fine alone
  auto m = MeasurementOf(layers[0], 5);
  m.set_sweep_id(sweep->id);
  m.set_item_index(0);
  *b.add_measurements() = m;
  PendingBatch foreign[] = {{other->id, &b}};
  auto r = store_->CommitBatches(foreign, 300);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->results[0].status.code(), absl::StatusCode::kPermissionDenied);

  b.mutable_measurements(1)->set_item_index(1);  // layer of item 0 under item 1
  PendingBatch wrong[] = {{device_.id, &b}};
  r = store_->CommitBatches(wrong, 300);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->results[0].status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r->results[0].status.message().find("batch.measurements[1].layer"),
            std::string::npos);
  b.mutable_measurements(1)->set_item_index(7);
  r = store_->CommitBatches(wrong, 300);
  EXPECT_EQ(r->results[0].status.code(), absl::StatusCode::kInvalidArgument);
  // Nothing of the rejected batches is stored, not even the valid entry.
  EXPECT_EQ(Count(), 0);
  EXPECT_EQ(store_->CountMeasurements(other->id).value_or(-1), 0);
  // The batch id was not consumed: once fixed, it is accepted.
  b.mutable_measurements(1)->set_item_index(0);
  r = store_->CommitBatches(wrong, 300);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->results[0].status.ok());
  EXPECT_EQ(Count(), 2);
}

TEST_F(LatencyStoreTest, CancelledSweepStaysCancelled) {
  auto sweep = store_->CreateSweep(device_.id, "custom", {}, {ConvLayer(8, 8)}, 4, 1);
  ASSERT_TRUE(sweep.ok());
  auto c = store_->CancelSweep(sweep->id, 2);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->state, hakd::v1::Sweep::STATE_CANCELLED);
  EXPECT_TRUE(store_->ActiveSweeps(device_.id)->empty());
  EXPECT_EQ(store_->CancelSweep(999, 2).status().code(), absl::StatusCode::kNotFound);
}

TEST(SchemaMigrationTest, VersionOneDatabaseOpensWithoutLoss) {
  const std::string path = hakd::testing::MakeTempDir() + "/old.db";
  {
    auto db = SqliteDb::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 1000);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(MigrateSchema(db->get(), 1).ok());
    ASSERT_TRUE((*db)->Exec(
        "INSERT INTO devices VALUES(7, 'oldboard', '{\"arch\":\"aarch64\"}', 1, 2);"
        "INSERT INTO layers VALUES(3, 1, 1, 16, 16, 32, 32, 3, 1, 1, 1, 1);"
        "INSERT INTO measurements VALUES(11, 7, 3, 'cpu', 1, 5.5, 5, 6, 5.5, 0.1, "
        "15, 2, 100, 200, 'legacy');").ok());
    EXPECT_EQ((*db)->QueryInt("PRAGMA user_version").value_or(-1), 1);
  }
  StoreOptions options;
  options.path = path;
  auto store = LatencyStore::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->schema_version(), kSchemaVersion);
  auto dev = (*store)->FindDevice("oldboard");
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ(dev->id, 7);
  EXPECT_EQ(dev->facts.arch(), "aarch64");
  auto q = (*store)->QueryMeasurements(7, {}, 10, false);
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->measurements.size(), 1u);
  EXPECT_EQ(q->measurements[0].id(), 11);
  EXPECT_EQ(q->measurements[0].run_id(), "legacy");
  EXPECT_EQ(q->measurements[0].sweep_id(), 0);
  // Columns added later take neutral values for old rows.
  EXPECT_EQ(q->measurements[0].attempts(), 1);
  EXPECT_FALSE(q->measurements[0].unstable());
  EXPECT_FALSE(q->measurements[0].has_settings());
  // The new tables work on the migrated file.
  auto sweep = (*store)->CreateSweep(7, "custom", {}, {ConvLayer(16, 32)}, 4, 1);
  EXPECT_TRUE(sweep.ok()) << sweep.status();
}

TEST(SchemaMigrationTest, RefusesNewerSchemaAndNonDatabaseFiles) {
  const std::string dir = hakd::testing::MakeTempDir();
  {
    auto db = SqliteDb::Open(dir + "/new.db", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 1000);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("PRAGMA user_version = 99").ok());
  }
  StoreOptions options;
  options.path = dir + "/new.db";
  auto store = LatencyStore::Open(options);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("newer"), std::string::npos);

  const std::string junk = dir + "/junk.db";
  FILE* f = fopen(junk.c_str(), "w");
  fputs("this is not a database, but it is long enough to have a header....", f);
  fclose(f);
  options.path = junk;
  store = LatencyStore::Open(options);
  EXPECT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("junk.db"), std::string::npos);
}

}  // namespace
}  // namespace hakd

namespace hakd {
namespace {

TEST(FailRejectedItemsTest, PendingItemsOfOwnSweepsFailAndTheSweepCanFinish) {
  auto store = hakd::testing::OpenTempStore();
  ASSERT_TRUE(store.ok());
  const int64_t mine = (*store)->RegisterDevice("mine", {}, 1)->id;
  const int64_t other = (*store)->RegisterDevice("other", {}, 1)->id;
  std::vector<hakd::v1::LayerSpec> layers = {hakd::testing::ConvLayer(8, 8),
                                             hakd::testing::ConvLayer(9, 8)};
  auto sweep = (*store)->CreateSweep(mine, "custom", {}, layers, 8, 1);
  ASSERT_TRUE(sweep.ok());
  hakd::v1::MeasurementBatch rejected;
  rejected.set_batch_id("r-1");
  for (int i = 0; i < 2; ++i) {
    auto m = hakd::testing::MeasurementOf(layers[i], 5);
    m.set_sweep_id(sweep->id);
    m.set_item_index(i);
    *rejected.add_measurements() = m;
  }
  // Another device naming this sweep changes nothing.
  auto none = (*store)->FailRejectedItems(other, rejected, "bad", 2);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_EQ((*store)->GetSweep(sweep->id)->failed, 0);
  auto touched = (*store)->FailRejectedItems(mine, rejected, "groups bad", 3);
  ASSERT_TRUE(touched.ok()) << touched.status();
  EXPECT_EQ(touched->count(sweep->id), 1u);
  auto s = (*store)->GetSweep(sweep->id);
  EXPECT_EQ(s->failed, 2);
  EXPECT_EQ(s->state, hakd::v1::Sweep::STATE_DONE);
  EXPECT_EQ(s->last_error, "batch rejected: groups bad");
}

}  // namespace
}  // namespace hakd

namespace hakd {
namespace {

TEST(MeasurementConditionsTest, StateSettingsAndGateVerdictRoundTrip) {
  auto store = hakd::testing::OpenTempStore();
  ASSERT_TRUE(store.ok());
  const int64_t dev = (*store)->RegisterDevice("b", {}, 1)->id;
  hakd::v1::MeasurementBatch b;
  b.set_batch_id("c-1");
  auto m = hakd::testing::MeasurementOf(hakd::testing::ConvLayer(8, 8), 50);
  m.set_cv(0.21);
  m.set_unstable(true);
  m.set_attempts(3);
  m.set_interop_threads(2);
  m.mutable_state()->set_frequency_governor("powersave");
  m.mutable_state()->set_frequency_khz(1800000);
  m.mutable_state()->set_temperature_c(71.5);
  m.mutable_state()->set_load_average_1m(1.25);
  m.mutable_settings()->set_min_samples(15);
  m.mutable_settings()->set_max_cv(0.1);
  m.mutable_settings()->set_keep_samples(true);
  m.set_samples(3);
  m.add_samples_us(49.5);
  m.add_samples_us(50.0);
  m.add_samples_us(52.25);
  *b.add_measurements() = m;
  PendingBatch p[] = {{dev, &b}};
  ASSERT_TRUE((*store)->CommitBatches(p, 10).ok());
  auto q = (*store)->QueryMeasurements(dev, {}, 10, false);
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->measurements.size(), 1u);
  const auto& got = q->measurements[0];
  EXPECT_DOUBLE_EQ(got.cv(), 0.21);
  EXPECT_TRUE(got.unstable());
  EXPECT_EQ(got.attempts(), 3);
  EXPECT_EQ(got.interop_threads(), 2);
  EXPECT_EQ(got.state().frequency_governor(), "powersave");
  EXPECT_EQ(got.state().frequency_khz(), 1800000);
  EXPECT_DOUBLE_EQ(got.state().temperature_c(), 71.5);
  EXPECT_DOUBLE_EQ(got.state().load_average_1m(), 1.25);
  EXPECT_EQ(got.settings().min_samples(), 15);
  EXPECT_DOUBLE_EQ(got.settings().max_cv(), 0.1);
  EXPECT_TRUE(got.settings().keep_samples());
  ASSERT_EQ(got.samples_us_size(), 3);
  EXPECT_DOUBLE_EQ(got.samples_us(0), 49.5);
  EXPECT_DOUBLE_EQ(got.samples_us(2), 52.25);
}

}  // namespace
}  // namespace hakd

namespace hakd {
namespace {

TEST(SqliteDbTest, ExecErrorIsOneLineNamingTheStatement) {
  auto db = SqliteDb::Open(hakd::testing::MakeTempDir() + "/e.db",
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 1000);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t(a INTEGER)").ok());
  absl::Status st = (*db)->Exec("\n  ALTER TABLE t ADD COLUMN a INTEGER;\nSELECT 1;");
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(std::string(st.message()).find('\n'), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("ALTER TABLE t ADD COLUMN a INTEGER;: duplicate column"),
            std::string::npos)
      << st.message();
}

}  // namespace
}  // namespace hakd
