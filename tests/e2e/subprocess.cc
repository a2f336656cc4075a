#include "tests/e2e/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

namespace hakd::testing {

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Subprocess::~Subprocess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

bool Subprocess::Start(const std::vector<std::string>& argv,
                       const std::string& log_prefix) {
  log_prefix_ = log_prefix;
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::string out = log_prefix + ".out", err = log_prefix + ".err";
  pid_ = fork();
  if (pid_ < 0) return false;
  if (pid_ == 0) {
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int n = open("/dev/null", O_RDONLY);
    dup2(n, 0);
    dup2(o, 1);
    dup2(e, 2);
    // Let the child receive the stop signals even if the test blocks them.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return true;
}

void Subprocess::Signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

int Subprocess::Wait(int timeout_ms) {
  if (pid_ <= 0) return -1;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string Subprocess::Stdout() const { return ReadFileOrEmpty(log_prefix_ + ".out"); }
std::string Subprocess::Stderr() const { return ReadFileOrEmpty(log_prefix_ + ".err"); }

CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::string& log_prefix, int timeout_ms) {
  Subprocess p;
  CommandResult r;
  if (!p.Start(argv, log_prefix)) return r;
  r.exit_code = p.Wait(timeout_ms);
  if (r.exit_code == -1) {
    p.Signal(SIGKILL);
    p.Wait(5000);
  }
  r.out = p.Stdout();
  r.err = p.Stderr();
  return r;
}

}  // namespace hakd::testing
