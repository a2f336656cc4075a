// TrainingStore: the training queue in the coordinator's SQLite file
// (schema v5: workers, training_tasks, task_epochs, artifacts). It owns its
// own connection to the same file as the LatencyStore; SQLite's locking
// (WAL, BEGIN IMMEDIATE, a busy timeout) serialises its writes with the
// latency writer's, and one mutex serialises this store's callers.
//
// Leases: LeaseTask hands the oldest queued task to a registered worker
// under a fresh random lease id that expires lease_ms later unless
// ReportProgress renews it. An expired lease is requeued (or the task fails
// once its attempts are spent) by ReapExpiredLeases, which the server calls
// every second and LeaseTask calls first.
//
// Thread-safe: every method may be called from any thread.
#ifndef HAKD_SERVER_TRAINING_STORE_H_
#define HAKD_SERVER_TRAINING_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "hakd/v1/training.pb.h"
#include "server/sqlite_db.h"

namespace hakd {

// How the training store opens its file.
struct TrainingStoreOptions {
  // SQLite file; created (and migrated) when missing. Default "hakd.db".
  std::string path = "hakd.db";
  // PRAGMA synchronous=FULL when true (the default).
  bool synchronous_full = true;
  // How long the connection waits on a lock before failing. Default 5000 ms.
  int busy_timeout_ms = 5000;
  // How long a lease lasts without ReportProgress. Default 30000 ms.
  int lease_ms = 30000;
  // Caps the file at this many pages for the store's writes (PRAGMA
  // max_page_count); 0 (the default): no cap. For tests of a full database.
  int64_t max_page_count = 0;
};

// An artifacts row. `path` is relative to the artifact directory.
struct ArtifactRecord {
  std::string artifact_id;
  std::string kind;  // "model" | "checkpoint"
  int64_t size_bytes = 0;
  std::string sha256;
  int64_t task_id = 0;
  std::string path;
  int64_t created_ms = 0;

  // The wire form (without the path).
  hakd::v1::ArtifactInfo ToInfo() const;
};

// A lease a worker holds: the task RUNNING under it and not expired.
struct HeldLease {
  int64_t task_id = 0;
  std::string worker;
};

// What LeaseTask handed out.
struct LeaseGrant {
  std::string lease_id;
  hakd::v1::TrainingTask task;  // with its history
  // Set when the task has world_size > 1: this worker's place in the group.
  std::optional<hakd::v1::GroupAssignment> group;
};

// How a worker can take part in data-parallel groups (LeaseTask).
struct GroupJoin {
  // Where the other members reach this worker. Empty (the default): it
  // takes no group tasks.
  std::string host;
  // Its TCPStore port, used when it becomes rank 0. 0 (the default): it
  // takes no group tasks.
  int port = 0;
};

// What CommitArtifact did.
struct CommittedArtifact {
  ArtifactRecord record;
  // Files (relative paths) of the task's older checkpoints whose rows the
  // commit removed; the caller deletes them.
  std::vector<std::string> superseded_paths;
};

class TrainingStore {
 public:
  // Opens (creating or migrating) the database. Errors name the file.
  static absl::StatusOr<std::unique_ptr<TrainingStore>> Open(
      const TrainingStoreOptions& options);
  ~TrainingStore();
  TrainingStore(const TrainingStore&) = delete;
  TrainingStore& operator=(const TrainingStore&) = delete;

  int lease_ms() const { return options_.lease_ms; }

  // Changes TrainingStoreOptions::max_page_count at run time (0: no cap).
  absl::Status SetMaxPageCount(int64_t pages);

  // ---- users ----

  // Queues a validated spec (ValidateSubmitTraining) as given: zero fields
  // stay zero and the worker applies the defaults. max_attempts 0 reads as
  // 3. NOT_FOUND when the teacher artifact does not exist or is not a model.
  absl::StatusOr<hakd::v1::TrainingTask> Submit(
      const hakd::v1::TrainingSpec& spec, int max_attempts, int64_t now_ms);
  // The task with its epoch history; NOT_FOUND naming the id.
  absl::StatusOr<hakd::v1::TrainingTask> GetTask(int64_t task_id);
  // Tasks newest first, at most `limit`, only `state` unless UNSPECIFIED.
  // Without their epoch history (GetTask has it).
  absl::StatusOr<std::vector<hakd::v1::TrainingTask>> ListTasks(
      int limit, hakd::v1::TaskState state);
  // Queued or running: CANCELLED now (a running task's worker learns it at
  // its next ReportProgress). Ended: FAILED_PRECONDITION.
  absl::StatusOr<hakd::v1::TrainingTask> Cancel(int64_t task_id,
                                                int64_t now_ms);
  // Every registered worker; online when seen within 3 x lease_ms.
  absl::StatusOr<std::vector<hakd::v1::WorkerInfo>> ListWorkers(
      int64_t now_ms);

  // ---- workers ----

  // Inserts or updates a worker (validated name and capabilities).
  absl::Status RegisterWorker(const std::string& name,
                              const hakd::v1::WorkerCapabilities& caps,
                              int64_t now_ms);
  // Reaps expired leases, then leases the oldest queued task to `worker`;
  // nullopt when none is queued. NOT_FOUND for an unregistered worker
  // (which should RegisterWorker again). `identity` (the caller's, from the
  // auth file) is recorded with the lease; see LeaseIdentity.
  //
  // Data-parallel tasks (world_size > 1), when `join` allows them: the
  // worker joins the oldest such task's forming group (members of another
  // device kind, "cpu" or "cuda" from its capabilities, are never mixed)
  // and the grant carries its GroupAssignment. A group starts forming only
  // when at least world_size online workers of that kind are idle (no
  // running task, no group), so that it never holds workers while tasks
  // behind it could run. The task stays QUEUED until
  // world_size members joined; then it becomes RUNNING (one attempt) under
  // rank 0's lease. A worker that leases again while a member of a group
  // has evidently restarted: a forming group forgets it, a running group is
  // broken up (requeued from its checkpoint, or failed when its attempts
  // are spent).
  absl::StatusOr<std::optional<LeaseGrant>> LeaseTask(
      const std::string& worker, int64_t now_ms,
      const std::string& identity = "", const GroupJoin& join = GroupJoin());
  // For a group member's lease: renews it and returns its assignment (ready
  // once every member joined; cancelled when the task was cancelled).
  // FAILED_PRECONDITION when the lease is no longer a member's (the group
  // broke up or the lease expired).
  absl::StatusOr<hakd::v1::GroupAssignment> AwaitGroup(
      const std::string& lease_id, int64_t now_ms);
  // Bytes of every artifact indexed.
  absl::StatusOr<int64_t> ArtifactBytes();
  // The identity that took `lease_id`; FAILED_PRECONDITION when no task has
  // that lease (the same answer the lease calls give).
  absl::StatusOr<std::string> LeaseIdentity(const std::string& lease_id);
  // Renews the lease and stores the progress (and `finished_epoch` when its
  // epoch is > 0, replacing an earlier report of that epoch). Returns true
  // when the task was cancelled. FAILED_PRECONDITION for an unknown,
  // expired or superseded lease (an expired one is requeued here).
  absl::StatusOr<bool> ReportProgress(
      const std::string& lease_id, const hakd::v1::TrainingProgress& progress,
      const hakd::v1::EpochMetrics* finished_epoch, int64_t now_ms);
  // Marks the task SUCCEEDED with `model_artifact_id`, which must be a
  // "model" artifact uploaded for this task (FAILED_PRECONDITION otherwise).
  // Repeating a successful call with the same lease and artifact is OK.
  absl::Status Complete(const std::string& lease_id,
                        const std::string& model_artifact_id, int64_t now_ms);
  // As above for any task kind: a SALIENCY task hands in its saliency and
  // no model; a FISHER_PRUNE task its model and result_network (validated:
  // INVALID_ARGUMENT naming the field). The result fields are stored with
  // the task in the same transaction.
  absl::Status Complete(const hakd::v1::CompleteTaskRequest& request,
                        int64_t now_ms);
  // Retryable: requeues the task (true), or fails it when its attempts are
  // spent (false). Not retryable: fails it now (false). A cancelled task
  // stays cancelled (false).
  absl::StatusOr<bool> Fail(const std::string& lease_id,
                            const std::string& error, bool retryable,
                            int64_t now_ms);
  // Requeues RUNNING tasks whose lease expired before `now_ms`, or fails
  // those whose attempts are spent; a running group whose member's lease
  // expired is treated the same, and expired members of forming groups are
  // dropped. Returns how many it changed.
  absl::StatusOr<int> ReapExpiredLeases(int64_t now_ms);
  // The task a lease is held for; FAILED_PRECONDITION unless the task is
  // RUNNING under it and the lease has not expired.
  absl::StatusOr<HeldLease> CheckLease(const std::string& lease_id,
                                       int64_t now_ms);

  // ---- artifacts ----

  // In one transaction: checks the lease, names the artifact
  // ("art-<first 12 hex of sha256>-<n>"), calls `place(artifact_id, path)`
  // to move the verified file to `path` (relative to the artifact
  // directory: "task-<id>/<artifact_id>"), indexes it and, for a
  // checkpoint, makes it the task's checkpoint and removes the rows of the
  // older ones. When `place` fails nothing is indexed; when the commit
  // fails after `place` succeeded, the caller must remove the placed file.
  absl::StatusOr<CommittedArtifact> CommitArtifact(
      const std::string& lease_id, const std::string& kind,
      int64_t size_bytes, const std::string& sha256, int64_t now_ms,
      const std::function<absl::Status(const std::string& artifact_id,
                                       const std::string& path)>& place);
  // An artifact row; NOT_FOUND naming the id.
  absl::StatusOr<ArtifactRecord> GetArtifact(const std::string& artifact_id);

  // ---- change notification (for watchers) ----

  // Bumped on every change to a task.
  int64_t version() const;
  // Waits until version() differs from *version or `timeout` passes, then
  // stores the current version in *version.
  void WaitForChange(int64_t* version, absl::Duration timeout) const;

 private:
  explicit TrainingStore(const TrainingStoreOptions& options)
      : options_(options) {}
  absl::Status Init();

  // Helpers that run inside the caller's lock (and transaction, if any).
  absl::StatusOr<hakd::v1::TrainingTask> LoadTaskLocked(int64_t task_id,
                                                        bool with_history)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<int> ReapLocked(int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Requeues or fails task `task_id` after attempt failure `error`; true
  // when requeued.
  absl::StatusOr<bool> RetryOrFailLocked(int64_t task_id,
                                         const std::string& error,
                                         int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The task a lease names, with its state and expiry. FAILED_PRECONDITION
  // when no task has it. A group member's lease (other than a running
  // group's rank 0, which is the task's lease) is found in
  // task_group_members.
  struct LeaseRow {
    int64_t task_id = 0;
    hakd::v1::TaskState state = hakd::v1::TASK_STATE_UNSPECIFIED;
    std::string worker;
    int64_t expires_ms = 0;
    // -1: the task's own lease; else the member's rank.
    int rank = -1;
  };
  // A fresh random lease id (32 hex digits).
  static absl::StatusOr<std::string> NewLeaseId();
  // The answer to a lease nobody holds any more.
  static absl::Status LeaseLostError();
  // ---- data-parallel groups (training_groups.cc) ----
  // Joins `worker` to the forming group of task `task_id` (world_size
  // `world_size`); nullopt when it cannot (another device kind).
  absl::StatusOr<std::optional<LeaseGrant>> JoinGroupLocked(
      int64_t task_id, int world_size, const std::string& worker,
      const std::string& identity, const GroupJoin& join,
      const std::string& device_kind, int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Online workers of `device_kind` ("cpu" or "cuda") that hold no running
  // task and belong to no group.
  absl::StatusOr<int> IdleWorkersLocked(const std::string& device_kind,
                                        int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Forgets `worker`'s memberships (it is leasing again, so it restarted);
  // returns how many tasks changed.
  absl::StatusOr<int> LeaveGroupsLocked(const std::string& worker,
                                        int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The assignment of member `lease_id` of task `task_id`.
  absl::StatusOr<hakd::v1::GroupAssignment> AssignmentLocked(
      int64_t task_id, const std::string& lease_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Expired members: dropped from forming groups, breaking running groups.
  absl::StatusOr<int> ReapGroupsLocked(int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The workers of task `task_id`'s group, by rank.
  absl::StatusOr<std::vector<std::string>> GroupWorkersLocked(int64_t task_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<LeaseRow> FindLeaseLocked(const std::string& lease_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // FindLeaseLocked, then FAILED_PRECONDITION unless RUNNING and unexpired
  // (an expired lease is requeued first).
  absl::StatusOr<LeaseRow> HeldLeaseLocked(const std::string& lease_id,
                                           int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status TouchWorkerLocked(const std::string& worker, int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Task `task_id` becomes RUNNING under `lease_id`, held by `worker`
  // (`identity`), with one more attempt, expiring lease_ms from now.
  absl::Status StartAttemptLocked(int64_t task_id, const std::string& worker,
                                  const std::string& lease_id,
                                  const std::string& identity, int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void BumpVersion();

  const TrainingStoreOptions options_;
  mutable absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);

  mutable absl::Mutex version_mu_;
  int64_t version_ ABSL_GUARDED_BY(version_mu_) = 0;
};

}  // namespace hakd

#endif  // HAKD_SERVER_TRAINING_STORE_H_
