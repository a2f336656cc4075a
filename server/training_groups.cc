// TrainingStore's data-parallel groups: forming a group of workers for a
// task with world_size > 1, telling each member where rank 0's TCPStore
// listens, and breaking a group up when a member goes away. The schema is
// task_group_members (schema.cc, version 8); the single-worker lease code
// in training_store.cc treats a running group's rank 0 as the task's
// holder and finds the other members' leases through FindLeaseLocked.
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/training_store.h"

namespace hakd {

using hakd::v1::GroupAssignment;
using hakd::v1::TaskState;

absl::StatusOr<std::vector<std::string>> TrainingStore::GroupWorkersLocked(
    int64_t task_id) {
  HAKD_ASSIGN_OR_RETURN(
      Statement s,
      db_->Prepare("SELECT worker FROM task_group_members WHERE task_id = ? "
                   "ORDER BY rank"));
  s.Bind(1, task_id);
  std::vector<std::string> out;
  while (true) {
    HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(s.ColumnText(0));
  }
  return out;
}

absl::StatusOr<int> TrainingStore::IdleWorkersLocked(
    const std::string& device_kind, int64_t now_ms) {
  HAKD_ASSIGN_OR_RETURN(
      Statement s,
      db_->Prepare(
          "SELECT w.capabilities FROM workers w WHERE w.last_seen_ms >= ? "
          "AND NOT EXISTS (SELECT 1 FROM training_tasks t WHERE t.state = ? "
          "AND t.worker = w.name) AND NOT EXISTS (SELECT 1 FROM "
          "task_group_members m WHERE m.worker = w.name)"));
  s.Bind(1, now_ms - int64_t{3} * options_.lease_ms)
      .Bind(2, int64_t{hakd::v1::TASK_RUNNING});
  int idle = 0;
  while (true) {
    HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    hakd::v1::WorkerCapabilities caps;
    caps.ParseFromString(s.ColumnText(0));
    const std::string kind =
        caps.device().rfind("cuda", 0) == 0 ? "cuda" : "cpu";
    if (kind == device_kind) ++idle;
  }
  return idle;
}

absl::StatusOr<std::optional<LeaseGrant>> TrainingStore::JoinGroupLocked(
    int64_t task_id, int world_size, const std::string& worker,
    const std::string& identity, const GroupJoin& join,
    const std::string& device_kind, int64_t now_ms) {
  // Members so far: one device kind per group (Gloo on CPU, NCCL on CUDA;
  // the two cannot meet in one collective).
  std::vector<bool> taken(world_size, false);
  int joined = 0;
  {
    HAKD_ASSIGN_OR_RETURN(
        Statement s,
        db_->Prepare("SELECT rank, device_kind FROM task_group_members "
                     "WHERE task_id = ?"));
    s.Bind(1, task_id);
    while (true) {
      HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      if (s.ColumnText(1) != device_kind) return std::optional<LeaseGrant>();
      const int64_t rank = s.ColumnInt(0);
      if (rank >= 0 && rank < world_size) taken[rank] = true;
      ++joined;
    }
  }
  if (joined >= world_size) return std::optional<LeaseGrant>();
  if (joined == 0) {
    // A group only starts forming when enough workers could complete it
    // now; otherwise the waiting members would sit idle while tasks queued
    // behind this one starve (e.g. world_size 4 with 3 workers).
    HAKD_ASSIGN_OR_RETURN(int idle, IdleWorkersLocked(device_kind, now_ms));
    if (idle < world_size) return std::optional<LeaseGrant>();
  }
  int rank = 0;
  while (taken[rank]) ++rank;
  LeaseGrant grant;
  HAKD_ASSIGN_OR_RETURN(grant.lease_id, NewLeaseId());
  {
    HAKD_ASSIGN_OR_RETURN(
        Statement s,
        db_->Prepare("INSERT INTO task_group_members(lease_id, task_id, rank, "
                     "worker, identity, device_kind, host, port, expires_ms) "
                     "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    s.Bind(1, grant.lease_id)
        .Bind(2, task_id)
        .Bind(3, int64_t{rank})
        .Bind(4, worker)
        .Bind(5, identity)
        .Bind(6, device_kind)
        .Bind(7, join.host)
        .Bind(8, int64_t{join.port})
        .Bind(9, now_ms + options_.lease_ms);
    HAKD_RETURN_IF_ERROR(s.Run());
  }
  if (joined + 1 == world_size) {
    // Complete: one attempt starts, held by rank 0's lease, and every
    // member's lease restarts from now.
    std::string rank0_lease, rank0_worker, rank0_identity;
    {
      HAKD_ASSIGN_OR_RETURN(
          Statement s,
          db_->Prepare("SELECT lease_id, worker, identity FROM "
                       "task_group_members WHERE task_id = ? AND rank = 0"));
      s.Bind(1, task_id);
      HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) {
        return absl::InternalError(
            absl::StrCat("task ", task_id, ": complete group has no rank 0"));
      }
      rank0_lease = s.ColumnText(0);
      rank0_worker = s.ColumnText(1);
      rank0_identity = s.ColumnText(2);
    }
    HAKD_RETURN_IF_ERROR(StartAttemptLocked(task_id, rank0_worker, rank0_lease,
                                            rank0_identity, now_ms));
    HAKD_ASSIGN_OR_RETURN(
        Statement s,
        db_->Prepare("UPDATE task_group_members SET expires_ms = ? "
                     "WHERE task_id = ?"));
    s.Bind(1, now_ms + options_.lease_ms).Bind(2, task_id);
    HAKD_RETURN_IF_ERROR(s.Run());
  }
  HAKD_ASSIGN_OR_RETURN(GroupAssignment a,
                        AssignmentLocked(task_id, grant.lease_id));
  grant.group = std::move(a);
  return std::optional<LeaseGrant>(std::move(grant));
}

absl::StatusOr<int> TrainingStore::LeaveGroupsLocked(const std::string& worker,
                                                     int64_t now_ms) {
  std::vector<std::tuple<int64_t, int64_t, TaskState>> memberships;
  {
    HAKD_ASSIGN_OR_RETURN(
        Statement s,
        db_->Prepare("SELECT m.task_id, m.rank, t.state FROM "
                     "task_group_members m JOIN training_tasks t ON "
                     "t.id = m.task_id WHERE m.worker = ?"));
    s.Bind(1, worker);
    while (true) {
      HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      memberships.emplace_back(s.ColumnInt(0), s.ColumnInt(1),
                               static_cast<TaskState>(s.ColumnInt(2)));
    }
  }
  int changed = 0;
  for (const auto& [task_id, rank, state] : memberships) {
    if (state == hakd::v1::TASK_RUNNING) {
      HAKD_RETURN_IF_ERROR(
          RetryOrFailLocked(task_id,
                            absl::StrCat("group member ", worker, " (rank ",
                                         rank, ") restarted"),
                            now_ms)
              .status());
    } else {
      HAKD_ASSIGN_OR_RETURN(
          Statement s,
          db_->Prepare("DELETE FROM task_group_members WHERE task_id = ? AND "
                       "worker = ?"));
      s.Bind(1, task_id).Bind(2, worker);
      HAKD_RETURN_IF_ERROR(s.Run());
    }
    ++changed;
  }
  return changed;
}

absl::StatusOr<GroupAssignment> TrainingStore::AssignmentLocked(
    int64_t task_id, const std::string& lease_id) {
  GroupAssignment a;
  {
    HAKD_ASSIGN_OR_RETURN(
        Statement s,
        db_->Prepare("SELECT t.world_size, t.state, t.attempts, m.rank, m.host "
                     "FROM task_group_members m JOIN training_tasks t ON "
                     "t.id = m.task_id WHERE m.lease_id = ? AND m.task_id = ?"));
    s.Bind(1, lease_id).Bind(2, task_id);
    HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return LeaseLostError();
    a.set_world_size(static_cast<int32_t>(s.ColumnInt(0)));
    const auto state = static_cast<TaskState>(s.ColumnInt(1));
    a.set_ready(state == hakd::v1::TASK_RUNNING);
    a.set_cancelled(state == hakd::v1::TASK_CANCELLED);
    // The attempt this group will be (or is): names its rendezvous keys.
    a.set_attempt(static_cast<int32_t>(s.ColumnInt(2)) +
                  (a.ready() ? 0 : 1));
    a.set_rank(static_cast<int32_t>(s.ColumnInt(3)));
    a.set_host(s.ColumnText(4));
  }
  HAKD_ASSIGN_OR_RETURN(
      Statement s,
      db_->Prepare("SELECT rank, host, port FROM task_group_members "
                   "WHERE task_id = ?"));
  s.Bind(1, task_id);
  while (true) {
    HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    a.set_joined(a.joined() + 1);
    if (s.ColumnInt(0) == 0) {
      a.set_master_host(s.ColumnText(1));
      a.set_master_port(static_cast<int32_t>(s.ColumnInt(2)));
    }
  }
  return a;
}

absl::StatusOr<GroupAssignment> TrainingStore::AwaitGroup(
    const std::string& lease_id, int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  GroupAssignment a;
  {
    Transaction txn(db_.get(), "renew a group member's lease", "report");
    HAKD_RETURN_IF_ERROR(txn.Begin());
    int64_t task_id = 0;
    std::string worker;
    {
      HAKD_ASSIGN_OR_RETURN(
          Statement s,
          db_->Prepare("SELECT task_id, worker, expires_ms FROM "
                       "task_group_members WHERE lease_id = ?"));
      s.Bind(1, lease_id);
      HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
      // An expired member is dropped by the next reap (within a second).
      if (!row || s.ColumnInt(2) < now_ms) return LeaseLostError();
      task_id = s.ColumnInt(0);
      worker = s.ColumnText(1);
    }
    HAKD_ASSIGN_OR_RETURN(a, AssignmentLocked(task_id, lease_id));
    if (!a.cancelled()) {
      const int64_t expires = now_ms + options_.lease_ms;
      {
        HAKD_ASSIGN_OR_RETURN(
            Statement s,
            db_->Prepare("UPDATE task_group_members SET expires_ms = ? "
                         "WHERE lease_id = ?"));
        s.Bind(1, expires).Bind(2, lease_id);
        HAKD_RETURN_IF_ERROR(s.Run());
      }
      // Rank 0 of a running group also holds the task's lease.
      HAKD_ASSIGN_OR_RETURN(
          Statement s,
          db_->Prepare("UPDATE training_tasks SET lease_expires_ms = ? "
                       "WHERE lease_id = ? AND state = ?"));
      s.Bind(1, expires).Bind(2, lease_id).Bind(
          3, int64_t{hakd::v1::TASK_RUNNING});
      HAKD_RETURN_IF_ERROR(s.Run());
    }
    HAKD_RETURN_IF_ERROR(TouchWorkerLocked(worker, now_ms));
    HAKD_RETURN_IF_ERROR(txn.Commit());
  }
  return a;
}

absl::StatusOr<int> TrainingStore::ReapGroupsLocked(int64_t now_ms) {
  struct Expired {
    int64_t task_id;
    int64_t rank;
    std::string worker;
    TaskState state;
  };
  std::vector<Expired> expired;
  {
    HAKD_ASSIGN_OR_RETURN(
        Statement s,
        db_->Prepare("SELECT m.task_id, m.rank, m.worker, t.state FROM "
                     "task_group_members m JOIN training_tasks t ON "
                     "t.id = m.task_id WHERE m.expires_ms < ? "
                     "ORDER BY m.task_id, m.rank"));
    s.Bind(1, now_ms);
    while (true) {
      HAKD_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      expired.push_back({s.ColumnInt(0), s.ColumnInt(1), s.ColumnText(2),
                         static_cast<TaskState>(s.ColumnInt(3))});
    }
  }
  int changed = 0;
  int64_t broken = 0;  // the last running group broken up here
  for (const Expired& e : expired) {
    if (e.state == hakd::v1::TASK_RUNNING) {
      if (e.task_id == broken) continue;  // its rows are gone already
      HAKD_RETURN_IF_ERROR(
          RetryOrFailLocked(e.task_id,
                            absl::StrCat("group member ", e.worker, " (rank ",
                                         e.rank, ") stopped renewing its lease"),
                            now_ms)
              .status());
      broken = e.task_id;
    } else {
      // A forming group forgets the member; a finished task's member rows
      // were kept only so that late calls learn how it ended.
      HAKD_ASSIGN_OR_RETURN(
          Statement s,
          db_->Prepare("DELETE FROM task_group_members WHERE task_id = ? AND "
                       "rank = ?"));
      s.Bind(1, e.task_id).Bind(2, e.rank);
      HAKD_RETURN_IF_ERROR(s.Run());
    }
    ++changed;
  }
  return changed;
}

}  // namespace hakd
