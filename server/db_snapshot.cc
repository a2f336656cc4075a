#include "server/db_snapshot.h"

#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "server/sqlite_db.h"

namespace hakd {
namespace {

constexpr char kSuffix[] = ".backup-";

void SplitPath(const std::string& path, std::string* dir, std::string* base) {
  const size_t slash = path.rfind('/');
  *dir = slash == std::string::npos ? "." : path.substr(0, slash);
  if (dir->empty()) *dir = "/";
  *base = slash == std::string::npos ? path : path.substr(slash + 1);
}

void RemoveWithSidecars(const std::string& path) {
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
    unlink(absl::StrCat(path, suffix).c_str());
  }
}

// Removes a snapshot file being written unless it is kept.
struct FileGuard {
  ~FileGuard() {
    if (!keep) RemoveWithSidecars(path);
  }
  std::string path;
  bool keep = false;
};

// Rephrases a failure on the snapshot's side: a full disk there is not the
// database being full.
absl::Status SnapshotWriteError(const absl::Status& st,
                                const std::string& path) {
  if (st.code() == absl::StatusCode::kResourceExhausted) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "no room for the snapshot ", path, " beside the database (disk full)"));
  }
  return absl::Status(st.code(), absl::StrCat("writing the snapshot ", path,
                                              ": ", st.message()));
}

absl::Status BackupError(int rc, sqlite3* dest, const std::string& path) {
  return SnapshotWriteError(SqliteStatus(rc, dest, "backup"), path);
}

// Size and SHA-256 of the file at `path`.
absl::Status Measure(const std::string& path, SnapshotInfo* info) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("cannot read the snapshot ", path,
                                            ": ", std::strerror(errno)));
  }
  Sha256 hash;
  std::vector<char> buffer(1 << 20);
  int64_t size = 0;
  while (true) {
    const ssize_t n = read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close(fd);
      return absl::InternalError(absl::StrCat("cannot read the snapshot ", path,
                                              ": ", std::strerror(err)));
    }
    if (n == 0) break;
    hash.Update(absl::string_view(buffer.data(), static_cast<size_t>(n)));
    size += n;
  }
  close(fd);
  info->size_bytes = size;
  info->sha256 = hash.FinishHex();
  return absl::OkStatus();
}

// Puts the finished copy in rollback-journal mode (it is one self-contained
// file, whatever the source's mode), checks it and reads what it holds.
absl::Status Finish(SqliteDb* dest, const SnapshotOptions& options,
                    SnapshotInfo* info) {
  HAKD_RETURN_IF_ERROR(dest->Exec("PRAGMA journal_mode = DELETE"));
  if (options.verify) {
    HAKD_ASSIGN_OR_RETURN(Statement check,
                          dest->Prepare("PRAGMA quick_check(1)"));
    HAKD_ASSIGN_OR_RETURN(bool row, check.Step());
    if (!row || check.ColumnText(0) != "ok") {
      return absl::DataLossError(
          absl::StrCat("the snapshot fails PRAGMA quick_check: ",
                       row ? check.ColumnText(0) : "no answer"));
    }
  }
  HAKD_ASSIGN_OR_RETURN(int64_t version, dest->QueryInt("PRAGMA user_version"));
  HAKD_ASSIGN_OR_RETURN(int64_t page_size, dest->QueryInt("PRAGMA page_size"));
  HAKD_ASSIGN_OR_RETURN(
      int64_t tables,
      dest->QueryInt(
          "SELECT count(*) FROM sqlite_master WHERE type = 'table'"));
  info->schema_version = static_cast<int>(version);
  info->page_size = static_cast<int>(page_size);
  info->tables = static_cast<int>(tables);
  return absl::OkStatus();
}

}  // namespace

Snapshot::~Snapshot() { RemoveWithSidecars(path_); }

absl::StatusOr<std::unique_ptr<Snapshot>> TakeSnapshot(
    const std::string& db_path, const SnapshotOptions& options,
    const std::function<bool()>& cancelled) {
  std::string name = absl::StrCat(db_path, kSuffix, "XXXXXX");
  const int fd = mkstemp(name.data());
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create a snapshot file beside ", db_path, ": ",
                     std::strerror(errno)));
  }
  close(fd);
  FileGuard guard{name};  // any failure below removes the file
  SnapshotInfo info;

  HAKD_ASSIGN_OR_RETURN(
      std::unique_ptr<SqliteDb> source,
      SqliteDb::Open(db_path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                     5000));
  HAKD_ASSIGN_OR_RETURN(
      std::unique_ptr<SqliteDb> dest,
      SqliteDb::Open(name, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, 5000));
  // The copy is thrown away on any failure, so it needs no journal or fsync.
  HAKD_RETURN_IF_ERROR(dest->Exec("PRAGMA journal_mode = OFF"));
  HAKD_RETURN_IF_ERROR(dest->Exec("PRAGMA synchronous = OFF"));

  // One read transaction for the whole copy pins the moment it shows.
  HAKD_RETURN_IF_ERROR(source->Exec("BEGIN"));
  HAKD_RETURN_IF_ERROR(
      source->QueryInt("SELECT count(*) FROM sqlite_master").status());
  info.taken_unix_ms = absl::ToUnixMillis(absl::Now());
  sqlite3_backup* backup =
      sqlite3_backup_init(dest->raw(), "main", source->raw(), "main");
  if (backup == nullptr) {
    return SnapshotWriteError(
        SqliteStatus(sqlite3_errcode(dest->raw()), dest->raw(), "backup init"),
        name);
  }
  int rc = SQLITE_OK;
  while (true) {
    rc = sqlite3_backup_step(backup, std::max(1, options.pages_per_step));
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
    if (cancelled && cancelled()) {
      sqlite3_backup_finish(backup);
      return absl::CancelledError("backup cancelled by the client");
    }
    absl::SleepFor(options.pause);
  }
  info.pages = sqlite3_backup_pagecount(backup);
  const int finish_rc = sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) {
    // The step reports both sides' failures: a corrupt page is the
    // database's, anything else (a full disk) the snapshot's.
    const int primary = rc & 0xff;
    if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) {
      return SqliteStatus(rc, nullptr, "reading the database");
    }
    return BackupError(rc, dest->raw(), name);
  }
  if (finish_rc != SQLITE_OK) return BackupError(finish_rc, dest->raw(), name);
  source->Exec("COMMIT").IgnoreError();  // a read transaction: nothing to lose
  source.reset();

  if (absl::Status st = Finish(dest.get(), options, &info); !st.ok()) {
    return SnapshotWriteError(st, name);
  }
  dest.reset();
  HAKD_RETURN_IF_ERROR(Measure(name, &info));
  guard.keep = true;
  return std::make_unique<Snapshot>(name, std::move(info));
}

int RemoveStaleSnapshots(const std::string& db_path) {
  std::string dir, base;
  SplitPath(db_path, &dir, &base);
  const std::string prefix = absl::StrCat(base, kSuffix);
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return 0;
  int removed = 0;
  while (dirent* e = readdir(d)) {
    if (absl::StartsWith(e->d_name, prefix)) {
      if (unlink(absl::StrCat(dir, "/", e->d_name).c_str()) == 0) ++removed;
    }
  }
  closedir(d);
  return removed;
}

}  // namespace hakd
