// A small plaintext gRPC server that answers only grpc.health.v1.Health, for
// probes of processes that otherwise serve nothing (hakd-agent, hakd-worker)
// and for a coordinator whose main port needs TLS (Kubernetes' grpc probes
// speak plaintext only). Torch-free.
//
// Two services are reported:
//   ""          (the whole process) readiness: SERVING while SetServing(true)
//               is in force, NOT_SERVING before the first SetServing(true)
//               and after SetServing(false);
//   "liveness"  SERVING for as long as the server answers at all.
// A liveness probe asks for service "liveness", a readiness probe for "".
#ifndef HAKD_COMMON_HEALTH_SERVER_H_
#define HAKD_COMMON_HEALTH_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/server.h>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace hakd {

class HealthServer {
 public:
  // The service name a liveness probe asks for; always SERVING.
  static constexpr char kLivenessService[] = "liveness";

  // Starts serving grpc.health.v1 on `address` (host:port; port 0 picks a
  // free one), in plaintext: health answers carry no secret. Readiness
  // starts as NOT_SERVING. UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HealthServer>> Start(
      const std::string& address);

  // The address a --health-port flag means: every interface, that port.
  static std::string AddressForPort(int port);

  HealthServer(const HealthServer&) = delete;
  HealthServer& operator=(const HealthServer&) = delete;
  // Stops following and shuts the server down.
  ~HealthServer();

  // The bound port.
  int port() const { return port_; }

  // Sets readiness (service ""): SERVING or NOT_SERVING. Thread-safe.
  void SetServing(bool serving);

  // Calls `ready` at once and then every `period` on a thread of its own,
  // and sets readiness to what it returns, until destruction. Call at most
  // once; `ready` must be thread-safe and outlive this server.
  void Follow(std::function<bool()> ready, absl::Duration period);

 private:
  HealthServer() = default;

  // Answers UNIMPLEMENTED to every method but health's; destroyed after
  // server_ (declared before it).
  std::unique_ptr<grpc::CallbackGenericService> unimplemented_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  absl::Notification stop_;
  std::thread follower_;
};

}  // namespace hakd

#endif  // HAKD_COMMON_HEALTH_SERVER_H_
