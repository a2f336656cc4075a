#include "server/db_file_check.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "server/schema.h"
#include "server/sqlite_db.h"

namespace hakd {
namespace {

// The first 16 bytes of every SQLite database file.
constexpr char kMagic[] = "SQLite format 3";  // with its NUL: 16 bytes
constexpr size_t kHeaderBytes = 100;
constexpr char kUnchanged[] = "; the file was left unchanged";
constexpr char kRestore[] =
    "restore it from a backup (docs/architecture.md, \"Backup and restore\")";
// quick_check stops after this many problems; the first ones say enough.
constexpr int kProblemsShown = 3;

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

absl::Status Refused(absl::StatusCode code, absl::string_view problem) {
  return absl::Status(code, absl::StrCat(problem, kUnchanged));
}

// Reads the header. *is_new is set when the file is missing or empty.
absl::Status CheckHeader(const std::string& path, bool* is_new) {
  *is_new = false;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      *is_new = true;
      return absl::OkStatus();
    }
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read the file: ", std::strerror(errno)));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    close(fd);
    return absl::FailedPreconditionError("not a file");
  }
  if (st.st_size == 0) {
    close(fd);
    *is_new = true;
    return absl::OkStatus();
  }
  char header[kHeaderBytes];
  size_t got = 0;
  while (got < kHeaderBytes) {
    const ssize_t n = pread(fd, header + got, kHeaderBytes - got, got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  close(fd);
  if (std::memcmp(header, kMagic, std::min(got, sizeof(kMagic))) != 0 ||
      got < sizeof(kMagic)) {
    return Refused(absl::StatusCode::kDataLoss,
                   "not a SQLite database (bad header: the file does not "
                   "start with \"SQLite format 3\")");
  }
  if (got < kHeaderBytes) {
    return Refused(absl::StatusCode::kDataLoss,
                   absl::StrCat("truncated: ", got,
                                " bytes, shorter than the 100-byte SQLite "
                                "header"));
  }
  return absl::OkStatus();
}

// Phrases a SQLite failure met while checking.
absl::Status CheckFailed(const absl::Status& st) {
  if (st.code() == absl::StatusCode::kDataLoss) {
    return Refused(absl::StatusCode::kDataLoss,
                   absl::StrCat("corrupt (", st.message(), "); ", kRestore));
  }
  return absl::Status(st.code(),
                      absl::StrCat("cannot check the file: ", st.message()));
}

// Reads the schema version and runs quick_check on a read-only connection
// that never checkpoints, so that nothing is written to the file.
absl::Status CheckContents(const std::string& path) {
  std::unique_ptr<SqliteDb> db;
  {
    absl::StatusOr<std::unique_ptr<SqliteDb>> opened =
        SqliteDb::Open(path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, 5000);
    if (!opened.ok()) return CheckFailed(opened.status());
    db = *std::move(opened);
  }
  sqlite3_db_config(db->raw(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  absl::StatusOr<int64_t> version = db->QueryInt("PRAGMA user_version");
  if (!version.ok()) return CheckFailed(version.status());
  if (*version > kSchemaVersion) {
    return Refused(absl::StatusCode::kFailedPrecondition,
                   absl::StrCat("database schema version ", *version,
                                " is newer than this hakd-server understands (",
                                kSchemaVersion, "); upgrade hakd-server"));
  }
  absl::StatusOr<Statement> check =
      db->Prepare(absl::StrCat("PRAGMA quick_check(", kProblemsShown, ")"));
  if (!check.ok()) return CheckFailed(check.status());
  std::vector<std::string> problems;
  while (true) {
    absl::StatusOr<bool> row = check->Step();
    if (!row.ok()) return CheckFailed(row.status());
    if (!*row) break;
    const std::string line = check->ColumnText(0);
    if (line != "ok") problems.push_back(line);
  }
  if (!problems.empty()) {
    std::string joined = absl::StrJoin(problems, "; ");
    std::replace(joined.begin(), joined.end(), '\n', ' ');
    return Refused(
        absl::StatusCode::kDataLoss,
        absl::StrCat("corrupt (PRAGMA quick_check: ", joined, "); ", kRestore));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckDatabaseFile(const std::string& path) {
  bool is_new = false;
  HAKD_RETURN_IF_ERROR(CheckHeader(path, &is_new));
  if (is_new) return absl::OkStatus();
  // Reading a database in WAL mode creates these beside it; a refused file
  // should be left as it was found.
  const std::string wal = path + "-wal";
  const std::string shm = path + "-shm";
  const bool had_wal = Exists(wal);
  const bool had_shm = Exists(shm);
  absl::Status st = CheckContents(path);
  if (!st.ok()) {
    if (!had_wal) unlink(wal.c_str());
    if (!had_shm) unlink(shm.c_str());
  }
  return st;
}

}  // namespace hakd
