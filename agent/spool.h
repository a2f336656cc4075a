// MeasurementSpool: the agent's results that the coordinator has not
// acknowledged yet, on local disk (SQLite), so that an agent killed at any
// moment (SIGKILL, power loss) loses nothing it had put into a batch.
//
// A batch is written (WAL mode, synchronous=FULL: on disk when Add returns)
// before it goes on the stream, and deleted when its BatchAck arrives,
// committed or rejected. On start the agent loads what is left and sends it
// first on its first stream, with the batch ids it had: the coordinator
// acknowledges a batch it committed before (its `batches` table) as a
// duplicate without storing it again, so a batch that was committed but
// whose acknowledgement the dead agent never saw is harmless.
//
// Only batches are kept, not the task being measured: the coordinator needs
// no help to resume it. Its SweepManager remembers which chunks it sent per
// stream only, and on every new stream (an agent restart is one) sends again
// every chunk that still has pending items, listing only those items. Items
// whose results sit in the spool are still pending there until their batch
// commits; the agent skips those it holds unacknowledged (UnackedBatches::
// HoldsItem), and the store's unique index on (sweep, item) would keep one
// measurement anyway. Results made but not yet closed into a batch (at most
// --batch-size of them, or --batch-flush-ms worth) are lost with the
// process, but their items are still pending and are measured again: no
// hole, no duplicate.
//
// The file is locked for the process (locking_mode=EXCLUSIVE), so a second
// agent on the same spool is refused rather than sending the same batches.
// A file that is not a spool (not SQLite, another program's database, a
// newer format) or is corrupt is refused with a clear error and never
// written to. The spool remembers the device name its batches were made
// under and refuses another name while it holds any: the coordinator would
// reject them as another device's results, and they would be dropped.
#ifndef HAKD_AGENT_SPOOL_H_
#define HAKD_AGENT_SPOOL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hakd/v1/agent_service.pb.h"

struct sqlite3;

namespace hakd::agent {

// A batch read back from the spool with the sequence number it was added
// under.
struct SpooledBatch {
  uint64_t seq = 0;
  hakd::v1::MeasurementBatch batch;
};

// Not thread-safe: the agent uses it under the mutex that guards its
// UnackedBatches, so the two always agree.
class MeasurementSpool {
 public:
  // Opens the spool at `path`, creating it when missing or empty, for
  // `device_name`. Errors (nothing written to the file in any of them):
  // DATA_LOSS when the file is not a SQLite database, is corrupt or holds
  // a batch that does not parse,
  // FAILED_PRECONDITION when it is another program's database or a newer
  // spool format, or holds batches of another device name, UNAVAILABLE when
  // another process has it open, others when it cannot be opened. Every
  // message starts with "spool PATH:".
  static absl::StatusOr<std::unique_ptr<MeasurementSpool>> Open(
      const std::string& path, absl::string_view device_name);

  MeasurementSpool(const MeasurementSpool&) = delete;
  MeasurementSpool& operator=(const MeasurementSpool&) = delete;
  // Closes the file (checkpointing the WAL into it).
  ~MeasurementSpool();

  // Stores `batch` under `seq` (the resend order), durably once this
  // returns OK. ALREADY_EXISTS when `seq` or the batch id is held.
  absl::Status Add(uint64_t seq, const hakd::v1::MeasurementBatch& batch);

  // Deletes the batch with this id; OK when none is held.
  absl::Status Remove(absl::string_view batch_id);

  // Every batch held, in sequence order. DATA_LOSS when one does not parse.
  absl::StatusOr<std::vector<SpooledBatch>> Load() const;

  // Batches held.
  absl::StatusOr<int64_t> Count() const;

  // The file's path, as given to Open.
  const std::string& path() const { return path_; }

 private:
  MeasurementSpool(std::string path, sqlite3* db);

  const std::string path_;
  sqlite3* const db_;
};

}  // namespace hakd::agent

#endif  // HAKD_AGENT_SPOOL_H_
