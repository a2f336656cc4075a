// The latency database schema and its migrations. Each migration moves the
// database from version N-1 to N (PRAGMA user_version) inside one
// transaction, so an older database opens with a newer server without loss
// and a failed migration leaves it untouched.
#ifndef HAKD_SERVER_SCHEMA_H_
#define HAKD_SERVER_SCHEMA_H_

#include "absl/status/status.h"
#include "server/sqlite_db.h"

namespace hakd {

// The schema version this build writes.
inline constexpr int kSchemaVersion = 8;

// Brings `db` up to `target_version` (default: the newest). Refuses with
// FAILED_PRECONDITION a database newer than this build understands.
absl::Status MigrateSchema(SqliteDb* db, int target_version = kSchemaVersion);

}  // namespace hakd

#endif  // HAKD_SERVER_SCHEMA_H_
