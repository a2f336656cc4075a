// A simulated hakd-worker: registers, leases training tasks, "trains" each
// epoch by sleeping while it reports progress, uploads a small checkpoint
// after every epoch and a small model at the end, and completes the task.
// It exercises every WorkerService call the real worker makes, without
// LibTorch, for the soak.
#ifndef HAKD_TESTS_FAULT_SIM_WORKER_H_
#define HAKD_TESTS_FAULT_SIM_WORKER_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace hakd::sim {

struct SimWorkerOptions {
  std::string server;
  // Bearer token of role worker.
  std::string token;
  // Worker name ([A-Za-z][A-Za-z0-9._-]{0,63}).
  std::string name;
  // Wall time of one simulated epoch; progress is reported every 500 ms.
  int epoch_ms = 1000;
  // Delay between LeaseTask calls while nothing is queued.
  int poll_ms = 500;
  // Size of the uploaded checkpoints and model.
  int artifact_bytes = 8192;
  // Print an event line per task.
  bool events = true;
};

// What one simulated worker did.
struct SimWorkerStats {
  int64_t tasks_completed = 0;
  int64_t epochs = 0;
  int64_t uploads = 0;
  int64_t rpc_errors = 0;           // calls that failed (any code)
  int64_t leases_lost = 0;          // FAILED_PRECONDITION on a held lease
  std::vector<std::string> errors;  // the first few, for the report
};

class SimWorker {
 public:
  explicit SimWorker(SimWorkerOptions options);

  // Works until Stop(); returns when the current task's step ends.
  void Run();
  void Stop() { stop_ = true; }
  SimWorkerStats Stats() const;

 private:
  const SimWorkerOptions options_;
  std::atomic<bool> stop_{false};
  mutable absl::Mutex mu_;
  SimWorkerStats stats_ ABSL_GUARDED_BY(mu_);

  friend class SimWorkerRun;
};

}  // namespace hakd::sim

#endif  // HAKD_TESTS_FAULT_SIM_WORKER_H_
