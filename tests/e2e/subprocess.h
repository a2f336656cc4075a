// Starts real binaries for end-to-end tests and controls them with signals.
#ifndef HAKD_TESTS_E2E_SUBPROCESS_H_
#define HAKD_TESTS_E2E_SUBPROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace hakd::testing {

// A child process whose stdout and stderr go to files.
class Subprocess {
 public:
  Subprocess() = default;
  ~Subprocess();  // SIGKILLs a child still running
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // Starts argv[0] with argv; output to `log_prefix`.out / .err.
  bool Start(const std::vector<std::string>& argv, const std::string& log_prefix);
  // Sends a signal; no-op when not running.
  void Signal(int sig);
  // Waits up to timeout_ms; returns the exit code, 128+signal when killed by
  // one, or -1 on timeout.
  int Wait(int timeout_ms);
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  std::string Stdout() const;
  std::string Stderr() const;

 private:
  pid_t pid_ = -1;
  std::string log_prefix_;
};

// Result of running a command to completion.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a command and waits (up to timeout_ms, then SIGKILL).
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::string& log_prefix, int timeout_ms = 60000);

// Reads a whole file ("" when missing).
std::string ReadFileOrEmpty(const std::string& path);

}  // namespace hakd::testing

#endif  // HAKD_TESTS_E2E_SUBPROCESS_H_
