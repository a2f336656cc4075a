#include "server/training_store.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cmath>

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/network/network_analysis.h"
#include "common/status_macros.h"
#include "server/schema.h"
#include "server/training_validation.h"

namespace hakd {
namespace {

using hakd::v1::TaskState;
using hakd::v1::TrainingTask;

// Columns read by TaskFromRow, in order.
constexpr char kTaskColumns[] =
    "id, spec, state, attempts, max_attempts, worker, progress, "
    "model_artifact_id, checkpoint_artifact_id, error, created_ms, "
    "started_ms, finished_ms, result";

constexpr char kArtifactColumns[] =
    "artifact_id, kind, size, sha256, task_id, path, created_ms";

bool IsTerminal(TaskState state) {
  return state == hakd::v1::TASK_SUCCEEDED ||
         state == hakd::v1::TASK_FAILED || state == hakd::v1::TASK_CANCELLED;
}

absl::Status LeaseLost() {
  return absl::FailedPreconditionError(
      "lease_id: lease expired; task requeued (unknown, expired or "
      "superseded lease: lease a task again)");
}

std::string FormatMs(int64_t ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(ms),
                          absl::UTCTimeZone());
}

absl::StatusOr<std::string> RandomLeaseId() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return absl::InternalError("cannot draw random bytes for a lease id");
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

absl::StatusOr<TrainingTask> TaskFromRow(const Statement& s) {
  TrainingTask t;
  t.set_task_id(s.ColumnInt(0));
  if (!t.mutable_spec()->ParseFromString(s.ColumnText(1))) {
    return absl::DataLossError(
        absl::StrCat("training task ", t.task_id(), ": spec does not parse"));
  }
  t.set_state(static_cast<TaskState>(s.ColumnInt(2)));
  t.set_attempts(static_cast<int32_t>(s.ColumnInt(3)));
  t.set_max_attempts(static_cast<int32_t>(s.ColumnInt(4)));
  t.set_worker(s.ColumnText(5));
  if (!s.ColumnIsNull(6) &&
      !t.mutable_progress()->ParseFromString(s.ColumnText(6))) {
    return absl::DataLossError(absl::StrCat(
        "training task ", t.task_id(), ": progress does not parse"));
  }
  t.set_model_artifact_id(s.ColumnText(7));
  t.set_checkpoint_artifact_id(s.ColumnText(8));
  t.set_error(s.ColumnText(9));
  t.set_created_unix_ms(s.ColumnInt(10));
  t.set_started_unix_ms(s.ColumnInt(11));
  t.set_finished_unix_ms(s.ColumnInt(12));
  if (!s.ColumnIsNull(13)) {
    // The result fields only (saliency, result_network, nonzero_params).
    TrainingTask result;
    if (!result.ParseFromString(s.ColumnText(13))) {
      return absl::DataLossError(absl::StrCat(
          "training task ", t.task_id(), ": result does not parse"));
    }
    t.MergeFrom(result);
  }
  return t;
}

// What a task of `kind` must hand in to complete; the result fields of
// `request` packed as a TrainingTask for the result column.
absl::StatusOr<TrainingTask> CheckResult(
    const hakd::v1::TrainingSpec& spec,
    const hakd::v1::CompleteTaskRequest& request) {
  TrainingTask result;
  switch (spec.kind()) {
    case hakd::v1::TASK_KIND_SALIENCY:
      if (request.saliency_size() == 0) {
        return absl::InvalidArgumentError(
            "saliency: a saliency task completes with its saliency");
      }
      for (int i = 0; i < request.saliency_size(); ++i) {
        for (double v : request.saliency(i).channels()) {
          if (!std::isfinite(v) || v < 0) {
            return absl::InvalidArgumentError(absl::StrCat(
                "saliency[", i, "].channels: ", v,
                " is not a finite non-negative number"));
          }
        }
      }
      *result.mutable_saliency() = request.saliency();
      break;
    case hakd::v1::TASK_KIND_FISHER_PRUNE:
      if (!request.has_result_network()) {
        return absl::InvalidArgumentError(
            "result_network: a pruning task completes with the pruned network");
      }
      if (absl::Status st = ValidateNetworkSpec(request.result_network());
          !st.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("result_network.", st.message()));
      }
      *result.mutable_result_network() = request.result_network();
      break;
    default:
      break;
  }
  if (request.nonzero_params() < 0) {
    return absl::InvalidArgumentError("nonzero_params: is negative");
  }
  result.set_nonzero_params(request.nonzero_params());
  return result;
}

ArtifactRecord ArtifactFromRow(const Statement& s) {
  ArtifactRecord r;
  r.artifact_id = s.ColumnText(0);
  r.kind = s.ColumnText(1);
  r.size_bytes = s.ColumnInt(2);
  r.sha256 = s.ColumnText(3);
  r.task_id = s.ColumnInt(4);
  r.path = s.ColumnText(5);
  r.created_ms = s.ColumnInt(6);
  return r;
}

}  // namespace

hakd::v1::ArtifactInfo ArtifactRecord::ToInfo() const {
  hakd::v1::ArtifactInfo info;
  info.set_artifact_id(artifact_id);
  info.set_kind(kind);
  info.set_size_bytes(size_bytes);
  info.set_sha256(sha256);
  info.set_task_id(task_id);
  info.set_created_unix_ms(created_ms);
  return info;
}

absl::StatusOr<std::unique_ptr<TrainingStore>> TrainingStore::Open(
    const TrainingStoreOptions& options) {
  if (options.lease_ms < 1) {
    return absl::InvalidArgumentError("lease_ms: must be positive");
  }
  std::unique_ptr<TrainingStore> store(new TrainingStore(options));
  if (absl::Status st = store->Init(); !st.ok()) {
    return absl::Status(st.code(), absl::StrCat("training database '",
                                                options.path, "': ", st.message()));
  }
  return store;
}

TrainingStore::~TrainingStore() = default;

absl::Status TrainingStore::Init() {
  absl::MutexLock lock(&mu_);
  HAKD_ASSIGN_OR_RETURN(db_, SqliteDb::Open(
      options_.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                         SQLITE_OPEN_NOMUTEX,
      options_.busy_timeout_ms));
  HAKD_RETURN_IF_ERROR(db_->QueryInt("PRAGMA schema_version").status());
  HAKD_RETURN_IF_ERROR(db_->Exec("PRAGMA journal_mode = WAL"));
  HAKD_RETURN_IF_ERROR(db_->Exec(options_.synchronous_full
                                     ? "PRAGMA synchronous = FULL"
                                     : "PRAGMA synchronous = NORMAL"));
  HAKD_RETURN_IF_ERROR(db_->Exec("PRAGMA foreign_keys = ON"));
  if (options_.max_page_count > 0) {
    HAKD_RETURN_IF_ERROR(db_->SetMaxPageCount(options_.max_page_count));
  }
  // A no-op when the LatencyStore has already migrated the file.
  return MigrateSchema(db_.get());
}

void TrainingStore::BumpVersion() {
  absl::MutexLock lock(&version_mu_);
  ++version_;
}

int64_t TrainingStore::version() const {
  absl::MutexLock lock(&version_mu_);
  return version_;
}

void TrainingStore::WaitForChange(int64_t* version,
                                  absl::Duration timeout) const {
  absl::MutexLock lock(&version_mu_);
  struct Args {
    const int64_t* current;
    int64_t seen;
  } args{&version_, *version};
  version_mu_.AwaitWithTimeout(
      absl::Condition(
          +[](Args* a) { return *a->current != a->seen; }, &args),
      timeout);
  *version = version_;
}

// ---- helpers ---------------------------------------------------------------

absl::StatusOr<TrainingTask> TrainingStore::LoadTaskLocked(int64_t task_id,
                                                           bool with_history) {
  TrainingTask task;
  {
    HAKD_ASSIGN_OR_RETURN(
        Statement s,
        db_->Prepare(absl::StrCat("SELECT ", kTaskColumns,
                                  " FROM training_tasks WHERE id = ?")));
    s.Bind(1, task_id);
    HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) {
      return absl::NotFoundError(
          absl::StrCat("task_id: no training task ", task_id));
    }
    HAKD_ASSIGN_OR_RETURN(task, TaskFromRow(s));
  }
  if (task.spec().world_size() > 1) {
    HAKD_ASSIGN_OR_RETURN(std::vector<std::string> members,
                          GroupWorkersLocked(task_id));
    for (std::string& m : members) task.add_group_workers(std::move(m));
  }
  if (!with_history) return task;
  HAKD_ASSIGN_OR_RETURN(
      Statement s,
      db_->Prepare("SELECT metrics FROM task_epochs WHERE task_id = ? "
                   "ORDER BY epoch"));
  s.Bind(1, task_id);
  while (true) {
    HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    if (!task.add_history()->ParseFromString(s.ColumnText(0))) {
      return absl::DataLossError(absl::StrCat(
          "training task ", task_id, ": epoch metrics do not parse"));
    }
  }
  return task;
}

absl::StatusOr<TrainingStore::LeaseRow> TrainingStore::FindLeaseLocked(
    const std::string& lease_id) {
  HAKD_ASSIGN_OR_RETURN(
      Statement s,
      db_->Prepare("SELECT id, state, worker, lease_expires_ms "
                   "FROM training_tasks WHERE lease_id = ?"));
  s.Bind(1, lease_id);
  HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
  LeaseRow r;
  if (row) {
    r.task_id = s.ColumnInt(0);
    r.state = static_cast<TaskState>(s.ColumnInt(1));
    r.worker = s.ColumnText(2);
    r.expires_ms = s.ColumnInt(3);
    return r;
  }
  HAKD_ASSIGN_OR_RETURN(
      Statement m,
      db_->Prepare("SELECT m.task_id, t.state, m.worker, m.expires_ms, m.rank "
                   "FROM task_group_members m JOIN training_tasks t "
                   "ON t.id = m.task_id WHERE m.lease_id = ?"));
  m.Bind(1, lease_id);
  HAKD_ASSIGN_OR_RETURN(bool member, m.Step());
  if (!member) return LeaseLost();
  r.task_id = m.ColumnInt(0);
  r.state = static_cast<TaskState>(m.ColumnInt(1));
  r.worker = m.ColumnText(2);
  r.expires_ms = m.ColumnInt(3);
  r.rank = static_cast<int>(m.ColumnInt(4));
  return r;
}

absl::StatusOr<TrainingStore::LeaseRow> TrainingStore::HeldLeaseLocked(
    const std::string& lease_id, int64_t now_ms) {
  HAKD_ASSIGN_OR_RETURN(LeaseRow r, FindLeaseLocked(lease_id));
  if (r.state == hakd::v1::TASK_CANCELLED) {
    return absl::FailedPreconditionError(
        absl::StrCat("task ", r.task_id, " was cancelled"));
  }
  if (r.state != hakd::v1::TASK_RUNNING) {
    return absl::FailedPreconditionError(
        absl::StrCat("task ", r.task_id, " has ended (",
                     hakd::v1::TaskState_Name(r.state), ")"));
  }
  // An expired lease is requeued by the next reap (within a second).
  if (now_ms > r.expires_ms) return LeaseLost();
  return r;
}

absl::Status TrainingStore::StartAttemptLocked(int64_t task_id,
                                               const std::string& worker,
                                               const std::string& lease_id,
                                               const std::string& identity,
                                               int64_t now_ms) {
  HAKD_ASSIGN_OR_RETURN(
      Statement s,
      db_->Prepare("UPDATE training_tasks SET state = ?, "
                   "attempts = attempts + 1, worker = ?, lease_id = ?, "
                   "lease_expires_ms = ?, started_ms = CASE WHEN "
                   "started_ms = 0 THEN ? ELSE started_ms END, "
                   "lease_identity = ? WHERE id = ?"));
  s.Bind(1, int64_t{hakd::v1::TASK_RUNNING})
      .Bind(2, worker)
      .Bind(3, lease_id)
      .Bind(4, now_ms + options_.lease_ms)
      .Bind(5, now_ms)
      .Bind(6, identity)
      .Bind(7, task_id);
  return s.Run();
}

absl::Status TrainingStore::TouchWorkerLocked(const std::string& worker,
                                              int64_t now_ms) {
  HAKD_ASSIGN_OR_RETURN(
      Statement s,
      db_->Prepare("UPDATE workers SET last_seen_ms = MAX(last_seen_ms, ?) "
                   "WHERE name = ?"));
  s.Bind(1, now_ms).Bind(2, worker);
  return s.Run();
}

absl::StatusOr<bool> TrainingStore::RetryOrFailLocked(int64_t task_id,
                                                      const std::string& error,
                                                      int64_t now_ms) {
  int64_t attempts = 0;
  int64_t max_attempts = 0;
  {
    HAKD_ASSIGN_OR_RETURN(
        Statement s,
        db_->Prepare("SELECT attempts, max_attempts FROM training_tasks "
                     "WHERE id = ?"));
    s.Bind(1, task_id);
    HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return absl::NotFoundError(absl::StrCat("no training task ", task_id));
    attempts = s.ColumnInt(0);
    max_attempts = s.ColumnInt(1);
  }
  {
    // A data-parallel group ends with its attempt; survivors learn it from
    // their next call (their leases are gone) and the task is leased anew.
    HAKD_ASSIGN_OR_RETURN(
        Statement s,
        db_->Prepare("DELETE FROM task_group_members WHERE task_id = ?"));
    s.Bind(1, task_id);
    HAKD_RETURN_IF_ERROR(s.Run());
  }
  if (attempts >= max_attempts) {
    HAKD_ASSIGN_OR_RETURN(
        Statement s,
        db_->Prepare("UPDATE training_tasks SET state = ?, error = ?, "
                     "finished_ms = ? WHERE id = ?"));
    s.Bind(1, int64_t{hakd::v1::TASK_FAILED})
        .Bind(2, absl::StrCat("gave up after ", attempts, " attempts: ", error))
        .Bind(3, now_ms)
        .Bind(4, task_id);
    HAKD_RETURN_IF_ERROR(s.Run());
    return false;
  }
  HAKD_ASSIGN_OR_RETURN(
      Statement s,
      db_->Prepare("UPDATE training_tasks SET state = ?, error = ?, "
                   "lease_id = NULL, lease_expires_ms = 0 WHERE id = ?"));
  s.Bind(1, int64_t{hakd::v1::TASK_QUEUED}).Bind(2, error).Bind(3, task_id);
  HAKD_RETURN_IF_ERROR(s.Run());
  return true;
}

absl::StatusOr<int> TrainingStore::ReapLocked(int64_t now_ms) {
  std::vector<std::pair<int64_t, std::string>> expired;
  {
    HAKD_ASSIGN_OR_RETURN(
        Statement s,
        db_->Prepare("SELECT id, worker, lease_expires_ms FROM training_tasks "
                     "WHERE state = ? AND lease_expires_ms < ? ORDER BY id"));
    s.Bind(1, int64_t{hakd::v1::TASK_RUNNING}).Bind(2, now_ms);
    while (true) {
      HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      expired.emplace_back(
          s.ColumnInt(0),
          absl::StrCat("lease of worker ", s.ColumnText(1), " expired at ",
                       FormatMs(s.ColumnInt(2))));
    }
  }
  for (const auto& [task_id, error] : expired) {
    HAKD_RETURN_IF_ERROR(RetryOrFailLocked(task_id, error, now_ms).status());
  }
  HAKD_ASSIGN_OR_RETURN(int groups, ReapGroupsLocked(now_ms));
  return static_cast<int>(expired.size()) + groups;
}

absl::StatusOr<std::string> TrainingStore::NewLeaseId() {
  return RandomLeaseId();
}

absl::Status TrainingStore::LeaseLostError() { return LeaseLost(); }

// ---- users -----------------------------------------------------------------

absl::StatusOr<TrainingTask> TrainingStore::Submit(
    const hakd::v1::TrainingSpec& spec, int max_attempts, int64_t now_ms) {
  if (max_attempts == 0) max_attempts = kDefaultMaxAttempts;
  absl::MutexLock lock(&mu_);
  int64_t id = 0;
  {
    Transaction txn(db_.get(), "queue a training task", "task");
    HAKD_RETURN_IF_ERROR(txn.Begin());
    // The models the task starts from must exist before it is queued.
    const std::pair<const char*, const std::string*> models[] = {
        {"spec.distillation.teacher_artifact_id",
         &spec.distillation().teacher_artifact_id()},
        {"spec.init_artifact_id", &spec.init_artifact_id()}};
    for (const auto& [field, id] : models) {
      if (id->empty()) continue;
      HAKD_ASSIGN_OR_RETURN(
          Statement s,
          db_->Prepare("SELECT kind FROM artifacts WHERE artifact_id = ?"));
      s.Bind(1, *id);
      HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) {
        return absl::NotFoundError(
            absl::StrCat(field, ": no artifact '", *id, "'"));
      }
      if (s.ColumnText(0) != "model") {
        return absl::NotFoundError(absl::StrCat(field, ": '", *id, "' is a ",
                                                s.ColumnText(0),
                                                ", not a model"));
      }
    }
    {
      HAKD_ASSIGN_OR_RETURN(
          Statement s,
          db_->Prepare("INSERT INTO training_tasks(spec, state, max_attempts, "
                       "created_ms, world_size) VALUES(?, ?, ?, ?, ?)"));
      s.BindBlob(1, spec.SerializeAsString())
          .Bind(2, int64_t{hakd::v1::TASK_QUEUED})
          .Bind(3, int64_t{max_attempts})
          .Bind(4, now_ms)
          .Bind(5, int64_t{std::max(1, spec.world_size())});
      HAKD_RETURN_IF_ERROR(s.Run());
      id = db_->LastInsertRowid();
    }
    HAKD_RETURN_IF_ERROR(txn.Commit());
  }
  BumpVersion();
  return LoadTaskLocked(id, true);
}

absl::StatusOr<TrainingTask> TrainingStore::GetTask(int64_t task_id) {
  absl::MutexLock lock(&mu_);
  return LoadTaskLocked(task_id, true);
}

absl::StatusOr<std::vector<TrainingTask>> TrainingStore::ListTasks(
    int limit, TaskState state) {
  absl::MutexLock lock(&mu_);
  const bool filter = state != hakd::v1::TASK_STATE_UNSPECIFIED;
  HAKD_ASSIGN_OR_RETURN(
      Statement s,
      db_->Prepare(absl::StrCat("SELECT ", kTaskColumns, " FROM training_tasks ",
                                filter ? "WHERE state = ? " : "",
                                "ORDER BY id DESC LIMIT ?")));
  if (filter) {
    s.Bind(1, int64_t{state}).Bind(2, int64_t{limit});
  } else {
    s.Bind(1, int64_t{limit});
  }
  std::vector<TrainingTask> tasks;
  while (true) {
    HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    HAKD_ASSIGN_OR_RETURN(TrainingTask t, TaskFromRow(s));
    tasks.push_back(std::move(t));
  }
  return tasks;
}

absl::StatusOr<TrainingTask> TrainingStore::Cancel(int64_t task_id,
                                                   int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  {
    Transaction txn(db_.get(), absl::StrCat("cancel training task ", task_id),
                    "cancellation");
    HAKD_RETURN_IF_ERROR(txn.Begin());
    TaskState state;
    {
      HAKD_ASSIGN_OR_RETURN(
          Statement s,
          db_->Prepare("SELECT state FROM training_tasks WHERE id = ?"));
      s.Bind(1, task_id);
      HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) {
        return absl::NotFoundError(
            absl::StrCat("task_id: no training task ", task_id));
      }
      state = static_cast<TaskState>(s.ColumnInt(0));
    }
    if (IsTerminal(state)) {
      return absl::FailedPreconditionError(
          absl::StrCat("task ", task_id, " has already ended (",
                       hakd::v1::TaskState_Name(state), ")"));
    }
    {
      // A running task keeps its lease id, so its worker's next
      // ReportProgress finds the task and learns it was cancelled.
      HAKD_ASSIGN_OR_RETURN(
          Statement s,
          db_->Prepare("UPDATE training_tasks SET state = ?, finished_ms = ? "
                       "WHERE id = ?"));
      s.Bind(1, int64_t{hakd::v1::TASK_CANCELLED}).Bind(2, now_ms).Bind(3, task_id);
      HAKD_RETURN_IF_ERROR(s.Run());
    }
    HAKD_RETURN_IF_ERROR(txn.Commit());
  }
  BumpVersion();
  return LoadTaskLocked(task_id, true);
}

absl::StatusOr<std::vector<hakd::v1::WorkerInfo>> TrainingStore::ListWorkers(
    int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  std::vector<hakd::v1::WorkerInfo> workers;
  {
    HAKD_ASSIGN_OR_RETURN(
        Statement s,
        db_->Prepare("SELECT name, capabilities, last_seen_ms FROM workers "
                     "ORDER BY name"));
    while (true) {
      HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      hakd::v1::WorkerInfo w;
      w.set_name(s.ColumnText(0));
      if (!w.mutable_capabilities()->ParseFromString(s.ColumnText(1))) {
        return absl::DataLossError(absl::StrCat(
            "worker ", w.name(), ": capabilities do not parse"));
      }
      w.set_last_seen_unix_ms(s.ColumnInt(2));
      w.set_online(now_ms - w.last_seen_unix_ms() <=
                   int64_t{3} * options_.lease_ms);
      workers.push_back(std::move(w));
    }
  }
  for (hakd::v1::WorkerInfo& w : workers) {
    HAKD_ASSIGN_OR_RETURN(
        Statement s,
        db_->Prepare("SELECT id FROM training_tasks WHERE state = ? AND "
                     "worker = ? ORDER BY id DESC LIMIT 1"));
    s.Bind(1, int64_t{hakd::v1::TASK_RUNNING}).Bind(2, w.name());
    HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
    if (row) w.set_current_task_id(s.ColumnInt(0));
  }
  return workers;
}

absl::Status TrainingStore::SetMaxPageCount(int64_t pages) {
  absl::MutexLock lock(&mu_);
  return db_->SetMaxPageCount(pages);
}

// ---- workers ---------------------------------------------------------------

absl::Status TrainingStore::RegisterWorker(
    const std::string& name, const hakd::v1::WorkerCapabilities& caps,
    int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  WriteScope scope(db_.get(), absl::StrCat("register worker '", name, "'"),
                   "registration");
  HAKD_ASSIGN_OR_RETURN(
      Statement s,
      db_->Prepare("INSERT INTO workers(name, capabilities, first_seen_ms, "
                   "last_seen_ms) VALUES(?, ?, ?, ?) ON CONFLICT(name) DO "
                   "UPDATE SET capabilities = excluded.capabilities, "
                   "last_seen_ms = excluded.last_seen_ms"));
  s.Bind(1, name).BindBlob(2, caps.SerializeAsString()).Bind(3, now_ms).Bind(4, now_ms);
  return s.Run();
}

absl::StatusOr<int64_t> TrainingStore::ArtifactBytes() {
  absl::MutexLock lock(&mu_);
  return db_->QueryInt("SELECT COALESCE(SUM(size), 0) FROM artifacts");
}

absl::StatusOr<std::string> TrainingStore::LeaseIdentity(
    const std::string& lease_id) {
  absl::MutexLock lock(&mu_);
  HAKD_ASSIGN_OR_RETURN(
      Statement s,
      db_->Prepare("SELECT lease_identity FROM training_tasks WHERE lease_id = ? "
                   "UNION ALL SELECT identity FROM task_group_members "
                   "WHERE lease_id = ? LIMIT 1"));
  s.Bind(1, lease_id).Bind(2, lease_id);
  HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return LeaseLost();
  return s.ColumnText(0);
}

absl::StatusOr<std::optional<LeaseGrant>> TrainingStore::LeaseTask(
    const std::string& worker, int64_t now_ms, const std::string& identity,
    const GroupJoin& join) {
  absl::MutexLock lock(&mu_);
  LeaseGrant grant;
  int64_t task_id = 0;
  int reaped = 0;
  std::string device_kind;
  std::optional<LeaseGrant> group_grant;
  int64_t group_task_id = 0;
  {
    Transaction txn(db_.get(),
                    absl::StrCat("lease a task to worker '", worker, "'"),
                    "lease");
    HAKD_RETURN_IF_ERROR(txn.Begin());
    {
      HAKD_ASSIGN_OR_RETURN(
          Statement s,
          db_->Prepare("SELECT 1, capabilities FROM workers WHERE name = ?"));
      s.Bind(1, worker);
      HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) {
        // NOT_FOUND tells a worker to register again (e.g. after the
        // coordinator's database was replaced).
        return absl::NotFoundError(absl::StrCat(
            "worker: '", worker, "' is not registered; call RegisterWorker first"));
      }
      hakd::v1::WorkerCapabilities caps;
      caps.ParseFromString(s.ColumnText(1));
      device_kind = absl::StartsWith(caps.device(), "cuda") ? "cuda" : "cpu";
    }
    HAKD_RETURN_IF_ERROR(TouchWorkerLocked(worker, now_ms));
    HAKD_ASSIGN_OR_RETURN(reaped, ReapLocked(now_ms));
    HAKD_ASSIGN_OR_RETURN(int left, LeaveGroupsLocked(worker, now_ms));
    reaped += left;
    std::vector<std::pair<int64_t, int>> queued;  // (task id, world size)
    {
      // Group tasks this worker cannot join are passed over, so look at a
      // few.
      HAKD_ASSIGN_OR_RETURN(
          Statement s,
          db_->Prepare("SELECT id, world_size FROM training_tasks WHERE "
                       "state = ? AND attempts < max_attempts ORDER BY id "
                       "LIMIT 64"));
      s.Bind(1, int64_t{hakd::v1::TASK_QUEUED});
      while (true) {
        HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
        if (!row) break;
        queued.emplace_back(s.ColumnInt(0), static_cast<int>(s.ColumnInt(1)));
      }
    }
    for (const auto& [id, world_size] : queued) {
      if (world_size <= 1) {
        task_id = id;
        break;
      }
      if (join.port <= 0 || join.host.empty()) continue;
      HAKD_ASSIGN_OR_RETURN(std::optional<LeaseGrant> joined,
                            JoinGroupLocked(id, world_size, worker, identity,
                                            join, device_kind, now_ms));
      if (joined.has_value()) {
        group_grant = std::move(joined);
        group_task_id = id;
        break;
      }
    }
    if (task_id != 0) {
      HAKD_ASSIGN_OR_RETURN(grant.lease_id, RandomLeaseId());
      HAKD_RETURN_IF_ERROR(
          StartAttemptLocked(task_id, worker, grant.lease_id, identity, now_ms));
    }
    HAKD_RETURN_IF_ERROR(txn.Commit());
  }
  if (group_task_id != 0) {
    BumpVersion();
    HAKD_ASSIGN_OR_RETURN(group_grant->task, LoadTaskLocked(group_task_id, true));
    return group_grant;
  }
  if (task_id == 0) {
    if (reaped > 0) BumpVersion();
    return std::optional<LeaseGrant>();
  }
  BumpVersion();
  HAKD_ASSIGN_OR_RETURN(grant.task, LoadTaskLocked(task_id, true));
  return std::optional<LeaseGrant>(std::move(grant));
}

absl::StatusOr<bool> TrainingStore::ReportProgress(
    const std::string& lease_id, const hakd::v1::TrainingProgress& progress,
    const hakd::v1::EpochMetrics* finished_epoch, int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  {
    Transaction txn(db_.get(), "record training progress", "report");
    HAKD_RETURN_IF_ERROR(txn.Begin());
    HAKD_ASSIGN_OR_RETURN(LeaseRow found, FindLeaseLocked(lease_id));
    if (found.state == hakd::v1::TASK_CANCELLED) {
      HAKD_RETURN_IF_ERROR(TouchWorkerLocked(found.worker, now_ms));
      HAKD_RETURN_IF_ERROR(txn.Commit());
      return true;
    }
    HAKD_ASSIGN_OR_RETURN(LeaseRow held, HeldLeaseLocked(lease_id, now_ms));
    {
      // A group member's lease (rank 0's too, which is also the task's).
      HAKD_ASSIGN_OR_RETURN(
          Statement s,
          db_->Prepare("UPDATE task_group_members SET expires_ms = ? "
                       "WHERE lease_id = ?"));
      s.Bind(1, now_ms + options_.lease_ms).Bind(2, lease_id);
      HAKD_RETURN_IF_ERROR(s.Run());
    }
    if (held.rank > 0) {
      // Rank 0 speaks for the group: the others only keep their leases.
      HAKD_RETURN_IF_ERROR(TouchWorkerLocked(held.worker, now_ms));
      HAKD_RETURN_IF_ERROR(txn.Commit());
      return false;
    }
    {
      HAKD_ASSIGN_OR_RETURN(
          Statement s,
          db_->Prepare("UPDATE training_tasks SET lease_expires_ms = ?, "
                       "progress = ? WHERE id = ?"));
      s.Bind(1, now_ms + options_.lease_ms)
          .BindBlob(2, progress.SerializeAsString())
          .Bind(3, held.task_id);
      HAKD_RETURN_IF_ERROR(s.Run());
    }
    if (finished_epoch != nullptr && finished_epoch->epoch() > 0) {
      HAKD_ASSIGN_OR_RETURN(
          Statement s,
          db_->Prepare("INSERT OR REPLACE INTO task_epochs(task_id, epoch, "
                       "metrics) VALUES(?, ?, ?)"));
      s.Bind(1, held.task_id)
          .Bind(2, int64_t{finished_epoch->epoch()})
          .BindBlob(3, finished_epoch->SerializeAsString());
      HAKD_RETURN_IF_ERROR(s.Run());
    }
    HAKD_RETURN_IF_ERROR(TouchWorkerLocked(held.worker, now_ms));
    HAKD_RETURN_IF_ERROR(txn.Commit());
  }
  BumpVersion();
  return false;
}

absl::Status TrainingStore::Complete(const std::string& lease_id,
                                     const std::string& model_artifact_id,
                                     int64_t now_ms) {
  hakd::v1::CompleteTaskRequest request;
  request.set_lease_id(lease_id);
  request.set_model_artifact_id(model_artifact_id);
  return Complete(request, now_ms);
}

absl::Status TrainingStore::Complete(
    const hakd::v1::CompleteTaskRequest& request, int64_t now_ms) {
  const std::string& lease_id = request.lease_id();
  const std::string& model_artifact_id = request.model_artifact_id();
  absl::MutexLock lock(&mu_);
  {
    Transaction txn(db_.get(), "complete a training task", "completion");
    HAKD_RETURN_IF_ERROR(txn.Begin());
    HAKD_ASSIGN_OR_RETURN(LeaseRow found, FindLeaseLocked(lease_id));
    if (found.state == hakd::v1::TASK_SUCCEEDED) {
      // A retried CompleteTask whose first answer was lost.
      HAKD_ASSIGN_OR_RETURN(TrainingTask t, LoadTaskLocked(found.task_id, false));
      if (t.model_artifact_id() == model_artifact_id) return absl::OkStatus();
      return absl::FailedPreconditionError(absl::StrCat(
          "task ", found.task_id, " already succeeded with model ",
          t.model_artifact_id()));
    }
    HAKD_ASSIGN_OR_RETURN(LeaseRow held, HeldLeaseLocked(lease_id, now_ms));
    if (held.rank > 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "lease_id: rank ", held.rank, " of task ", held.task_id,
          "'s group; only rank 0 completes a group's task"));
    }
    HAKD_ASSIGN_OR_RETURN(TrainingTask task,
                          LoadTaskLocked(held.task_id, false));
    HAKD_ASSIGN_OR_RETURN(TrainingTask result,
                          CheckResult(task.spec(), request));
    const bool needs_model =
        task.spec().kind() != hakd::v1::TASK_KIND_SALIENCY;
    if (!needs_model && !model_artifact_id.empty()) {
      return absl::InvalidArgumentError(
          "model_artifact_id: a saliency task produces no model");
    }
    if (needs_model) {
      HAKD_ASSIGN_OR_RETURN(
          Statement s,
          db_->Prepare("SELECT kind, task_id FROM artifacts WHERE artifact_id = ?"));
      s.Bind(1, model_artifact_id);
      HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) {
        return absl::FailedPreconditionError(absl::StrCat(
            "model_artifact_id: no artifact '", model_artifact_id,
            "'; upload the model first"));
      }
      if (s.ColumnText(0) != "model" || s.ColumnInt(1) != held.task_id) {
        return absl::FailedPreconditionError(absl::StrCat(
            "model_artifact_id: '", model_artifact_id, "' is a ",
            s.ColumnText(0), " of task ", s.ColumnInt(1), ", not a model of task ",
            held.task_id));
      }
    }
    {
      HAKD_ASSIGN_OR_RETURN(
          Statement s,
          db_->Prepare("UPDATE training_tasks SET state = ?, "
                       "model_artifact_id = ?, finished_ms = ?, result = ? "
                       "WHERE id = ?"));
      s.Bind(1, int64_t{hakd::v1::TASK_SUCCEEDED})
          .Bind(2, model_artifact_id)
          .Bind(3, now_ms)
          .BindBlob(4, result.SerializeAsString())
          .Bind(5, held.task_id);
      HAKD_RETURN_IF_ERROR(s.Run());
    }
    HAKD_RETURN_IF_ERROR(TouchWorkerLocked(held.worker, now_ms));
    HAKD_RETURN_IF_ERROR(txn.Commit());
  }
  BumpVersion();
  return absl::OkStatus();
}

absl::StatusOr<bool> TrainingStore::Fail(const std::string& lease_id,
                                         const std::string& error,
                                         bool retryable, int64_t now_ms) {
  const std::string reason = error.empty() ? "no reason given" : error;
  absl::MutexLock lock(&mu_);
  bool will_retry = false;
  {
    Transaction txn(db_.get(), "record a training task's failure",
                    "report");
    HAKD_RETURN_IF_ERROR(txn.Begin());
    HAKD_ASSIGN_OR_RETURN(LeaseRow found, FindLeaseLocked(lease_id));
    if (found.state == hakd::v1::TASK_CANCELLED) return false;
    HAKD_ASSIGN_OR_RETURN(LeaseRow held, HeldLeaseLocked(lease_id, now_ms));
    const std::string why =
        held.rank > 0 ? absl::StrCat("rank ", held.rank, " (worker ",
                                     held.worker, "): ", reason)
                      : reason;
    if (retryable) {
      HAKD_ASSIGN_OR_RETURN(will_retry,
                            RetryOrFailLocked(held.task_id, why, now_ms));
    } else {
      {
        HAKD_ASSIGN_OR_RETURN(
            Statement s,
            db_->Prepare("DELETE FROM task_group_members WHERE task_id = ?"));
        s.Bind(1, held.task_id);
        HAKD_RETURN_IF_ERROR(s.Run());
      }
      HAKD_ASSIGN_OR_RETURN(
          Statement s,
          db_->Prepare("UPDATE training_tasks SET state = ?, error = ?, "
                       "finished_ms = ? WHERE id = ?"));
      s.Bind(1, int64_t{hakd::v1::TASK_FAILED})
          .Bind(2, why)
          .Bind(3, now_ms)
          .Bind(4, held.task_id);
      HAKD_RETURN_IF_ERROR(s.Run());
    }
    HAKD_RETURN_IF_ERROR(TouchWorkerLocked(held.worker, now_ms));
    HAKD_RETURN_IF_ERROR(txn.Commit());
  }
  BumpVersion();
  return will_retry;
}

absl::StatusOr<int> TrainingStore::ReapExpiredLeases(int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  {
    // Called every second: look before taking SQLite's write lock.
    HAKD_ASSIGN_OR_RETURN(
        Statement s,
        db_->Prepare("SELECT 1 FROM training_tasks WHERE state = ? AND "
                     "lease_expires_ms < ? UNION ALL SELECT 1 FROM "
                     "task_group_members WHERE expires_ms < ? LIMIT 1"));
    s.Bind(1, int64_t{hakd::v1::TASK_RUNNING}).Bind(2, now_ms).Bind(3, now_ms);
    HAKD_ASSIGN_OR_RETURN(bool any, s.Step());
    if (!any) return 0;
  }
  int reaped = 0;
  {
    Transaction txn(db_.get(), "requeue training tasks with expired leases",
                    "update");
    HAKD_RETURN_IF_ERROR(txn.Begin());
    HAKD_ASSIGN_OR_RETURN(reaped, ReapLocked(now_ms));
    if (reaped == 0) return 0;  // nothing written; the rollback is free
    HAKD_RETURN_IF_ERROR(txn.Commit());
  }
  BumpVersion();
  return reaped;
}

absl::StatusOr<HeldLease> TrainingStore::CheckLease(const std::string& lease_id,
                                                    int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  HAKD_ASSIGN_OR_RETURN(LeaseRow held, HeldLeaseLocked(lease_id, now_ms));
  HeldLease out;
  out.task_id = held.task_id;
  out.worker = held.worker;
  return out;
}

// ---- artifacts -------------------------------------------------------------

absl::StatusOr<CommittedArtifact> TrainingStore::CommitArtifact(
    const std::string& lease_id, const std::string& kind, int64_t size_bytes,
    const std::string& sha256, int64_t now_ms,
    const std::function<absl::Status(const std::string& artifact_id,
                                     const std::string& path)>& place) {
  absl::MutexLock lock(&mu_);
  CommittedArtifact out;
  ArtifactRecord& r = out.record;
  {
    Transaction txn(db_.get(), absl::StrCat("index a ", kind, " artifact"),
                    "upload");
    HAKD_RETURN_IF_ERROR(txn.Begin());
    HAKD_ASSIGN_OR_RETURN(LeaseRow held, HeldLeaseLocked(lease_id, now_ms));
    if (held.rank > 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "lease_id: rank ", held.rank, " of task ", held.task_id,
          "'s group; only rank 0 uploads a group's artifacts"));
    }
    int64_t n = 0;
    HAKD_ASSIGN_OR_RETURN(
        n, db_->QueryInt("SELECT IFNULL(MAX(rowid), 0) + 1 FROM artifacts"));
    r.artifact_id = absl::StrCat("art-", sha256.substr(0, 12), "-", n);
    r.kind = kind;
    r.size_bytes = size_bytes;
    r.sha256 = sha256;
    r.task_id = held.task_id;
    r.path = absl::StrCat("task-", held.task_id, "/", r.artifact_id);
    r.created_ms = now_ms;
    HAKD_RETURN_IF_ERROR(place(r.artifact_id, r.path));
    {
      HAKD_ASSIGN_OR_RETURN(
          Statement s,
          db_->Prepare(absl::StrCat("INSERT INTO artifacts(", kArtifactColumns,
                                    ") VALUES(?, ?, ?, ?, ?, ?, ?)")));
      s.Bind(1, r.artifact_id)
          .Bind(2, r.kind)
          .Bind(3, r.size_bytes)
          .Bind(4, r.sha256)
          .Bind(5, r.task_id)
          .Bind(6, r.path)
          .Bind(7, r.created_ms);
      HAKD_RETURN_IF_ERROR(s.Run());
    }
    if (kind == "checkpoint") {
      {
        HAKD_ASSIGN_OR_RETURN(
            Statement s,
            db_->Prepare("SELECT path FROM artifacts WHERE task_id = ? AND "
                         "kind = 'checkpoint' AND artifact_id != ?"));
        s.Bind(1, r.task_id).Bind(2, r.artifact_id);
        while (true) {
          HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
          if (!row) break;
          out.superseded_paths.push_back(s.ColumnText(0));
        }
      }
      {
        HAKD_ASSIGN_OR_RETURN(
            Statement s,
            db_->Prepare("DELETE FROM artifacts WHERE task_id = ? AND "
                         "kind = 'checkpoint' AND artifact_id != ?"));
        s.Bind(1, r.task_id).Bind(2, r.artifact_id);
        HAKD_RETURN_IF_ERROR(s.Run());
      }
      {
        HAKD_ASSIGN_OR_RETURN(
            Statement s,
            db_->Prepare("UPDATE training_tasks SET checkpoint_artifact_id = ? "
                         "WHERE id = ?"));
        s.Bind(1, r.artifact_id).Bind(2, r.task_id);
        HAKD_RETURN_IF_ERROR(s.Run());
      }
    }
    {
      // An upload is a sign of life: renew the lease, as ReportProgress does.
      HAKD_ASSIGN_OR_RETURN(
          Statement s,
          db_->Prepare("UPDATE training_tasks SET lease_expires_ms = ? "
                       "WHERE id = ?"));
      s.Bind(1, now_ms + options_.lease_ms).Bind(2, r.task_id);
      HAKD_RETURN_IF_ERROR(s.Run());
    }
    HAKD_RETURN_IF_ERROR(TouchWorkerLocked(held.worker, now_ms));
    HAKD_RETURN_IF_ERROR(txn.Commit());
  }
  BumpVersion();
  return out;
}

absl::StatusOr<ArtifactRecord> TrainingStore::GetArtifact(
    const std::string& artifact_id) {
  absl::MutexLock lock(&mu_);
  HAKD_ASSIGN_OR_RETURN(
      Statement s,
      db_->Prepare(absl::StrCat("SELECT ", kArtifactColumns,
                                " FROM artifacts WHERE artifact_id = ?")));
  s.Bind(1, artifact_id);
  HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) {
    return absl::NotFoundError(
        absl::StrCat("artifact_id: no artifact '", artifact_id, "'"));
  }
  return ArtifactFromRow(s);
}

}  // namespace hakd
