// What the fault tests check in the coordinator's SQLite file, with the
// SQLite C API (the sqlite3 shell may not be installed): that what agents
// saw acknowledged is stored exactly once, and that a sweep has no hole and
// no duplicate.
#ifndef HAKD_TESTS_FAULT_CHECK_DB_H_
#define HAKD_TESTS_FAULT_CHECK_DB_H_

#include <cstdint>
#include <string>
#include <vector>

namespace hakd::sim {

// Counts of one ack-log check.
struct AckCheck {
  int64_t batches_acked = 0;    // distinct ids in the ack logs
  int64_t ack_log_repeats = 0;  // an id logged twice (acknowledged twice)
  int64_t measurements_checked = 0;
  int64_t missing = 0;               // acknowledged entries not in the database
  int64_t duplicates = 0;            // rows beyond one per acknowledged entry
  int64_t batch_rows_bad = 0;        // `batches` rows missing or not 1 per id
  int64_t committed_unacked = 0;     // batches stored that no agent saw acked
  int64_t unacked_rows_doubled = 0;  // of those, rows beyond one per entry
};

// Reads ack logs ("ID ENTRIES ACK_MS DUP" lines, as hakd-sim agent writes)
// and compares them with the measurements table (by run_id, which is the
// batch id) and the batches table of the database at `db`. A torn last line
// (an agent killed mid-write) is ignored. Returns false with `error` set
// when the database cannot be read.
bool CheckAcks(const std::string& db, const std::vector<std::string>& ack_logs,
               AckCheck* out, std::string* error);

// Counts of one sweep.
struct SweepCheck {
  int64_t state = 0;     // sweeps.state: 3 = done
  int64_t total = 0;     // sweeps.total
  int64_t measured = 0;  // sweeps.measured
  int64_t failed = 0;    // sweeps.failed
  int64_t items_pending = 0;
  int64_t items_failed = 0;
  int64_t rows = 0;            // measurements of the sweep
  int64_t distinct_items = 0;  // distinct item_index among them
};

// Reads sweep `sweep_id`'s row, its items and its measurements.
bool CheckSweep(const std::string& db, int64_t sweep_id, SweepCheck* out,
                std::string* error);

// `hakd-sim check-db --db F (--ack-log F)... [--expect-complete 1]` and
// `hakd-sim check-db --db F --sweep ID`: prints the counts as "key: value"
// lines and returns 0 when nothing is missing or doubled (and, with
// --expect-complete, nothing committed went unacknowledged; for a sweep,
// when it is done with every item measured once).
int CheckDbMain(int argc, char** argv);

}  // namespace hakd::sim

#endif  // HAKD_TESTS_FAULT_CHECK_DB_H_
