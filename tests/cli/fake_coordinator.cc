#include "fake_coordinator.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <algorithm>

namespace hakd::cli::testing {

using grpc::ServerContext;
using grpc::Status;
using grpc::StatusCode;

Status CheckBearerToken(ServerContext* context, const std::string& token) {
  const auto& metadata = context->client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end() ||
      std::string(it->second.data(), it->second.size()) != "Bearer " + token) {
    return Status(StatusCode::UNAUTHENTICATED, "bad token");
  }
  return Status::OK;
}

Status FakeCoordinator::CheckToken(ServerContext* context) const {
  return CheckBearerToken(context, token);
}

Status FakeCoordinator::FindDevice(const std::string& device,
                                   hakd::v1::Device* out) const {
  for (const hakd::v1::Device& d : devices) {
    if (d.name() == device || std::to_string(d.id()) == device) {
      *out = d;
      return Status::OK;
    }
  }
  return Status(StatusCode::NOT_FOUND, "no device '" + device + "'");
}

hakd::v1::QueryMeasurementsRequest FakeCoordinator::LastQuery() {
  std::lock_guard<std::mutex> lock(mu_);
  return last_query_;
}

hakd::v1::StartSweepRequest FakeCoordinator::LastStart() {
  std::lock_guard<std::mutex> lock(mu_);
  return last_start_;
}

hakd::v1::GetStaircasesRequest FakeCoordinator::LastStaircases() {
  std::lock_guard<std::mutex> lock(mu_);
  return last_staircases_;
}

std::vector<hakd::v1::PredictNetworkRequest>
FakeCoordinator::PredictRequests() {
  std::lock_guard<std::mutex> lock(mu_);
  return predict_requests_;
}

hakd::v1::FitOverheadRequest FakeCoordinator::LastFitOverhead() {
  std::lock_guard<std::mutex> lock(mu_);
  return last_fit_overhead_;
}

Status FakeCoordinator::ListDevices(ServerContext* context,
                                    const hakd::v1::ListDevicesRequest*,
                                    hakd::v1::ListDevicesResponse* response) {
  if (Status s = CheckToken(context); !s.ok()) return s;
  for (const hakd::v1::Device& d : devices) *response->add_devices() = d;
  return Status::OK;
}

Status FakeCoordinator::GetDevice(ServerContext* context,
                                  const hakd::v1::GetDeviceRequest* request,
                                  hakd::v1::Device* response) {
  if (Status s = CheckToken(context); !s.ok()) return s;
  return FindDevice(request->device(), response);
}

Status FakeCoordinator::QueryMeasurements(
    ServerContext* context, const hakd::v1::QueryMeasurementsRequest* request,
    hakd::v1::QueryMeasurementsResponse* response) {
  if (Status s = CheckToken(context); !s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_query_ = *request;
  }
  hakd::v1::Device device;
  if (Status s = FindDevice(request->device(), &device); !s.ok()) return s;
  for (const hakd::v1::Measurement& m : measurements)
    *response->add_measurements() = m;
  response->set_truncated(query_truncated);
  return Status::OK;
}

Status FakeCoordinator::ExportMeasurements(
    ServerContext* context, const hakd::v1::ExportMeasurementsRequest* request,
    grpc::ServerWriter<hakd::v1::MeasurementPage>* writer) {
  if (Status s = CheckToken(context); !s.ok()) return s;
  hakd::v1::Device device;
  if (Status s = FindDevice(request->device(), &device); !s.ok()) return s;
  int pages = 0;
  hakd::v1::MeasurementPage page;
  for (size_t i = 0; i < measurements.size(); ++i) {
    *page.add_measurements() = measurements[i];
    if (page.measurements_size() == export_page_size ||
        i + 1 == measurements.size()) {
      if (pages == export_fail_after_pages) {
        return Status(StatusCode::INTERNAL, "database went away");
      }
      writer->Write(page);
      page.Clear();
      ++pages;
    }
  }
  if (pages == export_fail_after_pages) {
    return Status(StatusCode::INTERNAL, "database went away");
  }
  return Status::OK;
}

Status FakeCoordinator::StartSweep(ServerContext* context,
                                   const hakd::v1::StartSweepRequest* request,
                                   hakd::v1::Sweep* response) {
  if (Status s = CheckToken(context); !s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_start_ = *request;
  }
  if (!start_sweep_status.ok()) return start_sweep_status;
  *response = sweep;
  return Status::OK;
}

Status FakeCoordinator::GetSweep(ServerContext* context,
                                 const hakd::v1::GetSweepRequest* request,
                                 hakd::v1::Sweep* response) {
  if (Status s = CheckToken(context); !s.ok()) return s;
  if (request->sweep_id() != sweep.id()) {
    return Status(StatusCode::NOT_FOUND,
                  "no sweep " + std::to_string(request->sweep_id()));
  }
  *response = sweep;
  return Status::OK;
}

Status FakeCoordinator::ListSweeps(ServerContext* context,
                                   const hakd::v1::ListSweepsRequest*,
                                   hakd::v1::ListSweepsResponse* response) {
  if (Status s = CheckToken(context); !s.ok()) return s;
  for (const hakd::v1::Sweep& s : sweeps) *response->add_sweeps() = s;
  return Status::OK;
}

Status FakeCoordinator::CancelSweep(ServerContext* context,
                                    const hakd::v1::CancelSweepRequest* request,
                                    hakd::v1::Sweep* response) {
  if (Status s = CheckToken(context); !s.ok()) return s;
  *response = sweep;
  response->set_id(request->sweep_id());
  response->set_state(hakd::v1::Sweep::STATE_CANCELLED);
  return Status::OK;
}

Status FakeCoordinator::WatchSweep(
    ServerContext* context, const hakd::v1::GetSweepRequest*,
    grpc::ServerWriter<hakd::v1::Sweep>* writer) {
  if (Status s = CheckToken(context); !s.ok()) return s;
  for (const hakd::v1::Sweep& s : watch_updates) writer->Write(s);
  return Status::OK;
}

Status FakeCoordinator::GetStaircases(
    ServerContext* context, const hakd::v1::GetStaircasesRequest* request,
    hakd::v1::GetStaircasesResponse* response) {
  if (Status s = CheckToken(context); !s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_staircases_ = *request;
  }
  hakd::v1::Device device;
  if (Status s = FindDevice(request->device(), &device); !s.ok()) return s;
  *response = staircases;
  return Status::OK;
}

Status FakeCoordinator::PredictNetwork(
    ServerContext* context, const hakd::v1::PredictNetworkRequest* request,
    hakd::v1::PredictNetworkResponse* response) {
  if (Status s = CheckToken(context); !s.ok()) return s;
  size_t answered = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    predict_requests_.push_back(*request);
    answered = predict_requests_.size() - 1;
  }
  hakd::v1::Device device;
  if (Status s = FindDevice(request->device(), &device); !s.ok()) return s;
  if (predictions.empty()) {
    return Status(StatusCode::INTERNAL, "no canned prediction");
  }
  *response = predictions[std::min(answered, predictions.size() - 1)];
  return Status::OK;
}

Status FakeCoordinator::FitOverhead(ServerContext* context,
                                    const hakd::v1::FitOverheadRequest* request,
                                    hakd::v1::OverheadModel* response) {
  if (Status s = CheckToken(context); !s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_fit_overhead_ = *request;
  }
  hakd::v1::Device device;
  if (Status s = FindDevice(request->device(), &device); !s.ok()) return s;
  if (!fit_overhead_status.ok()) return fit_overhead_status;
  *response = overhead;
  return Status::OK;
}

Status FakeTraining::CheckToken(ServerContext* context) const {
  return CheckBearerToken(context, token);
}

Status FakeTraining::FindTask(int64_t id, hakd::v1::TrainingTask* out) const {
  if (id != task.task_id()) {
    return Status(StatusCode::NOT_FOUND,
                  "no training task " + std::to_string(id));
  }
  *out = task;
  return Status::OK;
}

hakd::v1::SubmitTrainingRequest FakeTraining::LastSubmit() {
  std::lock_guard<std::mutex> lock(mu_);
  return last_submit_;
}

hakd::v1::ListTrainingTasksRequest FakeTraining::LastList() {
  std::lock_guard<std::mutex> lock(mu_);
  return last_list_;
}

Status FakeTraining::SubmitTraining(
    ServerContext* context, const hakd::v1::SubmitTrainingRequest* request,
    hakd::v1::TrainingTask* response) {
  if (Status s = CheckToken(context); !s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_submit_ = *request;
  }
  if (!submit_status.ok()) return submit_status;
  *response = task;
  *response->mutable_spec() = request->spec();
  return Status::OK;
}

Status FakeTraining::GetTrainingTask(
    ServerContext* context, const hakd::v1::GetTrainingTaskRequest* request,
    hakd::v1::TrainingTask* response) {
  if (Status s = CheckToken(context); !s.ok()) return s;
  return FindTask(request->task_id(), response);
}

Status FakeTraining::ListTrainingTasks(
    ServerContext* context, const hakd::v1::ListTrainingTasksRequest* request,
    hakd::v1::ListTrainingTasksResponse* response) {
  if (Status s = CheckToken(context); !s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_list_ = *request;
  }
  for (const hakd::v1::TrainingTask& t : tasks) *response->add_tasks() = t;
  return Status::OK;
}

Status FakeTraining::WatchTrainingTask(
    ServerContext* context, const hakd::v1::GetTrainingTaskRequest* request,
    grpc::ServerWriter<hakd::v1::TrainingTask>* writer) {
  if (Status s = CheckToken(context); !s.ok()) return s;
  hakd::v1::TrainingTask found;
  if (Status s = FindTask(request->task_id(), &found); !s.ok()) return s;
  for (const hakd::v1::TrainingTask& t : watch_updates) writer->Write(t);
  return Status::OK;
}

Status FakeTraining::CancelTrainingTask(
    ServerContext* context, const hakd::v1::GetTrainingTaskRequest* request,
    hakd::v1::TrainingTask* response) {
  if (Status s = CheckToken(context); !s.ok()) return s;
  if (Status s = FindTask(request->task_id(), response); !s.ok()) return s;
  response->set_state(hakd::v1::TASK_CANCELLED);
  return Status::OK;
}

Status FakeTraining::GetArtifact(
    ServerContext* context, const hakd::v1::GetArtifactRequest* request,
    grpc::ServerWriter<hakd::v1::ArtifactChunk>* writer) {
  if (Status s = CheckToken(context); !s.ok()) return s;
  if (request->artifact_id() != artifact.artifact_id()) {
    return Status(StatusCode::NOT_FOUND,
                  "no artifact '" + request->artifact_id() + "'");
  }
  hakd::v1::ArtifactChunk header;
  *header.mutable_header()->mutable_info() = artifact;
  writer->Write(header);
  for (size_t i = 0; i < artifact_data.size(); i += artifact_chunk_size) {
    hakd::v1::ArtifactChunk chunk;
    chunk.set_data(artifact_data.substr(i, artifact_chunk_size));
    writer->Write(chunk);
  }
  return Status::OK;
}

Status FakeTraining::ListWorkers(ServerContext* context,
                                 const hakd::v1::ListWorkersRequest*,
                                 hakd::v1::ListWorkersResponse* response) {
  if (Status s = CheckToken(context); !s.ok()) return s;
  for (const hakd::v1::WorkerInfo& w : workers) *response->add_workers() = w;
  return Status::OK;
}

Status FakeDesign::FindJob(int64_t id, hakd::v1::DesignJob* out) const {
  if (id != job.job_id()) {
    return Status(StatusCode::NOT_FOUND, "no design job " + std::to_string(id));
  }
  *out = job;
  return Status::OK;
}

hakd::v1::SubmitDesignRequest FakeDesign::LastSubmit() {
  std::lock_guard<std::mutex> lock(mu_);
  return last_submit_;
}

hakd::v1::ListDesignsRequest FakeDesign::LastList() {
  std::lock_guard<std::mutex> lock(mu_);
  return last_list_;
}

Status FakeDesign::SubmitDesign(ServerContext* context,
                                const hakd::v1::SubmitDesignRequest* request,
                                hakd::v1::DesignJob* response) {
  if (Status s = CheckBearerToken(context, token); !s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_submit_ = *request;
  }
  if (!submit_status.ok()) return submit_status;
  *response = job;
  *response->mutable_spec() = request->spec();
  return Status::OK;
}

Status FakeDesign::GetDesign(ServerContext* context,
                             const hakd::v1::GetDesignRequest* request,
                             hakd::v1::DesignJob* response) {
  if (Status s = CheckBearerToken(context, token); !s.ok()) return s;
  return FindJob(request->job_id(), response);
}

Status FakeDesign::ListDesigns(ServerContext* context,
                               const hakd::v1::ListDesignsRequest* request,
                               hakd::v1::ListDesignsResponse* response) {
  if (Status s = CheckBearerToken(context, token); !s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_list_ = *request;
  }
  for (const hakd::v1::DesignJob& j : jobs) *response->add_jobs() = j;
  return Status::OK;
}

Status FakeDesign::WatchDesign(
    ServerContext* context, const hakd::v1::GetDesignRequest* request,
    grpc::ServerWriter<hakd::v1::DesignJob>* writer) {
  if (Status s = CheckBearerToken(context, token); !s.ok()) return s;
  hakd::v1::DesignJob found;
  if (Status s = FindJob(request->job_id(), &found); !s.ok()) return s;
  for (const hakd::v1::DesignJob& j : watch_updates) writer->Write(j);
  return Status::OK;
}

Status FakeDesign::CancelDesign(ServerContext* context,
                                const hakd::v1::GetDesignRequest* request,
                                hakd::v1::DesignJob* response) {
  if (Status s = CheckBearerToken(context, token); !s.ok()) return s;
  if (Status s = FindJob(request->job_id(), response); !s.ok()) return s;
  response->set_state(hakd::v1::DESIGN_CANCELLED);
  return Status::OK;
}

Status FakeAdmin::Backup(ServerContext* context, const hakd::v1::BackupRequest*,
                         grpc::ServerWriter<hakd::v1::BackupChunk>* writer) {
  if (Status s = CheckBearerToken(context, token); !s.ok()) return s;
  if (!status.ok()) return status;
  hakd::v1::BackupChunk first;
  *first.mutable_info() = info;
  writer->Write(first);
  for (size_t at = 0; at < data.size(); at += chunk_size) {
    hakd::v1::BackupChunk chunk;
    chunk.set_data(data.substr(at, chunk_size));
    writer->Write(chunk);
  }
  return Status::OK;
}

FakeServer::FakeServer() {
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(&service_);
  builder.RegisterService(&training_);
  builder.RegisterService(&design_);
  builder.RegisterService(&admin_);
  server_ = builder.BuildAndStart();
  address_ = "127.0.0.1:" + std::to_string(port);
}

FakeServer::~FakeServer() { server_->Shutdown(); }

}  // namespace hakd::cli::testing
