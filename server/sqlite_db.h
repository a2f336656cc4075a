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
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace hakd {

// Maps a SQLite result code to a Status whose message names the operation.
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

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*> cache_;
};

// Begins a transaction (BEGIN IMMEDIATE) and rolls it back unless Commit()
// succeeds, so an error anywhere leaves the database as it was.
class Transaction {
 public:
  explicit Transaction(SqliteDb* db) : db_(db) {}
  ~Transaction();
  absl::Status Begin();
  absl::Status Commit();

 private:
  SqliteDb* db_;
  bool open_ = false;
};

}  // namespace hakd

#endif  // HAKD_SERVER_SQLITE_DB_H_
