#include "server/agent_service.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "common/layer_spec.h"
#include "common/log.h"
#include "common/status_grpc.h"
#include "common/time_util.h"

namespace hakd {
namespace {

using hakd::v1::AgentMessage;
using hakd::v1::CoordinatorMessage;

grpc::Status Invalid(std::string message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
}

// Device facts are free text from the agent; bound every string.
absl::Status ValidateFacts(const hakd::v1::DeviceFacts& f) {
  const std::pair<const char*, const std::string*> fields[] = {
      {"hostname", &f.hostname()},   {"arch", &f.arch()},
      {"cpu_model", &f.cpu_model()}, {"os", &f.os()},
      {"kernel", &f.kernel()},       {"libtorch_version", &f.libtorch_version()},
      {"accelerator", &f.accelerator()},
      {"frequency_governor", &f.frequency_governor()},
      {"compute_device", &f.compute_device()},
      {"agent_version", &f.agent_version()},
      {"blas_library", &f.blas_library()}};
  for (const auto& [name, value] : fields) {
    if (value->size() > 256) {
      return absl::InvalidArgumentError(
          absl::StrCat("hello.facts.", name, ": longer than 256 characters"));
    }
  }
  if (f.cpu_cores() < 0 || f.threads() < 0 || f.interop_threads() < 0 ||
      f.memory_bytes() < 0 || f.accelerator_memory_bytes() < 0) {
    return absl::InvalidArgumentError("hello.facts: counts must not be negative");
  }
  return absl::OkStatus();
}

}  // namespace

grpc::Status AgentServiceImpl::Connect(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<CoordinatorMessage, AgentMessage>* stream) {
  Principal who;
  StreamSlot slot;
  if (grpc::Status st = auth_->CheckStream(context, Permission::kConnectAgent,
                                           "connect as an agent", &slot, &who);
      !st.ok()) {
    return st;
  }
  AgentMessage first;
  if (!stream->Read(&first)) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "stream ended before hello");
  }
  if (!first.has_hello()) {
    return Invalid("the first message on the agent stream must be a hello");
  }
  const hakd::v1::Hello& hello = first.hello();
  if (absl::Status st = ValidateDeviceName(hello.name(), "hello.name"); !st.ok()) {
    return ToGrpcStatus(st);
  }
  if (absl::Status st = ValidateFacts(hello.facts()); !st.ok()) {
    return ToGrpcStatus(st);
  }
  // A token bound to one device may connect, and so write measurements,
  // only as that device: a stolen board token cannot poison another's data.
  if (!who.device.empty() && who.device != hello.name()) {
    return grpc::Status(
        grpc::StatusCode::PERMISSION_DENIED,
        absl::StrCat("hello.name: '", who.identity, "' is bound to device '",
                     who.device, "' and may not connect as '", hello.name(), "'"));
  }
  const int64_t now = NowUnixMs();
  const std::string fingerprint =
      absl::StrCat(hello.facts().hostname(), "/", hello.facts().arch(), "/",
                   hello.facts().cpu_model());
  // Refuse a second machine using a connected device's name before its facts
  // could overwrite the device's (Attach checks again, race-free).
  if (absl::StatusOr<DeviceRecord> known = store_->FindDevice(hello.name());
      known.ok()) {
    std::shared_ptr<AgentConnection> current = registry_->Find(known->id);
    if (current != nullptr && current->fingerprint() != fingerprint) {
      return grpc::Status(
          grpc::StatusCode::ALREADY_EXISTS,
          absl::StrCat("device name '", hello.name(),
                       "' is already connected from another machine (",
                       current->fingerprint(), "); give this agent another --name"));
    }
  }
  absl::StatusOr<DeviceRecord> device =
      store_->RegisterDevice(hello.name(), hello.facts(), now);
  if (!device.ok()) return ToGrpcStatus(device.status());
  auto conn = std::make_shared<AgentConnection>(device->id, device->name,
                                                fingerprint, context, stream);
  conn->Touch(now);
  if (absl::Status st = registry_->Attach(conn); !st.ok()) {
    return ToGrpcStatus(st);
  }
  LogLine("hakd-server", absl::StrCat("device ", device->name, " (id ", device->id,
                                      ", ", hello.facts().arch(), ") online from ",
                                      context->peer()));
  CoordinatorMessage welcome;
  welcome.mutable_welcome()->set_device_id(device->id);
  welcome.mutable_welcome()->set_heartbeat_timeout_ms(options_.heartbeat_timeout_ms);
  grpc::Status result = grpc::Status::OK;
  if (conn->Send(welcome)) {
    sweeps_->NotifyChange();
    sweeps_->Pump(device->id);
    AgentMessage msg;
    while (result.ok() && stream->Read(&msg)) {
      conn->Touch(NowUnixMs());
      switch (msg.payload_case()) {
        case AgentMessage::kHeartbeat:
          store_->TouchDevice(device->id, NowUnixMs()).IgnoreError();
          if (msg.heartbeat().current_task_id().empty() &&
              msg.heartbeat().queued_tasks() == 0) {
            sweeps_->OnAgentIdle(conn);
          }
          break;
        case AgentMessage::kBatch:
          result = HandleBatch(conn.get(), msg.batch());
          break;
        case AgentMessage::kTaskStatus:
          break;
        case AgentMessage::kHello:
          result = Invalid("hello may be sent only once per stream");
          break;
        default:
          result = Invalid("agent message has no payload");
          break;
      }
    }
  }
  conn->Close();
  registry_->Detach(conn.get());
  store_->TouchDevice(device->id, NowUnixMs()).IgnoreError();
  sweeps_->NotifyChange();
  LogLine("hakd-server", absl::StrCat("device ", device->name, " offline",
                                      result.ok() ? "" : ": ",
                                      result.error_message()));
  return result;
}

grpc::Status AgentServiceImpl::HandleBatch(AgentConnection* connection,
                                           const hakd::v1::MeasurementBatch& batch) {
  CoordinatorMessage reply;
  hakd::v1::BatchAck* ack = reply.mutable_ack();
  ack->set_batch_id(batch.batch_id());
  absl::Status valid = ValidateBatch(batch);
  if (valid.ok()) {
    BatchResult result = committer_->Commit(connection->device_id(), batch);
    const absl::StatusCode code = result.status.code();
    // Problems with the batch itself are answered and the stream goes on;
    // the store failing ends the stream, so the agent keeps the batch and
    // resends it when it reconnects.
    if (code != absl::StatusCode::kOk &&
        code != absl::StatusCode::kInvalidArgument &&
        code != absl::StatusCode::kPermissionDenied) {
      LogLine("hakd-server", absl::StrCat("batch from ", connection->name(),
                                          " not committed: ",
                                          result.status.ToString()));
      return ToGrpcStatus(result.status);
    }
    valid = result.status;
    ack->set_duplicate(result.duplicate);
  }
  if (!valid.ok()) {
    // The agent drops a rejected batch; its sweep items must not wait for it.
    absl::StatusOr<std::set<int64_t>> failed = store_->FailRejectedItems(
        connection->device_id(), batch, std::string(valid.message()), NowUnixMs());
    if (failed.ok() && !failed->empty()) {
      CommitSummary summary;
      summary.sweeps_touched = *failed;
      summary.devices_touched.insert(connection->device_id());
      sweeps_->OnCommitted(summary);
    }
    ack->set_code(static_cast<int>(valid.code()));
    ack->set_message(std::string(valid.message()));
    LogLine("hakd-server", absl::StrCat("rejected batch '", batch.batch_id(),
                                        "' from ", connection->name(), ": ",
                                        valid.ToString()));
  }
  connection->Send(reply);
  return grpc::Status::OK;
}

}  // namespace hakd
