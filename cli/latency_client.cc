#include "cli/latency_client.h"

#include <chrono>

#include "cli/errors.h"
#include "common/grpc_client.h"

namespace hakd::cli {

using hakd::v1::LatencyService;

absl::StatusOr<std::unique_ptr<LatencyClient>> LatencyClient::Create(
    const GlobalOptions& options) {
  if (options.token_file.empty()) {
    return UsageError(
        "--token-file (or HAKD_TOKEN_FILE) is required to talk to the "
        "coordinator");
  }
  absl::StatusOr<std::string> token = ReadTokenFile(options.token_file);
  if (!token.ok()) return WithExitCode(token.status(), kExitUsage);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      CreateClientChannel(options.client);
  if (!channel.ok()) return WithExitCode(channel.status(), kExitUsage);
  return std::make_unique<LatencyClient>(
      LatencyService::NewStub(*channel), *std::move(token),
      CallTarget{options.client.server, options.token_file,
                 options.timeout_seconds},
      hakd::v1::TrainingService::NewStub(*channel),
      hakd::v1::DesignService::NewStub(*channel),
      hakd::v1::AdminService::NewStub(*channel));
}

LatencyClient::LatencyClient(
    std::unique_ptr<LatencyService::StubInterface> stub, std::string token,
    CallTarget target,
    std::unique_ptr<hakd::v1::TrainingService::StubInterface> training,
    std::unique_ptr<hakd::v1::DesignService::StubInterface> design,
    std::unique_ptr<hakd::v1::AdminService::StubInterface> admin)
    : stub_(std::move(stub)),
      training_(std::move(training)),
      design_(std::move(design)),
      admin_(std::move(admin)),
      token_(std::move(token)),
      target_(std::move(target)) {}

absl::Status LatencyClient::NeedTraining() const {
  if (training_ != nullptr) return absl::OkStatus();
  return absl::UnimplementedError("this client has no TrainingService");
}

absl::Status LatencyClient::NeedDesign() const {
  if (design_ != nullptr) return absl::OkStatus();
  return absl::UnimplementedError("this client has no DesignService");
}

absl::Status LatencyClient::NeedAdmin() const {
  if (admin_ != nullptr) return absl::OkStatus();
  return absl::UnimplementedError("this client has no AdminService");
}

void LatencyClient::Prepare(grpc::ClientContext* context, bool unary) const {
  AddBearerToken(context, token_);
  // An unreachable coordinator should fail now with UNAVAILABLE, not hang
  // until a deadline; streams have none at all.
  context->set_wait_for_ready(false);
  if (unary) {
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::microseconds(static_cast<int64_t>(
                              target_.timeout_seconds * 1e6)));
  }
}

template <typename Response, typename Call>
absl::StatusOr<Response> LatencyClient::Unary(absl::string_view action,
                                              Call call) {
  grpc::ClientContext context;
  Prepare(&context, /*unary=*/true);
  Response response;
  const grpc::Status status = call(&context, &response);
  if (!status.ok()) return RpcFailure(status, target_, action);
  return response;
}

template <typename Message, typename Open>
absl::Status LatencyClient::Stream(absl::string_view action, Open open,
                                   const StreamHandler<Message>& handler) {
  grpc::ClientContext context;
  Prepare(&context, /*unary=*/false);
  std::unique_ptr<grpc::ClientReaderInterface<Message>> reader = open(&context);
  Message message;
  absl::StatusOr<bool> more = true;
  while (reader->Read(&message)) {
    more = handler(message);
    if (!more.ok() || !*more) {
      // Stop the server's work too; Finish then reports CANCELLED, which is
      // our doing and not worth showing.
      context.TryCancel();
      while (reader->Read(&message)) {
      }
      reader->Finish();
      return more.ok() ? absl::OkStatus() : more.status();
    }
  }
  return RpcFailure(reader->Finish(), target_, action);
}

absl::StatusOr<hakd::v1::ListDevicesResponse> LatencyClient::ListDevices() {
  return Unary<hakd::v1::ListDevicesResponse>(
      "list devices", [&](grpc::ClientContext* c, auto* r) {
        return stub_->ListDevices(c, hakd::v1::ListDevicesRequest(), r);
      });
}

absl::StatusOr<hakd::v1::Device> LatencyClient::GetDevice(
    const std::string& device) {
  hakd::v1::GetDeviceRequest request;
  request.set_device(device);
  return Unary<hakd::v1::Device>("read devices",
                                 [&](grpc::ClientContext* c, auto* r) {
                                   return stub_->GetDevice(c, request, r);
                                 });
}

absl::StatusOr<hakd::v1::QueryMeasurementsResponse>
LatencyClient::QueryMeasurements(
    const hakd::v1::QueryMeasurementsRequest& request) {
  return Unary<hakd::v1::QueryMeasurementsResponse>(
      "query measurements", [&](grpc::ClientContext* c, auto* r) {
        return stub_->QueryMeasurements(c, request, r);
      });
}

absl::Status LatencyClient::ExportMeasurements(
    const hakd::v1::ExportMeasurementsRequest& request,
    const StreamHandler<hakd::v1::MeasurementPage>& on_page) {
  return Stream<hakd::v1::MeasurementPage>(
      "export measurements",
      [&](grpc::ClientContext* c) {
        return stub_->ExportMeasurements(c, request);
      },
      on_page);
}

absl::StatusOr<hakd::v1::Sweep> LatencyClient::StartSweep(
    const hakd::v1::StartSweepRequest& request) {
  return Unary<hakd::v1::Sweep>("start sweeps",
                                [&](grpc::ClientContext* c, auto* r) {
                                  return stub_->StartSweep(c, request, r);
                                });
}

absl::StatusOr<hakd::v1::Sweep> LatencyClient::GetSweep(int64_t sweep_id) {
  hakd::v1::GetSweepRequest request;
  request.set_sweep_id(sweep_id);
  return Unary<hakd::v1::Sweep>("read sweeps",
                                [&](grpc::ClientContext* c, auto* r) {
                                  return stub_->GetSweep(c, request, r);
                                });
}

absl::StatusOr<hakd::v1::ListSweepsResponse> LatencyClient::ListSweeps(
    const std::string& device) {
  hakd::v1::ListSweepsRequest request;
  request.set_device(device);
  return Unary<hakd::v1::ListSweepsResponse>(
      "list sweeps", [&](grpc::ClientContext* c, auto* r) {
        return stub_->ListSweeps(c, request, r);
      });
}

absl::StatusOr<hakd::v1::Sweep> LatencyClient::CancelSweep(int64_t sweep_id) {
  hakd::v1::CancelSweepRequest request;
  request.set_sweep_id(sweep_id);
  return Unary<hakd::v1::Sweep>("cancel sweeps",
                                [&](grpc::ClientContext* c, auto* r) {
                                  return stub_->CancelSweep(c, request, r);
                                });
}

absl::Status LatencyClient::WatchSweep(
    int64_t sweep_id, const StreamHandler<hakd::v1::Sweep>& on_update) {
  hakd::v1::GetSweepRequest request;
  request.set_sweep_id(sweep_id);
  return Stream<hakd::v1::Sweep>(
      "watch sweeps",
      [&](grpc::ClientContext* c) { return stub_->WatchSweep(c, request); },
      on_update);
}

absl::StatusOr<hakd::v1::GetStaircasesResponse> LatencyClient::GetStaircases(
    const hakd::v1::GetStaircasesRequest& request) {
  return Unary<hakd::v1::GetStaircasesResponse>(
      "read staircases", [&](grpc::ClientContext* c, auto* r) {
        return stub_->GetStaircases(c, request, r);
      });
}

absl::StatusOr<hakd::v1::PredictNetworkResponse> LatencyClient::PredictNetwork(
    const hakd::v1::PredictNetworkRequest& request) {
  // measure_missing also starts a sweep, which a read-only role may not.
  return Unary<hakd::v1::PredictNetworkResponse>(
      request.measure_missing() ? "measure missing units (start sweeps)"
                                : "predict latency",
      [&](grpc::ClientContext* c, auto* r) {
        return stub_->PredictNetwork(c, request, r);
      });
}

absl::StatusOr<hakd::v1::OverheadModel> LatencyClient::FitOverhead(
    const hakd::v1::FitOverheadRequest& request) {
  return Unary<hakd::v1::OverheadModel>(
      "fit overheads", [&](grpc::ClientContext* c, auto* r) {
        return stub_->FitOverhead(c, request, r);
      });
}

// ---- TrainingService ----

absl::StatusOr<hakd::v1::TrainingTask> LatencyClient::SubmitTraining(
    const hakd::v1::SubmitTrainingRequest& request) {
  if (absl::Status s = NeedTraining(); !s.ok()) return s;
  return Unary<hakd::v1::TrainingTask>(
      "submit training tasks", [&](grpc::ClientContext* c, auto* r) {
        return training_->SubmitTraining(c, request, r);
      });
}

absl::StatusOr<hakd::v1::TrainingTask> LatencyClient::GetTrainingTask(
    int64_t task_id) {
  if (absl::Status s = NeedTraining(); !s.ok()) return s;
  hakd::v1::GetTrainingTaskRequest request;
  request.set_task_id(task_id);
  return Unary<hakd::v1::TrainingTask>(
      "read training tasks", [&](grpc::ClientContext* c, auto* r) {
        return training_->GetTrainingTask(c, request, r);
      });
}

absl::StatusOr<hakd::v1::ListTrainingTasksResponse>
LatencyClient::ListTrainingTasks(
    const hakd::v1::ListTrainingTasksRequest& request) {
  if (absl::Status s = NeedTraining(); !s.ok()) return s;
  return Unary<hakd::v1::ListTrainingTasksResponse>(
      "list training tasks", [&](grpc::ClientContext* c, auto* r) {
        return training_->ListTrainingTasks(c, request, r);
      });
}

absl::Status LatencyClient::WatchTrainingTask(
    int64_t task_id, const StreamHandler<hakd::v1::TrainingTask>& on_update) {
  if (absl::Status s = NeedTraining(); !s.ok()) return s;
  hakd::v1::GetTrainingTaskRequest request;
  request.set_task_id(task_id);
  return Stream<hakd::v1::TrainingTask>(
      "watch training tasks",
      [&](grpc::ClientContext* c) {
        return training_->WatchTrainingTask(c, request);
      },
      on_update);
}

absl::StatusOr<hakd::v1::TrainingTask> LatencyClient::CancelTrainingTask(
    int64_t task_id) {
  if (absl::Status s = NeedTraining(); !s.ok()) return s;
  hakd::v1::GetTrainingTaskRequest request;
  request.set_task_id(task_id);
  return Unary<hakd::v1::TrainingTask>(
      "cancel training tasks", [&](grpc::ClientContext* c, auto* r) {
        return training_->CancelTrainingTask(c, request, r);
      });
}

absl::Status LatencyClient::GetArtifact(
    const std::string& artifact_id,
    const StreamHandler<hakd::v1::ArtifactChunk>& on_chunk) {
  if (absl::Status s = NeedTraining(); !s.ok()) return s;
  hakd::v1::GetArtifactRequest request;
  request.set_artifact_id(artifact_id);
  return Stream<hakd::v1::ArtifactChunk>(
      "download artifacts",
      [&](grpc::ClientContext* c) { return training_->GetArtifact(c, request); },
      on_chunk);
}

absl::StatusOr<hakd::v1::ListWorkersResponse> LatencyClient::ListWorkers() {
  if (absl::Status s = NeedTraining(); !s.ok()) return s;
  return Unary<hakd::v1::ListWorkersResponse>(
      "list workers", [&](grpc::ClientContext* c, auto* r) {
        return training_->ListWorkers(c, hakd::v1::ListWorkersRequest(), r);
      });
}

// ---- DesignService ----

absl::StatusOr<hakd::v1::DesignJob> LatencyClient::SubmitDesign(
    const hakd::v1::SubmitDesignRequest& request) {
  if (absl::Status s = NeedDesign(); !s.ok()) return s;
  return Unary<hakd::v1::DesignJob>(
      "submit design jobs", [&](grpc::ClientContext* c, auto* r) {
        return design_->SubmitDesign(c, request, r);
      });
}

absl::StatusOr<hakd::v1::DesignJob> LatencyClient::GetDesign(int64_t job_id) {
  if (absl::Status s = NeedDesign(); !s.ok()) return s;
  hakd::v1::GetDesignRequest request;
  request.set_job_id(job_id);
  return Unary<hakd::v1::DesignJob>("read design jobs",
                                    [&](grpc::ClientContext* c, auto* r) {
                                      return design_->GetDesign(c, request, r);
                                    });
}

absl::StatusOr<hakd::v1::ListDesignsResponse> LatencyClient::ListDesigns(
    int32_t limit) {
  if (absl::Status s = NeedDesign(); !s.ok()) return s;
  hakd::v1::ListDesignsRequest request;
  request.set_limit(limit);
  return Unary<hakd::v1::ListDesignsResponse>(
      "list design jobs", [&](grpc::ClientContext* c, auto* r) {
        return design_->ListDesigns(c, request, r);
      });
}

absl::Status LatencyClient::WatchDesign(
    int64_t job_id, const StreamHandler<hakd::v1::DesignJob>& on_update) {
  if (absl::Status s = NeedDesign(); !s.ok()) return s;
  hakd::v1::GetDesignRequest request;
  request.set_job_id(job_id);
  return Stream<hakd::v1::DesignJob>(
      "watch design jobs",
      [&](grpc::ClientContext* c) { return design_->WatchDesign(c, request); },
      on_update);
}

absl::StatusOr<hakd::v1::DesignJob> LatencyClient::CancelDesign(
    int64_t job_id) {
  if (absl::Status s = NeedDesign(); !s.ok()) return s;
  hakd::v1::GetDesignRequest request;
  request.set_job_id(job_id);
  return Unary<hakd::v1::DesignJob>(
      "cancel design jobs", [&](grpc::ClientContext* c, auto* r) {
        return design_->CancelDesign(c, request, r);
      });
}

// ---- AdminService ----

absl::Status LatencyClient::Backup(
    const StreamHandler<hakd::v1::BackupChunk>& on_chunk) {
  if (absl::Status s = NeedAdmin(); !s.ok()) return s;
  return Stream<hakd::v1::BackupChunk>(
      "take backups",
      [&](grpc::ClientContext* c) {
        return admin_->Backup(c, hakd::v1::BackupRequest());
      },
      on_chunk);
}

}  // namespace hakd::cli
