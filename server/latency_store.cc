#include "server/latency_store.h"

#include <google/protobuf/util/json_util.h>

#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "absl/strings/str_join.h"
#include "common/network/network_analysis.h"
#include "common/network/unit_key.h"
#include "server/db_file_check.h"
#include "server/schema.h"

namespace hakd {
namespace {

using hakd::v1::LayerSpec;
using hakd::v1::Measurement;
using hakd::v1::MeasurementBatch;



enum ItemState { kItemPending = 0, kItemDone = 1, kItemFailed = 2 };

// units.kind
enum UnitKind { kUnitBlock = 1, kUnitNetwork = 2 };

bool ParseUnit(int64_t kind, const std::string& bytes, hakd::v1::UnitSpec* out) {
  if (kind == kUnitBlock) return out->mutable_block()->ParseFromString(bytes);
  if (kind == kUnitNetwork) return out->mutable_network()->ParseFromString(bytes);
  return false;
}

// Picks, per unit, the newest result not flagged throttled or unstable, else
// the newest; used by every predictor query.
constexpr char kBestUnitResult[] =
    "SELECT median_us FROM unit_measurements WHERE device_id = ?1 AND "
    "unit_id = ?2 ORDER BY throttled, unstable, id DESC LIMIT 1";

// Columns every measurement query selects, in the order RowToMeasurement reads.
constexpr char kMeasurementColumns[] =
    "m.id, m.device_id, l.kind, l.batch, l.in_channels, l.out_channels, "
    "l.height, l.width, l.kernel, l.stride, l.padding, l.groups, l.dtype, "
    "m.backend, m.threads, m.median_us, m.p10_us, m.p90_us, m.mean_us, "
    "m.stddev_us, m.samples, m.runs_per_sample, m.measured_ms, m.received_ms, "
    "m.run_id, m.sweep_id, m.item_index, m.cv, m.unstable, m.attempts, "
    "m.interop_threads, m.governor, m.frequency_khz, m.temperature_c, "
    "m.load_1m, m.settings, m.raw_samples, m.throttled, m.reference_ratio, "
    "m.timed_s, m.robust_cv";

// Reads the eleven layer columns (kind .. dtype, in schema order) starting
// at column `first`.
void ReadLayerColumns(const Statement& s, int first, LayerSpec* l) {
  l->set_kind(static_cast<hakd::v1::LayerKind>(s.ColumnInt(first)));
  l->set_batch(s.ColumnInt(first + 1));
  l->set_in_channels(s.ColumnInt(first + 2));
  l->set_out_channels(s.ColumnInt(first + 3));
  l->set_height(s.ColumnInt(first + 4));
  l->set_width(s.ColumnInt(first + 5));
  l->set_kernel(s.ColumnInt(first + 6));
  l->set_stride(s.ColumnInt(first + 7));
  l->set_padding(s.ColumnInt(first + 8));
  l->set_groups(s.ColumnInt(first + 9));
  l->set_dtype(static_cast<hakd::v1::DType>(s.ColumnInt(first + 10)));
}

Measurement RowToMeasurement(const Statement& s) {
  Measurement m;
  m.set_id(s.ColumnInt(0));
  m.set_device_id(s.ColumnInt(1));
  ReadLayerColumns(s, 2, m.mutable_layer());
  m.set_backend(s.ColumnText(13));
  m.set_threads(s.ColumnInt(14));
  m.set_median_us(s.ColumnDouble(15));
  m.set_p10_us(s.ColumnDouble(16));
  m.set_p90_us(s.ColumnDouble(17));
  m.set_mean_us(s.ColumnDouble(18));
  m.set_stddev_us(s.ColumnDouble(19));
  m.set_samples(s.ColumnInt(20));
  m.set_runs_per_sample(s.ColumnInt(21));
  m.set_measured_unix_ms(s.ColumnInt(22));
  m.set_received_unix_ms(s.ColumnInt(23));
  m.set_run_id(s.ColumnText(24));
  m.set_sweep_id(s.ColumnIsNull(25) ? 0 : s.ColumnInt(25));
  m.set_item_index(s.ColumnIsNull(26) ? 0 : s.ColumnInt(26));
  m.set_cv(s.ColumnDouble(27));
  m.set_unstable(s.ColumnInt(28) != 0);
  m.set_attempts(s.ColumnInt(29));
  m.set_interop_threads(s.ColumnInt(30));
  hakd::v1::DeviceState* state = m.mutable_state();
  state->set_frequency_governor(s.ColumnText(31));
  state->set_frequency_khz(s.ColumnInt(32));
  state->set_temperature_c(s.ColumnDouble(33));
  state->set_load_average_1m(s.ColumnDouble(34));
  if (!s.ColumnIsNull(35)) m.mutable_settings()->ParseFromString(s.ColumnText(35));
  if (!s.ColumnIsNull(36)) {
    const std::string bytes = s.ColumnText(36);
    m.mutable_samples_us()->Resize(static_cast<int>(bytes.size() / sizeof(double)), 0);
    std::memcpy(m.mutable_samples_us()->mutable_data(), bytes.data(),
                m.samples_us_size() * sizeof(double));
  }
  m.set_throttled(s.ColumnInt(37) != 0);
  m.set_reference_ratio(s.ColumnDouble(38));
  m.set_timed_seconds(s.ColumnDouble(39));
  m.set_robust_cv(s.ColumnDouble(40));
  return m;
}

// dtype 0 and 1 both mean float32; store the canonical value.
int CanonicalDtype(hakd::v1::DType d) {
  return d == hakd::v1::DTYPE_UNSPECIFIED ? hakd::v1::DTYPE_FLOAT32 : d;
}

constexpr char kDeviceColumns[] =
    "id, name, facts_json, first_seen_ms, last_seen_ms";

DeviceRecord RowToDevice(const Statement& s) {
  DeviceRecord d;
  d.id = s.ColumnInt(0);
  d.name = s.ColumnText(1);
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = true;
  // Facts were written by this code; a parse failure leaves them empty
  // rather than hiding the device.
  (void)google::protobuf::util::JsonStringToMessage(s.ColumnText(2), &d.facts,
                                                    opts);
  d.first_seen_ms = s.ColumnInt(3);
  d.last_seen_ms = s.ColumnInt(4);
  return d;
}

constexpr char kSweepColumns[] =
    "id, device_id, preset, settings, state, total, measured, failed, "
    "chunk_size, created_ms, started_ms, finished_ms, last_error";

SweepRecord RowToSweep(const Statement& s) {
  SweepRecord r;
  r.id = s.ColumnInt(0);
  r.device_id = s.ColumnInt(1);
  r.preset = s.ColumnText(2);
  r.settings.ParseFromString(s.ColumnText(3));
  r.state = static_cast<hakd::v1::Sweep::State>(s.ColumnInt(4));
  r.total = s.ColumnInt(5);
  r.measured = s.ColumnInt(6);
  r.failed = s.ColumnInt(7);
  r.chunk_size = s.ColumnInt(8);
  r.created_ms = s.ColumnInt(9);
  r.started_ms = s.ColumnInt(10);
  r.finished_ms = s.ColumnInt(11);
  r.last_error = s.ColumnText(12);
  return r;
}

}  // namespace

class LatencyStore::Reader {
 public:
  Reader(LatencyStore* store, std::unique_ptr<SqliteDb> db)
      : store_(store), db_(std::move(db)) {}
  Reader(Reader&&) = default;
  ~Reader() {
    if (db_ == nullptr) return;
    absl::MutexLock lock(&store_->readers_mu_);
    store_->idle_readers_.push_back(std::move(db_));
  }
  SqliteDb* operator->() { return db_.get(); }

 private:
  LatencyStore* store_;
  std::unique_ptr<SqliteDb> db_;
};

LatencyStore::Reader LatencyStore::AcquireReader() {
  readers_mu_.LockWhen(absl::Condition(
      +[](std::vector<std::unique_ptr<SqliteDb>>* v) { return !v->empty(); },
      &idle_readers_));
  std::unique_ptr<SqliteDb> db = std::move(idle_readers_.back());
  idle_readers_.pop_back();
  readers_mu_.Unlock();
  return Reader(this, std::move(db));
}

absl::StatusOr<std::unique_ptr<LatencyStore>> LatencyStore::Open(
    const StoreOptions& options) {
  std::unique_ptr<LatencyStore> store(new LatencyStore(options));
  if (absl::Status st = store->Init(); !st.ok()) {
    return absl::Status(st.code(), absl::StrCat("latency database '",
                                                options.path, "': ", st.message()));
  }
  return store;
}

LatencyStore::~LatencyStore() = default;

absl::Status LatencyStore::TuneConnection(SqliteDb* db) const {
  HAKD_RETURN_IF_ERROR(
      db->Exec(absl::StrCat("PRAGMA mmap_size = ", options_.mmap_bytes)));
  return db->Exec(absl::StrCat("PRAGMA cache_size = -", options_.cache_kib));
}

absl::Status LatencyStore::Init() {
  absl::MutexLock lock(&write_mu_);
  // A file that is not a database, is corrupt or has a newer schema is
  // refused here, read-only, before anything could be written to it.
  HAKD_RETURN_IF_ERROR(CheckDatabaseFile(options_.path));
  HAKD_ASSIGN_OR_RETURN(writer_, SqliteDb::Open(
      options_.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                         SQLITE_OPEN_NOMUTEX,
      options_.busy_timeout_ms));
  HAKD_RETURN_IF_ERROR(writer_->QueryInt("PRAGMA schema_version").status());
  if (options_.max_page_count > 0) {
    HAKD_RETURN_IF_ERROR(writer_->SetMaxPageCount(options_.max_page_count));
  }
  HAKD_RETURN_IF_ERROR(writer_->Exec("PRAGMA journal_mode = WAL"));
  HAKD_RETURN_IF_ERROR(writer_->Exec(options_.synchronous_full
                                         ? "PRAGMA synchronous = FULL"
                                         : "PRAGMA synchronous = NORMAL"));
  HAKD_RETURN_IF_ERROR(writer_->Exec("PRAGMA foreign_keys = ON"));
  HAKD_RETURN_IF_ERROR(TuneConnection(writer_.get()));
  HAKD_RETURN_IF_ERROR(MigrateSchema(writer_.get()));
  HAKD_ASSIGN_OR_RETURN(schema_version_, writer_->QueryInt("PRAGMA user_version"));
  absl::MutexLock rlock(&readers_mu_);
  for (int i = 0; i < std::max(1, options_.reader_connections); ++i) {
    std::unique_ptr<SqliteDb> reader;
    HAKD_ASSIGN_OR_RETURN(reader, SqliteDb::Open(
        options_.path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
        options_.busy_timeout_ms));
    HAKD_RETURN_IF_ERROR(TuneConnection(reader.get()));
    idle_readers_.push_back(std::move(reader));
  }
  return absl::OkStatus();
}

absl::Status LatencyStore::SetMaxPageCount(int64_t pages) {
  absl::MutexLock lock(&write_mu_);
  return writer_->SetMaxPageCount(pages);
}

absl::StatusOr<DeviceRecord> LatencyStore::RegisterDevice(
    const std::string& name, const hakd::v1::DeviceFacts& facts,
    int64_t now_ms) {
  std::string facts_json;
  google::protobuf::util::JsonPrintOptions jopts;
  jopts.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(facts, &facts_json, jopts).ok()) {
    return absl::InvalidArgumentError("facts: cannot be encoded as JSON");
  }
  absl::MutexLock lock(&write_mu_);
  Transaction txn(writer_.get(), absl::StrCat("register device '", name, "'"),
                  "registration");
  HAKD_RETURN_IF_ERROR(txn.Begin());
  {
    HAKD_ASSIGN_OR_RETURN(Statement up, writer_->Prepare(
        "INSERT INTO devices(name, facts_json, first_seen_ms, last_seen_ms) "
        "VALUES(?1, ?2, ?3, ?3) ON CONFLICT(name) DO UPDATE SET "
        "facts_json = excluded.facts_json, last_seen_ms = excluded.last_seen_ms"));
    HAKD_RETURN_IF_ERROR(up.Bind(1, name).Bind(2, facts_json).Bind(3, now_ms).Run());
  }
  DeviceRecord record;
  {
    HAKD_ASSIGN_OR_RETURN(Statement get, writer_->Prepare(absl::StrCat(
        "SELECT ", kDeviceColumns, " FROM devices WHERE name = ?1")));
    get.Bind(1, name);
    HAKD_ASSIGN_OR_RETURN(bool row, get.Step());
    if (!row) return absl::InternalError("device vanished during registration");
    record = RowToDevice(get);
  }
  HAKD_RETURN_IF_ERROR(txn.Commit());
  return record;
}

absl::Status LatencyStore::TouchDevice(int64_t device_id, int64_t now_ms) {
  absl::MutexLock lock(&write_mu_);
  WriteScope scope(writer_.get(),
                   absl::StrCat("record that device ", device_id, " was seen"),
                   "update");
  HAKD_ASSIGN_OR_RETURN(Statement st, writer_->Prepare(
      "UPDATE devices SET last_seen_ms = max(last_seen_ms, ?2) WHERE id = ?1"));
  return st.Bind(1, device_id).Bind(2, now_ms).Run();
}

absl::StatusOr<DeviceRecord> LatencyStore::GetDevice(int64_t id) {
  Reader db = AcquireReader();
  HAKD_ASSIGN_OR_RETURN(Statement st, db->Prepare(absl::StrCat(
      "SELECT ", kDeviceColumns, " FROM devices WHERE id = ?1")));
  st.Bind(1, id);
  HAKD_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return absl::NotFoundError(absl::StrCat("no device with id ", id));
  return RowToDevice(st);
}

absl::StatusOr<DeviceRecord> LatencyStore::FindDevice(absl::string_view id_or_name) {
  if (id_or_name.empty()) {
    return absl::InvalidArgumentError("device: give a device id or name");
  }
  int64_t id = 0;
  // Names start with a letter, so a number is always an id.
  if (absl::SimpleAtoi(id_or_name, &id)) {
    absl::StatusOr<DeviceRecord> d = GetDevice(id);
    if (absl::IsNotFound(d.status())) {
      return absl::NotFoundError(absl::StrCat("no device '", id_or_name, "'"));
    }
    return d;
  }
  Reader db = AcquireReader();
  HAKD_ASSIGN_OR_RETURN(Statement st, db->Prepare(absl::StrCat(
      "SELECT ", kDeviceColumns, " FROM devices WHERE name = ?1")));
  st.Bind(1, id_or_name);
  HAKD_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return absl::NotFoundError(absl::StrCat("no device '", id_or_name, "'"));
  return RowToDevice(st);
}

absl::StatusOr<std::vector<DeviceRecord>> LatencyStore::ListDevices() {
  Reader db = AcquireReader();
  HAKD_ASSIGN_OR_RETURN(Statement st, db->Prepare(absl::StrCat(
      "SELECT ", kDeviceColumns, " FROM devices ORDER BY id")));
  std::vector<DeviceRecord> out;
  while (true) {
    HAKD_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(RowToDevice(st));
  }
  return out;
}

absl::StatusOr<int64_t> LatencyStore::CountMeasurements(int64_t device_id) {
  Reader db = AcquireReader();
  HAKD_ASSIGN_OR_RETURN(Statement st, db->Prepare(
      "SELECT count(*) FROM measurements WHERE device_id = ?1"));
  st.Bind(1, device_id);
  HAKD_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.ColumnInt(0) : 0;
}

absl::StatusOr<int64_t> LatencyStore::LayerId(const LayerSpec& l, bool create,
                                              std::map<LayerKey, int64_t>* created) {
  const LayerKey key{l.kind(),    l.batch(),  l.in_channels(), l.out_channels(),
                     l.height(),  l.width(),  l.kernel(),      l.stride(),
                     l.padding(), l.groups(), CanonicalDtype(l.dtype())};
  if (auto it = layer_ids_.find(key); it != layer_ids_.end()) return it->second;
  if (auto it = created->find(key); it != created->end()) return it->second;
  {
    HAKD_ASSIGN_OR_RETURN(Statement find, writer_->Prepare(
        "SELECT id FROM layers WHERE kind=?1 AND batch=?2 AND in_channels=?3 "
        "AND out_channels=?4 AND height=?5 AND width=?6 AND kernel=?7 AND "
        "stride=?8 AND padding=?9 AND groups=?10 AND dtype=?11"));
    std::apply([&](auto... v) {
      int i = 0;
      (find.Bind(++i, static_cast<int64_t>(v)), ...);
    }, key);
    HAKD_ASSIGN_OR_RETURN(bool row, find.Step());
    if (row) {
      // Found in the database, so it is committed (or created in this
      // transaction, which `created` would have caught).
      const int64_t id = find.ColumnInt(0);
      layer_ids_[key] = id;
      return id;
    }
  }
  if (!create) return int64_t{0};
  HAKD_ASSIGN_OR_RETURN(Statement ins, writer_->Prepare(
      "INSERT INTO layers(kind, batch, in_channels, out_channels, height, "
      "width, kernel, stride, padding, groups, dtype) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"));
  std::apply([&](auto... v) {
    int i = 0;
    (ins.Bind(++i, static_cast<int64_t>(v)), ...);
  }, key);
  HAKD_RETURN_IF_ERROR(ins.Run());
  const int64_t id = writer_->LastInsertRowid();
  (*created)[key] = id;
  return id;
}

absl::StatusOr<int64_t> LatencyStore::UnitId(
    const hakd::v1::UnitSpec& unit, bool create,
    std::map<std::string, int64_t>* created) {
  const std::string key = UnitKey(unit);
  if (auto it = unit_ids_.find(key); it != unit_ids_.end()) return it->second;
  if (auto it = created->find(key); it != created->end()) return it->second;
  {
    HAKD_ASSIGN_OR_RETURN(Statement find, writer_->Prepare(
        "SELECT id FROM units WHERE unit_key = ?1"));
    find.Bind(1, key);
    HAKD_ASSIGN_OR_RETURN(bool row, find.Step());
    if (row) {
      const int64_t id = find.ColumnInt(0);
      unit_ids_[key] = id;
      return id;
    }
  }
  if (!create) return int64_t{0};
  int64_t kind = kUnitNetwork;
  std::string family;
  int64_t width = 0;
  std::string spec;
  absl::StatusOr<NetworkAnalysis> analysis;
  if (unit.has_block()) {
    kind = kUnitBlock;
    const UnitFamily f = FamilyOf(unit.block());
    family = f.family;
    width = f.width;
    spec = unit.block().SerializeAsString();
    analysis = AnalyzeUnit(unit.block());
  } else {
    spec = unit.network().SerializeAsString();
    analysis = AnalyzeNetwork(unit.network());
  }
  HAKD_RETURN_IF_ERROR(analysis.status());
  HAKD_ASSIGN_OR_RETURN(Statement ins, writer_->Prepare(
      "INSERT INTO units(kind, unit_key, family, width, spec, params, macs) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  ins.Bind(1, kind).Bind(2, key).Bind(3, family).Bind(4, width).BindBlob(5, spec)
      .Bind(6, analysis->total_params).Bind(7, analysis->total_macs);
  HAKD_RETURN_IF_ERROR(ins.Run());
  const int64_t id = writer_->LastInsertRowid();
  (*created)[key] = id;
  return id;
}

absl::StatusOr<bool> LatencyStore::WriteUnitMeasurement(
    int64_t device_id, const Measurement& m, int64_t unit_id, int64_t now_ms) {
  HAKD_ASSIGN_OR_RETURN(Statement ins, writer_->Prepare(
      "INSERT OR IGNORE INTO unit_measurements(device_id, unit_id, backend, "
      "threads, interop_threads, median_us, p10_us, p90_us, mean_us, "
      "stddev_us, samples, runs_per_sample, measured_ms, received_ms, run_id, "
      "sweep_id, item_index, cv, unstable, attempts, throttled, "
      "reference_ratio, governor, frequency_khz, temperature_c, load_1m, "
      "settings, raw_samples, timed_s, robust_cv) VALUES(?1, ?2, ?3, ?4, ?5, "
      "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, "
      "?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30)"));
  ins.Bind(1, device_id).Bind(2, unit_id).Bind(3, m.backend())
      .Bind(4, int64_t{m.threads()}).Bind(5, int64_t{m.interop_threads()})
      .Bind(6, m.median_us()).Bind(7, m.p10_us()).Bind(8, m.p90_us())
      .Bind(9, m.mean_us()).Bind(10, m.stddev_us())
      .Bind(11, int64_t{m.samples()}).Bind(12, int64_t{m.runs_per_sample()})
      .Bind(13, m.measured_unix_ms()).Bind(14, now_ms).Bind(15, m.run_id());
  if (m.sweep_id() > 0) {
    ins.Bind(16, m.sweep_id()).Bind(17, int64_t{m.item_index()});
  } else {
    ins.BindNull(16).BindNull(17);
  }
  ins.Bind(18, m.cv()).Bind(19, int64_t{m.unstable() ? 1 : 0})
      .Bind(20, int64_t{m.attempts() > 0 ? m.attempts() : 1})
      .Bind(21, int64_t{m.throttled() ? 1 : 0}).Bind(22, m.reference_ratio())
      .Bind(23, m.state().frequency_governor())
      .Bind(24, m.state().frequency_khz())
      .Bind(25, m.state().temperature_c())
      .Bind(26, m.state().load_average_1m());
  if (m.has_settings()) {
    ins.BindBlob(27, m.settings().SerializeAsString());
  } else {
    ins.BindNull(27);
  }
  if (m.samples_us_size() > 0) {
    ins.BindBlob(28, absl::string_view(
                         reinterpret_cast<const char*>(m.samples_us().data()),
                         m.samples_us_size() * sizeof(double)));
  } else {
    ins.BindNull(28);
  }
  ins.Bind(29, m.timed_seconds()).Bind(30, m.robust_cv());
  HAKD_RETURN_IF_ERROR(ins.Run());
  return writer_->Changes() > 0;
}

absl::Status LatencyStore::CheckBatch(int64_t device_id, const MeasurementBatch& batch,
                                      std::map<LayerKey, int64_t>* created,
                                      std::map<std::string, int64_t>* created_units) {
  auto check_item = [&](const std::string& field, int64_t sweep_id,
                        int item_index, int64_t* item_layer,
                        int64_t* item_unit = nullptr) -> absl::Status {
    HAKD_ASSIGN_OR_RETURN(Statement st, writer_->Prepare(
        "SELECT s.device_id, ifnull(i.layer_id, 0), ifnull(i.unit_id, 0) "
        "FROM sweep_items i JOIN sweeps s "
        "ON s.id = i.sweep_id WHERE i.sweep_id = ?1 AND i.item_index = ?2"));
    st.Bind(1, sweep_id).Bind(2, int64_t{item_index});
    HAKD_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".item_index: sweep ", sweep_id, " has no item ", item_index));
    }
    if (st.ColumnInt(0) != device_id) {
      return absl::PermissionDeniedError(absl::StrCat(
          field, ".sweep_id: sweep ", sweep_id, " belongs to another device"));
    }
    *item_layer = st.ColumnInt(1);
    if (item_unit != nullptr) *item_unit = st.ColumnInt(2);
    return absl::OkStatus();
  };
  for (int i = 0; i < batch.measurements_size(); ++i) {
    const Measurement& m = batch.measurements(i);
    const std::string field = absl::StrCat("batch.measurements[", i, "]");
    if (m.device_id() != 0 && m.device_id() != device_id) {
      return absl::PermissionDeniedError(absl::StrCat(
          field, ".device_id: an agent may only send its own measurements (",
          "stream is device ", device_id, ", got ", m.device_id(), ")"));
    }
    if (m.sweep_id() == 0) continue;
    int64_t item_layer = 0;
    int64_t item_unit = 0;
    HAKD_RETURN_IF_ERROR(check_item(field, m.sweep_id(), m.item_index(),
                                    &item_layer, &item_unit));
    if (m.has_unit()) {
      HAKD_ASSIGN_OR_RETURN(int64_t unit, UnitId(m.unit(), false, created_units));
      if (unit == 0 || unit != item_unit) {
        return absl::InvalidArgumentError(absl::StrCat(
            field, ".unit: does not match item ", m.item_index(), " of sweep ",
            m.sweep_id()));
      }
      continue;
    }
    HAKD_ASSIGN_OR_RETURN(int64_t layer, LayerId(m.layer(), false, created));
    // A unit item has no layer (0), nor has a layer never stored.
    if (layer == 0 || layer != item_layer) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".layer: does not match item ", m.item_index(), " of sweep ",
          m.sweep_id()));
    }
  }
  for (int i = 0; i < batch.failures_size(); ++i) {
    const hakd::v1::ItemFailure& f = batch.failures(i);
    int64_t item_layer = 0;
    HAKD_RETURN_IF_ERROR(check_item(absl::StrCat("batch.failures[", i, "]"),
                                    f.sweep_id(), f.item_index(), &item_layer));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> LatencyStore::WriteBatch(int64_t device_id,
                                             const MeasurementBatch& batch,
                                             int64_t now_ms,
                                             std::map<LayerKey, int64_t>* created,
                                             std::map<std::string, int64_t>* created_units,
                                             std::set<int64_t>* sweeps_touched) {
  int stored = 0;
  auto mark_done = [&](const Measurement& m) -> absl::Status {
    ++stored;
    if (m.sweep_id() == 0) return absl::OkStatus();
    HAKD_ASSIGN_OR_RETURN(Statement done, writer_->Prepare(
        "UPDATE sweep_items SET state = 1, error = NULL "
        "WHERE sweep_id = ?1 AND item_index = ?2"));
    HAKD_RETURN_IF_ERROR(
        done.Bind(1, m.sweep_id()).Bind(2, int64_t{m.item_index()}).Run());
    sweeps_touched->insert(m.sweep_id());
    return absl::OkStatus();
  };
  for (const Measurement& m : batch.measurements()) {
    if (m.has_unit()) {
      HAKD_ASSIGN_OR_RETURN(int64_t unit_id, UnitId(m.unit(), true, created_units));
      HAKD_ASSIGN_OR_RETURN(bool inserted,
                            WriteUnitMeasurement(device_id, m, unit_id, now_ms));
      if (inserted) HAKD_RETURN_IF_ERROR(mark_done(m));
      continue;
    }
    HAKD_ASSIGN_OR_RETURN(int64_t layer_id, LayerId(m.layer(), true, created));
    HAKD_ASSIGN_OR_RETURN(Statement ins, writer_->Prepare(
        "INSERT OR IGNORE INTO measurements(device_id, layer_id, backend, "
        "threads, median_us, p10_us, p90_us, mean_us, stddev_us, samples, "
        "runs_per_sample, measured_ms, received_ms, run_id, sweep_id, "
        "item_index, cv, unstable, attempts, interop_threads, governor, "
        "frequency_khz, temperature_c, load_1m, settings, raw_samples, "
        "throttled, reference_ratio, timed_s, robust_cv) VALUES(?1, "
        "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
        "?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30)"));
    ins.Bind(1, device_id).Bind(2, layer_id).Bind(3, m.backend())
        .Bind(4, int64_t{m.threads()}).Bind(5, m.median_us()).Bind(6, m.p10_us())
        .Bind(7, m.p90_us()).Bind(8, m.mean_us()).Bind(9, m.stddev_us())
        .Bind(10, int64_t{m.samples()}).Bind(11, int64_t{m.runs_per_sample()})
        .Bind(12, m.measured_unix_ms()).Bind(13, now_ms).Bind(14, m.run_id());
    if (m.sweep_id() > 0) {
      ins.Bind(15, m.sweep_id()).Bind(16, int64_t{m.item_index()});
    } else {
      ins.BindNull(15).BindNull(16);
    }
    ins.Bind(17, m.cv()).Bind(18, int64_t{m.unstable() ? 1 : 0})
        .Bind(19, int64_t{m.attempts() > 0 ? m.attempts() : 1})
        .Bind(20, int64_t{m.interop_threads()})
        .Bind(21, m.state().frequency_governor())
        .Bind(22, m.state().frequency_khz())
        .Bind(23, m.state().temperature_c())
        .Bind(24, m.state().load_average_1m());
    if (m.has_settings()) {
      ins.BindBlob(25, m.settings().SerializeAsString());
    } else {
      ins.BindNull(25);
    }
    if (m.samples_us_size() > 0) {
      // Raw doubles in host byte order: every platform we build for is
      // little-endian, and a BLOB keeps a 200-sample result small.
      ins.BindBlob(26, absl::string_view(
                           reinterpret_cast<const char*>(m.samples_us().data()),
                           m.samples_us_size() * sizeof(double)));
    } else {
      ins.BindNull(26);
    }
    ins.Bind(27, int64_t{m.throttled() ? 1 : 0}).Bind(28, m.reference_ratio())
        .Bind(29, m.timed_seconds()).Bind(30, m.robust_cv());
    HAKD_RETURN_IF_ERROR(ins.Run());
    // Ignored only when this sweep item already has its measurement.
    if (writer_->Changes() == 0) continue;
    HAKD_RETURN_IF_ERROR(mark_done(m));
  }
  for (const hakd::v1::ItemFailure& f : batch.failures()) {
    HAKD_ASSIGN_OR_RETURN(Statement fail, writer_->Prepare(
        "UPDATE sweep_items SET state = 2, error = ?3 "
        "WHERE sweep_id = ?1 AND item_index = ?2 AND state = 0"));
    HAKD_RETURN_IF_ERROR(fail.Bind(1, f.sweep_id()).Bind(2, int64_t{f.item_index()})
                             .Bind(3, f.error()).Run());
    if (writer_->Changes() > 0) {
      HAKD_ASSIGN_OR_RETURN(Statement err, writer_->Prepare(
          "UPDATE sweeps SET last_error = ?2 WHERE id = ?1"));
      HAKD_RETURN_IF_ERROR(err.Bind(1, f.sweep_id()).Bind(2, f.error()).Run());
    }
    sweeps_touched->insert(f.sweep_id());
  }
  HAKD_ASSIGN_OR_RETURN(Statement rec, writer_->Prepare(
      "INSERT INTO batches(device_id, batch_id, committed_ms, entries) "
      "VALUES(?1, ?2, ?3, ?4)"));
  HAKD_RETURN_IF_ERROR(rec.Bind(1, device_id).Bind(2, batch.batch_id()).Bind(3, now_ms)
                           .Bind(4, int64_t{batch.measurements_size() +
                                            batch.failures_size()}).Run());
  return stored;
}

absl::StatusOr<CommitSummary> LatencyStore::CommitBatches(
    absl::Span<const PendingBatch> batches, int64_t now_ms) {
  absl::MutexLock lock(&write_mu_);
  CommitSummary summary;
  summary.results.resize(batches.size());
  std::map<LayerKey, int64_t> created;
  std::map<std::string, int64_t> created_units;
  // Every batch of the group goes in one transaction: a full database
  // stores none of them, and none is acknowledged.
  Transaction txn(writer_.get(),
                  batches.size() == 1
                      ? absl::StrCat("store measurement batch '",
                                     batches[0].batch->batch_id(), "'")
                      : absl::StrCat("store a group of ", batches.size(),
                                     " measurement batches"),
                  batches.size() == 1 ? "batch" : "group");
  HAKD_RETURN_IF_ERROR(txn.Begin());
  for (size_t i = 0; i < batches.size(); ++i) {
    const PendingBatch& p = batches[i];
    BatchResult& result = summary.results[i];
    {
      HAKD_ASSIGN_OR_RETURN(Statement seen, writer_->Prepare(
          "SELECT 1 FROM batches WHERE device_id = ?1 AND batch_id = ?2"));
      seen.Bind(1, p.device_id).Bind(2, p.batch->batch_id());
      HAKD_ASSIGN_OR_RETURN(bool row, seen.Step());
      if (row) {
        result.duplicate = true;
        continue;
      }
    }
    result.status = CheckBatch(p.device_id, *p.batch, &created, &created_units);
    if (!result.status.ok()) continue;
    HAKD_ASSIGN_OR_RETURN(result.stored,
                          WriteBatch(p.device_id, *p.batch, now_ms, &created,
                                     &created_units, &summary.sweeps_touched));
    summary.devices_touched.insert(p.device_id);
  }
  HAKD_RETURN_IF_ERROR(RefreshSweeps(summary.sweeps_touched, now_ms));
  for (int64_t device_id : summary.devices_touched) {
    HAKD_ASSIGN_OR_RETURN(Statement touch, writer_->Prepare(
        "UPDATE devices SET last_seen_ms = max(last_seen_ms, ?2) WHERE id = ?1"));
    HAKD_RETURN_IF_ERROR(touch.Bind(1, device_id).Bind(2, now_ms).Run());
  }
  HAKD_RETURN_IF_ERROR(txn.Commit());
  layer_ids_.insert(created.begin(), created.end());
  unit_ids_.insert(created_units.begin(), created_units.end());
  return summary;
}

absl::Status LatencyStore::RefreshSweeps(const std::set<int64_t>& sweeps,
                                         int64_t now_ms) {
  for (int64_t sweep_id : sweeps) {
    HAKD_ASSIGN_OR_RETURN(Statement count, writer_->Prepare(
        "UPDATE sweeps SET "
        "measured = (SELECT count(*) FROM sweep_items WHERE sweep_id = ?1 AND state = 1), "
        "failed = (SELECT count(*) FROM sweep_items WHERE sweep_id = ?1 AND state = 2) "
        "WHERE id = ?1"));
    HAKD_RETURN_IF_ERROR(count.Bind(1, sweep_id).Run());
    HAKD_ASSIGN_OR_RETURN(Statement finish, writer_->Prepare(
        "UPDATE sweeps SET state = ?2, finished_ms = ?3 WHERE id = ?1 AND "
        "state IN (1, 2) AND measured + failed >= total"));
    HAKD_RETURN_IF_ERROR(finish.Bind(1, sweep_id)
                             .Bind(2, int64_t{hakd::v1::Sweep::STATE_DONE})
                             .Bind(3, now_ms).Run());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::set<int64_t>> LatencyStore::FailRejectedItems(
    int64_t device_id, const MeasurementBatch& batch, const std::string& error,
    int64_t now_ms) {
  std::vector<std::pair<int64_t, int64_t>> items;
  for (const Measurement& m : batch.measurements()) {
    if (m.sweep_id() > 0) items.emplace_back(m.sweep_id(), m.item_index());
  }
  for (const hakd::v1::ItemFailure& f : batch.failures()) {
    if (f.sweep_id() > 0) items.emplace_back(f.sweep_id(), f.item_index());
  }
  std::set<int64_t> touched;
  if (items.empty()) return touched;
  const std::string message = absl::StrCat("batch rejected: ", error);
  absl::MutexLock lock(&write_mu_);
  Transaction txn(writer_.get(),
                  absl::StrCat("fail the items of rejected batch '",
                               batch.batch_id(), "'"),
                  "update");
  HAKD_RETURN_IF_ERROR(txn.Begin());
  for (const auto& [sweep_id, item_index] : items) {
    // Only pending items of this device's own sweeps: a batch naming someone
    // else's sweep changes nothing.
    HAKD_ASSIGN_OR_RETURN(Statement fail, writer_->Prepare(
        "UPDATE sweep_items SET state = 2, error = ?4 WHERE sweep_id = ?1 AND "
        "item_index = ?2 AND state = 0 AND "
        "(SELECT device_id FROM sweeps WHERE id = ?1) = ?3"));
    HAKD_RETURN_IF_ERROR(fail.Bind(1, sweep_id).Bind(2, item_index)
                             .Bind(3, device_id).Bind(4, message).Run());
    if (writer_->Changes() == 0) continue;
    touched.insert(sweep_id);
    HAKD_ASSIGN_OR_RETURN(Statement err, writer_->Prepare(
        "UPDATE sweeps SET last_error = ?2 WHERE id = ?1"));
    HAKD_RETURN_IF_ERROR(err.Bind(1, sweep_id).Bind(2, message).Run());
  }
  HAKD_RETURN_IF_ERROR(RefreshSweeps(touched, now_ms));
  HAKD_RETURN_IF_ERROR(txn.Commit());
  return touched;
}

absl::StatusOr<QueryResult> LatencyStore::QueryMeasurements(
    int64_t device_id, const hakd::v1::LayerFilter& f, int limit,
    bool latest_only) {
  std::vector<std::string> where = {"m.device_id = ?1"};
  std::vector<int64_t> args;
  auto add = [&](bool has, const char* column, int64_t value) {
    if (!has) return;
    args.push_back(value);
    where.push_back(absl::StrCat("l.", column, " = ?", args.size() + 1));
  };
  add(f.has_kind(), "kind", f.kind());
  add(f.has_batch(), "batch", f.batch());
  add(f.has_in_channels(), "in_channels", f.in_channels());
  add(f.has_out_channels(), "out_channels", f.out_channels());
  add(f.has_height(), "height", f.height());
  add(f.has_width(), "width", f.width());
  add(f.has_kernel(), "kernel", f.kernel());
  add(f.has_stride(), "stride", f.stride());
  add(f.has_padding(), "padding", f.padding());
  add(f.has_groups(), "groups", f.groups());
  add(f.has_dtype(), "dtype", CanonicalDtype(f.dtype()));
  if (f.has_depthwise()) {
    where.push_back(absl::StrCat(
        f.depthwise() ? "" : "NOT ",
        "(l.kind = 1 AND l.groups > 1 AND l.groups = l.in_channels AND "
        "l.groups = l.out_channels)"));
  }
  if (latest_only) {
    where.push_back(
        "m.id = (SELECT max(m2.id) FROM measurements m2 WHERE "
        "m2.device_id = m.device_id AND m2.layer_id = m.layer_id)");
  }
  const std::string sql = absl::StrCat(
      "SELECT ", kMeasurementColumns,
      " FROM measurements m JOIN layers l ON l.id = m.layer_id WHERE ",
      absl::StrJoin(where, " AND "),
      " ORDER BY l.kind, l.kernel, l.stride, l.height, l.width, l.groups > 1, "
      "l.in_channels, l.out_channels, m.id LIMIT ?", args.size() + 2);
  Reader db = AcquireReader();
  HAKD_ASSIGN_OR_RETURN(Statement st, db->Prepare(sql));
  st.Bind(1, device_id);
  for (size_t i = 0; i < args.size(); ++i) st.Bind(static_cast<int>(i + 2), args[i]);
  st.Bind(static_cast<int>(args.size() + 2), int64_t{limit} + 1);
  QueryResult result;
  while (true) {
    HAKD_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    if (static_cast<int>(result.measurements.size()) == limit) {
      result.truncated = true;
      break;
    }
    result.measurements.push_back(RowToMeasurement(st));
  }
  return result;
}

absl::StatusOr<std::vector<Measurement>> LatencyStore::ExportPage(
    int64_t device_id, int64_t after_id, int limit) {
  Reader db = AcquireReader();
  HAKD_ASSIGN_OR_RETURN(Statement st, db->Prepare(absl::StrCat(
      "SELECT ", kMeasurementColumns,
      " FROM measurements m JOIN layers l ON l.id = m.layer_id "
      "WHERE m.device_id = ?1 AND m.id > ?2 ORDER BY m.id LIMIT ?3")));
  st.Bind(1, device_id).Bind(2, after_id).Bind(3, int64_t{limit});
  std::vector<Measurement> out;
  while (true) {
    HAKD_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(RowToMeasurement(st));
  }
  return out;
}

absl::StatusOr<SweepRecord> LatencyStore::CreateSweep(
    int64_t device_id, const std::string& preset,
    const hakd::v1::MeasurementSettings& settings,
    const std::vector<LayerSpec>& layers, int chunk_size, int64_t now_ms) {
  std::vector<hakd::v1::TaskItem> items(layers.size());
  for (size_t i = 0; i < layers.size(); ++i) *items[i].mutable_layer() = layers[i];
  return CreateSweepOfItems(device_id, preset, settings, items, chunk_size,
                            now_ms);
}

absl::StatusOr<SweepRecord> LatencyStore::CreateSweepOfItems(
    int64_t device_id, const std::string& preset,
    const hakd::v1::MeasurementSettings& settings,
    const std::vector<hakd::v1::TaskItem>& items, int chunk_size,
    int64_t now_ms) {
  if (chunk_size <= 0) return absl::InvalidArgumentError("chunk_size: must be positive");
  absl::MutexLock lock(&write_mu_);
  std::map<LayerKey, int64_t> created;
  std::map<std::string, int64_t> created_units;
  Transaction txn(writer_.get(),
                  absl::StrCat("create a sweep of ", items.size(), " items"),
                  "sweep");
  HAKD_RETURN_IF_ERROR(txn.Begin());
  HAKD_ASSIGN_OR_RETURN(Statement ins, writer_->Prepare(
      "INSERT INTO sweeps(device_id, preset, settings, state, total, "
      "chunk_size, created_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  HAKD_RETURN_IF_ERROR(ins.Bind(1, device_id).Bind(2, preset)
                           .BindBlob(3, settings.SerializeAsString())
                           .Bind(4, int64_t{hakd::v1::Sweep::STATE_QUEUED})
                           .Bind(5, static_cast<int64_t>(items.size()))
                           .Bind(6, int64_t{chunk_size}).Bind(7, now_ms).Run());
  const int64_t sweep_id = writer_->LastInsertRowid();
  for (size_t i = 0; i < items.size(); ++i) {
    HAKD_ASSIGN_OR_RETURN(Statement item, writer_->Prepare(
        "INSERT INTO sweep_items(sweep_id, item_index, chunk_index, layer_id, "
        "unit_id) VALUES(?1, ?2, ?3, ?4, ?5)"));
    item.Bind(1, sweep_id).Bind(2, static_cast<int64_t>(i))
        .Bind(3, static_cast<int64_t>(i / chunk_size));
    if (items[i].has_unit()) {
      HAKD_ASSIGN_OR_RETURN(int64_t unit_id,
                            UnitId(items[i].unit(), true, &created_units));
      item.BindNull(4).Bind(5, unit_id);
    } else {
      HAKD_ASSIGN_OR_RETURN(int64_t layer_id,
                            LayerId(items[i].layer(), true, &created));
      item.Bind(4, layer_id).BindNull(5);
    }
    HAKD_RETURN_IF_ERROR(item.Run());
  }
  HAKD_RETURN_IF_ERROR(txn.Commit());
  layer_ids_.insert(created.begin(), created.end());
  unit_ids_.insert(created_units.begin(), created_units.end());
  SweepRecord r;
  r.id = sweep_id;
  r.device_id = device_id;
  r.preset = preset;
  r.settings = settings;
  r.total = static_cast<int>(items.size());
  r.chunk_size = chunk_size;
  r.created_ms = now_ms;
  return r;
}

absl::StatusOr<SweepRecord> LatencyStore::GetSweep(int64_t sweep_id) {
  Reader db = AcquireReader();
  HAKD_ASSIGN_OR_RETURN(Statement st, db->Prepare(absl::StrCat(
      "SELECT ", kSweepColumns, " FROM sweeps WHERE id = ?1")));
  st.Bind(1, sweep_id);
  HAKD_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return absl::NotFoundError(absl::StrCat("no sweep ", sweep_id));
  return RowToSweep(st);
}

absl::StatusOr<std::vector<SweepRecord>> LatencyStore::ListSweeps(int64_t device_id) {
  Reader db = AcquireReader();
  HAKD_ASSIGN_OR_RETURN(Statement st, db->Prepare(absl::StrCat(
      "SELECT ", kSweepColumns,
      " FROM sweeps WHERE ?1 = 0 OR device_id = ?1 ORDER BY id DESC")));
  st.Bind(1, device_id);
  std::vector<SweepRecord> out;
  while (true) {
    HAKD_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(RowToSweep(st));
  }
  return out;
}

absl::StatusOr<std::vector<SweepRecord>> LatencyStore::ActiveSweeps(int64_t device_id) {
  Reader db = AcquireReader();
  HAKD_ASSIGN_OR_RETURN(Statement st, db->Prepare(absl::StrCat(
      "SELECT ", kSweepColumns,
      " FROM sweeps WHERE device_id = ?1 AND state IN (1, 2) ORDER BY id")));
  st.Bind(1, device_id);
  std::vector<SweepRecord> out;
  while (true) {
    HAKD_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(RowToSweep(st));
  }
  return out;
}

absl::StatusOr<std::vector<SweepChunk>> LatencyStore::PendingChunks(int64_t sweep_id,
                                                                    int max_chunks) {
  Reader db = AcquireReader();
  HAKD_ASSIGN_OR_RETURN(Statement st, db->Prepare(
      "SELECT i.chunk_index, i.item_index, l.kind, l.batch, l.in_channels, "
      "l.out_channels, l.height, l.width, l.kernel, l.stride, l.padding, "
      "l.groups, l.dtype, u.kind, u.spec FROM sweep_items i "
      "LEFT JOIN layers l ON l.id = i.layer_id "
      "LEFT JOIN units u ON u.id = i.unit_id "
      "WHERE i.sweep_id = ?1 AND i.state = 0 AND i.chunk_index IN ("
      "  SELECT DISTINCT chunk_index FROM sweep_items WHERE sweep_id = ?1 AND "
      "  state = 0 ORDER BY chunk_index LIMIT ?2) "
      "ORDER BY i.chunk_index, i.item_index"));
  st.Bind(1, sweep_id).Bind(2, int64_t{max_chunks});
  std::vector<SweepChunk> out;
  while (true) {
    HAKD_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    const int chunk = st.ColumnInt(0);
    if (out.empty() || out.back().chunk_index != chunk) {
      out.emplace_back();
      out.back().chunk_index = chunk;
    }
    hakd::v1::TaskItem& item = out.back().pending_items.emplace_back();
    item.set_item_index(st.ColumnInt(1));
    if (st.ColumnIsNull(13)) {
      ReadLayerColumns(st, 2, item.mutable_layer());
    } else if (!ParseUnit(st.ColumnInt(13), st.ColumnText(14),
                          item.mutable_unit())) {
      return absl::DataLossError(absl::StrCat(
          "sweep ", sweep_id, " item ", item.item_index(),
          ": stored unit does not parse"));
    }
  }
  return out;
}

absl::Status LatencyStore::MarkSweepRunning(int64_t sweep_id, int64_t now_ms) {
  absl::MutexLock lock(&write_mu_);
  WriteScope scope(writer_.get(),
                   absl::StrCat("mark sweep ", sweep_id, " running"), "update");
  HAKD_ASSIGN_OR_RETURN(Statement st, writer_->Prepare(
      "UPDATE sweeps SET state = 2, started_ms = ?2 WHERE id = ?1 AND state = 1"));
  return st.Bind(1, sweep_id).Bind(2, now_ms).Run();
}

absl::StatusOr<SweepRecord> LatencyStore::CancelSweep(int64_t sweep_id, int64_t now_ms) {
  {
    absl::MutexLock lock(&write_mu_);
    WriteScope scope(writer_.get(), absl::StrCat("cancel sweep ", sweep_id),
                     "cancellation");
    HAKD_ASSIGN_OR_RETURN(Statement st, writer_->Prepare(
        "UPDATE sweeps SET state = 4, finished_ms = ?2 WHERE id = ?1 AND "
        "state IN (1, 2)"));
    HAKD_RETURN_IF_ERROR(st.Bind(1, sweep_id).Bind(2, now_ms).Run());
  }
  return GetSweep(sweep_id);
}

absl::StatusOr<std::map<std::string, double>> LatencyStore::UnitLatencies(
    int64_t device_id, const std::set<std::string>& keys) {
  Reader db = AcquireReader();
  std::map<std::string, double> out;
  for (const std::string& key : keys) {
    HAKD_ASSIGN_OR_RETURN(Statement find, db->Prepare(
        "SELECT id FROM units WHERE unit_key = ?1"));
    find.Bind(1, key);
    HAKD_ASSIGN_OR_RETURN(bool row, find.Step());
    if (!row) continue;
    const int64_t unit_id = find.ColumnInt(0);
    HAKD_ASSIGN_OR_RETURN(Statement best, db->Prepare(kBestUnitResult));
    best.Bind(1, device_id).Bind(2, unit_id);
    HAKD_ASSIGN_OR_RETURN(bool measured, best.Step());
    if (measured) out[key] = best.ColumnDouble(0);
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<int, double>>> LatencyStore::FamilyLatencies(
    int64_t device_id, const std::string& family) {
  Reader db = AcquireReader();
  HAKD_ASSIGN_OR_RETURN(Statement units, db->Prepare(
      "SELECT id, width FROM units WHERE family = ?1 ORDER BY width"));
  units.Bind(1, family);
  std::vector<std::pair<int64_t, int>> ids;
  while (true) {
    HAKD_ASSIGN_OR_RETURN(bool row, units.Step());
    if (!row) break;
    ids.emplace_back(units.ColumnInt(0), units.ColumnInt(1));
  }
  std::vector<std::pair<int, double>> out;
  for (const auto& [unit_id, width] : ids) {
    HAKD_ASSIGN_OR_RETURN(Statement best, db->Prepare(kBestUnitResult));
    best.Bind(1, device_id).Bind(2, unit_id);
    HAKD_ASSIGN_OR_RETURN(bool measured, best.Step());
    if (measured) out.emplace_back(width, best.ColumnDouble(0));
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<hakd::v1::NetworkSpec, double>>>
LatencyStore::NetworkResults(int64_t device_id,
                             const std::vector<int64_t>& sweep_ids) {
  HAKD_ASSIGN_OR_RETURN(std::vector<NetworkResult> flagged,
                        FlaggedNetworkResults(device_id, sweep_ids));
  std::vector<std::pair<hakd::v1::NetworkSpec, double>> out;
  for (NetworkResult& r : flagged) {
    out.emplace_back(std::move(r.network), r.median_us);
  }
  return out;
}

absl::StatusOr<std::vector<LatencyStore::NetworkResult>>
LatencyStore::FlaggedNetworkResults(int64_t device_id,
                                    const std::vector<int64_t>& sweep_ids) {
  Reader db = AcquireReader();
  std::vector<NetworkResult> out;
  for (int64_t sweep_id : sweep_ids) {
    HAKD_ASSIGN_OR_RETURN(Statement st, db->Prepare(
        "SELECT u.spec, m.median_us, m.throttled, m.unstable FROM "
        "unit_measurements m JOIN units u ON u.id = m.unit_id WHERE "
        "m.device_id = ?1 AND m.sweep_id = ?2 AND u.kind = ?3 ORDER BY "
        "m.item_index"));
    st.Bind(1, device_id).Bind(2, sweep_id).Bind(3, int64_t{kUnitNetwork});
    while (true) {
      HAKD_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      NetworkResult r;
      if (!r.network.ParseFromString(st.ColumnText(0))) {
        return absl::DataLossError(absl::StrCat(
            "sweep ", sweep_id, ": a stored network does not parse"));
      }
      r.median_us = st.ColumnDouble(1);
      r.disturbed = st.ColumnInt(2) != 0 || st.ColumnInt(3) != 0;
      out.push_back(std::move(r));
    }
  }
  return out;
}

absl::Status LatencyStore::SaveOverheadModel(const hakd::v1::OverheadModel& model) {
  absl::MutexLock lock(&write_mu_);
  WriteScope scope(writer_.get(),
                   absl::StrCat("save the overhead model of device ",
                                model.device_id()),
                   "model");
  HAKD_ASSIGN_OR_RETURN(Statement st, writer_->Prepare(
      "INSERT OR REPLACE INTO overhead_models(device_id, model, fitted_ms) "
      "VALUES(?1, ?2, ?3)"));
  return st.Bind(1, model.device_id()).BindBlob(2, model.SerializeAsString())
      .Bind(3, model.fitted_unix_ms()).Run();
}

absl::StatusOr<hakd::v1::OverheadModel> LatencyStore::LoadOverheadModel(
    int64_t device_id) {
  Reader db = AcquireReader();
  HAKD_ASSIGN_OR_RETURN(Statement st, db->Prepare(
      "SELECT model FROM overhead_models WHERE device_id = ?1"));
  st.Bind(1, device_id);
  HAKD_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) {
    return absl::NotFoundError(
        absl::StrCat("device ", device_id, " has no fitted overhead"));
  }
  hakd::v1::OverheadModel model;
  if (!model.ParseFromString(st.ColumnText(0))) {
    return absl::DataLossError(absl::StrCat(
        "device ", device_id, ": stored overhead model does not parse"));
  }
  return model;
}

absl::StatusOr<std::vector<Measurement>> LatencyStore::UnitMeasurementsPage(
    int64_t device_id, int64_t after_id, int limit) {
  Reader db = AcquireReader();
  HAKD_ASSIGN_OR_RETURN(Statement st, db->Prepare(
      "SELECT m.id, u.kind, u.spec, m.backend, m.threads, m.interop_threads, "
      "m.median_us, m.p10_us, m.p90_us, m.mean_us, m.stddev_us, m.samples, "
      "m.runs_per_sample, m.measured_ms, m.received_ms, m.run_id, m.sweep_id, "
      "m.item_index, m.cv, m.unstable, m.attempts, m.throttled, "
      "m.reference_ratio, m.timed_s, m.robust_cv FROM unit_measurements m JOIN units u ON "
      "u.id = m.unit_id WHERE m.device_id = ?1 AND m.id > ?2 ORDER BY m.id "
      "LIMIT ?3"));
  st.Bind(1, device_id).Bind(2, after_id).Bind(3, int64_t{limit});
  std::vector<Measurement> out;
  while (true) {
    HAKD_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    Measurement& m = out.emplace_back();
    m.set_id(st.ColumnInt(0));
    m.set_device_id(device_id);
    if (!ParseUnit(st.ColumnInt(1), st.ColumnText(2), m.mutable_unit())) {
      return absl::DataLossError(
          absl::StrCat("unit measurement ", m.id(), ": unit does not parse"));
    }
    m.set_backend(st.ColumnText(3));
    m.set_threads(st.ColumnInt(4));
    m.set_interop_threads(st.ColumnInt(5));
    m.set_median_us(st.ColumnDouble(6));
    m.set_p10_us(st.ColumnDouble(7));
    m.set_p90_us(st.ColumnDouble(8));
    m.set_mean_us(st.ColumnDouble(9));
    m.set_stddev_us(st.ColumnDouble(10));
    m.set_samples(st.ColumnInt(11));
    m.set_runs_per_sample(st.ColumnInt(12));
    m.set_measured_unix_ms(st.ColumnInt(13));
    m.set_received_unix_ms(st.ColumnInt(14));
    m.set_run_id(st.ColumnText(15));
    m.set_sweep_id(st.ColumnIsNull(16) ? 0 : st.ColumnInt(16));
    m.set_item_index(st.ColumnIsNull(17) ? 0 : st.ColumnInt(17));
    m.set_cv(st.ColumnDouble(18));
    m.set_unstable(st.ColumnInt(19) != 0);
    m.set_attempts(st.ColumnInt(20));
    m.set_throttled(st.ColumnInt(21) != 0);
    m.set_reference_ratio(st.ColumnDouble(22));
    m.set_timed_seconds(st.ColumnDouble(23));
    m.set_robust_cv(st.ColumnDouble(24));
  }
  return out;
}

}  // namespace hakd
