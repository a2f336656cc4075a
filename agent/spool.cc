#include "agent/spool.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace hakd::agent {
namespace {

// PRAGMA application_id of a spool ("HAKS"): tells it from any other
// SQLite file, such as the coordinator's database.
constexpr int64_t kApplicationId = 0x48414B53;
// PRAGMA user_version: the layout below.
constexpr int64_t kFormatVersion = 1;

// One row per unacknowledged batch, the serialized MeasurementBatch under
// its sequence number; `entries` is for people inspecting it with sqlite3.
constexpr char kSchema[] =
    "CREATE TABLE batches("
    "  seq INTEGER PRIMARY KEY,"
    "  batch_id TEXT NOT NULL UNIQUE,"
    "  entries INTEGER NOT NULL,"
    "  batch BLOB NOT NULL);"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) "
    "WITHOUT ROWID;";

// What to do about a file that is refused.
constexpr char kRefused[] =
    "; the agent leaves it untouched: move it away or pass another --spool";
// What moving a damaged spool away costs.
constexpr char kLost[] =
    " (the results it held will be measured again: their items are still "
    "pending on the coordinator)";

// "spool PATH: WHAT: SQLite's message", with a code a caller can act on.
absl::Status SqliteError(int rc, sqlite3* db, absl::string_view path,
                         absl::string_view what) {
  const std::string message =
      absl::StrCat("spool ", path, ": ", what, ": ",
                   db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
      return absl::DataLossError(
          absl::StrCat(message, " (not a hakd-agent spool)", kRefused));
    case SQLITE_CORRUPT:
      return absl::DataLossError(
          absl::StrCat(message, " (the spool is corrupt)", kRefused, kLost));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(absl::StrCat(
          message,
          " (another process has it open: is another hakd-agent using this "
          "--spool?)"));
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(message);
    case SQLITE_CONSTRAINT:
      return absl::AlreadyExistsError(message);
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
      return absl::PermissionDeniedError(message);
    default:
      return absl::InternalError(message);
  }
}

// A prepared statement, finalized on destruction. A failed prepare is
// reported by the first Step.
class Stmt {
 public:
  Stmt(sqlite3* db, absl::string_view sql) {
    prepare_rc_ = sqlite3_prepare_v2(
        db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  sqlite3_stmt* get() const { return stmt_; }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() {
    return prepare_rc_ != SQLITE_OK ? prepare_rc_ : sqlite3_step(stmt_);
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int prepare_rc_ = SQLITE_OK;
};

absl::Status Exec(sqlite3* db, absl::string_view path, const char* sql,
                  absl::string_view what) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(rc, db, path, what);
  return absl::OkStatus();
}

// The first column of the first row of `sql` as text ("" without a row).
absl::StatusOr<std::string> QueryText(sqlite3* db, absl::string_view path,
                                      absl::string_view sql,
                                      absl::string_view what) {
  Stmt s(db, sql);
  const int rc = s.Step();
  if (rc == SQLITE_DONE) return std::string();
  if (rc != SQLITE_ROW) return SqliteError(rc, db, path, what);
  const unsigned char* text = sqlite3_column_text(s.get(), 0);
  return text == nullptr ? std::string()
                         : std::string(reinterpret_cast<const char*>(text));
}

// The first column of the first row of `sql` as an integer (0 without a row).
absl::StatusOr<int64_t> QueryInt(sqlite3* db, absl::string_view path,
                                 absl::string_view sql,
                                 absl::string_view what) {
  Stmt s(db, sql);
  const int rc = s.Step();
  if (rc == SQLITE_DONE) return 0;
  if (rc != SQLITE_ROW) return SqliteError(rc, db, path, what);
  return sqlite3_column_int64(s.get(), 0);
}

// Every batch in sequence order; DATA_LOSS when one does not parse.
absl::StatusOr<std::vector<SpooledBatch>> ReadBatches(sqlite3* db,
                                                      absl::string_view path) {
  std::vector<SpooledBatch> out;
  Stmt s(db, "SELECT seq, batch FROM batches ORDER BY seq");
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    SpooledBatch& b = out.emplace_back();
    b.seq = static_cast<uint64_t>(sqlite3_column_int64(s.get(), 0));
    const void* data = sqlite3_column_blob(s.get(), 1);
    const int size = sqlite3_column_bytes(s.get(), 1);
    if (!b.batch.ParseFromArray(data, size) || b.batch.batch_id().empty()) {
      return absl::DataLossError(absl::StrCat("spool ", path, ": batch ", b.seq,
                                              " does not parse", kRefused,
                                              kLost));
    }
  }
  if (rc != SQLITE_DONE) return SqliteError(rc, db, path, "cannot read");
  return out;
}

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};

// Read-only: whether the file is a spool this agent can use, or empty.
// Sets *fresh when it is empty (a new file, or one of zero bytes).
absl::Status CheckFile(sqlite3* db, absl::string_view path, bool* fresh) {
  // Reading the header fails here (NOTADB) for a file that is not SQLite.
  HAKD_ASSIGN_OR_RETURN(
      int64_t application_id,
      QueryInt(db, path, "PRAGMA application_id", "cannot read"));
  HAKD_ASSIGN_OR_RETURN(
      int64_t objects,
      QueryInt(db, path, "SELECT count(*) FROM sqlite_master", "cannot read"));
  HAKD_ASSIGN_OR_RETURN(
      int64_t version,
      QueryInt(db, path, "PRAGMA user_version", "cannot read"));
  *fresh = application_id == 0 && objects == 0 && version == 0;
  if (*fresh) return absl::OkStatus();
  if (application_id != kApplicationId) {
    return absl::FailedPreconditionError(
        absl::StrCat("spool ", path,
                     ": a SQLite database of another program (application_id ",
                     application_id, ", ", objects,
                     " tables and indexes), not a hakd-agent spool", kRefused));
  }
  if (version != kFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "spool ", path, ": format version ", version, ", this agent reads ",
        kFormatVersion, " (written by a newer agent?)", kRefused));
  }
  HAKD_ASSIGN_OR_RETURN(
      std::string check,
      QueryText(db, path, "PRAGMA quick_check", "cannot check"));
  if (check != "ok") {
    return absl::DataLossError(absl::StrCat("spool ", path,
                                            ": the spool is corrupt (", check,
                                            ")", kRefused, kLost));
  }
  // Every batch must parse too, before anything is written.
  return ReadBatches(db, path).status();
}

// Inside the opening transaction: refuses batches of another device name,
// then records `device_name`.
absl::Status ClaimForDevice(sqlite3* db, absl::string_view path,
                            absl::string_view device_name) {
  HAKD_ASSIGN_OR_RETURN(
      int64_t held,
      QueryInt(db, path, "SELECT count(*) FROM batches", "cannot read"));
  HAKD_ASSIGN_OR_RETURN(
      std::string owner,
      QueryText(db, path, "SELECT value FROM meta WHERE key = 'device_name'",
                "cannot read"));
  if (held > 0 && owner != device_name) {
    return absl::FailedPreconditionError(absl::StrCat(
        "spool ", path, ": holds ", held, " unacknowledged batches of device '",
        owner, "', not of '", device_name, "'; start with --name ", owner,
        " to send them, or give this agent another --spool"));
  }
  Stmt s(db,
         "INSERT OR REPLACE INTO meta(key, value) VALUES('device_name', ?1)");
  sqlite3_bind_text(s.get(), 1, device_name.data(),
                    static_cast<int>(device_name.size()), SQLITE_TRANSIENT);
  if (const int rc = s.Step(); rc != SQLITE_DONE) {
    return SqliteError(rc, db, path, "cannot record the device name");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<MeasurementSpool>> MeasurementSpool::Open(
    const std::string& path, absl::string_view device_name) {
  if (path.empty()) return absl::InvalidArgumentError("spool: empty path");
  if (struct stat st; stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("spool ", path, ": not a regular file"));
  }
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  std::unique_ptr<sqlite3, CloseDb> db(raw);
  if (rc != SQLITE_OK) return SqliteError(rc, raw, path, "cannot open");
  sqlite3_extended_result_codes(db.get(), 1);
  // Held from the first read until close; also keeps the WAL index in
  // process memory (no -shm file), as no other process may share the file.
  HAKD_RETURN_IF_ERROR(Exec(db.get(), path, "PRAGMA locking_mode=EXCLUSIVE",
                            "cannot set the locking mode"));
  bool fresh = false;
  HAKD_RETURN_IF_ERROR(CheckFile(db.get(), path, &fresh));
  // Only now is anything written.
  HAKD_ASSIGN_OR_RETURN(std::string mode,
                        QueryText(db.get(), path, "PRAGMA journal_mode=WAL",
                                  "cannot enter WAL mode"));
  if (mode != "wal") {
    return absl::FailedPreconditionError(absl::StrCat(
        "spool ", path, ": cannot enter WAL mode (journal mode ", mode, ")"));
  }
  // A batch is on disk before it is sent.
  HAKD_RETURN_IF_ERROR(Exec(db.get(), path, "PRAGMA synchronous=FULL",
                            "cannot set synchronous"));
  HAKD_RETURN_IF_ERROR(
      Exec(db.get(), path, "BEGIN EXCLUSIVE", "cannot lock the spool"));
  if (fresh) {
    HAKD_RETURN_IF_ERROR(
        Exec(db.get(), path, kSchema, "cannot create the spool's tables"));
    HAKD_RETURN_IF_ERROR(
        Exec(db.get(), path,
             absl::StrCat("PRAGMA application_id=", kApplicationId,
                          "; PRAGMA user_version=", kFormatVersion)
                 .c_str(),
             "cannot mark the spool"));
  }
  // On an error the close below rolls the transaction back.
  HAKD_RETURN_IF_ERROR(ClaimForDevice(db.get(), path, device_name));
  HAKD_RETURN_IF_ERROR(Exec(db.get(), path, "COMMIT", "cannot commit"));
  return std::unique_ptr<MeasurementSpool>(
      new MeasurementSpool(path, db.release()));
}

MeasurementSpool::MeasurementSpool(std::string path, sqlite3* db)
    : path_(std::move(path)), db_(db) {}

MeasurementSpool::~MeasurementSpool() { sqlite3_close_v2(db_); }

absl::Status MeasurementSpool::Add(uint64_t seq,
                                   const hakd::v1::MeasurementBatch& batch) {
  const std::string bytes = batch.SerializeAsString();
  Stmt s(db_,
         "INSERT INTO batches(seq, batch_id, entries, batch) "
         "VALUES(?1, ?2, ?3, ?4)");
  sqlite3_bind_int64(s.get(), 1, static_cast<sqlite3_int64>(seq));
  sqlite3_bind_text(s.get(), 2, batch.batch_id().data(),
                    static_cast<int>(batch.batch_id().size()), SQLITE_STATIC);
  sqlite3_bind_int64(s.get(), 3,
                     batch.measurements_size() + batch.failures_size());
  sqlite3_bind_blob(s.get(), 4, bytes.data(), static_cast<int>(bytes.size()),
                    SQLITE_STATIC);
  if (const int rc = s.Step(); rc != SQLITE_DONE) {
    return SqliteError(rc, db_, path_,
                       absl::StrCat("cannot store batch ", batch.batch_id()));
  }
  return absl::OkStatus();
}

absl::Status MeasurementSpool::Remove(absl::string_view batch_id) {
  Stmt s(db_, "DELETE FROM batches WHERE batch_id = ?1");
  sqlite3_bind_text(s.get(), 1, batch_id.data(),
                    static_cast<int>(batch_id.size()), SQLITE_STATIC);
  if (const int rc = s.Step(); rc != SQLITE_DONE) {
    return SqliteError(rc, db_, path_,
                       absl::StrCat("cannot delete batch ", batch_id));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<SpooledBatch>> MeasurementSpool::Load() const {
  return ReadBatches(db_, path_);
}

absl::StatusOr<int64_t> MeasurementSpool::Count() const {
  return QueryInt(db_, path_, "SELECT count(*) FROM batches", "cannot read");
}

}  // namespace hakd::agent
