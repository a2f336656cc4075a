#include "server/design_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/schema.h"

namespace hakd {
namespace {

absl::StatusOr<hakd::v1::DesignJob> JobFromRow(const Statement& s) {
  hakd::v1::DesignJob job;
  if (!job.ParseFromString(s.ColumnText(1))) {
    return absl::DataLossError(
        absl::StrCat("design job ", s.ColumnInt(0), ": does not parse"));
  }
  job.set_job_id(s.ColumnInt(0));
  return job;
}

}  // namespace

absl::StatusOr<std::unique_ptr<DesignStore>> DesignStore::Open(
    const DesignStoreOptions& options) {
  std::unique_ptr<DesignStore> store(new DesignStore(options));
  if (absl::Status st = store->Init(); !st.ok()) {
    return absl::Status(st.code(), absl::StrCat("design database '",
                                                options.path, "': ",
                                                st.message()));
  }
  return store;
}

absl::Status DesignStore::Init() {
  absl::MutexLock lock(&mu_);
  HAKD_ASSIGN_OR_RETURN(
      db_, SqliteDb::Open(options_.path,
                          SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                              SQLITE_OPEN_NOMUTEX,
                          options_.busy_timeout_ms));
  HAKD_RETURN_IF_ERROR(db_->Exec("PRAGMA journal_mode = WAL"));
  HAKD_RETURN_IF_ERROR(db_->Exec(options_.synchronous_full
                                     ? "PRAGMA synchronous = FULL"
                                     : "PRAGMA synchronous = NORMAL"));
  if (options_.max_page_count > 0) {
    HAKD_RETURN_IF_ERROR(db_->SetMaxPageCount(options_.max_page_count));
  }
  // A no-op when the LatencyStore has already migrated the file.
  return MigrateSchema(db_.get());
}

absl::Status DesignStore::SetMaxPageCount(int64_t pages) {
  absl::MutexLock lock(&mu_);
  return db_->SetMaxPageCount(pages);
}

absl::StatusOr<hakd::v1::DesignJob> DesignStore::Create(hakd::v1::DesignJob job,
                                                        int64_t now_ms) {
  {
    absl::MutexLock lock(&mu_);
    Transaction txn(db_.get(), "store a new design job", "job");
    HAKD_RETURN_IF_ERROR(txn.Begin());
    job.set_job_id(0);
    job.set_created_unix_ms(now_ms);
    HAKD_ASSIGN_OR_RETURN(
        Statement s,
        db_->Prepare("INSERT INTO design_jobs(job, state, stage, created_ms, "
                     "updated_ms) VALUES(?, ?, ?, ?, ?)"));
    s.BindBlob(1, job.SerializeAsString())
        .Bind(2, int64_t{job.state()})
        .Bind(3, int64_t{job.stage()})
        .Bind(4, now_ms)
        .Bind(5, now_ms);
    HAKD_RETURN_IF_ERROR(s.Run());
    job.set_job_id(db_->LastInsertRowid());
    // The id lives in its column; the blob is rewritten so that a reader of
    // the blob alone sees it too.
    HAKD_ASSIGN_OR_RETURN(
        Statement u, db_->Prepare("UPDATE design_jobs SET job = ? WHERE id = ?"));
    u.BindBlob(1, job.SerializeAsString()).Bind(2, job.job_id());
    HAKD_RETURN_IF_ERROR(u.Run());
    HAKD_RETURN_IF_ERROR(txn.Commit());
  }
  BumpVersion();
  return job;
}

absl::StatusOr<hakd::v1::DesignJob> DesignStore::Get(int64_t job_id) {
  absl::MutexLock lock(&mu_);
  HAKD_ASSIGN_OR_RETURN(
      Statement s, db_->Prepare("SELECT id, job FROM design_jobs WHERE id = ?"));
  s.Bind(1, job_id);
  HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) {
    return absl::NotFoundError(absl::StrCat("job_id: no design job ", job_id));
  }
  return JobFromRow(s);
}

absl::Status DesignStore::Save(const hakd::v1::DesignJob& job, int64_t now_ms) {
  {
    absl::MutexLock lock(&mu_);
    WriteScope scope(db_.get(),
                     absl::StrCat("save design job ", job.job_id()), "update");
    HAKD_ASSIGN_OR_RETURN(
        Statement s,
        db_->Prepare("UPDATE design_jobs SET job = ?, state = ?, stage = ?, "
                     "updated_ms = ? WHERE id = ?"));
    s.BindBlob(1, job.SerializeAsString())
        .Bind(2, int64_t{job.state()})
        .Bind(3, int64_t{job.stage()})
        .Bind(4, now_ms)
        .Bind(5, job.job_id());
    HAKD_RETURN_IF_ERROR(s.Run());
    if (db_->Changes() != 1) {
      return absl::NotFoundError(
          absl::StrCat("job_id: no design job ", job.job_id()));
    }
  }
  BumpVersion();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<hakd::v1::DesignJob>> DesignStore::List(int limit) {
  absl::MutexLock lock(&mu_);
  HAKD_ASSIGN_OR_RETURN(
      Statement s,
      db_->Prepare("SELECT id, job FROM design_jobs ORDER BY id DESC LIMIT ?"));
  s.Bind(1, int64_t{limit});
  std::vector<hakd::v1::DesignJob> jobs;
  while (true) {
    HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    HAKD_ASSIGN_OR_RETURN(hakd::v1::DesignJob job, JobFromRow(s));
    jobs.push_back(std::move(job));
  }
  return jobs;
}

absl::StatusOr<std::vector<int64_t>> DesignStore::RunningIds() {
  absl::MutexLock lock(&mu_);
  HAKD_ASSIGN_OR_RETURN(
      Statement s,
      db_->Prepare("SELECT id FROM design_jobs WHERE state = ? ORDER BY id"));
  s.Bind(1, int64_t{hakd::v1::DESIGN_RUNNING});
  std::vector<int64_t> ids;
  while (true) {
    HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ids.push_back(s.ColumnInt(0));
  }
  return ids;
}

void DesignStore::BumpVersion() {
  absl::MutexLock lock(&version_mu_);
  ++version_;
}

int64_t DesignStore::version() const {
  absl::MutexLock lock(&version_mu_);
  return version_;
}

void DesignStore::WaitForChange(int64_t* version, absl::Duration timeout) const {
  absl::MutexLock lock(&version_mu_);
  struct Args {
    const int64_t* current;
    int64_t seen;
  } args{&version_, *version};
  version_mu_.AwaitWithTimeout(
      absl::Condition(+[](Args* a) { return *a->current != a->seen; }, &args),
      timeout);
  *version = version_;
}

}  // namespace hakd
