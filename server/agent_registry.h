// AgentRegistry: the agent streams open right now, by device. A device is
// online exactly while its agent's stream is registered here.
#ifndef HAKD_SERVER_AGENT_REGISTRY_H_
#define HAKD_SERVER_AGENT_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include <grpcpp/server_context.h>
#include <grpcpp/support/sync_stream.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "hakd/v1/agent_service.pb.h"

namespace hakd {

// One open agent stream. Send() may be called from any thread; the stream's
// own handler thread is the only reader.
class AgentConnection {
 public:
  using Stream = grpc::ServerReaderWriter<hakd::v1::CoordinatorMessage,
                                          hakd::v1::AgentMessage>;

  AgentConnection(int64_t device_id, std::string name, std::string fingerprint,
                  grpc::ServerContext* context, Stream* stream);

  // Writes one message; false once the stream is closed or broken.
  bool Send(const hakd::v1::CoordinatorMessage& message);
  // Marks the stream closed: later Sends do nothing. Called by the handler
  // before it returns, so no thread writes to a finished stream.
  void Close();
  // Ends the stream from the server side (the handler's Read then fails).
  void Cancel();

  void Touch(int64_t now_ms) { last_heard_ms_.store(now_ms); }
  int64_t last_heard_ms() const { return last_heard_ms_.load(); }

  int64_t device_id() const { return device_id_; }
  const std::string& name() const { return name_; }
  // hostname/arch/cpu of the agent: tells a reconnect of the same board from
  // a second board misconfigured with the same name.
  const std::string& fingerprint() const { return fingerprint_; }

  // Chunks (sweep id, chunk index) sent on this stream and not known to be
  // finished. Guarded by the SweepManager's dispatch mutex.
  std::set<std::pair<int64_t, int>> sent_chunks;

 private:
  const int64_t device_id_;
  const std::string name_;
  const std::string fingerprint_;
  grpc::ServerContext* const context_;
  std::atomic<int64_t> last_heard_ms_{0};

  absl::Mutex write_mu_;
  Stream* stream_ ABSL_GUARDED_BY(write_mu_);
  bool closed_ ABSL_GUARDED_BY(write_mu_) = false;
};

class AgentRegistry {
 public:
  // Registers a connection. A previous stream of the same device from the
  // same machine (a reconnect the server has not noticed yet) is cancelled
  // and replaced; one from another machine makes this fail ALREADY_EXISTS.
  absl::Status Attach(const std::shared_ptr<AgentConnection>& connection);
  // Removes the connection if it is still the device's current one.
  void Detach(const AgentConnection* connection);
  // The device's current connection, or null when offline.
  std::shared_ptr<AgentConnection> Find(int64_t device_id) const;
  bool IsOnline(int64_t device_id) const { return Find(device_id) != nullptr; }
  // Cancels connections silent for longer than timeout_ms; returns how many.
  int ReapSilent(int64_t now_ms, int64_t timeout_ms);
  // Cancels every connection (shutdown).
  void CancelAll();

 private:
  mutable absl::Mutex mu_;
  std::map<int64_t, std::shared_ptr<AgentConnection>> by_device_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace hakd

#endif  // HAKD_SERVER_AGENT_REGISTRY_H_
