// An in-process LatencyService (and TrainingService, DesignService) with
// canned answers, so hakdctl's commands can
// be run whole (parsing, token, channel, output, exit code) without the real
// coordinator. It checks the bearer token like the real one and records the
// last request of each kind for the tests to inspect.
#ifndef HAKD_TESTS_CLI_FAKE_COORDINATOR_H_
#define HAKD_TESTS_CLI_FAKE_COORDINATOR_H_

#include <grpcpp/server.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hakd/v1/admin_service.grpc.pb.h"
#include "hakd/v1/design.grpc.pb.h"
#include "hakd/v1/latency_service.grpc.pb.h"
#include "hakd/v1/training.grpc.pb.h"

namespace hakd::cli::testing {

// UNAUTHENTICATED unless the call carries "Bearer <token>", as the real
// coordinator answers.
grpc::Status CheckBearerToken(grpc::ServerContext* context,
                              const std::string& token);

// The canned service. Configure the public fields before calls are made.
class FakeCoordinator final : public hakd::v1::LatencyService::Service {
 public:
  std::string token = "secret-token";
  std::vector<hakd::v1::Device> devices;
  std::vector<hakd::v1::Measurement> measurements;
  bool query_truncated = false;
  int export_page_size = 2;
  // Export fails with this status after sending this many pages (-1: never).
  int export_fail_after_pages = -1;
  std::vector<hakd::v1::Sweep> watch_updates;  // sent in order, then OK
  hakd::v1::Sweep sweep;                       // answer of Start/Get/Cancel
  std::vector<hakd::v1::Sweep> sweeps;         // answer of ListSweeps
  grpc::Status start_sweep_status;             // e.g. PERMISSION_DENIED
  hakd::v1::GetStaircasesResponse staircases;
  // Answers of PredictNetwork in order; the last one repeats.
  std::vector<hakd::v1::PredictNetworkResponse> predictions;
  hakd::v1::OverheadModel overhead;  // answer of FitOverhead
  grpc::Status fit_overhead_status;  // e.g. FAILED_PRECONDITION

  // The last requests seen.
  hakd::v1::QueryMeasurementsRequest LastQuery();
  hakd::v1::StartSweepRequest LastStart();
  hakd::v1::GetStaircasesRequest LastStaircases();
  // Every PredictNetwork request, in order.
  std::vector<hakd::v1::PredictNetworkRequest> PredictRequests();
  hakd::v1::FitOverheadRequest LastFitOverhead();

  grpc::Status ListDevices(grpc::ServerContext* context,
                           const hakd::v1::ListDevicesRequest* request,
                           hakd::v1::ListDevicesResponse* response) override;
  grpc::Status GetDevice(grpc::ServerContext* context,
                         const hakd::v1::GetDeviceRequest* request,
                         hakd::v1::Device* response) override;
  grpc::Status QueryMeasurements(
      grpc::ServerContext* context,
      const hakd::v1::QueryMeasurementsRequest* request,
      hakd::v1::QueryMeasurementsResponse* response) override;
  grpc::Status ExportMeasurements(
      grpc::ServerContext* context,
      const hakd::v1::ExportMeasurementsRequest* request,
      grpc::ServerWriter<hakd::v1::MeasurementPage>* writer) override;
  grpc::Status StartSweep(grpc::ServerContext* context,
                          const hakd::v1::StartSweepRequest* request,
                          hakd::v1::Sweep* response) override;
  grpc::Status GetSweep(grpc::ServerContext* context,
                        const hakd::v1::GetSweepRequest* request,
                        hakd::v1::Sweep* response) override;
  grpc::Status ListSweeps(grpc::ServerContext* context,
                          const hakd::v1::ListSweepsRequest* request,
                          hakd::v1::ListSweepsResponse* response) override;
  grpc::Status CancelSweep(grpc::ServerContext* context,
                           const hakd::v1::CancelSweepRequest* request,
                           hakd::v1::Sweep* response) override;
  grpc::Status WatchSweep(grpc::ServerContext* context,
                          const hakd::v1::GetSweepRequest* request,
                          grpc::ServerWriter<hakd::v1::Sweep>* writer) override;
  grpc::Status GetStaircases(
      grpc::ServerContext* context,
      const hakd::v1::GetStaircasesRequest* request,
      hakd::v1::GetStaircasesResponse* response) override;
  grpc::Status PredictNetwork(
      grpc::ServerContext* context,
      const hakd::v1::PredictNetworkRequest* request,
      hakd::v1::PredictNetworkResponse* response) override;
  grpc::Status FitOverhead(grpc::ServerContext* context,
                           const hakd::v1::FitOverheadRequest* request,
                           hakd::v1::OverheadModel* response) override;

 private:
  // UNAUTHENTICATED unless the call carries "Bearer <token>".
  grpc::Status CheckToken(grpc::ServerContext* context) const;
  // The device named by id or name, or NOT_FOUND "no device 'x'".
  grpc::Status FindDevice(const std::string& device,
                          hakd::v1::Device* out) const;

  std::mutex mu_;
  hakd::v1::QueryMeasurementsRequest last_query_;
  hakd::v1::StartSweepRequest last_start_;
  hakd::v1::GetStaircasesRequest last_staircases_;
  std::vector<hakd::v1::PredictNetworkRequest> predict_requests_;
  hakd::v1::FitOverheadRequest last_fit_overhead_;
};

// The canned TrainingService, served beside FakeCoordinator.
class FakeTraining final : public hakd::v1::TrainingService::Service {
 public:
  std::string token = "secret-token";
  hakd::v1::TrainingTask task;                 // Submit/Get/Cancel answer
  std::vector<hakd::v1::TrainingTask> tasks;   // ListTrainingTasks answer
  std::vector<hakd::v1::TrainingTask> watch_updates;  // sent in order, then OK
  grpc::Status submit_status;                  // e.g. NOT_FOUND teacher
  // GetArtifact: the header's info, then `artifact_data` in chunks of
  // `artifact_chunk_size` bytes. Unknown ids are NOT_FOUND.
  hakd::v1::ArtifactInfo artifact;
  std::string artifact_data;
  size_t artifact_chunk_size = 4;
  std::vector<hakd::v1::WorkerInfo> workers;

  // The last requests seen.
  hakd::v1::SubmitTrainingRequest LastSubmit();
  hakd::v1::ListTrainingTasksRequest LastList();

  grpc::Status SubmitTraining(grpc::ServerContext* context,
                              const hakd::v1::SubmitTrainingRequest* request,
                              hakd::v1::TrainingTask* response) override;
  grpc::Status GetTrainingTask(grpc::ServerContext* context,
                               const hakd::v1::GetTrainingTaskRequest* request,
                               hakd::v1::TrainingTask* response) override;
  grpc::Status ListTrainingTasks(
      grpc::ServerContext* context,
      const hakd::v1::ListTrainingTasksRequest* request,
      hakd::v1::ListTrainingTasksResponse* response) override;
  grpc::Status WatchTrainingTask(
      grpc::ServerContext* context,
      const hakd::v1::GetTrainingTaskRequest* request,
      grpc::ServerWriter<hakd::v1::TrainingTask>* writer) override;
  grpc::Status CancelTrainingTask(
      grpc::ServerContext* context,
      const hakd::v1::GetTrainingTaskRequest* request,
      hakd::v1::TrainingTask* response) override;
  grpc::Status GetArtifact(
      grpc::ServerContext* context, const hakd::v1::GetArtifactRequest* request,
      grpc::ServerWriter<hakd::v1::ArtifactChunk>* writer) override;
  grpc::Status ListWorkers(grpc::ServerContext* context,
                           const hakd::v1::ListWorkersRequest* request,
                           hakd::v1::ListWorkersResponse* response) override;

 private:
  grpc::Status CheckToken(grpc::ServerContext* context) const;
  grpc::Status FindTask(int64_t id, hakd::v1::TrainingTask* out) const;

  std::mutex mu_;
  hakd::v1::SubmitTrainingRequest last_submit_;
  hakd::v1::ListTrainingTasksRequest last_list_;
};

// The canned DesignService, served beside FakeCoordinator.
class FakeDesign final : public hakd::v1::DesignService::Service {
 public:
  std::string token = "secret-token";
  hakd::v1::DesignJob job;                         // Submit/Get/Cancel answer
  std::vector<hakd::v1::DesignJob> jobs;           // ListDesigns answer
  std::vector<hakd::v1::DesignJob> watch_updates;  // sent in order, then OK
  grpc::Status submit_status;                      // e.g. NOT_FOUND device

  // The last requests seen.
  hakd::v1::SubmitDesignRequest LastSubmit();
  hakd::v1::ListDesignsRequest LastList();

  grpc::Status SubmitDesign(grpc::ServerContext* context,
                            const hakd::v1::SubmitDesignRequest* request,
                            hakd::v1::DesignJob* response) override;
  grpc::Status GetDesign(grpc::ServerContext* context,
                         const hakd::v1::GetDesignRequest* request,
                         hakd::v1::DesignJob* response) override;
  grpc::Status ListDesigns(grpc::ServerContext* context,
                           const hakd::v1::ListDesignsRequest* request,
                           hakd::v1::ListDesignsResponse* response) override;
  grpc::Status WatchDesign(
      grpc::ServerContext* context, const hakd::v1::GetDesignRequest* request,
      grpc::ServerWriter<hakd::v1::DesignJob>* writer) override;
  grpc::Status CancelDesign(grpc::ServerContext* context,
                            const hakd::v1::GetDesignRequest* request,
                            hakd::v1::DesignJob* response) override;

 private:
  // `job` when `id` is its id, else NOT_FOUND "no design job ID".
  grpc::Status FindJob(int64_t id, hakd::v1::DesignJob* out) const;

  std::mutex mu_;
  hakd::v1::SubmitDesignRequest last_submit_;
  hakd::v1::ListDesignsRequest last_list_;
};

// The canned AdminService, served beside FakeCoordinator.
class FakeAdmin final : public hakd::v1::AdminService::Service {
 public:
  std::string token = "secret-token";
  // Backup: `info` first, then `data` in chunks of `chunk_size` bytes; or
  // only `status` when it is not OK (e.g. ABORTED).
  hakd::v1::BackupInfo info;
  std::string data;
  size_t chunk_size = 4;
  grpc::Status status;

  grpc::Status Backup(
      grpc::ServerContext* context, const hakd::v1::BackupRequest* request,
      grpc::ServerWriter<hakd::v1::BackupChunk>* writer) override;
};

// Serves a FakeCoordinator, a FakeTraining, a FakeDesign and a FakeAdmin on
// a free loopback port for the test's lifetime.
class FakeServer {
 public:
  FakeServer();
  ~FakeServer();
  FakeCoordinator& service() { return service_; }
  FakeTraining& training() { return training_; }
  FakeDesign& design() { return design_; }
  FakeAdmin& admin() { return admin_; }
  // "127.0.0.1:PORT".
  const std::string& address() const { return address_; }

 private:
  FakeCoordinator service_;
  FakeTraining training_;
  FakeDesign design_;
  FakeAdmin admin_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace hakd::cli::testing

#endif  // HAKD_TESTS_CLI_FAKE_COORDINATOR_H_
