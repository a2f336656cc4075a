#include "server/schema.h"

#include "absl/strings/str_cat.h"

namespace hakd {
namespace {

// Version 1: devices, layer shapes, batches (for idempotent resend) and
// measurements. Facts are JSON so people can read them with sqlite3.
constexpr char kV1[] = R"sql(
CREATE TABLE devices(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  facts_json TEXT NOT NULL,
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL);
CREATE TABLE layers(
  id INTEGER PRIMARY KEY,
  kind INTEGER NOT NULL, batch INTEGER NOT NULL,
  in_channels INTEGER NOT NULL, out_channels INTEGER NOT NULL,
  height INTEGER NOT NULL, width INTEGER NOT NULL,
  kernel INTEGER NOT NULL, stride INTEGER NOT NULL, padding INTEGER NOT NULL,
  groups INTEGER NOT NULL, dtype INTEGER NOT NULL,
  UNIQUE(kind, batch, in_channels, out_channels, height, width, kernel,
         stride, padding, groups, dtype));
CREATE TABLE batches(
  device_id INTEGER NOT NULL REFERENCES devices(id),
  batch_id TEXT NOT NULL,
  committed_ms INTEGER NOT NULL,
  entries INTEGER NOT NULL,
  PRIMARY KEY(device_id, batch_id)) WITHOUT ROWID;
CREATE TABLE measurements(
  id INTEGER PRIMARY KEY,
  device_id INTEGER NOT NULL REFERENCES devices(id),
  layer_id INTEGER NOT NULL REFERENCES layers(id),
  backend TEXT NOT NULL,
  threads INTEGER NOT NULL,
  median_us REAL NOT NULL, p10_us REAL NOT NULL, p90_us REAL NOT NULL,
  mean_us REAL NOT NULL, stddev_us REAL NOT NULL,
  samples INTEGER NOT NULL, runs_per_sample INTEGER NOT NULL,
  measured_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL,
  run_id TEXT NOT NULL);
CREATE INDEX measurements_by_device_layer ON measurements(device_id, layer_id);
CREATE INDEX measurements_by_device ON measurements(device_id);
)sql";

// Version 2: sweeps planned by the coordinator, their items, and the link
// from a measurement to the sweep item it answers. The partial unique index
// is what makes a re-measured sweep item impossible to store twice.
constexpr char kV2[] = R"sql(
CREATE TABLE sweeps(
  id INTEGER PRIMARY KEY,
  device_id INTEGER NOT NULL REFERENCES devices(id),
  preset TEXT NOT NULL,
  settings BLOB NOT NULL,
  state INTEGER NOT NULL,
  total INTEGER NOT NULL,
  measured INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  chunk_size INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  started_ms INTEGER NOT NULL DEFAULT 0,
  finished_ms INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '');
CREATE INDEX sweeps_by_device ON sweeps(device_id, state);
CREATE TABLE sweep_items(
  sweep_id INTEGER NOT NULL REFERENCES sweeps(id),
  item_index INTEGER NOT NULL,
  chunk_index INTEGER NOT NULL,
  layer_id INTEGER NOT NULL REFERENCES layers(id),
  state INTEGER NOT NULL DEFAULT 0,
  error TEXT,
  PRIMARY KEY(sweep_id, item_index)) WITHOUT ROWID;
CREATE INDEX sweep_items_by_chunk ON sweep_items(sweep_id, chunk_index, state);
ALTER TABLE measurements ADD COLUMN sweep_id INTEGER;
ALTER TABLE measurements ADD COLUMN item_index INTEGER;
CREATE UNIQUE INDEX measurements_by_sweep_item
  ON measurements(sweep_id, item_index) WHERE sweep_id IS NOT NULL;
)sql";

// Version 3: how each result was taken — coefficient of variation, the
// stability gate's verdict and attempts, inter-op threads, the device state
// read with it, the settings as applied (MeasurementSettings bytes), and the
// raw samples when asked for (little-endian doubles).
// Rows from before keep neutral defaults (attempts 1, state unknown).
constexpr char kV3[] = R"sql(
ALTER TABLE measurements ADD COLUMN cv REAL NOT NULL DEFAULT 0;
ALTER TABLE measurements ADD COLUMN unstable INTEGER NOT NULL DEFAULT 0;
ALTER TABLE measurements ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
ALTER TABLE measurements ADD COLUMN interop_threads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE measurements ADD COLUMN governor TEXT NOT NULL DEFAULT '';
ALTER TABLE measurements ADD COLUMN frequency_khz INTEGER NOT NULL DEFAULT 0;
ALTER TABLE measurements ADD COLUMN temperature_c REAL NOT NULL DEFAULT 0;
ALTER TABLE measurements ADD COLUMN load_1m REAL NOT NULL DEFAULT 0;
ALTER TABLE measurements ADD COLUMN settings BLOB;
ALTER TABLE measurements ADD COLUMN raw_samples BLOB;
)sql";

// Version 4: units besides layers. A unit (a network's stem, block or head
// with its input shape, or a whole network) is stored once under its
// canonical key (common/network/unit_key.h) with its family and width for
// interpolation; its measurements have their own table with the columns of
// `measurements`. Sweep items point at a layer or at a unit, so sweep_items
// is rebuilt with a nullable layer_id. Results of both tables carry the
// throttling detector's verdict; each device may have a fitted overhead.
constexpr char kV4[] = R"sql(
CREATE TABLE units(
  id INTEGER PRIMARY KEY,
  kind INTEGER NOT NULL,
  unit_key TEXT NOT NULL UNIQUE,
  family TEXT NOT NULL,
  width INTEGER NOT NULL,
  spec BLOB NOT NULL,
  params INTEGER NOT NULL,
  macs INTEGER NOT NULL);
CREATE INDEX units_by_family ON units(family, width);
CREATE TABLE unit_measurements(
  id INTEGER PRIMARY KEY,
  device_id INTEGER NOT NULL REFERENCES devices(id),
  unit_id INTEGER NOT NULL REFERENCES units(id),
  backend TEXT NOT NULL,
  threads INTEGER NOT NULL,
  interop_threads INTEGER NOT NULL,
  median_us REAL NOT NULL, p10_us REAL NOT NULL, p90_us REAL NOT NULL,
  mean_us REAL NOT NULL, stddev_us REAL NOT NULL,
  samples INTEGER NOT NULL, runs_per_sample INTEGER NOT NULL,
  measured_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL,
  run_id TEXT NOT NULL,
  sweep_id INTEGER, item_index INTEGER,
  cv REAL NOT NULL, unstable INTEGER NOT NULL, attempts INTEGER NOT NULL,
  throttled INTEGER NOT NULL DEFAULT 0, reference_ratio REAL NOT NULL DEFAULT 0,
  timed_s REAL NOT NULL DEFAULT 0, robust_cv REAL NOT NULL DEFAULT 0,
  governor TEXT NOT NULL, frequency_khz INTEGER NOT NULL,
  temperature_c REAL NOT NULL, load_1m REAL NOT NULL,
  settings BLOB, raw_samples BLOB);
CREATE INDEX unit_measurements_by_device_unit
  ON unit_measurements(device_id, unit_id);
CREATE UNIQUE INDEX unit_measurements_by_sweep_item
  ON unit_measurements(sweep_id, item_index) WHERE sweep_id IS NOT NULL;
ALTER TABLE measurements ADD COLUMN throttled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE measurements ADD COLUMN reference_ratio REAL NOT NULL DEFAULT 0;
ALTER TABLE measurements ADD COLUMN timed_s REAL NOT NULL DEFAULT 0;
ALTER TABLE measurements ADD COLUMN robust_cv REAL NOT NULL DEFAULT 0;
CREATE TABLE sweep_items_v4(
  sweep_id INTEGER NOT NULL REFERENCES sweeps(id),
  item_index INTEGER NOT NULL,
  chunk_index INTEGER NOT NULL,
  layer_id INTEGER REFERENCES layers(id),
  unit_id INTEGER REFERENCES units(id),
  state INTEGER NOT NULL DEFAULT 0,
  error TEXT,
  PRIMARY KEY(sweep_id, item_index),
  CHECK((layer_id IS NULL) <> (unit_id IS NULL))) WITHOUT ROWID;
INSERT INTO sweep_items_v4(sweep_id, item_index, chunk_index, layer_id,
                           state, error)
  SELECT sweep_id, item_index, chunk_index, layer_id, state, error
  FROM sweep_items;
DROP TABLE sweep_items;
ALTER TABLE sweep_items_v4 RENAME TO sweep_items;
CREATE INDEX sweep_items_by_chunk ON sweep_items(sweep_id, chunk_index, state);
CREATE TABLE overhead_models(
  device_id INTEGER PRIMARY KEY REFERENCES devices(id),
  model BLOB NOT NULL,
  fitted_ms INTEGER NOT NULL);
)sql";

// Version 5: the training queue. Workers by name with their capabilities
// (WorkerCapabilities bytes); training tasks with their spec (TrainingSpec
// bytes), lease and latest progress (TrainingProgress bytes); one row per
// finished epoch (EpochMetrics bytes), replaced when a resumed task reports
// the epoch again; and artifacts, files under the artifact directory indexed
// by id with their size and SHA-256. A task keeps its lease_id once it ends
// (so a late ReportProgress learns it was cancelled); requeueing clears it.
constexpr char kV5[] = R"sql(
CREATE TABLE workers(
  name TEXT PRIMARY KEY,
  capabilities BLOB NOT NULL,
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE training_tasks(
  id INTEGER PRIMARY KEY,
  spec BLOB NOT NULL,
  state INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  worker TEXT NOT NULL DEFAULT '',
  lease_id TEXT,
  lease_expires_ms INTEGER NOT NULL DEFAULT 0,
  progress BLOB,
  model_artifact_id TEXT NOT NULL DEFAULT '',
  checkpoint_artifact_id TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL,
  started_ms INTEGER NOT NULL DEFAULT 0,
  finished_ms INTEGER NOT NULL DEFAULT 0);
CREATE INDEX training_tasks_by_state ON training_tasks(state, id);
CREATE UNIQUE INDEX training_tasks_by_lease
  ON training_tasks(lease_id) WHERE lease_id IS NOT NULL;
CREATE TABLE task_epochs(
  task_id INTEGER NOT NULL REFERENCES training_tasks(id),
  epoch INTEGER NOT NULL,
  metrics BLOB NOT NULL,
  PRIMARY KEY(task_id, epoch)) WITHOUT ROWID;
CREATE TABLE artifacts(
  artifact_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  task_id INTEGER NOT NULL REFERENCES training_tasks(id),
  path TEXT NOT NULL,
  created_ms INTEGER NOT NULL);
CREATE INDEX artifacts_by_task ON artifacts(task_id, kind);
)sql";

// Version 6: what a finished task produced besides its model (saliency,
// a pruned network, a nonzero count), and design jobs. A job's whole state
// is one DesignJob message; state and stage are columns for listing.
constexpr char kV6[] = R"sql(
ALTER TABLE training_tasks ADD COLUMN result BLOB;
CREATE TABLE design_jobs(
  id INTEGER PRIMARY KEY,
  job BLOB NOT NULL,
  state INTEGER NOT NULL,
  stage INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL);
CREATE INDEX design_jobs_by_state ON design_jobs(state, id);
)sql";

// Version 7: who (the auth file's identity) took each lease, so that a
// worker may report and upload only for tasks it holds.
constexpr char kV7[] = R"sql(
ALTER TABLE training_tasks ADD COLUMN lease_identity TEXT NOT NULL DEFAULT '';
)sql";

// Version 8: data-parallel groups. training_tasks.world_size copies the
// spec's (1 for a single worker) so that leasing need not parse specs. One
// task_group_members row per member of a forming or running group, under
// the member's own lease id; rank 0's lease is also the task's lease_id
// once the group is complete (so uploads, completion and the single-worker
// lease checks work unchanged for it). Requeueing or failing the task
// deletes its rows; a finished task's rows go when they expire.
constexpr char kV8[] = R"sql(
ALTER TABLE training_tasks ADD COLUMN world_size INTEGER NOT NULL DEFAULT 1;
CREATE TABLE task_group_members(
  lease_id TEXT PRIMARY KEY,
  task_id INTEGER NOT NULL REFERENCES training_tasks(id),
  rank INTEGER NOT NULL,
  worker TEXT NOT NULL,
  identity TEXT NOT NULL DEFAULT '',
  device_kind TEXT NOT NULL,
  host TEXT NOT NULL,
  port INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  UNIQUE(task_id, rank)) WITHOUT ROWID;
)sql";

constexpr const char* kMigrations[] = {kV1, kV2, kV3, kV4, kV5, kV6, kV7, kV8};

}  // namespace

absl::Status MigrateSchema(SqliteDb* db, int target_version) {
  absl::StatusOr<int64_t> current = db->QueryInt("PRAGMA user_version");
  if (!current.ok()) return current.status();
  if (*current > kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "database schema version ", *current,
        " is newer than this hakd-server understands (", kSchemaVersion,
        "); upgrade hakd-server"));
  }
  for (int v = static_cast<int>(*current) + 1; v <= target_version; ++v) {
    Transaction txn(db);
    if (absl::Status st = txn.Begin(); !st.ok()) return st;
    if (absl::Status st = db->Exec(kMigrations[v - 1]); !st.ok()) {
      return absl::Status(st.code(), absl::StrCat("migration to schema v", v,
                                                  " failed: ", st.message()));
    }
    if (absl::Status st = db->Exec(absl::StrCat("PRAGMA user_version = ", v));
        !st.ok()) {
      return st;
    }
    if (absl::Status st = txn.Commit(); !st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace hakd
