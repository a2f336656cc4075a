#include "common/health_server.h"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"

namespace hakd {

absl::StatusOr<std::unique_ptr<HealthServer>> HealthServer::Start(
    const std::string& address) {
  // Process-wide switch: every server built afterwards gets the default
  // health service (the coordinator's own server enables it too).
  grpc::EnableDefaultHealthCheckService(true);
  std::unique_ptr<HealthServer> health(new HealthServer());
  health->unimplemented_ = std::make_unique<grpc::CallbackGenericService>();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(),
                           &health->port_);
  // Another process on the same port must make this one fail, not share.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // A server with no method of its own polls nothing and gRPC refuses to
  // build it (the health service is added only at start): a callback
  // generic service, answering UNIMPLEMENTED to anything but health, gives
  // it a polled queue.
  builder.RegisterCallbackGenericService(health->unimplemented_.get());
  // Health requests are a few bytes.
  builder.SetMaxReceiveMessageSize(4096);
  health->server_ = builder.BuildAndStart();
  if (health->server_ == nullptr || health->port_ == 0) {
    return absl::UnavailableError(absl::StrCat(
        "--health-port: cannot listen on ", address,
        " (address in use or invalid)"));
  }
  grpc::HealthCheckServiceInterface* service =
      health->server_->GetHealthCheckService();
  if (service == nullptr) {
    return absl::InternalError("gRPC did not create its health service");
  }
  service->SetServingStatus(kLivenessService, true);
  service->SetServingStatus("", false);
  return health;
}

std::string HealthServer::AddressForPort(int port) {
  // gRPC binds a wildcard address on IPv6 and IPv4 when it can.
  return absl::StrCat("0.0.0.0:", port);
}

HealthServer::~HealthServer() {
  stop_.Notify();
  if (follower_.joinable()) follower_.join();
  if (server_ != nullptr) {
    // Ends open Watch streams (NOT_SERVING) before the server goes.
    if (grpc::HealthCheckServiceInterface* service =
            server_->GetHealthCheckService()) {
      service->Shutdown();
    }
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(1));
  }
}

void HealthServer::SetServing(bool serving) {
  if (grpc::HealthCheckServiceInterface* service =
          server_->GetHealthCheckService()) {
    service->SetServingStatus("", serving);
  }
}

void HealthServer::Follow(std::function<bool()> ready,
                          absl::Duration period) {
  follower_ = std::thread([this, ready = std::move(ready), period] {
    do {
      SetServing(ready());
    } while (!stop_.WaitForNotificationWithTimeout(period));
  });
}

}  // namespace hakd
