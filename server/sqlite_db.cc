#include "server/sqlite_db.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace hakd {
namespace {

constexpr char kFullCause[] =
    "(disk or PRAGMA max_page_count limit reached)";

// The first line of `sql`, at most 80 characters: names a statement in one
// short line.
absl::string_view FirstLine(absl::string_view sql) {
  sql = absl::StripLeadingAsciiWhitespace(sql);
  return sql.substr(0, std::min(sql.find('\n'), size_t{80}));
}

}  // namespace

absl::Status SqliteStatus(int rc, sqlite3* db, absl::string_view what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) {
    return absl::OkStatus();
  }
  const std::string detail =
      db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const std::string msg = absl::StrCat(what, ": ", detail);
  switch (rc & 0xff) {
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(
          absl::StrCat("database full: ", FirstLine(what), " ", kFullCause));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(msg);
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
      return absl::FailedPreconditionError(msg);
    case SQLITE_CONSTRAINT:
      return absl::AlreadyExistsError(msg);
    case SQLITE_IOERR:
      return absl::UnavailableError(msg);
    default:
      return absl::InternalError(msg);
  }
}

Statement::~Statement() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Statement& Statement::Bind(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_status_.ok()) {
    bind_status_ = SqliteStatus(rc, db_->raw(), "bind");
  }
  return *this;
}

Statement& Statement::Bind(int index, double value) {
  const int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK && bind_status_.ok()) {
    bind_status_ = SqliteStatus(rc, db_->raw(), "bind");
  }
  return *this;
}

Statement& Statement::Bind(int index, absl::string_view text) {
  const int rc = sqlite3_bind_text(stmt_, index, text.data(),
                                   static_cast<int>(text.size()),
                                   SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_status_.ok()) {
    bind_status_ = SqliteStatus(rc, db_->raw(), "bind");
  }
  return *this;
}

Statement& Statement::BindBlob(int index, absl::string_view bytes) {
  const int rc = sqlite3_bind_blob(stmt_, index, bytes.data(),
                                   static_cast<int>(bytes.size()),
                                   SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_status_.ok()) {
    bind_status_ = SqliteStatus(rc, db_->raw(), "bind");
  }
  return *this;
}

Statement& Statement::BindNull(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_status_.ok()) {
    bind_status_ = SqliteStatus(rc, db_->raw(), "bind");
  }
  return *this;
}

absl::StatusOr<bool> Statement::Step() {
  if (!bind_status_.ok()) return bind_status_;
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->Error(rc, sqlite3_sql(stmt_));
}

absl::Status Statement::Run() {
  while (true) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

std::string Statement::ColumnText(int col) const {
  const unsigned char* text = sqlite3_column_text(stmt_, col);
  if (text == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(text),
                     sqlite3_column_bytes(stmt_, col));
}

absl::StatusOr<std::unique_ptr<SqliteDb>> SqliteDb::Open(
    const std::string& path, int flags, int busy_timeout_ms) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status st = SqliteStatus(rc, raw, absl::StrCat("open '", path, "'"));
    sqlite3_close_v2(raw);
    return st;
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, busy_timeout_ms);
  return std::unique_ptr<SqliteDb>(new SqliteDb(raw));
}

SqliteDb::~SqliteDb() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

absl::Status SqliteDb::Exec(absl::string_view sql) {
  char* err = nullptr;
  const std::string owned(sql);
  const int rc = sqlite3_exec(db_, owned.c_str(), nullptr, nullptr, &err);
  if (err != nullptr) sqlite3_free(err);
  // Name the statement by its first line, so the error stays one line.
  return Error(rc, FirstLine(owned));
}

absl::StatusOr<Statement> SqliteDb::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.c_str(), -1,
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteStatus(rc, db_, absl::StrCat("prepare ", sql));
    it = cache_.emplace(sql, stmt).first;
  }
  return Statement(it->second, this);
}

absl::Status SqliteDb::Error(int rc, absl::string_view what) const {
  if ((rc & 0xff) == SQLITE_FULL && !write_action_.empty()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("database full: cannot ", write_action_, " ", kFullCause,
                     "; nothing of this ", write_unit_, " was stored"));
  }
  return SqliteStatus(rc, db_, what);
}

absl::Status SqliteDb::SetMaxPageCount(int64_t pages) {
  if (pages < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_page_count: ", pages, " is negative"));
  }
  if (default_max_pages_ == 0) {
    absl::StatusOr<int64_t> current = QueryInt("PRAGMA max_page_count");
    if (!current.ok()) return current.status();
    default_max_pages_ = *current;
  }
  return Exec(absl::StrCat("PRAGMA max_page_count = ",
                           pages > 0 ? pages : default_max_pages_));
}

WriteScope::WriteScope(SqliteDb* db, absl::string_view action,
                       absl::string_view unit)
    : db_(db),
      saved_action_(std::move(db->write_action_)),
      saved_unit_(std::move(db->write_unit_)) {
  db_->write_action_ = std::string(action);
  db_->write_unit_ = std::string(unit);
}

WriteScope::~WriteScope() {
  db_->write_action_ = std::move(saved_action_);
  db_->write_unit_ = std::move(saved_unit_);
}

absl::StatusOr<int64_t> SqliteDb::QueryInt(const std::string& sql) {
  absl::StatusOr<Statement> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrCat("no row from ", sql));
  return stmt->ColumnInt(0);
}

Transaction::~Transaction() {
  if (open_) db_->Exec("ROLLBACK").IgnoreError();
}

absl::Status Transaction::Begin() {
  absl::Status st = db_->Exec("BEGIN IMMEDIATE");
  open_ = st.ok();
  return st;
}

absl::Status Transaction::Commit() {
  absl::Status st = db_->Exec("COMMIT");
  if (st.ok()) open_ = false;
  return st;
}

}  // namespace hakd
