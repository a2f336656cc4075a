#include "tests/e2e/farm.h"

#include <sqlite3.h>

#include <cstdlib>
#include <fstream>

#include "common/auth_token.h"

namespace hakd::testing {
namespace {

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

}  // namespace

Farm::Farm() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/hakd-e2e-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) std::abort();
  dir_ = tmpl;
  db_path_ = dir_ + "/hakd.db";
  // The auth file holds digests only, as hakdctl admin token create writes.
  std::string auth = "# e2e farm\n";
  for (const char* role : {"admin", "reader", "agent", "worker"}) {
    auth += AuthFileLine(role, Token(role), role, "") + "\n";
  }
  // An agent token bound to the device "bound-board".
  auth += AuthFileLine("agent", Token("bound"), "bound", "bound-board") + "\n";
  WriteFile(dir_ + "/auth.txt", auth);
  for (const char* role : {"admin", "reader", "agent", "worker", "bound", "wrong"}) {
    WriteFile(TokenFile(role), Token(role) + "\n");
  }
}

std::string Farm::Token(const std::string& role) const {
  return role + "-token-e2e-0123456789abcdef";
}

std::string Farm::TokenFile(const std::string& role) const {
  if (!role.empty() && role[0] == '/') return role;
  return dir_ + "/" + role + ".token";
}

bool Farm::StartServer(int port, const std::vector<std::string>& extra) {
  const std::string port_file = dir_ + "/port";
  std::remove(port_file.c_str());
  server_ = std::make_unique<Subprocess>();
  std::vector<std::string> argv = {HAKD_SERVER_BIN,
                                   "--listen", "127.0.0.1:" + std::to_string(port),
                                   "--port-file", port_file,
                                   "--db", db_path_,
                                   "--auth-file", dir_ + "/auth.txt",
                                   "--heartbeat-timeout-ms", "3000"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  if (!server_->Start(argv, dir_ + "/server" + std::to_string(++runs_))) return false;
  const bool up = WaitFor([&] { return !ReadFileOrEmpty(port_file).empty(); }, 20000);
  if (!up) return false;
  port_ = std::atoi(ReadFileOrEmpty(port_file).c_str());
  return port_ > 0;
}

bool Farm::StartAgent(const std::string& name, const std::vector<std::string>& extra) {
  agent_ = std::make_unique<Subprocess>();
  std::vector<std::string> argv = {HAKD_AGENT_BIN,
                                   "--server", address(),
                                   "--token-file", TokenFile("agent"),
                                   "--name", name,
                                   "--threads", "1",
                                   "--heartbeat-ms", "500",
                                   "--max-backoff-ms", "1000",
                                   // Inside the farm's directory, one per
                                   // name, kept across restarts of it.
                                   "--spool", dir_ + "/agent-" + name + ".spool"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return agent_->Start(argv, dir_ + "/agent-" + name + std::to_string(++runs_));
}

Subprocess* Farm::StartWorker(const std::string& name,
                              const std::vector<std::string>& extra) {
  auto worker = std::make_unique<Subprocess>();
  std::vector<std::string> argv = {HAKD_WORKER_BIN,
                                   "--server", address(),
                                   "--token-file", TokenFile("worker"),
                                   "--name", name,
                                   "--threads", "1",
                                   "--loader-threads", "1",
                                   "--poll-ms", "100",
                                   "--max-backoff-ms", "1000"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  if (!worker->Start(argv, dir_ + "/worker-" + name + std::to_string(++runs_))) return nullptr;
  workers_.push_back(std::move(worker));
  return workers_.back().get();
}

CommandResult Farm::Ctl(const std::vector<std::string>& args, const std::string& role,
                        int timeout_ms) {
  std::vector<std::string> argv = {HAKD_CTL_BIN, "--server", address(),
                                   "--token-file", TokenFile(role)};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, dir_ + "/ctl" + std::to_string(++runs_), timeout_ms);
}

long long Farm::SqlInt(const std::string& sql) const {
  sqlite3* db = nullptr;
  long long value = -1;
  if (sqlite3_open_v2(db_path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 2000);
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      value = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return value;
}

}  // namespace hakd::testing
