// The measuring side of the Agent: one thread takes tasks in order, times
// their items and hands results to the batcher. It never touches the stream,
// so measuring goes on while the coordinator is away.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/agent.h"
#include "agent/device_state.h"
#include "agent/log.h"
#include "common/layer_spec.h"
#include "common/network/unit_key.h"
#include "common/time_util.h"
#include "common/torch/layer_timer.h"
#include "common/torch/torch_runtime.h"

namespace hakd::agent {
namespace {

using hakd::v1::ProfilingTask;
using hakd::v1::TaskStatus;

// The coordinator refuses longer failure texts.
constexpr size_t kMaxErrorLength = 4096;

// Defaults of the stability gate (MeasurementSettings.max_cv, max_remeasure).
constexpr double kDefaultMaxCv = 0.10;
constexpr int kDefaultMaxRemeasure = 2;

// Defaults of the throttling detector (MeasurementSettings).
constexpr double kDefaultReferenceIntervalS = 2;
constexpr double kDefaultReferenceTolerance = 0.10;

// The settings as applied: the task's, with every default filled in, so a
// stored result says exactly how it was taken.
hakd::v1::MeasurementSettings AppliedSettings(
    const hakd::v1::MeasurementSettings& requested, const TimingOptions& timing) {
  hakd::v1::MeasurementSettings s;
  s.set_warmup_runs(timing.warmup_runs);
  s.set_min_sample_ms(timing.min_sample_ms);
  s.set_min_samples(timing.min_samples);
  s.set_max_samples(timing.max_samples);
  s.set_max_seconds_per_layer(timing.max_seconds_per_layer);
  s.set_stable_cv(timing.stable_cv);
  s.set_max_cv(requested.max_cv() > 0 ? requested.max_cv() : kDefaultMaxCv);
  s.set_keep_samples(requested.keep_samples());
  s.set_reference_interval_s(requested.reference_interval_s() == 0
                                 ? kDefaultReferenceIntervalS
                                 : requested.reference_interval_s() < 0
                                       ? -1
                                       : requested.reference_interval_s());
  s.set_reference_tolerance(requested.reference_tolerance() > 0
                                ? requested.reference_tolerance()
                                : kDefaultReferenceTolerance);
  s.set_max_remeasure(requested.max_remeasure() == 0 ? kDefaultMaxRemeasure
                      : requested.max_remeasure() < 0 ? 0
                                                      : requested.max_remeasure());
  return s;
}

}  // namespace

void Agent::MeasureLoop() {
  // LibTorch's intra-op setting is per thread under OpenMP: apply it here.
  if (absl::Status st =
          ConfigureThreads(options_.threads, options_.interop_threads);
      !st.ok()) {
    Logf("measuring thread: %s", st.ToString());
  }
  while (std::optional<ProfilingTask> task = queue_.Next()) RunTask(*task);
  absl::MutexLock lock(&mu_);
  measuring_done_ = true;
  cv_.SignalAll();
}

void Agent::RunTask(const ProfilingTask& task) {
  const absl::Time start = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    EnqueueStatusLocked(task.task_id(), TaskStatus::STATE_STARTED, "");
  }
  Logf("task %s started: %d items", task.task_id(), task.items_size());
  const TimingOptions timing =
      TimingOptionsFromSettings(task.settings(), options_.device);
  int measured = 0;
  int failed = 0;
  bool cancelled = false;
  bool interrupted = false;
  for (const hakd::v1::TaskItem& item : task.items()) {
    if (queue_.CurrentCancelled()) {
      cancelled = true;
      break;
    }
    if (stopping()) {
      interrupted = true;
      break;
    }
    if (item.item_index() < 0) {
      // Neither a measurement nor a failure with it would be accepted.
      Logf("task %s: skipping an item with index %d", task.task_id(),
           item.item_index());
      continue;
    }
    ItemResult result = MeasureItem(task, item, timing);
    absl::MutexLock lock(&mu_);
    std::optional<ReadyBatch> full;
    const absl::Time now = absl::Now();
    if (result.measurement.has_value()) {
      ++measured;
      ++stats_.items_measured;
      full = batcher_.Add(std::move(*result.measurement), now);
    } else {
      ++failed;
      full = batcher_.Add(std::move(*result.failure), now);
    }
    // Also while disconnected (when nothing else flushes): results reach
    // the spool within the flush interval, whatever the connection does.
    if (!full.has_value()) full = batcher_.FlushIfDue(now);
    if (full.has_value()) PublishLocked(std::move(*full));
    cv_.SignalAll();  // the batch's flush deadline may be new
  }
  const TaskStatus::State state =
      cancelled ? TaskStatus::STATE_CANCELLED : TaskStatus::STATE_FINISHED;
  // Forget the task as current before telling anyone, so a resend crossing
  // the status is answered as finished, not as running.
  if (interrupted) {
    queue_.AbandonCurrent();
  } else {
    queue_.FinishCurrent(state);
  }
  const std::string summary =
      absl::StrCat(measured, " measured, ", failed, " failed");
  {
    absl::MutexLock lock(&mu_);
    if (std::optional<ReadyBatch> rest = batcher_.Flush()) {
      PublishLocked(std::move(*rest));
    }
    if (!interrupted) {
      EnqueueStatusLocked(task.task_id(), state, summary);
      ++(cancelled ? stats_.tasks_cancelled : stats_.tasks_finished);
    }
  }
  Logf("task %s %s: %s in %.1f s", task.task_id(),
       interrupted ? "interrupted by stop" : TaskStateName(state), summary,
       absl::ToDoubleSeconds(absl::Now() - start));
}

Agent::ItemResult Agent::MeasureItem(const ProfilingTask& task,
                                     const hakd::v1::TaskItem& item,
                                     const TimingOptions& timing) {
  ItemResult result;
  auto fail = [&](std::string error) {
    if (error.size() > kMaxErrorLength) error.resize(kMaxErrorLength);
    Logf("task %s item %d failed: %s", task.task_id(), item.item_index(),
         error);
    hakd::v1::ItemFailure& f = result.failure.emplace();
    f.set_sweep_id(task.sweep_id());
    f.set_item_index(item.item_index());
    f.set_error(std::move(error));
    return result;
  };
  if (item.has_layer() == item.has_unit()) {
    return fail("item: exactly one of layer and unit must be set");
  }
  if (absl::Status st = item.has_unit() ? ValidateUnitSpec(item.unit(), "unit")
                                        : ValidateLayerSpec(item.layer(), "layer");
      !st.ok()) {
    return fail(std::string(st.message()));
  }
  // Stability gate: a result too noisy to trust, or taken while the
  // reference kernel ran slow (throttling, a noisy neighbour), is measured
  // again, keeping the best attempt (taken in quiet first, then steadiest);
  // if none passes it is stored flagged unstable and/or throttled.
  const hakd::v1::MeasurementSettings applied = AppliedSettings(task.settings(), timing);
  const absl::Duration reference_interval =
      absl::Seconds(applied.reference_interval_s());
  absl::StatusOr<LayerTiming> t;
  double cv = 0;
  ThrottleVerdict verdict;
  int attempts = 0;
  double timed_seconds = 0;
  // A re-measure looks for a quiet moment: when there is one, min_samples
  // steady samples end it early; when there is none, a quarter of the first
  // attempt's time budget is enough to say so.
  TimingOptions retry = timing;
  retry.max_seconds_per_layer = timing.max_seconds_per_layer / 4;
  for (int i = 0; i <= std::max(0, applied.max_remeasure()); ++i) {
    const ThrottleVerdict before =
        throttle_.Check(reference_interval, applied.reference_tolerance());
    absl::StatusOr<LayerTiming> attempt = measure_(item, i == 0 ? timing : retry);
    ++attempts;
    if (!attempt.ok()) {
      t = std::move(attempt);
      break;
    }
    timed_seconds += attempt->total_timed_seconds;
    const ThrottleVerdict after =
        throttle_.Check(reference_interval, applied.reference_tolerance());
    ThrottleVerdict v;
    v.throttled = before.throttled || after.throttled;
    v.ratio = std::max(before.ratio, after.ratio);
    // The gate judges the robust CV (timing.h): a few preempted samples do
    // not make a result untrustworthy, a spread of the bulk does.
    const double attempt_cv = attempt->robust_cv;
    const bool better = i == 0 || (verdict.throttled && !v.throttled) ||
                        (verdict.throttled == v.throttled && attempt_cv < cv);
    if (better) {
      t = std::move(attempt);
      cv = attempt_cv;
      verdict = v;
    }
    if ((cv <= applied.max_cv() && !verdict.throttled) || stopping()) break;
  }
  if (!t.ok()) return fail(t.status().ToString());
  hakd::v1::Measurement m;
  m.set_throttled(verdict.throttled);
  m.set_reference_ratio(verdict.ratio);
  m.set_timed_seconds(timed_seconds);
  m.set_cv(t->mean_us > 0 ? t->stddev_us / t->mean_us : 0);
  m.set_robust_cv(cv);
  m.set_unstable(cv > applied.max_cv());
  m.set_attempts(attempts);
  m.set_interop_threads(options_.interop_threads);
  *m.mutable_state() = ReadDeviceState();
  *m.mutable_settings() = applied;
  if (item.has_unit()) {
    *m.mutable_unit() = item.unit();
  } else {
    *m.mutable_layer() = item.layer();
  }
  m.set_backend(backend_);
  m.set_threads(options_.threads);
  m.set_median_us(t->median_us);
  m.set_p10_us(t->p10_us);
  m.set_p90_us(t->p90_us);
  m.set_mean_us(t->mean_us);
  m.set_stddev_us(t->stddev_us);
  m.set_samples(t->samples);
  m.set_runs_per_sample(t->runs_per_sample);
  m.set_measured_unix_ms(NowUnixMs());
  m.set_run_id(absl::StrCat("sweep-", task.sweep_id()));
  m.set_sweep_id(task.sweep_id());
  m.set_item_index(item.item_index());
  if (applied.keep_samples()) {
    m.mutable_samples_us()->Add(t->samples_us.begin(), t->samples_us.end());
  }
  // One implausible value must not get the whole batch refused.
  if (absl::Status st = ValidateMeasurement(m, "measurement"); !st.ok()) {
    return fail(absl::StrCat("implausible timing: ", st.message()));
  }
  result.measurement = std::move(m);
  return result;
}

}  // namespace hakd::agent
