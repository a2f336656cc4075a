#include "server/sweep_manager.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/network/unit_key.h"
#include "common/status_macros.h"
#include "common/time_util.h"

namespace hakd {
namespace {

// Progress older than this does not count towards the rate.
constexpr int64_t kRateWindowMs = 20000;

absl::Status ValidateSettings(const hakd::v1::MeasurementSettings& s) {
  auto bad = [](absl::string_view name, absl::string_view problem) {
    return absl::InvalidArgumentError(absl::StrCat("settings.", name, ": ", problem));
  };
  if (s.warmup_runs() < 0 || s.warmup_runs() > 10000) {
    return bad("warmup_runs", "must be in [0, 10000]");
  }
  if (!(s.min_sample_ms() >= 0 && s.min_sample_ms() <= 10000)) {
    return bad("min_sample_ms", "must be in [0, 10000]");
  }
  if (s.min_samples() < 0 || s.min_samples() > 100000) {
    return bad("min_samples", "must be in [0, 100000]");
  }
  if (s.max_samples() < 0 || s.max_samples() > 100000) {
    return bad("max_samples", "must be in [0, 100000]");
  }
  if (s.max_samples() != 0 && s.max_samples() < s.min_samples()) {
    return bad("max_samples", "must not be below min_samples");
  }
  if (!(s.max_seconds_per_layer() >= 0 && s.max_seconds_per_layer() <= 3600)) {
    return bad("max_seconds_per_layer", "must be in [0, 3600]");
  }
  if (!(s.stable_cv() >= 0 && s.stable_cv() <= 10)) {
    return bad("stable_cv", "must be in [0, 10]");
  }
  if (!(s.max_cv() >= 0 && s.max_cv() <= 10)) return bad("max_cv", "must be in [0, 10]");
  if (s.max_remeasure() < -1 || s.max_remeasure() > 20) {
    return bad("max_remeasure", "must be in [-1, 20]");
  }
  if (!std::isfinite(s.reference_interval_s()) ||
      s.reference_interval_s() > 3600) {
    return bad("reference_interval_s",
               "must be at most 3600 (0: default 10, negative: off)");
  }
  if (!std::isfinite(s.reference_tolerance()) || s.reference_tolerance() < 0 ||
      s.reference_tolerance() > 10) {
    return bad("reference_tolerance", "must be in [0, 10] (0: default 0.10)");
  }
  return absl::OkStatus();
}

}  // namespace

SweepManager::SweepManager(LatencyStore* store, AgentRegistry* registry,
                           SweepManagerOptions options)
    : store_(store), registry_(registry), options_(options) {
  dispatcher_ = std::thread([this] { DispatchLoop(); });
}

SweepManager::~SweepManager() {
  {
    absl::MutexLock lock(&queue_mu_);
    stopping_ = true;
  }
  dispatcher_.join();
}

void SweepManager::DispatchLoop() {
  while (true) {
    std::set<int64_t> sweeps, devices;
    {
      absl::MutexLock lock(&queue_mu_);
      queue_mu_.Await(absl::Condition(
          +[](SweepManager* m) ABSL_EXCLUSIVE_LOCKS_REQUIRED(m->queue_mu_) {
            return m->stopping_ || !m->queued_sweeps_.empty() ||
                   !m->queued_devices_.empty();
          },
          this));
      if (queued_sweeps_.empty() && queued_devices_.empty()) return;
      sweeps.swap(queued_sweeps_);
      devices.swap(queued_devices_);
    }
    const int64_t now = NowUnixMs();
    for (int64_t sweep_id : sweeps) {
      absl::StatusOr<SweepRecord> s = store_->GetSweep(sweep_id);
      if (s.ok()) RecordProgress(sweep_id, now, s->measured + s->failed);
    }
    for (int64_t device_id : devices) Pump(device_id);
    NotifyChange();
  }
}

absl::StatusOr<SweepRecord> SweepManager::Start(
    const DeviceRecord& device, const hakd::v1::StartSweepRequest& request) {
  if (request.chunk_size() < 0 || request.chunk_size() > options_.max_chunk_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "chunk_size: must be in [1, ", options_.max_chunk_size, "], got ",
        request.chunk_size()));
  }
  if (absl::Status st = ValidateSettings(request.settings()); !st.ok()) return st;
  if (request.label().size() > 64) {
    return absl::InvalidArgumentError("label: longer than 64 characters");
  }
  const int chunk = request.chunk_size() > 0 ? request.chunk_size()
                                             : options_.default_chunk_size;
  std::vector<hakd::v1::TaskItem> items;
  std::string preset;
  if (request.units_size() > 0) {
    if (!request.preset().empty() || request.families_size() > 0) {
      return absl::InvalidArgumentError(
          "units: give either units or a preset / families, not both");
    }
    if (request.units_size() > options_.planner.max_layers) {
      return absl::InvalidArgumentError(absl::StrCat(
          "units: ", request.units_size(), " exceed the limit of ",
          options_.planner.max_layers, " per sweep"));
    }
    for (int i = 0; i < request.units_size(); ++i) {
      HAKD_RETURN_IF_ERROR(
          ValidateUnitSpec(request.units(i), absl::StrCat("units[", i, "]")));
      *items.emplace_back().mutable_unit() = request.units(i);
    }
    preset = request.label().empty() ? "units" : request.label();
  } else {
    absl::StatusOr<SweepPlan> plan = PlanSweep(request, options_.planner);
    if (!plan.ok()) return plan.status();
    for (const hakd::v1::LayerSpec& l : plan->layers) {
      *items.emplace_back().mutable_layer() = l;
    }
    preset = request.label().empty() ? plan->preset : request.label();
  }
  absl::StatusOr<SweepRecord> sweep = store_->CreateSweepOfItems(
      device.id, preset, request.settings(), items, chunk, NowUnixMs());
  if (!sweep.ok()) return sweep.status();
  LogLine("hakd-server",
          absl::StrCat("sweep ", sweep->id, " (", preset, ", ", sweep->total,
                       " items) planned for device ", device.name));
  Pump(device.id);
  NotifyChange();
  return store_->GetSweep(sweep->id);
}

absl::StatusOr<SweepRecord> SweepManager::Cancel(int64_t sweep_id) {
  absl::StatusOr<SweepRecord> sweep = store_->CancelSweep(sweep_id, NowUnixMs());
  if (!sweep.ok()) return sweep;
  if (std::shared_ptr<AgentConnection> c = registry_->Find(sweep->device_id)) {
    hakd::v1::CoordinatorMessage msg;
    msg.mutable_cancel()->set_sweep_id(sweep_id);
    msg.mutable_cancel()->set_reason("cancelled by a user");
    c->Send(msg);
    absl::MutexLock lock(&dispatch_mu_);
    for (auto it = c->sent_chunks.begin(); it != c->sent_chunks.end();) {
      it = it->first == sweep_id ? c->sent_chunks.erase(it) : std::next(it);
    }
  }
  Pump(sweep->device_id);
  NotifyChange();
  return sweep;
}

void SweepManager::Pump(int64_t device_id) {
  std::shared_ptr<AgentConnection> conn = registry_->Find(device_id);
  if (conn == nullptr) return;
  absl::MutexLock lock(&dispatch_mu_);
  absl::StatusOr<std::vector<SweepRecord>> active = store_->ActiveSweeps(device_id);
  if (!active.ok()) {
    LogLine("hakd-server", absl::StrCat("dispatch for device ", device_id,
                                        " failed: ", active.status().ToString()));
    return;
  }
  int outstanding = 0;
  std::set<std::pair<int64_t, int>> still_pending;
  for (const SweepRecord& sweep : *active) {
    if (outstanding >= options_.chunks_in_flight) break;
    absl::StatusOr<std::vector<SweepChunk>> chunks =
        store_->PendingChunks(sweep.id, options_.chunks_in_flight);
    if (!chunks.ok()) {
      LogLine("hakd-server", absl::StrCat("dispatch of sweep ", sweep.id,
                                          " failed: ", chunks.status().ToString()));
      return;
    }
    for (const SweepChunk& chunk : *chunks) {
      if (outstanding >= options_.chunks_in_flight) break;
      const std::pair<int64_t, int> key{sweep.id, chunk.chunk_index};
      still_pending.insert(key);
      ++outstanding;
      if (conn->sent_chunks.count(key)) continue;
      hakd::v1::CoordinatorMessage msg;
      hakd::v1::ProfilingTask* task = msg.mutable_task();
      task->set_task_id(absl::StrCat("sweep-", sweep.id, "/chunk-", chunk.chunk_index));
      task->set_sweep_id(sweep.id);
      task->set_chunk_index(chunk.chunk_index);
      for (const hakd::v1::TaskItem& item : chunk.pending_items) {
        *task->add_items() = item;
      }
      *task->mutable_settings() = sweep.settings;
      if (!conn->Send(msg)) return;
      conn->sent_chunks.insert(key);
      if (sweep.state == hakd::v1::Sweep::STATE_QUEUED) {
        store_->MarkSweepRunning(sweep.id, NowUnixMs()).IgnoreError();
        NotifyChange();
      }
    }
  }
  // Forget chunks that are finished, so the set stays small.
  for (auto it = conn->sent_chunks.begin(); it != conn->sent_chunks.end();) {
    it = still_pending.count(*it) ? std::next(it) : conn->sent_chunks.erase(it);
  }
}

void SweepManager::OnAgentIdle(const std::shared_ptr<AgentConnection>& connection) {
  {
    absl::MutexLock lock(&dispatch_mu_);
    if (connection->sent_chunks.empty()) return;
    connection->sent_chunks.clear();
  }
  Pump(connection->device_id());
}

void SweepManager::OnCommitted(const CommitSummary& summary) {
  absl::MutexLock lock(&queue_mu_);
  queued_sweeps_.insert(summary.sweeps_touched.begin(), summary.sweeps_touched.end());
  queued_devices_.insert(summary.devices_touched.begin(),
                         summary.devices_touched.end());
}

void SweepManager::NotifyChange() {
  absl::MutexLock lock(&mu_);
  ++version_;
}

int64_t SweepManager::version() const {
  absl::MutexLock lock(&mu_);
  return version_;
}

void SweepManager::WaitForChange(int64_t* version, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  struct Args {
    const int64_t* current;
    int64_t seen;
  } args{&version_, *version};
  mu_.AwaitWithTimeout(
      absl::Condition(+[](Args* a) { return *a->current != a->seen; }, &args),
      timeout);
  *version = version_;
}

void SweepManager::RecordProgress(int64_t sweep_id, int64_t now_ms, int done) {
  absl::MutexLock lock(&mu_);
  auto& points = progress_[sweep_id];
  points.emplace_back(now_ms, done);
  while (points.size() > 2 && now_ms - points.front().first > kRateWindowMs) {
    points.pop_front();
  }
}

double SweepManager::Rate(int64_t sweep_id) const {
  absl::MutexLock lock(&mu_);
  auto it = progress_.find(sweep_id);
  if (it == progress_.end() || it->second.size() < 2) return 0;
  const auto& [t0, n0] = it->second.front();
  const auto& [t1, n1] = it->second.back();
  if (t1 <= t0) return 0;
  return 1000.0 * (n1 - n0) / static_cast<double>(t1 - t0);
}

absl::StatusOr<hakd::v1::Sweep> SweepManager::Describe(const SweepRecord& r) {
  hakd::v1::Sweep s;
  s.set_id(r.id);
  s.set_device_id(r.device_id);
  absl::StatusOr<DeviceRecord> device = store_->GetDevice(r.device_id);
  if (device.ok()) s.set_device_name(device->name);
  s.set_preset(r.preset);
  s.set_state(r.state);
  s.set_total(r.total);
  s.set_measured(r.measured);
  s.set_failed(r.failed);
  s.set_created_unix_ms(r.created_ms);
  s.set_started_unix_ms(r.started_ms);
  s.set_finished_unix_ms(r.finished_ms);
  s.set_device_online(registry_->IsOnline(r.device_id));
  if (r.state == hakd::v1::Sweep::STATE_RUNNING) s.set_layers_per_second(Rate(r.id));
  s.set_last_error(r.last_error);
  return s;
}

}  // namespace hakd
