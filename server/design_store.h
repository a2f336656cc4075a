// DesignStore: design jobs in the coordinator's SQLite file (schema v6,
// table design_jobs). A job's whole state is one hakd.v1.DesignJob, written
// in one statement after every step of its stage machine, so a coordinator
// restarted at any moment resumes from the last step it stored. Like the
// TrainingStore it owns its own connection to the file.
//
// Thread-safe: every method may be called from any thread.
#ifndef HAKD_SERVER_DESIGN_STORE_H_
#define HAKD_SERVER_DESIGN_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "hakd/v1/design.pb.h"
#include "server/sqlite_db.h"

namespace hakd {

struct DesignStoreOptions {
  // SQLite file; created (and migrated) when missing. Default "hakd.db".
  std::string path = "hakd.db";
  // PRAGMA synchronous=FULL when true (the default).
  bool synchronous_full = true;
  // How long the connection waits on a lock before failing. Default 5000 ms.
  int busy_timeout_ms = 5000;
  // Caps the file at this many pages for the store's writes (PRAGMA
  // max_page_count); 0 (the default): no cap. For tests of a full database.
  int64_t max_page_count = 0;
};

class DesignStore {
 public:
  static absl::StatusOr<std::unique_ptr<DesignStore>> Open(
      const DesignStoreOptions& options);
  DesignStore(const DesignStore&) = delete;
  DesignStore& operator=(const DesignStore&) = delete;

  // Stores a new job and returns it with its id.
  absl::StatusOr<hakd::v1::DesignJob> Create(hakd::v1::DesignJob job,
                                             int64_t now_ms);
  // NOT_FOUND naming the id.
  absl::StatusOr<hakd::v1::DesignJob> Get(int64_t job_id);
  // Replaces the stored job (by job_id) and wakes watchers.
  absl::Status Save(const hakd::v1::DesignJob& job, int64_t now_ms);
  // Newest first, at most `limit`.
  absl::StatusOr<std::vector<hakd::v1::DesignJob>> List(int limit);
  // Ids of jobs still running, oldest first.
  absl::StatusOr<std::vector<int64_t>> RunningIds();

  // Changes DesignStoreOptions::max_page_count at run time (0: no cap).
  absl::Status SetMaxPageCount(int64_t pages);

  // Increases on every Create and Save.
  int64_t version() const;
  // Blocks until version() differs from *version or `timeout` passes, then
  // stores the current version in *version.
  void WaitForChange(int64_t* version, absl::Duration timeout) const;

 private:
  explicit DesignStore(const DesignStoreOptions& options) : options_(options) {}
  absl::Status Init();
  void BumpVersion();

  const DesignStoreOptions options_;
  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
  mutable absl::Mutex version_mu_;
  int64_t version_ ABSL_GUARDED_BY(version_mu_) = 0;
};

}  // namespace hakd

#endif  // HAKD_SERVER_DESIGN_STORE_H_
