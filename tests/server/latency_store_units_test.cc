// The latency database's units (schema v4): sweeps mixing layers and units,
// unit measurements, the predictor's queries, overhead models, and the
// migration of a v3 database.
#include <sqlite3.h>

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "common/network/network_builders.h"
#include "common/network/unit_key.h"
#include "server/latency_store.h"
#include "server/schema.h"
#include "server/sqlite_db.h"
#include "tests/server/test_util.h"

namespace hakd {
namespace {

using hakd::testing::ConvLayer;
using hakd::testing::MeasurementOf;
using hakd::v1::Measurement;
using hakd::v1::MeasurementBatch;
using hakd::v1::TaskItem;
using hakd::v1::UnitSpec;

// A residual block unit w -> w at hw x hw (family "residual c=w h<hw> m=w
// ...", width w).
UnitSpec BlockUnitSpec(int w, int hw = 8) {
  UnitSpec u;
  auto* b = u.mutable_block();
  b->mutable_input()->set_channels(w);
  b->mutable_input()->set_height(hw);
  b->mutable_input()->set_width(hw);
  b->mutable_block()->mutable_residual()->set_out_channels(w);
  return u;
}

// A whole WRN-10-k network unit.
UnitSpec NetworkUnitSpec(int k) {
  UnitSpec u;
  auto spec = WideResNet(10, k, CifarInput(), 10);
  EXPECT_TRUE(spec.ok()) << spec.status();
  *u.mutable_network() = spec.value_or(hakd::v1::NetworkSpec());
  return u;
}

TaskItem LayerItem(const hakd::v1::LayerSpec& l) {
  TaskItem t;
  *t.mutable_layer() = l;
  return t;
}

TaskItem UnitItem(const UnitSpec& u) {
  TaskItem t;
  *t.mutable_unit() = u;
  return t;
}

// A plausible measurement of a unit (no layer set).
Measurement UnitMeasurement(const UnitSpec& unit, double median_us) {
  Measurement m = MeasurementOf(ConvLayer(8, 8), median_us);
  m.clear_layer();
  *m.mutable_unit() = unit;
  return m;
}

class LatencyStoreUnitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = hakd::testing::OpenTempStore();
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto dev = store_->RegisterDevice("board1", {}, 1000);
    ASSERT_TRUE(dev.ok()) << dev.status();
    device_ = dev->id;
  }

  // Commits one batch and returns its result.
  BatchResult Commit(const MeasurementBatch& b, int64_t device = 0) {
    PendingBatch p[] = {{device ? device : device_, &b}};
    auto summary = store_->CommitBatches(p, 5000);
    EXPECT_TRUE(summary.ok()) << summary.status();
    if (!summary.ok()) return BatchResult{summary.status()};
    return summary->results[0];
  }

  // Stores unit measurements outside any sweep, in order, one batch each.
  void StoreLoose(const UnitSpec& unit, double median_us, bool throttled,
                  bool unstable = false) {
    MeasurementBatch b;
    b.set_batch_id("loose-" + std::to_string(next_batch_++));
    Measurement m = UnitMeasurement(unit, median_us);
    m.set_throttled(throttled);
    m.set_unstable(unstable);
    if (throttled) m.set_reference_ratio(1.4);
    *b.add_measurements() = m;
    const BatchResult r = Commit(b);
    ASSERT_TRUE(r.status.ok()) << r.status;
    ASSERT_EQ(r.stored, 1);
  }

  std::unique_ptr<LatencyStore> store_;
  int64_t device_ = 0;
  int next_batch_ = 0;
};

TEST_F(LatencyStoreUnitsTest, SweepOfLayersAndUnitsHandsOutBoth) {
  const std::vector<TaskItem> items = {
      LayerItem(ConvLayer(8, 8)), UnitItem(BlockUnitSpec(16)),
      LayerItem(ConvLayer(9, 8)), UnitItem(NetworkUnitSpec(1)),
      UnitItem(BlockUnitSpec(24))};
  auto sweep = store_->CreateSweepOfItems(device_, "units", {}, items, 2, 100);
  ASSERT_TRUE(sweep.ok()) << sweep.status();
  EXPECT_EQ(sweep->total, 5);
  auto chunks = store_->PendingChunks(sweep->id, 10);
  ASSERT_TRUE(chunks.ok()) << chunks.status();
  ASSERT_EQ(chunks->size(), 3u);  // 2 + 2 + 1
  std::vector<TaskItem> got;
  for (const SweepChunk& c : *chunks) {
    for (const TaskItem& t : c.pending_items) got.push_back(t);
  }
  ASSERT_EQ(got.size(), items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(got[i].item_index(), static_cast<int>(i));
    EXPECT_EQ(got[i].has_unit(), items[i].has_unit());
    EXPECT_EQ(got[i].has_layer(), items[i].has_layer());
    if (items[i].has_unit()) {
      EXPECT_EQ(got[i].unit().SerializeAsString(),
                items[i].unit().SerializeAsString());
      EXPECT_EQ(UnitKey(got[i].unit()), UnitKey(items[i].unit()));
    } else {
      EXPECT_EQ(got[i].layer().in_channels(), items[i].layer().in_channels());
      EXPECT_EQ(got[i].layer().kernel(), 3);
    }
  }
  // Only the first chunk when asked for one.
  auto first = store_->PendingChunks(sweep->id, 1);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ((*first)[0].pending_items.size(), 2u);
}

TEST_F(LatencyStoreUnitsTest, InvalidUnitItemIsRefusedAndNothingPlanned) {
  UnitSpec bad = BlockUnitSpec(16);
  bad.mutable_block()->mutable_block()->mutable_residual()->set_kernel(4);
  auto sweep = store_->CreateSweepOfItems(
      device_, "units", {}, {LayerItem(ConvLayer(8, 8)), UnitItem(bad)}, 2, 100);
  EXPECT_EQ(sweep.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->ListSweeps(device_)->empty());
}

TEST_F(LatencyStoreUnitsTest, CommittedUnitMeasurementsAreStoredOnce) {
  const UnitSpec block = BlockUnitSpec(16);
  const UnitSpec net = NetworkUnitSpec(1);
  const hakd::v1::LayerSpec layer = ConvLayer(8, 8);
  auto sweep = store_->CreateSweepOfItems(
      device_, "units", {}, {LayerItem(layer), UnitItem(block), UnitItem(net)},
      8, 100);
  ASSERT_TRUE(sweep.ok()) << sweep.status();

  MeasurementBatch b;
  b.set_batch_id("u-1");
  Measurement ml = MeasurementOf(layer, 5);
  ml.set_sweep_id(sweep->id);
  ml.set_item_index(0);
  *b.add_measurements() = ml;
  Measurement mb = UnitMeasurement(block, 42);
  mb.set_sweep_id(sweep->id);
  mb.set_item_index(1);
  mb.set_reference_ratio(1.02);
  *b.add_measurements() = mb;
  Measurement mn = UnitMeasurement(net, 900);
  mn.set_sweep_id(sweep->id);
  mn.set_item_index(2);
  *b.add_measurements() = mn;
  BatchResult r = Commit(b);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_FALSE(r.duplicate);
  EXPECT_EQ(r.stored, 3);

  auto done = store_->GetSweep(sweep->id);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->measured, 3);
  EXPECT_EQ(done->state, hakd::v1::Sweep::STATE_DONE);
  EXPECT_TRUE(store_->PendingChunks(sweep->id, 10)->empty());
  // The layer went to the layer table, the units to theirs.
  EXPECT_EQ(store_->CountMeasurements(device_).value_or(-1), 1);
  auto page = store_->UnitMeasurementsPage(device_, 0, 100);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->size(), 2u);
  const Measurement& pb = (*page)[0];
  EXPECT_GT(pb.id(), 0);
  EXPECT_EQ(pb.device_id(), device_);
  EXPECT_TRUE(pb.has_unit());
  EXPECT_FALSE(pb.has_layer());
  EXPECT_EQ(UnitKey(pb.unit()), UnitKey(block));
  EXPECT_EQ(pb.unit().SerializeAsString(), block.SerializeAsString());
  EXPECT_DOUBLE_EQ(pb.median_us(), 42);
  EXPECT_EQ(pb.sweep_id(), sweep->id);
  EXPECT_EQ(pb.item_index(), 1);
  EXPECT_EQ(pb.received_unix_ms(), 5000);
  EXPECT_EQ(pb.run_id(), "test");
  EXPECT_DOUBLE_EQ(pb.reference_ratio(), 1.02);
  EXPECT_FALSE(pb.throttled());
  const Measurement& pn = (*page)[1];
  EXPECT_TRUE(pn.unit().has_network());
  EXPECT_EQ(UnitKey(pn.unit()), UnitKey(net));
  EXPECT_EQ(pn.item_index(), 2);
  EXPECT_GT(pn.id(), pb.id());
  // Paging goes on after the last id.
  auto rest = store_->UnitMeasurementsPage(device_, pb.id(), 100);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].id(), pn.id());
  EXPECT_EQ(store_->UnitMeasurementsPage(device_, 0, 1)->size(), 1u);

  // The same batch again: a duplicate, nothing stored twice.
  r = Commit(b);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_TRUE(r.duplicate);
  EXPECT_EQ(r.stored, 0);
  // The same item under another batch id is not stored twice either.
  MeasurementBatch again;
  again.set_batch_id("u-2");
  *again.add_measurements() = mb;
  r = Commit(again);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_FALSE(r.duplicate);
  EXPECT_EQ(r.stored, 0);
  EXPECT_EQ(store_->UnitMeasurementsPage(device_, 0, 100)->size(), 2u);
  // Another device sees none of them.
  auto other = store_->RegisterDevice("board2", {}, 1000);
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(store_->UnitMeasurementsPage(other->id, 0, 100)->empty());
}

TEST_F(LatencyStoreUnitsTest, UnitNotMatchingItsSweepItemIsRejectedWhole) {
  const UnitSpec block = BlockUnitSpec(16);
  auto sweep = store_->CreateSweepOfItems(
      device_, "units",
      {}, {UnitItem(block), LayerItem(ConvLayer(8, 8)), UnitItem(BlockUnitSpec(24))},
      8, 100);
  ASSERT_TRUE(sweep.ok()) << sweep.status();

  auto reject = [&](const Measurement& m, const std::string& what) {
    SCOPED_TRACE(what);
    MeasurementBatch b;
    b.set_batch_id("bad-" + what);
    *b.add_measurements() = UnitMeasurement(BlockUnitSpec(40), 3);  // fine alone
    *b.add_measurements() = m;
    const BatchResult r = Commit(b);
    EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument) << r.status;
    EXPECT_TRUE(absl::StrContains(r.status.message(), "batch.measurements[1]"))
        << r.status;
    EXPECT_EQ(r.stored, 0);
  };
  // A unit the database has never seen.
  Measurement unknown = UnitMeasurement(BlockUnitSpec(32), 10);
  unknown.set_sweep_id(sweep->id);
  unknown.set_item_index(0);
  reject(unknown, "unknown");
  // The unit of another item.
  Measurement swapped = UnitMeasurement(BlockUnitSpec(24), 10);
  swapped.set_sweep_id(sweep->id);
  swapped.set_item_index(0);
  reject(swapped, "swapped");
  // A unit answering a layer item.
  Measurement on_layer = UnitMeasurement(block, 10);
  on_layer.set_sweep_id(sweep->id);
  on_layer.set_item_index(1);
  reject(on_layer, "on_layer");
  // A layer answering a unit item.
  Measurement layer_on_unit = MeasurementOf(ConvLayer(8, 8), 10);
  layer_on_unit.set_sweep_id(sweep->id);
  layer_on_unit.set_item_index(0);
  reject(layer_on_unit, "layer_on_unit");
  // A layer the database has never seen answering a unit item (the item's
  // layer_id is NULL: the lookup of an unknown layer must not match it).
  Measurement unknown_layer_on_unit = MeasurementOf(ConvLayer(77, 8), 10);
  unknown_layer_on_unit.set_sweep_id(sweep->id);
  unknown_layer_on_unit.set_item_index(2);
  reject(unknown_layer_on_unit, "unknown_layer_on_unit");

  // Nothing of the rejected batches was stored.
  EXPECT_TRUE(store_->UnitMeasurementsPage(device_, 0, 100)->empty());
  EXPECT_EQ(store_->GetSweep(sweep->id)->measured, 0);

  // The matching unit is accepted, normalised or not: kernel 3 written out
  // is the same unit as kernel 0.
  UnitSpec same = block;
  same.mutable_block()->mutable_block()->mutable_residual()->set_kernel(3);
  Measurement ok = UnitMeasurement(same, 10);
  ok.set_sweep_id(sweep->id);
  ok.set_item_index(0);
  MeasurementBatch b;
  b.set_batch_id("good");
  *b.add_measurements() = ok;
  const BatchResult r = Commit(b);
  EXPECT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.stored, 1);
  EXPECT_EQ(store_->GetSweep(sweep->id)->measured, 1);
}

TEST_F(LatencyStoreUnitsTest, PredictorQueriesPreferResultsThatWereNotThrottled) {
  const UnitSpec a = BlockUnitSpec(16);
  const UnitSpec b = BlockUnitSpec(24);
  const UnitSpec c = BlockUnitSpec(32);
  const UnitSpec d = BlockUnitSpec(40);
  StoreLoose(a, 100, false);
  StoreLoose(a, 150, true);   // newer, throttled: not used
  StoreLoose(b, 200, true);   // only throttled results: the newest is used
  StoreLoose(b, 210, true);
  StoreLoose(c, 300, false);
  StoreLoose(c, 290, false);  // newer clean result wins
  StoreLoose(d, 400, false);
  StoreLoose(d, 350, false, /*unstable=*/true);  // newer but unstable

  const std::string ka = UnitKey(a), kb = UnitKey(b), kc = UnitKey(c),
                    kd = UnitKey(d);
  const std::string never = UnitKey(BlockUnitSpec(48));
  auto lat = store_->UnitLatencies(device_, {ka, kb, kc, kd, never});
  ASSERT_TRUE(lat.ok()) << lat.status();
  EXPECT_EQ(lat->size(), 4u);
  EXPECT_DOUBLE_EQ(lat->at(ka), 100);
  EXPECT_DOUBLE_EQ(lat->at(kb), 210);
  EXPECT_DOUBLE_EQ(lat->at(kc), 290);
  EXPECT_DOUBLE_EQ(lat->at(kd), 400);
  EXPECT_EQ(lat->count(never), 0u);

  const UnitFamily fam = FamilyOf(a.block());
  EXPECT_EQ(FamilyOf(d.block()).family, fam.family);
  auto points = store_->FamilyLatencies(device_, fam.family);
  ASSERT_TRUE(points.ok()) << points.status();
  const std::vector<std::pair<int, double>> expected = {
      {16, 100}, {24, 210}, {32, 290}, {40, 400}};
  EXPECT_EQ(*points, expected);
  EXPECT_TRUE(store_->FamilyLatencies(device_, "no such family")->empty());

  // Another device has measured nothing.
  auto other = store_->RegisterDevice("board2", {}, 1000);
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(store_->UnitLatencies(other->id, {ka})->empty());
  EXPECT_TRUE(store_->FamilyLatencies(other->id, fam.family)->empty());
}

TEST_F(LatencyStoreUnitsTest, NetworkResultsReturnsTheNetworksOfTheSweeps) {
  const UnitSpec n1 = NetworkUnitSpec(1);
  const UnitSpec n2 = NetworkUnitSpec(2);
  const UnitSpec n4 = NetworkUnitSpec(4);
  auto s1 = store_->CreateSweepOfItems(
      device_, "networks", {},
      {UnitItem(n1), UnitItem(BlockUnitSpec(16)), UnitItem(n2)}, 8, 100);
  auto s2 = store_->CreateSweepOfItems(device_, "networks", {}, {UnitItem(n4)},
                                       8, 100);
  ASSERT_TRUE(s1.ok() && s2.ok());
  MeasurementBatch b;
  b.set_batch_id("n-1");
  const UnitSpec* units[] = {&n1, nullptr, &n2};
  const double medians[] = {1000, 50, 2000};
  for (int i = 2; i >= 0; --i) {  // out of order on purpose
    Measurement m =
        UnitMeasurement(units[i] ? *units[i] : BlockUnitSpec(16), medians[i]);
    m.set_sweep_id(s1->id);
    m.set_item_index(i);
    *b.add_measurements() = m;
  }
  Measurement m4 = UnitMeasurement(n4, 4000);
  m4.set_sweep_id(s2->id);
  m4.set_item_index(0);
  *b.add_measurements() = m4;
  const BatchResult r = Commit(b);
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.stored, 4);

  auto results = store_->NetworkResults(device_, {s1->id});
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 2u);  // the block is not a network
  EXPECT_EQ((*results)[0].first.SerializeAsString(),
            n1.network().SerializeAsString());
  EXPECT_DOUBLE_EQ((*results)[0].second, 1000);
  EXPECT_EQ((*results)[1].first.SerializeAsString(),
            n2.network().SerializeAsString());
  EXPECT_DOUBLE_EQ((*results)[1].second, 2000);

  auto both = store_->NetworkResults(device_, {s1->id, s2->id});
  ASSERT_TRUE(both.ok());
  ASSERT_EQ(both->size(), 3u);
  EXPECT_DOUBLE_EQ((*both)[2].second, 4000);
  EXPECT_TRUE(store_->NetworkResults(device_, {})->empty());
  EXPECT_TRUE(store_->NetworkResults(device_, {s1->id + 100})->empty());
  auto other = store_->RegisterDevice("board2", {}, 1000);
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(store_->NetworkResults(other->id, {s1->id})->empty());
}

TEST_F(LatencyStoreUnitsTest, OverheadModelRoundTripsAndIsReplaced) {
  auto none = store_->LoadOverheadModel(device_);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);

  hakd::v1::OverheadModel model;
  model.set_device_id(device_);
  model.set_scale(1.05);
  model.set_intercept_us(120);
  model.set_per_unit_us(3.5);
  model.set_networks(7);
  model.set_fit_median_abs_err_pct(2.5);
  model.set_fit_max_abs_err_pct(6);
  model.set_fitted_unix_ms(123456);
  model.add_sweep_ids(4);
  model.add_sweep_ids(9);
  model.set_skipped_networks(1);
  ASSERT_TRUE(store_->SaveOverheadModel(model).ok());
  auto loaded = store_->LoadOverheadModel(device_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->SerializeAsString(), model.SerializeAsString());

  model.set_intercept_us(80);
  model.clear_sweep_ids();
  ASSERT_TRUE(store_->SaveOverheadModel(model).ok());
  loaded = store_->LoadOverheadModel(device_);
  ASSERT_TRUE(loaded.ok());
  EXPECT_DOUBLE_EQ(loaded->intercept_us(), 80);
  EXPECT_EQ(loaded->sweep_ids_size(), 0);

  auto other = store_->RegisterDevice("board2", {}, 1000);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(store_->LoadOverheadModel(other->id).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(SchemaMigrationV4Test, VersionThreeSweepItemsSurvive) {
  const std::string path = hakd::testing::MakeTempDir() + "/v3.db";
  {
    auto db = SqliteDb::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                             1000);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE(MigrateSchema(db->get(), 3).ok());
    ASSERT_EQ((*db)->QueryInt("PRAGMA user_version").value_or(-1), 3);
    // Device 7, two 3x3 conv layers, a running sweep of three items in two
    // chunks: item 0 done (with its measurement), item 1 failed, item 2
    // pending.
    const absl::Status st = (*db)->Exec(
        "INSERT INTO devices VALUES(7, 'oldboard', '{}', 1, 2);"
        "INSERT INTO layers VALUES(3, 1, 1, 16, 16, 32, 32, 3, 1, 1, 1, 1);"
        "INSERT INTO layers VALUES(4, 1, 1, 24, 24, 32, 32, 3, 1, 1, 1, 1);"
        "INSERT INTO sweeps(id, device_id, preset, settings, state, total, "
        "  measured, failed, chunk_size, created_ms, started_ms) "
        "  VALUES(5, 7, 'custom', X'', 2, 3, 1, 1, 2, 10, 20);"
        "INSERT INTO sweep_items(sweep_id, item_index, chunk_index, layer_id, "
        "  state, error) VALUES(5, 0, 0, 3, 1, NULL);"
        "INSERT INTO sweep_items(sweep_id, item_index, chunk_index, layer_id, "
        "  state, error) VALUES(5, 1, 0, 4, 2, 'oom');"
        "INSERT INTO sweep_items(sweep_id, item_index, chunk_index, layer_id, "
        "  state, error) VALUES(5, 2, 1, 4, 0, NULL);"
        "INSERT INTO measurements(id, device_id, layer_id, backend, threads, "
        "  median_us, p10_us, p90_us, mean_us, stddev_us, samples, "
        "  runs_per_sample, measured_ms, received_ms, run_id, sweep_id, "
        "  item_index) VALUES(11, 7, 3, 'cpu', 1, 5.5, 5, 6, 5.5, 0.1, 15, 2, "
        "  100, 200, 'sweep-5', 5, 0);");
    ASSERT_TRUE(st.ok()) << st;
  }
  StoreOptions options;
  options.path = path;
  options.synchronous_full = false;
  auto store = LatencyStore::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  // Later migrations (v5: the training queue) run on top of v4.
  EXPECT_EQ((*store)->schema_version(), kSchemaVersion);
  EXPECT_GE(kSchemaVersion, 4);

  auto sweep = (*store)->GetSweep(5);
  ASSERT_TRUE(sweep.ok()) << sweep.status();
  EXPECT_EQ(sweep->total, 3);
  EXPECT_EQ(sweep->state, hakd::v1::Sweep::STATE_RUNNING);
  // Only the pending item is handed out, as a layer.
  auto chunks = (*store)->PendingChunks(5, 10);
  ASSERT_TRUE(chunks.ok()) << chunks.status();
  ASSERT_EQ(chunks->size(), 1u);
  EXPECT_EQ((*chunks)[0].chunk_index, 1);
  ASSERT_EQ((*chunks)[0].pending_items.size(), 1u);
  const TaskItem& item = (*chunks)[0].pending_items[0];
  EXPECT_EQ(item.item_index(), 2);
  EXPECT_FALSE(item.has_unit());
  EXPECT_EQ(item.layer().in_channels(), 24);
  EXPECT_EQ(item.layer().height(), 32);
  // The old measurement is still there, with the new columns' defaults.
  auto q = (*store)->QueryMeasurements(7, {}, 10, false);
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_EQ(q->measurements.size(), 1u);
  EXPECT_EQ(q->measurements[0].sweep_id(), 5);
  EXPECT_FALSE(q->measurements[0].throttled());
  EXPECT_DOUBLE_EQ(q->measurements[0].reference_ratio(), 0);

  // The migrated items still take results: measuring item 2 finishes the
  // sweep (one done before, one failed).
  MeasurementBatch b;
  b.set_batch_id("after-migration");
  hakd::v1::LayerSpec layer = ConvLayer(24, 32);
  Measurement m = MeasurementOf(layer, 9);
  m.set_sweep_id(5);
  m.set_item_index(2);
  *b.add_measurements() = m;
  PendingBatch p[] = {{7, &b}};
  auto summary = (*store)->CommitBatches(p, 300);
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_TRUE(summary->results[0].status.ok()) << summary->results[0].status;
  EXPECT_EQ(summary->results[0].stored, 1);
  sweep = (*store)->GetSweep(5);
  ASSERT_TRUE(sweep.ok());
  EXPECT_EQ(sweep->measured, 2);
  EXPECT_EQ(sweep->failed, 1);
  EXPECT_EQ(sweep->state, hakd::v1::Sweep::STATE_DONE);
  EXPECT_TRUE((*store)->PendingChunks(5, 10)->empty());

  // Units work on the migrated file.
  auto units = (*store)->CreateSweepOfItems(7, "units", {},
                                            {UnitItem(BlockUnitSpec(16))}, 4, 1);
  EXPECT_TRUE(units.ok()) << units.status();
}

}  // namespace
}  // namespace hakd
