// A farm on loopback for end-to-end tests: a temporary directory with an
// auth file and token files, the real hakd-server, hakd-agent and hakdctl,
// and direct read-only SQL on the server's database to check what landed.
#ifndef HAKD_TESTS_E2E_FARM_H_
#define HAKD_TESTS_E2E_FARM_H_

#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/e2e/subprocess.h"

namespace hakd::testing {

class Farm {
 public:
  // Creates the directory, the auth file and one token file per role.
  Farm();

  // Starts hakd-server on `port` (0 = pick one and remember it); waits until
  // it serves. Extra flags are appended.
  bool StartServer(int port = 0, const std::vector<std::string>& extra = {});
  Subprocess& server() { return *server_; }

  // Starts hakd-agent named `name` with fast heartbeats and short backoff.
  bool StartAgent(const std::string& name, const std::vector<std::string>& extra = {});
  Subprocess& agent() { return *agent_; }

  // Starts hakd-worker named `name` (role worker token, one LibTorch
  // thread, fast polling); the farm keeps every worker it started.
  Subprocess* StartWorker(const std::string& name,
                          const std::vector<std::string>& extra = {});

  // Runs hakdctl against the farm with the given role's token file
  // ("admin", "reader", "agent", "wrong", or a path).
  CommandResult Ctl(const std::vector<std::string>& args,
                    const std::string& role = "admin", int timeout_ms = 120000);

  // Runs one SQL query returning a single integer; -1 on error.
  long long SqlInt(const std::string& sql) const;

  // Polls `condition` every 100 ms until true or timeout; returns its last value.
  template <typename F>
  static bool WaitFor(F condition, int timeout_ms);

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_; }
  const std::string& db_path() const { return db_path_; }
  std::string TokenFile(const std::string& role) const;
  std::string Token(const std::string& role) const;
  int port() const { return port_; }

 private:
  std::string dir_;
  std::string db_path_;
  int port_ = 0;
  int runs_ = 0;
  std::unique_ptr<Subprocess> server_;
  std::unique_ptr<Subprocess> agent_;
  std::vector<std::unique_ptr<Subprocess>> workers_;
};

template <typename F>
bool Farm::WaitFor(F condition, int timeout_ms) {
  for (int waited = 0; waited <= timeout_ms; waited += 100) {
    if (condition()) return true;
    usleep(100 * 1000);
  }
  return condition();
}

}  // namespace hakd::testing

#endif  // HAKD_TESTS_E2E_FARM_H_
