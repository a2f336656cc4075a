// ArtifactStore: the files behind training artifacts (trained models and
// checkpoints), kept under one directory beside the database:
//
//   <dir>/task-<id>/<artifact_id>   committed artifacts
//   <dir>/tmp/upload-XXXXXX         uploads in progress (cleared at start)
//
// An upload streams into a temporary file while its SHA-256 (OpenSSL EVP,
// common/sha256.h) is computed; on arrival the size and digest are checked against the
// header, the file is fsynced and renamed into place, and the artifact is
// indexed in SQLite (TrainingStore::CommitArtifact) in one transaction. Only
// then is it acknowledged. Anything that fails leaves no file behind.
//
// Thread-safe: uploads are independent; the index is the TrainingStore's.
#ifndef HAKD_SERVER_ARTIFACT_STORE_H_
#define HAKD_SERVER_ARTIFACT_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/strings/string_view.h"
#include "common/sha256.h"
#include "hakd/v1/training.pb.h"
#include "server/training_store.h"

namespace hakd {

// Bytes of each data chunk sent by downloads: 1 MiB.
inline constexpr int kArtifactChunkBytes = 1 << 20;

class ArtifactStore;

// Limits on what artifacts may take on disk.
struct ArtifactStoreOptions {
  // Most bytes all stored artifacts plus uploads in progress may take; an
  // upload that would pass it is refused with RESOURCE_EXHAUSTED before a
  // byte is written. 0 (the default) means no quota.
  int64_t quota_bytes = 0;
  // Free space the file system must keep after an upload. Default 256 MiB,
  // so that artifacts never fill the disk the database lives on.
  int64_t min_free_bytes = int64_t{256} << 20;
};

// One upload in progress: a temporary file and a running digest. Destroying
// it before Finish succeeds removes the temporary file.
class ArtifactUpload {
 public:
  ~ArtifactUpload();
  ArtifactUpload(const ArtifactUpload&) = delete;
  ArtifactUpload& operator=(const ArtifactUpload&) = delete;

  // Appends a data chunk. DATA_LOSS once more bytes arrive than the header
  // announced; RESOURCE_EXHAUSTED / UNAVAILABLE when the disk fails.
  absl::Status Append(absl::string_view data);
  // Verifies size and digest (DATA_LOSS naming expected vs got), fsyncs,
  // renames into place and indexes the artifact. On any error the file is
  // gone and nothing is indexed.
  absl::StatusOr<ArtifactRecord> Finish(int64_t now_ms);

 private:
  friend class ArtifactStore;
  ArtifactUpload(ArtifactStore* store, hakd::v1::ArtifactHeader header,
                 std::string temp_path, int fd)
      : store_(store),
        header_(std::move(header)),
        temp_path_(std::move(temp_path)),
        fd_(fd) {}
  // Closes the file and removes it (idempotent).
  void Discard();

  ArtifactStore* const store_;
  const hakd::v1::ArtifactHeader header_;
  const std::string temp_path_;
  int fd_;
  Sha256 digest_;
  int64_t received_ = 0;
  bool finished_ = false;
};

class ArtifactStore {
 public:
  // Creates `dir` (and its tmp/) when missing and clears leftover
  // temporary files. `index` must outlive the ArtifactStore.
  static absl::StatusOr<std::unique_ptr<ArtifactStore>> Open(
      const std::string& dir, TrainingStore* index,
      ArtifactStoreOptions options = {});

  const std::string& dir() const { return dir_; }

  // Validates an upload's header chunk (field named in INVALID_ARGUMENT),
  // checks that the lease is held (FAILED_PRECONDITION otherwise), reserves
  // its size against the quota and free space (RESOURCE_EXHAUSTED naming
  // the limit) and opens the temporary file.
  absl::StatusOr<std::unique_ptr<ArtifactUpload>> BeginUpload(
      const hakd::v1::ArtifactHeader& header, int64_t now_ms);

  // The artifact a worker holding `lease_id` asks for: any model (a
  // teacher), or a checkpoint of the task it holds (PERMISSION_DENIED for
  // another task's checkpoint).
  absl::StatusOr<ArtifactRecord> ForWorker(const std::string& lease_id,
                                           const std::string& artifact_id,
                                           int64_t now_ms);

  // Sends a header chunk with the artifact's info, then its bytes in data
  // chunks of kArtifactChunkBytes. DATA_LOSS naming the path when the file
  // is missing or has the wrong size; CANCELLED when `write` returns false.
  absl::Status Stream(
      const ArtifactRecord& record,
      const std::function<bool(const hakd::v1::ArtifactChunk&)>& write) const;

  // Full path of a relative artifact path.
  std::string FullPath(const std::string& relative) const;

  // Bytes reserved by uploads in progress.
  int64_t reserved_bytes() const;

 private:
  friend class ArtifactUpload;
  ArtifactStore(std::string dir, TrainingStore* index,
                ArtifactStoreOptions options)
      : dir_(std::move(dir)), index_(index), options_(options) {}

  // Checks quota and free space for `bytes` more and reserves them.
  absl::Status Reserve(int64_t bytes);
  void Unreserve(int64_t bytes);

  const std::string dir_;
  TrainingStore* const index_;
  const ArtifactStoreOptions options_;
  mutable absl::Mutex mu_;
  int64_t reserved_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace hakd

#endif  // HAKD_SERVER_ARTIFACT_STORE_H_
