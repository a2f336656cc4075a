#include "tests/fault/check_db.h"

#include <sqlite3.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tests/fault/sim_util.h"

namespace hakd::sim {
namespace {

// A read-only connection, closed on scope exit.
class Db {
 public:
  bool Open(const std::string& path, std::string* error) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) !=
        SQLITE_OK) {
      *error =
          absl::StrCat(path, ": ", db_ ? sqlite3_errmsg(db_) : "cannot open");
      return false;
    }
    sqlite3_busy_timeout(db_, 5000);
    return true;
  }
  ~Db() { sqlite3_close(db_); }

  // Runs `sql`, calling `row` with each row's statement; false on error.
  template <typename F>
  bool Query(const std::string& sql, F row, std::string* error) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      *error = absl::StrCat(sql, ": ", sqlite3_errmsg(db_));
      return false;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) row(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
      *error = absl::StrCat(sql, ": ", sqlite3_errmsg(db_));
      return false;
    }
    return true;
  }

 private:
  sqlite3* db_ = nullptr;
};

std::string Text(sqlite3_stmt* st, int col) {
  const unsigned char* t = sqlite3_column_text(st, col);
  return t ? reinterpret_cast<const char*>(t) : "";
}

}  // namespace

bool CheckAcks(const std::string& db_path,
               const std::vector<std::string>& ack_logs, AckCheck* out,
               std::string* error) {
  std::map<std::string, int64_t> acked;  // batch id -> entries
  for (const std::string& path : ack_logs) {
    std::ifstream in(path);
    if (!in) {
      *error = absl::StrCat(path, ": cannot read");
      return false;
    }
    for (std::string line; std::getline(in, line);) {
      std::istringstream fields(line);
      std::string id, ack_ms, dup;
      int64_t entries = 0;
      if (!(fields >> id >> entries >> ack_ms >> dup) || entries <= 0) continue;
      if (!acked.emplace(id, entries).second) ++out->ack_log_repeats;
    }
  }
  out->batches_acked = static_cast<int64_t>(acked.size());
  for (const auto& [id, entries] : acked) out->measurements_checked += entries;

  Db db;
  if (!db.Open(db_path, error)) return false;
  struct Stored {
    int64_t rows = 0, layers = 0, batch_rows = 0, batch_entries = 0;
  };
  std::map<std::string, Stored> stored;
  if (!db.Query(
          "SELECT run_id, COUNT(*), COUNT(DISTINCT layer_id) FROM measurements "
          "GROUP BY run_id",
          [&](sqlite3_stmt* st) {
            Stored& s = stored[Text(st, 0)];
            s.rows = sqlite3_column_int64(st, 1);
            s.layers = sqlite3_column_int64(st, 2);
          },
          error)) {
    return false;
  }
  if (!db.Query(
          "SELECT batch_id, COUNT(*), MAX(entries) FROM batches GROUP BY "
          "batch_id",
          [&](sqlite3_stmt* st) {
            Stored& s = stored[Text(st, 0)];
            s.batch_rows = sqlite3_column_int64(st, 1);
            s.batch_entries = sqlite3_column_int64(st, 2);
          },
          error)) {
    return false;
  }
  for (const auto& [id, entries] : acked) {
    auto it = stored.find(id);
    const Stored s = it == stored.end() ? Stored{} : it->second;
    if (s.rows < entries) out->missing += entries - s.rows;
    if (s.rows > entries) out->duplicates += s.rows - entries;
    // Rows beyond one per distinct layer are doubles even if some are missing.
    else if (s.rows > s.layers)
      out->duplicates += s.rows - s.layers;
    if (s.batch_rows != 1 || s.batch_entries != entries) ++out->batch_rows_bad;
  }
  for (const auto& [id, s] : stored) {
    if (acked.count(id) || s.rows == 0) continue;
    ++out->committed_unacked;
    out->unacked_rows_doubled += s.rows - s.layers;
  }
  return true;
}

bool CheckSweep(const std::string& db_path, int64_t sweep_id, SweepCheck* out,
                std::string* error) {
  Db db;
  if (!db.Open(db_path, error)) return false;
  const std::string id = absl::StrCat(sweep_id);
  bool found = false;
  if (!db.Query(
          absl::StrCat(
              "SELECT state, total, measured, failed FROM sweeps WHERE id = ",
              id),
          [&](sqlite3_stmt* st) {
            found = true;
            out->state = sqlite3_column_int64(st, 0);
            out->total = sqlite3_column_int64(st, 1);
            out->measured = sqlite3_column_int64(st, 2);
            out->failed = sqlite3_column_int64(st, 3);
          },
          error)) {
    return false;
  }
  if (!found) {
    *error = absl::StrCat("sweep ", id, " not found");
    return false;
  }
  return db.Query(
             absl::StrCat(
                 "SELECT SUM(state = 0), SUM(state = 2) FROM sweep_items "
                 "WHERE sweep_id = ",
                 id),
             [&](sqlite3_stmt* st) {
               out->items_pending = sqlite3_column_int64(st, 0);
               out->items_failed = sqlite3_column_int64(st, 1);
             },
             error) &&
         db.Query(
             absl::StrCat("SELECT COUNT(*), COUNT(DISTINCT item_index) FROM "
                          "measurements WHERE sweep_id = ",
                          id),
             [&](sqlite3_stmt* st) {
               out->rows = sqlite3_column_int64(st, 0);
               out->distinct_items = sqlite3_column_int64(st, 1);
             },
             error);
}

int CheckDbMain(int argc, char** argv) {
  absl::StatusOr<Flags> flags = Flags::Parse(
      argc, argv, 2, {"db", "ack-log", "expect-complete", "sweep"});
  if (!flags.ok() || !flags->Has("db") ||
      flags->Has("sweep") == flags->Has("ack-log")) {
    std::fprintf(stderr,
                 "usage: hakd-sim check-db --db FILE (--ack-log FILE)... "
                 "[--expect-complete 1] | --db FILE --sweep ID\n%s\n",
                 flags.ok() ? "" : flags.status().ToString().c_str());
    return 2;
  }
  std::string error;
  if (flags->Has("sweep")) {
    SweepCheck s;
    if (!CheckSweep(flags->Get("db"), flags->Int("sweep", 0), &s, &error)) {
      std::fprintf(stderr, "hakd-sim check-db: %s\n", error.c_str());
      return 1;
    }
    std::printf(
        "sweep_state: %lld\nsweep_total: %lld\nsweep_measured: %lld\n"
        "sweep_failed: %lld\nitems_pending: %lld\nitems_failed: %lld\n"
        "measurement_rows: %lld\ndistinct_items: %lld\n",
        static_cast<long long>(s.state), static_cast<long long>(s.total),
        static_cast<long long>(s.measured), static_cast<long long>(s.failed),
        static_cast<long long>(s.items_pending),
        static_cast<long long>(s.items_failed), static_cast<long long>(s.rows),
        static_cast<long long>(s.distinct_items));
    const bool ok = s.state == 3 && s.total > 0 && s.measured == s.total &&
                    s.failed == 0 && s.items_pending == 0 &&
                    s.items_failed == 0 && s.rows == s.total &&
                    s.distinct_items == s.total;
    return ok ? 0 : 1;
  }
  AckCheck c;
  if (!CheckAcks(flags->Get("db"), flags->All("ack-log"), &c, &error)) {
    std::fprintf(stderr, "hakd-sim check-db: %s\n", error.c_str());
    return 1;
  }
  std::printf(
      "batches_acked: %lld\nmeasurements_checked: %lld\nmissing: %lld\n"
      "duplicates: %lld\nbatch_rows_bad: %lld\nack_log_repeats: %lld\n"
      "committed_unacked_batches: %lld\nunacked_rows_doubled: %lld\n",
      static_cast<long long>(c.batches_acked),
      static_cast<long long>(c.measurements_checked),
      static_cast<long long>(c.missing), static_cast<long long>(c.duplicates),
      static_cast<long long>(c.batch_rows_bad),
      static_cast<long long>(c.ack_log_repeats),
      static_cast<long long>(c.committed_unacked),
      static_cast<long long>(c.unacked_rows_doubled));
  bool ok = c.missing == 0 && c.duplicates == 0 && c.batch_rows_bad == 0 &&
            c.ack_log_repeats == 0 && c.unacked_rows_doubled == 0;
  if (flags->Int("expect-complete", 0) != 0)
    ok = ok && c.committed_unacked == 0;
  return ok ? 0 : 1;
}

}  // namespace hakd::sim
