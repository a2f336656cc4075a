// DesignManager: runs design jobs (hakd/v1/design.proto) through their seven
// stages — teacher, saliency, coverage, design, distillation, verification,
// report — on the coordinator. Every stage is a step function that looks at
// the job's stored state and at the training queue and sweeps it started,
// does the next thing (submit a task, start a sweep, run the designer) and
// records it; the job is saved after every step. Nothing lives only in
// memory, so a restarted coordinator picks every running job up where it
// was: the tasks and sweeps it started carry on in their own stores.
//
// A background thread steps the running jobs whenever the training queue,
// the sweeps or the jobs change (and at least every `poll`). Submit and
// Cancel are serialised with the steps, so a cancellation is never
// overwritten by a step in flight.
#ifndef HAKD_SERVER_DESIGN_MANAGER_H_
#define HAKD_SERVER_DESIGN_MANAGER_H_

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "hakd/v1/design.pb.h"
#include "server/agent_registry.h"
#include "server/design_store.h"
#include "server/designer.h"
#include "server/latency_store.h"
#include "server/sweep_manager.h"
#include "server/training_store.h"

namespace hakd {

struct DesignManagerOptions {
  // Longest wait between two passes over the running jobs. Default 500 ms.
  absl::Duration poll = absl::Milliseconds(500);
  // Start the background thread (tests step by hand). Default true.
  bool run_thread = true;
  // Verification times a network again when the device was disturbed
  // (throttled or unstable) while timing it, after this pause times the
  // rounds so far. Default 30 s.
  absl::Duration retime_pause = absl::Seconds(30);
};

class DesignManager {
 public:
  DesignManager(DesignStore* designs, TrainingStore* training,
                LatencyStore* latency, SweepManager* sweeps,
                AgentRegistry* registry, DesignManagerOptions options);
  // Stops the thread (a step in flight finishes first).
  ~DesignManager();

  // Checks the spec against the databases (devices, teacher artifact),
  // stores the job and starts it. INVALID_ARGUMENT / NOT_FOUND name the
  // field.
  absl::StatusOr<hakd::v1::DesignJob> Submit(const hakd::v1::DesignSpec& spec);
  // Cancels a running job and every training task and sweep it started
  // that is still going; a finished job is returned unchanged.
  absl::StatusOr<hakd::v1::DesignJob> Cancel(int64_t job_id);
  // Stops the background thread after the step in flight (jobs stay
  // running in the database and resume on the next start). Idempotent.
  void Stop();
  // One pass: steps every running job as far as it can go now.
  void StepAll();

 private:
  // Steps one job; a failing stage fails the job with the stage's error.
  void StepJob(int64_t job_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Advances the current stage; true when it finished (the caller moves on).
  absl::StatusOr<bool> StepStage(hakd::v1::DesignJob* job)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::StatusOr<bool> StepTeacher(hakd::v1::DesignJob* job);
  absl::StatusOr<bool> StepSaliency(hakd::v1::DesignJob* job);
  absl::StatusOr<bool> StepCoverage(hakd::v1::DesignJob* job);
  absl::StatusOr<bool> StepDesign(hakd::v1::DesignJob* job);
  absl::StatusOr<bool> StepDistillation(hakd::v1::DesignJob* job);
  absl::StatusOr<bool> StepVerification(hakd::v1::DesignJob* job);
  absl::StatusOr<bool> StepReport(hakd::v1::DesignJob* job);

  // Submits a training task for the job; returns its id.
  absl::StatusOr<int64_t> SubmitTask(const hakd::v1::DesignJob& job,
                                     const std::string& what,
                                     hakd::v1::TrainingSpec spec);
  // Every device's profile for the designer: measured units and overhead.
  absl::StatusOr<std::vector<DeviceProfile>> BuildProfiles(
      const hakd::v1::DesignJob& job);
  // Refuses (INVALID_ARGUMENT naming spec.budgets) budgets no student can
  // reach on a device whose every unit is already measured and whose
  // overhead is fitted; other devices are judged in the design stage.
  absl::Status CheckBudgetsReachable(const hakd::v1::DesignSpec& spec,
                                     const hakd::v1::NetworkSpec& teacher);
  // The job's designer options.
  static DesignerOptions OptionsOf(const hakd::v1::DesignSpec& spec);
  // Starts (or follows) a sweep of `units` on every device for `stage`;
  // true once every device's sweep is done. `sweep_ids` holds the job's
  // sweeps of this stage, one per device.
  absl::StatusOr<bool> FollowSweeps(
      hakd::v1::DesignJob* job, hakd::v1::StageStatus* stage,
      google::protobuf::RepeatedField<int64_t>* sweep_ids,
      const std::vector<std::vector<hakd::v1::UnitSpec>>& per_device_units,
      const std::string& label);
  // Online workers now.
  int OnlineWorkers();
  void Loop();

  DesignStore* const designs_;
  TrainingStore* const training_;
  LatencyStore* const latency_;
  SweepManager* const sweeps_;
  AgentRegistry* const registry_;
  const DesignManagerOptions options_;

  absl::Mutex mu_;  // serialises steps, Submit and Cancel
  absl::Mutex stop_mu_;  // serialises Stop
  absl::Notification stop_;
  std::thread thread_ ABSL_GUARDED_BY(stop_mu_);
};

}  // namespace hakd

#endif  // HAKD_SERVER_DESIGN_MANAGER_H_
