#include "server/admin_service.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/status_grpc.h"

namespace hakd {
namespace {

using grpc::Status;
using grpc::StatusCode;

// Clears the running flag when the backup ends, however it ends.
class RunningGuard {
 public:
  explicit RunningGuard(std::atomic<bool>* flag) : flag_(flag) {}
  ~RunningGuard() { flag_->store(false); }

 private:
  std::atomic<bool>* flag_;
};

}  // namespace

AdminServiceImpl::AdminServiceImpl(const Authorizer* auth, std::string db_path,
                                   AdminServiceOptions options)
    : auth_(auth), db_path_(std::move(db_path)), options_(options) {}

Status AdminServiceImpl::Backup(
    grpc::ServerContext* context, const hakd::v1::BackupRequest* /*request*/,
    grpc::ServerWriter<hakd::v1::BackupChunk>* writer) {
  StreamSlot slot;  // a stream like any other: counted per identity
  if (Status st = auth_->CheckStream(context, Permission::kAdmin,
                                     "take backups", &slot);
      !st.ok()) {
    return st;
  }
  bool idle = false;
  if (!running_.compare_exchange_strong(idle, true)) {
    return Status(StatusCode::ABORTED,
                  "a backup is already running; try again when it has "
                  "finished");
  }
  RunningGuard guard(&running_);
  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<Snapshot>> snapshot =
      TakeSnapshot(db_path_, options_.snapshot,
                   [context] { return context->IsCancelled(); });
  if (!snapshot.ok()) {
    LogLine("hakd-server",
            absl::StrCat("backup failed: ", snapshot.status().message()));
    return ToGrpcStatus(snapshot.status());
  }
  const SnapshotInfo& info = (*snapshot)->info();
  Status sent = Send(context, **snapshot, writer);
  LogLine("hakd-server",
          absl::StrCat("backup of ", db_path_, ": ", info.size_bytes,
                       " bytes (", info.pages, " pages), sha256 ", info.sha256,
                       sent.ok() ? ", sent in " : ", not sent: ",
                       sent.ok() ? absl::FormatDuration(absl::Now() - start)
                                 : sent.error_message()));
  return sent;  // the snapshot file goes away with `snapshot`
}

Status AdminServiceImpl::Send(
    grpc::ServerContext* context, const Snapshot& snapshot,
    grpc::ServerWriter<hakd::v1::BackupChunk>* writer) {
  const SnapshotInfo& info = snapshot.info();
  hakd::v1::BackupChunk first;
  hakd::v1::BackupInfo* out = first.mutable_info();
  out->set_size_bytes(info.size_bytes);
  out->set_sha256(info.sha256);
  out->set_pages(info.pages);
  out->set_page_size(info.page_size);
  out->set_schema_version(info.schema_version);
  out->set_tables(info.tables);
  out->set_created_unix_ms(info.taken_unix_ms);
  out->set_database(db_path_);
  if (!writer->Write(first)) {
    return Status(StatusCode::CANCELLED, "the client went away");
  }
  const int fd = open(snapshot.path().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status(StatusCode::INTERNAL,
                  absl::StrCat("cannot read the snapshot ", snapshot.path(),
                               ": ", std::strerror(errno)));
  }
  std::string buffer(static_cast<size_t>(std::max(1, options_.chunk_bytes)),
                     '\0');
  int64_t sent = 0;
  Status result = Status::OK;
  while (result.ok()) {
    const ssize_t n = read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      result = Status(StatusCode::INTERNAL,
                      absl::StrCat("cannot read the snapshot ", snapshot.path(),
                                   ": ", std::strerror(errno)));
      break;
    }
    if (n == 0) break;
    if (context->IsCancelled()) {
      result = Status(StatusCode::CANCELLED, "the client went away");
      break;
    }
    hakd::v1::BackupChunk chunk;
    chunk.set_data(buffer.data(), static_cast<size_t>(n));
    if (!writer->Write(chunk)) {
      result = Status(StatusCode::CANCELLED, "the client went away");
      break;
    }
    sent += n;
  }
  close(fd);
  if (result.ok() && sent != info.size_bytes) {
    result = Status(StatusCode::INTERNAL,
                    absl::StrCat("the snapshot changed while being sent (",
                                 sent, " of ", info.size_bytes, " bytes)"));
  }
  return result;
}

}  // namespace hakd
