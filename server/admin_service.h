// AdminServiceImpl: administration of the coordinator itself
// (hakd/v1/admin_service.proto), admin role only. Backup streams a
// consistent snapshot of the SQLite database (db_snapshot.h) taken while
// the farm keeps writing.
#ifndef HAKD_SERVER_ADMIN_SERVICE_H_
#define HAKD_SERVER_ADMIN_SERVICE_H_

#include <atomic>
#include <string>

#include "hakd/v1/admin_service.grpc.pb.h"
#include "server/auth.h"
#include "server/db_snapshot.h"

namespace hakd {

// Tuning of the admin service.
struct AdminServiceOptions {
  // How snapshots are taken. Default: SnapshotOptions's defaults.
  SnapshotOptions snapshot;
  // Bytes of the snapshot per data message. Default 1 MiB.
  int chunk_bytes = 1 << 20;
};

class AdminServiceImpl final : public hakd::v1::AdminService::Service {
 public:
  // `auth` must outlive the service; `db_path` is the coordinator's database.
  AdminServiceImpl(const Authorizer* auth, std::string db_path,
                   AdminServiceOptions options = AdminServiceOptions());

  // Needs kAdmin. Takes a snapshot into a temporary file beside the
  // database, streams its info then its bytes, and removes it. ABORTED while
  // another backup runs; CANCELLED (and the file removed) when the client
  // goes away.
  grpc::Status Backup(
      grpc::ServerContext* context, const hakd::v1::BackupRequest* request,
      grpc::ServerWriter<hakd::v1::BackupChunk>* writer) override;

  // True while a backup runs.
  bool backup_running() const { return running_.load(); }

 private:
  // Streams a finished snapshot.
  grpc::Status Send(grpc::ServerContext* context, const Snapshot& snapshot,
                    grpc::ServerWriter<hakd::v1::BackupChunk>* writer);

  const Authorizer* const auth_;
  const std::string db_path_;
  const AdminServiceOptions options_;
  std::atomic<bool> running_{false};
};

}  // namespace hakd

#endif  // HAKD_SERVER_ADMIN_SERVICE_H_
