// Turns SIGINT and SIGTERM into calls on an ordinary thread (sigwait), so
// shutdown work - locks, logging, gRPC - never runs in a signal handler.
#ifndef HAKD_AGENT_SIGNAL_WATCHER_H_
#define HAKD_AGENT_SIGNAL_WATCHER_H_

#include <atomic>
#include <functional>
#include <thread>

#include "absl/status/status.h"

namespace hakd::agent {

class StopSignalWatcher {
 public:
  // Blocks SIGINT and SIGTERM in the calling thread. Call first in main(),
  // before any other thread exists, so every thread inherits the mask and
  // the signals reach only the watcher.
  static absl::Status BlockStopSignals();

  // Starts the watcher thread; on_signal(signal, count) runs on it for each
  // signal, count being 1 for the first.
  explicit StopSignalWatcher(
      std::function<void(int signal, int count)> on_signal);

  StopSignalWatcher(const StopSignalWatcher&) = delete;
  StopSignalWatcher& operator=(const StopSignalWatcher&) = delete;

  // Wakes the watcher thread and joins it.
  ~StopSignalWatcher();

 private:
  void Loop();

  const std::function<void(int, int)> on_signal_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace hakd::agent

#endif  // HAKD_AGENT_SIGNAL_WATCHER_H_
