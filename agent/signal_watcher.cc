#include "agent/signal_watcher.h"

#include <pthread.h>
#include <signal.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace hakd::agent {
namespace {

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

absl::Status StopSignalWatcher::BlockStopSignals() {
  const sigset_t set = StopSignals();
  if (int err = pthread_sigmask(SIG_BLOCK, &set, nullptr); err != 0) {
    return absl::InternalError(
        absl::StrCat("cannot block SIGINT and SIGTERM: ", std::strerror(err)));
  }
  return absl::OkStatus();
}

StopSignalWatcher::StopSignalWatcher(std::function<void(int, int)> on_signal)
    : on_signal_(std::move(on_signal)), thread_([this] { Loop(); }) {}

StopSignalWatcher::~StopSignalWatcher() {
  done_.store(true);
  // A signal aimed at the watcher thread alone ends its sigwait.
  pthread_kill(thread_.native_handle(), SIGTERM);
  thread_.join();
}

void StopSignalWatcher::Loop() {
  const sigset_t set = StopSignals();
  // sigwait needs the signals blocked here, whatever the creator did.
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  int count = 0;
  while (true) {
    int signal = 0;
    if (sigwait(&set, &signal) != 0) continue;
    if (done_.load()) return;
    on_signal_(signal, ++count);
  }
}

}  // namespace hakd::agent
