#include "server/artifact_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/training_validation.h"

namespace hakd {
namespace {

absl::Status ErrnoStatus(int err, absl::string_view what) {
  const std::string msg = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(msg);
    case ENOENT:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::FailedPreconditionError(msg);
    default:
      return absl::UnavailableError(msg);
  }
}

absl::Status MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoStatus(errno, absl::StrCat("cannot create directory ", path));
  }
  return absl::OkStatus();
}

// fsyncs a directory so a rename in it survives power loss.
absl::Status SyncDir(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("open ", path));
  const int rc = fsync(fd);
  const int err = errno;
  close(fd);
  if (rc != 0) return ErrnoStatus(err, absl::StrCat("fsync ", path));
  return absl::OkStatus();
}

std::string DirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

}  // namespace

// ---- ArtifactUpload --------------------------------------------------------

ArtifactUpload::~ArtifactUpload() {
  if (!finished_) Discard();
  if (fd_ >= 0) close(fd_);
  // Once finished the bytes count as stored, in the index.
  store_->Unreserve(header_.size_bytes());
}

void ArtifactUpload::Discard() {
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
  unlink(temp_path_.c_str());
}

absl::Status ArtifactUpload::Append(absl::string_view data) {
  if (finished_ || fd_ < 0) {
    return absl::FailedPreconditionError("upload already finished");
  }
  if (received_ + static_cast<int64_t>(data.size()) > header_.size_bytes()) {
    const int64_t got = received_ + static_cast<int64_t>(data.size());
    Discard();
    return absl::DataLossError(absl::StrCat(
        "size_bytes: expected ", header_.size_bytes(), " bytes, got at least ",
        got));
  }
  digest_.Update(data);
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = write(fd_, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      Discard();
      return ErrnoStatus(err, absl::StrCat("artifact upload: write ", temp_path_));
    }
    off += static_cast<size_t>(n);
  }
  received_ += static_cast<int64_t>(data.size());
  return absl::OkStatus();
}

absl::StatusOr<ArtifactRecord> ArtifactUpload::Finish(int64_t now_ms) {
  if (finished_ || fd_ < 0) {
    return absl::FailedPreconditionError("upload already finished");
  }
  if (received_ != header_.size_bytes()) {
    Discard();
    return absl::DataLossError(absl::StrCat("size_bytes: expected ",
                                            header_.size_bytes(),
                                            " bytes, got ", received_));
  }
  const std::string got = digest_.FinishHex();
  if (got != header_.sha256()) {
    Discard();
    return absl::DataLossError(absl::StrCat("sha256: expected ",
                                            header_.sha256(), ", got ", got));
  }
  if (fsync(fd_) != 0) {
    const int err = errno;
    Discard();
    return ErrnoStatus(err, absl::StrCat("artifact upload: fsync ", temp_path_));
  }
  close(fd_);
  fd_ = -1;

  std::string placed;
  absl::StatusOr<CommittedArtifact> committed = store_->index_->CommitArtifact(
      header_.lease_id(), header_.kind(), header_.size_bytes(),
      header_.sha256(), now_ms,
      [this, &placed](const std::string&, const std::string& path) {
        const std::string full = store_->FullPath(path);
        HAKD_RETURN_IF_ERROR(MakeDir(DirOf(full)));
        if (rename(temp_path_.c_str(), full.c_str()) != 0) {
          return ErrnoStatus(errno, absl::StrCat("rename ", temp_path_, " to ",
                                                 full));
        }
        placed = full;
        HAKD_RETURN_IF_ERROR(SyncDir(DirOf(full)));
        return SyncDir(store_->dir_);
      });
  if (!committed.ok()) {
    if (!placed.empty()) unlink(placed.c_str());
    Discard();
    return committed.status();
  }
  finished_ = true;
  // The rows are gone; a crash before these unlinks leaves orphan files only.
  for (const std::string& old : committed->superseded_paths) {
    unlink(store_->FullPath(old).c_str());
  }
  return committed->record;
}

// ---- ArtifactStore ---------------------------------------------------------

absl::StatusOr<std::unique_ptr<ArtifactStore>> ArtifactStore::Open(
    const std::string& dir, TrainingStore* index, ArtifactStoreOptions options) {
  if (dir.empty()) return absl::InvalidArgumentError("artifact_dir: required");
  if (options.quota_bytes < 0 || options.min_free_bytes < 0) {
    return absl::InvalidArgumentError(
        "artifact quota and free-space margin must not be negative");
  }
  std::unique_ptr<ArtifactStore> store(new ArtifactStore(dir, index, options));
  if (absl::Status st = MakeDir(dir); !st.ok()) {
    return absl::Status(st.code(), absl::StrCat("artifact_dir: ", st.message()));
  }
  const std::string tmp = absl::StrCat(dir, "/tmp");
  if (absl::Status st = MakeDir(tmp); !st.ok()) {
    return absl::Status(st.code(), absl::StrCat("artifact_dir: ", st.message()));
  }
  // Uploads interrupted by a crash or restart.
  if (DIR* d = opendir(tmp.c_str()); d != nullptr) {
    while (dirent* e = readdir(d)) {
      if (std::strncmp(e->d_name, "upload-", 7) == 0) {
        unlink(absl::StrCat(tmp, "/", e->d_name).c_str());
      }
    }
    closedir(d);
  }
  return store;
}

absl::Status ArtifactStore::Reserve(int64_t bytes) {
  absl::MutexLock lock(&mu_);
  if (options_.quota_bytes > 0) {
    HAKD_ASSIGN_OR_RETURN(int64_t stored, index_->ArtifactBytes());
    if (stored + reserved_ + bytes > options_.quota_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "header.size_bytes: ", bytes, " more bytes would bring artifacts to ",
          stored + reserved_ + bytes, " bytes, over the quota of ",
          options_.quota_bytes,
          " (hakd-server --artifact-quota-bytes); delete old artifacts or "
          "raise the quota"));
    }
  }
  struct statvfs fs;
  if (statvfs(dir_.c_str(), &fs) == 0) {
    const int64_t free_bytes =
        static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
    if (free_bytes - reserved_ - bytes < options_.min_free_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "header.size_bytes: ", bytes, " bytes do not fit: ", dir_, " has ",
          free_bytes, " bytes free and must keep ", options_.min_free_bytes,
          " (hakd-server --artifact-min-free-bytes)"));
    }
  }
  reserved_ += bytes;
  return absl::OkStatus();
}

void ArtifactStore::Unreserve(int64_t bytes) {
  absl::MutexLock lock(&mu_);
  reserved_ -= bytes;
}

int64_t ArtifactStore::reserved_bytes() const {
  absl::MutexLock lock(&mu_);
  return reserved_;
}

std::string ArtifactStore::FullPath(const std::string& relative) const {
  return absl::StrCat(dir_, "/", relative);
}

absl::StatusOr<std::unique_ptr<ArtifactUpload>> ArtifactStore::BeginUpload(
    const hakd::v1::ArtifactHeader& header, int64_t now_ms) {
  HAKD_RETURN_IF_ERROR(ValidateLeaseId(header.lease_id(), "header.lease_id"));
  if (header.kind() != "model" && header.kind() != "checkpoint") {
    return absl::InvalidArgumentError(
        absl::StrCat("header.kind: '", absl::CHexEscape(header.kind()),
                     "' is not model or checkpoint"));
  }
  if (header.size_bytes() <= 0 || header.size_bytes() > kMaxArtifactBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "header.size_bytes: ", header.size_bytes(), " is not in [1, ",
        kMaxArtifactBytes, "] (the 2 GiB artifact limit)"));
  }
  HAKD_RETURN_IF_ERROR(ValidateSha256Hex(header.sha256(), "header.sha256"));
  HAKD_RETURN_IF_ERROR(index_->CheckLease(header.lease_id(), now_ms).status());
  HAKD_RETURN_IF_ERROR(Reserve(header.size_bytes()));

  std::string temp = absl::StrCat(dir_, "/tmp/upload-XXXXXX");
  const int fd = mkstemp(temp.data());
  if (fd < 0) {
    Unreserve(header.size_bytes());
    return ErrnoStatus(errno, absl::StrCat("artifact upload: create ", temp));
  }
  return std::unique_ptr<ArtifactUpload>(
      new ArtifactUpload(this, header, std::move(temp), fd));
}

absl::StatusOr<ArtifactRecord> ArtifactStore::ForWorker(
    const std::string& lease_id, const std::string& artifact_id,
    int64_t now_ms) {
  HAKD_ASSIGN_OR_RETURN(HeldLease held, index_->CheckLease(lease_id, now_ms));
  HAKD_ASSIGN_OR_RETURN(ArtifactRecord record, index_->GetArtifact(artifact_id));
  if (record.kind == "model") return record;
  if (record.task_id == held.task_id) return record;
  return absl::PermissionDeniedError(absl::StrCat(
      "artifact_id: '", artifact_id, "' is a ", record.kind, " of task ",
      record.task_id, "; a worker may download models and the checkpoints of "
      "the task it holds (", held.task_id, ")"));
}

absl::Status ArtifactStore::Stream(
    const ArtifactRecord& record,
    const std::function<bool(const hakd::v1::ArtifactChunk&)>& write) const {
  const std::string full = FullPath(record.path);
  const int fd = open(full.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return absl::DataLossError(absl::StrCat("artifact ", record.artifact_id,
                                            ": cannot open ", full, ": ",
                                            std::strerror(err)));
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { close(fd); }
  } closer{fd};
  struct stat st;
  if (fstat(fd, &st) != 0) return ErrnoStatus(errno, absl::StrCat("stat ", full));
  if (st.st_size != record.size_bytes) {
    return absl::DataLossError(absl::StrCat(
        "artifact ", record.artifact_id, ": ", full, " holds ",
        static_cast<int64_t>(st.st_size), " bytes, the index says ",
        record.size_bytes));
  }
  hakd::v1::ArtifactChunk chunk;
  *chunk.mutable_header()->mutable_info() = record.ToInfo();
  if (!write(chunk)) return absl::CancelledError("client gone");
  std::string buffer;
  int64_t sent = 0;
  while (sent < record.size_bytes) {
    buffer.resize(kArtifactChunkBytes);
    const ssize_t n = read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, absl::StrCat("read ", full));
    }
    if (n == 0) {
      return absl::DataLossError(absl::StrCat("artifact ", record.artifact_id,
                                              ": ", full, " ended after ",
                                              sent, " bytes"));
    }
    buffer.resize(static_cast<size_t>(n));
    sent += n;
    chunk.set_data(std::move(buffer));
    if (!write(chunk)) return absl::CancelledError("client gone");
    buffer = std::move(*chunk.mutable_data());
  }
  return absl::OkStatus();
}

}  // namespace hakd
