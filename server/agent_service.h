// AgentServiceImpl: the coordinator's end of each agent's stream. Registers
// the device, relays tasks, commits measurement batches and acknowledges each
// one only after it is committed.
#ifndef HAKD_SERVER_AGENT_SERVICE_H_
#define HAKD_SERVER_AGENT_SERVICE_H_

#include "hakd/v1/agent_service.grpc.pb.h"
#include "server/agent_registry.h"
#include "server/auth.h"
#include "server/ingest_committer.h"
#include "server/latency_store.h"
#include "server/sweep_manager.h"

namespace hakd {

struct AgentServiceOptions {
  // Silence after which a device is offline; told to agents in Welcome.
  // Default 15000 ms (three missed 5 s heartbeats).
  int heartbeat_timeout_ms = 15000;
};

class AgentServiceImpl final : public hakd::v1::AgentService::Service {
 public:
  AgentServiceImpl(const Authorizer* auth, LatencyStore* store,
                   IngestCommitter* committer, AgentRegistry* registry,
                   SweepManager* sweeps, AgentServiceOptions options)
      : auth_(auth), store_(store), committer_(committer), registry_(registry),
        sweeps_(sweeps), options_(options) {}

  grpc::Status Connect(grpc::ServerContext* context,
                       grpc::ServerReaderWriter<hakd::v1::CoordinatorMessage,
                                                hakd::v1::AgentMessage>* stream)
      override;

 private:
  // Validates, commits and acknowledges one batch. A non-OK return ends the
  // stream (the store failed: the agent reconnects and resends later).
  grpc::Status HandleBatch(AgentConnection* connection,
                           const hakd::v1::MeasurementBatch& batch);

  const Authorizer* const auth_;
  LatencyStore* const store_;
  IngestCommitter* const committer_;
  AgentRegistry* const registry_;
  SweepManager* const sweeps_;
  const AgentServiceOptions options_;
};

}  // namespace hakd

#endif  // HAKD_SERVER_AGENT_SERVICE_H_
