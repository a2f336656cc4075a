// The coordinator's check of its database file at start, before anything
// may write to it: a file that is not SQLite, is truncated or corrupt, or
// holds a schema newer than this build is refused with a message naming the
// problem, and the file is left exactly as it was (a corrupt database must
// be restored from a backup, never "repaired" by writing over it).
#ifndef HAKD_SERVER_DB_FILE_CHECK_H_
#define HAKD_SERVER_DB_FILE_CHECK_H_

#include <string>

#include "absl/status/status.h"

namespace hakd {

// Checks `path` read-only. OK when it does not exist or is empty (it becomes
// a new database), or when it starts with the SQLite header, its schema
// version (PRAGMA user_version) is at most kSchemaVersion and PRAGMA
// quick_check passes (reading every page: seconds per GiB). Otherwise
// DATA_LOSS (not a database, truncated, corrupt) or FAILED_PRECONDITION
// (newer schema), with a one-line message saying what is wrong and that the
// file was left unchanged; other errors (unreadable file) keep SQLite's or
// the OS's code. The check's own -wal and -shm files are removed again when
// it refuses the file.
absl::Status CheckDatabaseFile(const std::string& path);

}  // namespace hakd

#endif  // HAKD_SERVER_DB_FILE_CHECK_H_
