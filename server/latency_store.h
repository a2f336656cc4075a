// LatencyStore: the latency database. Devices, layer shapes, measurements and
// sweeps live in one SQLite file in WAL mode. One writer connection commits
// groups of batches in single transactions; a pool of reader connections
// answers queries concurrently with ingest.
//
// Thread-safe: every method may be called from any thread.
#ifndef HAKD_SERVER_LATENCY_STORE_H_
#define HAKD_SERVER_LATENCY_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include "absl/strings/string_view.h"
#include <tuple>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "hakd/v1/agent_service.pb.h"
#include "hakd/v1/latency_service.pb.h"
#include "hakd/v1/types.pb.h"
#include "server/sqlite_db.h"

namespace hakd {

// How the store opens its file.
struct StoreOptions {
  // SQLite file; created when missing. Default "hakd.db".
  std::string path = "hakd.db";
  // PRAGMA synchronous=FULL when true (the default): an acknowledged batch
  // survives power loss, not only a crash of the coordinator.
  bool synchronous_full = true;
  // Reader connections for concurrent queries. Default 4.
  int reader_connections = 4;
  // How long a connection waits on a lock before failing. Default 5000 ms.
  int busy_timeout_ms = 5000;
  // Bytes of the file each connection reads through mmap instead of read
  // syscalls (PRAGMA mmap_size). Default 1 GiB; 0 disables.
  int64_t mmap_bytes = int64_t{1} << 30;
  // Page cache per connection in KiB (PRAGMA cache_size). Default 16384.
  int cache_kib = 16384;
  // Caps the file at this many pages for the store's writes (PRAGMA
  // max_page_count), as if the disk were that small; 0 (the default): no
  // cap. For tests of a full database; see SetMaxPageCount.
  int64_t max_page_count = 0;
};

// A device row.
struct DeviceRecord {
  int64_t id = 0;
  std::string name;
  hakd::v1::DeviceFacts facts;
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
};

// One batch received from the agent of `device_id`, to commit.
struct PendingBatch {
  int64_t device_id = 0;
  const hakd::v1::MeasurementBatch* batch = nullptr;
};

// What became of one PendingBatch.
struct BatchResult {
  // OK: stored (or stored before). Otherwise rejected whole, nothing stored.
  absl::Status status;
  bool duplicate = false;  // committed by an earlier send
  int stored = 0;          // measurements newly stored
};

// What a group commit did.
struct CommitSummary {
  std::vector<BatchResult> results;  // one per PendingBatch, in order
  std::set<int64_t> sweeps_touched;
  std::set<int64_t> devices_touched;
};

// A sweep row.
struct SweepRecord {
  int64_t id = 0;
  int64_t device_id = 0;
  std::string preset;
  hakd::v1::MeasurementSettings settings;
  hakd::v1::Sweep::State state = hakd::v1::Sweep::STATE_QUEUED;
  int total = 0;
  int measured = 0;
  int failed = 0;
  int chunk_size = 0;
  int64_t created_ms = 0;
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
  std::string last_error;
};

// A chunk of a sweep with the items still to measure.
struct SweepChunk {
  int chunk_index = 0;
  std::vector<hakd::v1::TaskItem> pending_items;
};

// Result of a measurement query.
struct QueryResult {
  std::vector<hakd::v1::Measurement> measurements;
  bool truncated = false;
};

class LatencyStore {
 public:
  // Opens (creating or migrating) the database. Errors name the file.
  static absl::StatusOr<std::unique_ptr<LatencyStore>> Open(
      const StoreOptions& options);

  ~LatencyStore();
  LatencyStore(const LatencyStore&) = delete;
  LatencyStore& operator=(const LatencyStore&) = delete;

  // Inserts the device, or updates its facts and last-seen time when the name
  // is known; the id of a known name never changes.
  absl::StatusOr<DeviceRecord> RegisterDevice(const std::string& name,
                                              const hakd::v1::DeviceFacts& facts,
                                              int64_t now_ms);
  // Records that the device was heard from.
  absl::Status TouchDevice(int64_t device_id, int64_t now_ms);
  // Finds a device by numeric id or by name; NOT_FOUND names what was asked.
  absl::StatusOr<DeviceRecord> FindDevice(absl::string_view id_or_name);
  absl::StatusOr<DeviceRecord> GetDevice(int64_t id);
  absl::StatusOr<std::vector<DeviceRecord>> ListDevices();
  absl::StatusOr<int64_t> CountMeasurements(int64_t device_id);

  // Commits the batches in one transaction. Each batch is checked against the
  // database first (its sweep items must exist and belong to its device) and
  // rejected whole on a problem; a batch id already committed for the device
  // is reported as a duplicate and not stored again. Returns an error, with
  // nothing stored, when the transaction itself fails (e.g. disk full).
  absl::StatusOr<CommitSummary> CommitBatches(
      absl::Span<const PendingBatch> batches, int64_t now_ms);

  // Marks as failed, with `error`, the still-pending items of this device's
  // sweeps that a rejected batch answered, so a sweep never waits for results
  // the agent will not resend. Returns the sweeps touched.
  absl::StatusOr<std::set<int64_t>> FailRejectedItems(
      int64_t device_id, const hakd::v1::MeasurementBatch& batch,
      const std::string& error, int64_t now_ms);

  // Measurements of a device whose layer matches `filter` (ordered by layer,
  // then id), at most `limit`; latest_only keeps the newest per layer.
  absl::StatusOr<QueryResult> QueryMeasurements(
      int64_t device_id, const hakd::v1::LayerFilter& filter, int limit,
      bool latest_only);
  // Up to `limit` measurements of a device with id > after_id, by id.
  absl::StatusOr<std::vector<hakd::v1::Measurement>> ExportPage(
      int64_t device_id, int64_t after_id, int limit);

  // Plans a sweep of `layers` (in order) for a device, in chunks.
  absl::StatusOr<SweepRecord> CreateSweep(
      int64_t device_id, const std::string& preset,
      const hakd::v1::MeasurementSettings& settings,
      const std::vector<hakd::v1::LayerSpec>& layers, int chunk_size,
      int64_t now_ms);
  // Plans a sweep of items, each a layer or a (validated) unit; item_index
  // fields are ignored, items are numbered in order.
  absl::StatusOr<SweepRecord> CreateSweepOfItems(
      int64_t device_id, const std::string& preset,
      const hakd::v1::MeasurementSettings& settings,
      const std::vector<hakd::v1::TaskItem>& items, int chunk_size,
      int64_t now_ms);

  // The latency the predictor uses for each unit key measured on the device:
  // the newest result not flagged throttled or unstable, else the newest.
  // Keys never measured are absent.
  absl::StatusOr<std::map<std::string, double>> UnitLatencies(
      int64_t device_id, const std::set<std::string>& keys);
  // Every measured width of a unit family on the device with its latency
  // (chosen as UnitLatencies chooses), ascending by width.
  absl::StatusOr<std::vector<std::pair<int, double>>> FamilyLatencies(
      int64_t device_id, const std::string& family);
  // End-to-end results of whole networks in the given sweeps of the device:
  // (network, median_us) in item order.
  absl::StatusOr<std::vector<std::pair<hakd::v1::NetworkSpec, double>>>
  NetworkResults(int64_t device_id, const std::vector<int64_t>& sweep_ids);
  // As NetworkResults, with each result's disturbance flags.
  struct NetworkResult {
    hakd::v1::NetworkSpec network;
    double median_us = 0;
    bool disturbed = false;  // flagged throttled or unstable
  };
  absl::StatusOr<std::vector<NetworkResult>> FlaggedNetworkResults(
      int64_t device_id, const std::vector<int64_t>& sweep_ids);
  // The device's fitted overhead, replacing any earlier one.
  absl::Status SaveOverheadModel(const hakd::v1::OverheadModel& model);
  // NOT_FOUND when the device has none.
  absl::StatusOr<hakd::v1::OverheadModel> LoadOverheadModel(int64_t device_id);
  // Measurements of units (blocks or networks) of a device with id >
  // after_id, by id, at most `limit`.
  absl::StatusOr<std::vector<hakd::v1::Measurement>> UnitMeasurementsPage(
      int64_t device_id, int64_t after_id, int limit);
  absl::StatusOr<SweepRecord> GetSweep(int64_t sweep_id);
  // All sweeps, or those of one device when device_id > 0, newest first.
  absl::StatusOr<std::vector<SweepRecord>> ListSweeps(int64_t device_id);
  // Queued or running sweeps of a device, oldest first.
  absl::StatusOr<std::vector<SweepRecord>> ActiveSweeps(int64_t device_id);
  // The first `max_chunks` chunks of a sweep that still have pending items.
  absl::StatusOr<std::vector<SweepChunk>> PendingChunks(int64_t sweep_id,
                                                        int max_chunks);
  // Moves a queued sweep to running.
  absl::Status MarkSweepRunning(int64_t sweep_id, int64_t now_ms);
  // Cancels a queued or running sweep; a finished one is left as it is.
  absl::StatusOr<SweepRecord> CancelSweep(int64_t sweep_id, int64_t now_ms);

  // The schema version of the open database.
  int schema_version() const { return schema_version_; }

  // Changes StoreOptions::max_page_count at run time (0: no cap), e.g. to
  // let a test fill the database and then give the space back.
  absl::Status SetMaxPageCount(int64_t pages);

 private:
  using LayerKey = std::tuple<int, int, int, int, int, int, int, int, int, int, int>;

  // A reader connection borrowed from the pool, returned on destruction.
  class Reader;

  explicit LatencyStore(const StoreOptions& options) : options_(options) {}
  absl::Status Init();
  // Applies the memory settings of options_ to one connection.
  absl::Status TuneConnection(SqliteDb* db) const;
  Reader AcquireReader();

  // Looks up (and when `create`, inserts) a layer's id on the writer.
  absl::StatusOr<int64_t> LayerId(const hakd::v1::LayerSpec& layer, bool create,
                                  std::map<LayerKey, int64_t>* created)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Looks up (and when `create`, inserts) a valid unit's id on the writer.
  absl::StatusOr<int64_t> UnitId(const hakd::v1::UnitSpec& unit, bool create,
                                 std::map<std::string, int64_t>* created)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Stores one measurement of a unit; false when its sweep item already has
  // one.
  absl::StatusOr<bool> WriteUnitMeasurement(int64_t device_id,
                                            const hakd::v1::Measurement& m,
                                            int64_t unit_id, int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Read-only checks of one batch against the database.
  absl::Status CheckBatch(int64_t device_id,
                          const hakd::v1::MeasurementBatch& batch,
                          std::map<LayerKey, int64_t>* created,
                          std::map<std::string, int64_t>* created_units)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Stores one checked batch.
  absl::StatusOr<int> WriteBatch(int64_t device_id,
                                 const hakd::v1::MeasurementBatch& batch,
                                 int64_t now_ms,
                                 std::map<LayerKey, int64_t>* created,
                                 std::map<std::string, int64_t>* created_units,
                                 std::set<int64_t>* sweeps_touched)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  // Recounts the sweeps' measured/failed items and finishes complete ones.
  absl::Status RefreshSweeps(const std::set<int64_t>& sweeps, int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  const StoreOptions options_;
  int schema_version_ = 0;

  absl::Mutex write_mu_;
  std::unique_ptr<SqliteDb> writer_ ABSL_GUARDED_BY(write_mu_);
  // Layer ids known to be committed; ids created in a transaction join only
  // after it commits, so a rollback cannot leave a dangling id here.
  std::map<LayerKey, int64_t> layer_ids_ ABSL_GUARDED_BY(write_mu_);
  // The same for unit keys.
  std::map<std::string, int64_t> unit_ids_ ABSL_GUARDED_BY(write_mu_);

  absl::Mutex readers_mu_;
  std::vector<std::unique_ptr<SqliteDb>> idle_readers_ ABSL_GUARDED_BY(readers_mu_);
};

}  // namespace hakd

#endif  // HAKD_SERVER_LATENCY_STORE_H_
