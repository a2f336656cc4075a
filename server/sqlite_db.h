// A thin RAII layer over the SQLite C API: one connection with a cache of
// prepared statements, and errors mapped to absl::Status codes a client can
// act on (a full disk is RESOURCE_EXHAUSTED, a corrupt file DATA_LOSS, ...).
// Not thread-safe: each connection is used by one thread at a time.
#ifndef HAKD_SERVER_SQLITE_DB_H_
#define HAKD_SERVER_SQLITE_DB_H_

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hakd {

// Maps a SQLite result code to a Status whose message names the operation.
// A full database (SQLITE_FULL: the disk, or the PRAGMA max_page_count cap)
// is RESOURCE_EXHAUSTED "database full: WHAT (disk or PRAGMA max_page_count
// limit reached)".
absl::Status SqliteStatus(int rc, sqlite3* db, absl::string_view what);

class SqliteDb;

// A prepared statement borrowed from a SqliteDb's cache. Reset and cleared
// when the Statement goes out of scope, so the next user starts clean.
class Statement {
 public:
  Statement(sqlite3_stmt* stmt, SqliteDb* db) : stmt_(stmt), db_(db) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& other) noexcept
      : stmt_(other.stmt_), db_(other.db_) { other.stmt_ = nullptr; }
  ~Statement();

  // Binds parameter `index` (1-based). Chainable.
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, double value);
  Statement& Bind(int index, absl::string_view text);
  Statement& BindBlob(int index, absl::string_view bytes);
  Statement& BindNull(int index);

  // Runs one step: true when a row is available, false when done.
  absl::StatusOr<bool> Step();
  // Runs to completion, ignoring rows.
  absl::Status Run();

  int64_t ColumnInt(int col) const { return sqlite3_column_int64(stmt_, col); }
  double ColumnDouble(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string ColumnText(int col) const;
  bool ColumnIsNull(int col) const {
    return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
  }

 private:
  sqlite3_stmt* stmt_;
  SqliteDb* db_;
  absl::Status bind_status_;
};

// One SQLite connection.
class SqliteDb {
 public:
  // Opens `path` with sqlite3_open_v2 `flags` and a busy timeout.
  static absl::StatusOr<std::unique_ptr<SqliteDb>> Open(const std::string& path,
                                                        int flags,
                                                        int busy_timeout_ms);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Executes one or more statements without results.
  absl::Status Exec(absl::string_view sql);
  // Returns the cached prepared statement for `sql`, preparing it once.
  absl::StatusOr<Statement> Prepare(const std::string& sql);
  // Runs a query returning one integer (e.g. a PRAGMA).
  absl::StatusOr<int64_t> QueryInt(const std::string& sql);

  int64_t LastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }
  int Changes() const { return sqlite3_changes(db_); }
  sqlite3* raw() const { return db_; }

  // Caps the file at `pages` pages for writes through this connection
  // (PRAGMA max_page_count, which SQLite keeps per connection); 0 lifts the
  // cap back to SQLite's default. A cap below the file's current size acts
  // as its current size. Writes that need more pages fail RESOURCE_EXHAUSTED
  // as on a full disk.
  absl::Status SetMaxPageCount(int64_t pages);

  // SqliteStatus of `rc` for `what` on this connection; when the database is
  // full during a WriteScope, the message names the scope's write instead.
  absl::Status Error(int rc, absl::string_view what) const;

 private:
  friend class WriteScope;
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*> cache_;
  // The write in progress (see WriteScope); empty outside one.
  std::string write_action_;
  std::string write_unit_;
  // SQLite's own max_page_count, read before the first SetMaxPageCount.
  int64_t default_max_pages_ = 0;
};

// Names the write a connection is doing, for the error when the database
// fills up during it: RESOURCE_EXHAUSTED "database full: cannot ACTION (disk
// or PRAGMA max_page_count limit reached); nothing of this UNIT was stored".
// Use it around a single statement or a Transaction (which rolls back whole,
// so the claim holds); Transaction takes the same two words. The innermost
// scope names the write; the previous one is restored on destruction.
class WriteScope {
 public:
  // `action` completes "cannot ..." (e.g. "store measurement batch 'b-1'"),
  // `unit` completes "nothing of this ..." (e.g. "batch").
  WriteScope(SqliteDb* db, absl::string_view action, absl::string_view unit);
  ~WriteScope();
  WriteScope(const WriteScope&) = delete;
  WriteScope& operator=(const WriteScope&) = delete;

 private:
  SqliteDb* db_;
  std::string saved_action_;
  std::string saved_unit_;
};

// Begins a transaction (BEGIN IMMEDIATE) and rolls it back unless Commit()
// succeeds, so an error anywhere leaves the database as it was.
class Transaction {
 public:
  explicit Transaction(SqliteDb* db) : db_(db) {}
  // As above, naming the write for a full database (see WriteScope).
  Transaction(SqliteDb* db, absl::string_view action, absl::string_view unit)
      : db_(db) {
    scope_.emplace(db, action, unit);
  }
  ~Transaction();
  absl::Status Begin();
  absl::Status Commit();

 private:
  SqliteDb* db_;
  bool open_ = false;
  // Names the write until the destructor's rollback is done.
  std::optional<WriteScope> scope_;
};

}  // namespace hakd

#endif  // HAKD_SERVER_SQLITE_DB_H_
