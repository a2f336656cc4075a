#include "server/agent_registry.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace hakd {

AgentConnection::AgentConnection(int64_t device_id, std::string name,
                                 std::string fingerprint,
                                 grpc::ServerContext* context, Stream* stream)
    : device_id_(device_id),
      name_(std::move(name)),
      fingerprint_(std::move(fingerprint)),
      context_(context),
      stream_(stream) {}

bool AgentConnection::Send(const hakd::v1::CoordinatorMessage& message) {
  absl::MutexLock lock(&write_mu_);
  if (closed_) return false;
  if (!stream_->Write(message)) {
    closed_ = true;
    return false;
  }
  return true;
}

void AgentConnection::Close() {
  absl::MutexLock lock(&write_mu_);
  closed_ = true;
}

void AgentConnection::Cancel() { context_->TryCancel(); }

absl::Status AgentRegistry::Attach(
    const std::shared_ptr<AgentConnection>& connection) {
  std::shared_ptr<AgentConnection> replaced;
  {
    absl::MutexLock lock(&mu_);
    auto it = by_device_.find(connection->device_id());
    if (it != by_device_.end()) {
      if (it->second->fingerprint() != connection->fingerprint()) {
        return absl::AlreadyExistsError(absl::StrCat(
            "device name '", connection->name(),
            "' is already connected from another machine (",
            it->second->fingerprint(), "); give this agent another --name"));
      }
      replaced = it->second;
    }
    by_device_[connection->device_id()] = connection;
  }
  if (replaced != nullptr) {
    LogLine("hakd-server", absl::StrCat("device ", connection->name(),
                                        " reconnected; closing its old stream"));
    replaced->Cancel();
  }
  return absl::OkStatus();
}

void AgentRegistry::Detach(const AgentConnection* connection) {
  absl::MutexLock lock(&mu_);
  auto it = by_device_.find(connection->device_id());
  if (it != by_device_.end() && it->second.get() == connection) {
    by_device_.erase(it);
  }
}

std::shared_ptr<AgentConnection> AgentRegistry::Find(int64_t device_id) const {
  absl::MutexLock lock(&mu_);
  auto it = by_device_.find(device_id);
  return it == by_device_.end() ? nullptr : it->second;
}

int AgentRegistry::ReapSilent(int64_t now_ms, int64_t timeout_ms) {
  std::vector<std::shared_ptr<AgentConnection>> silent;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = by_device_.begin(); it != by_device_.end();) {
      if (now_ms - it->second->last_heard_ms() > timeout_ms) {
        silent.push_back(it->second);
        it = by_device_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const auto& c : silent) {
    LogLine("hakd-server", absl::StrCat("device ", c->name(), " silent for over ",
                                        timeout_ms, " ms; marking it offline"));
    c->Cancel();
  }
  return static_cast<int>(silent.size());
}

void AgentRegistry::CancelAll() {
  absl::MutexLock lock(&mu_);
  for (auto& [id, c] : by_device_) c->Cancel();
}

}  // namespace hakd
