// Online snapshots of the coordinator's SQLite database with SQLite's backup
// API (sqlite3_backup_init/step/finish), for `hakdctl admin backup`.
//
// The copy is made through a connection of its own that holds one read
// transaction from the first page to the last. In WAL mode a reader never
// blocks writers and always sees the database as of its first read, so the
// snapshot is the database at one moment (every transaction wholly in or
// wholly out) while agents keep committing; and because that moment is
// pinned, writes by other connections never make the backup restart (which
// stepping page by page without such a transaction would do, endlessly under
// steady ingest). The WAL grows until the copy ends, when checkpoints catch
// up. Steps of a few MiB with short pauses leave the disk to the writers.
#ifndef HAKD_SERVER_DB_SNAPSHOT_H_
#define HAKD_SERVER_DB_SNAPSHOT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace hakd {

// How a snapshot is taken.
struct SnapshotOptions {
  // Pages copied per sqlite3_backup_step. Default 1024 (4 MiB of 4 KiB pages).
  int pages_per_step = 1024;
  // Pause between two steps. Default 2 ms.
  absl::Duration pause = absl::Milliseconds(2);
  // Run PRAGMA quick_check on the finished snapshot. Default true.
  bool verify = true;
};

// What a finished snapshot holds.
struct SnapshotInfo {
  int64_t size_bytes = 0;
  std::string sha256;  // 64 lowercase hex digits of the file
  int64_t pages = 0;
  int page_size = 0;
  int schema_version = 0;  // PRAGMA user_version
  int tables = 0;
  int64_t taken_unix_ms = 0;  // the moment the snapshot shows
};

// A snapshot file in the database's directory, removed when this goes away.
class Snapshot {
 public:
  // Takes ownership of the file at `path`.
  Snapshot(std::string path, SnapshotInfo info)
      : path_(std::move(path)), info_(std::move(info)) {}
  ~Snapshot();
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  // The file: a complete SQLite database in rollback-journal mode.
  const std::string& path() const { return path_; }
  const SnapshotInfo& info() const { return info_; }

 private:
  std::string path_;
  SnapshotInfo info_;
};

// Copies the database at `db_path` into a new file "<db_path>.backup-XXXXXX"
// beside it (the same file system, which has room for the database), checks
// it (SnapshotOptions::verify) and measures it. `cancelled` (may be null) is
// asked between steps; true stops with CANCELLED. Nothing is left behind on
// failure. Errors say which side failed: reading the database, or writing
// the snapshot (RESOURCE_EXHAUSTED when the disk is full).
absl::StatusOr<std::unique_ptr<Snapshot>> TakeSnapshot(
    const std::string& db_path, const SnapshotOptions& options,
    const std::function<bool()>& cancelled = nullptr);

// Removes snapshot files that a coordinator stopped mid-backup left beside
// `db_path`. Returns how many it removed.
int RemoveStaleSnapshots(const std::string& db_path);

}  // namespace hakd

#endif  // HAKD_SERVER_DB_SNAPSHOT_H_
