// Receiving a database snapshot (`admin backup`): the first chunk says what
// the file must be (size and SHA-256); the data is hashed as it arrives and
// the result is refused unless both match.
#ifndef HAKD_CLI_BACKUP_RECEIVER_H_
#define HAKD_CLI_BACKUP_RECEIVER_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "common/sha256.h"
#include "hakd/v1/admin_service.pb.h"

namespace hakd::cli {

// Consumes the chunks of one Backup stream, writing the data to `out`.
class BackupReceiver {
 public:
  // `out` must outlive the receiver.
  explicit BackupReceiver(std::ostream& out) : out_(out) {}

  // One chunk: the info first, then data. DATA_LOSS for data before the
  // info, a second info, or more data than the info announced; INTERNAL
  // when `out` cannot be written.
  absl::Status Add(const hakd::v1::BackupChunk& chunk);

  // After the last chunk: DATA_LOSS unless the size and SHA-256 of what
  // arrived are those the info announced.
  absl::Status Finish();

  // True once the info arrived.
  bool has_info() const { return has_info_; }
  // What the coordinator announced.
  const hakd::v1::BackupInfo& info() const { return info_; }
  // Data bytes received so far.
  int64_t bytes() const { return bytes_; }

 private:
  std::ostream& out_;
  Sha256 hash_;
  bool has_info_ = false;
  hakd::v1::BackupInfo info_;
  int64_t bytes_ = 0;
};

}  // namespace hakd::cli

#endif  // HAKD_CLI_BACKUP_RECEIVER_H_
