// hakdctl's connection to the coordinator's LatencyService,
// TrainingService, DesignService and AdminService (one channel, one token). Every call
// carries the bearer token, fails fast when the server is unreachable (no
// wait-for-ready), and unary calls carry the --timeout deadline; streams do
// not, because a watch or a large export may rightly last hours. Failures come
// back already phrased for the user (see rpc_errors.h).
#ifndef HAKD_CLI_LATENCY_CLIENT_H_
#define HAKD_CLI_LATENCY_CLIENT_H_

#include <grpcpp/client_context.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cli/global_options.h"
#include "cli/rpc_errors.h"
#include "hakd/v1/admin_service.grpc.pb.h"
#include "hakd/v1/design.grpc.pb.h"
#include "hakd/v1/latency_service.grpc.pb.h"
#include "hakd/v1/training.grpc.pb.h"

namespace hakd::cli {

// Synchronous client of LatencyService, TrainingService and DesignService.
class LatencyClient {
 public:
  // Called for each message of a stream. Returns whether to keep reading:
  // false ends the call early with OK (the caller has what it needs); a
  // failure cancels the stream and becomes the call's result.
  template <typename Message>
  using StreamHandler = std::function<absl::StatusOr<bool>(const Message&)>;

  // Reads the token file and opens a channel per `options` (no traffic yet).
  // Problems with the flags or files are usage errors (exit 2).
  static absl::StatusOr<std::unique_ptr<LatencyClient>> Create(
      const GlobalOptions& options);

  // Uses `stub` (tests may pass their own) with `token` for every call.
  // `training`, `design` and `admin` may be null (tests of latency commands
  // only); their calls then fail with UNIMPLEMENTED.
  LatencyClient(
      std::unique_ptr<hakd::v1::LatencyService::StubInterface> stub,
      std::string token, CallTarget target,
      std::unique_ptr<hakd::v1::TrainingService::StubInterface> training =
          nullptr,
      std::unique_ptr<hakd::v1::DesignService::StubInterface> design = nullptr,
      std::unique_ptr<hakd::v1::AdminService::StubInterface> admin = nullptr);

  // ListDevices.
  absl::StatusOr<hakd::v1::ListDevicesResponse> ListDevices();
  // GetDevice of `device` (id or name).
  absl::StatusOr<hakd::v1::Device> GetDevice(const std::string& device);
  // QueryMeasurements.
  absl::StatusOr<hakd::v1::QueryMeasurementsResponse> QueryMeasurements(
      const hakd::v1::QueryMeasurementsRequest& request);
  // ExportMeasurements; `on_page` sees every page in order.
  absl::Status ExportMeasurements(
      const hakd::v1::ExportMeasurementsRequest& request,
      const StreamHandler<hakd::v1::MeasurementPage>& on_page);
  // StartSweep.
  absl::StatusOr<hakd::v1::Sweep> StartSweep(
      const hakd::v1::StartSweepRequest& request);
  // GetSweep.
  absl::StatusOr<hakd::v1::Sweep> GetSweep(int64_t sweep_id);
  // ListSweeps of `device`, or of all devices when empty.
  absl::StatusOr<hakd::v1::ListSweepsResponse> ListSweeps(
      const std::string& device);
  // CancelSweep.
  absl::StatusOr<hakd::v1::Sweep> CancelSweep(int64_t sweep_id);
  // WatchSweep; `on_update` sees every state the server sends.
  absl::Status WatchSweep(int64_t sweep_id,
                          const StreamHandler<hakd::v1::Sweep>& on_update);
  // GetStaircases.
  absl::StatusOr<hakd::v1::GetStaircasesResponse> GetStaircases(
      const hakd::v1::GetStaircasesRequest& request);
  // PredictNetwork.
  absl::StatusOr<hakd::v1::PredictNetworkResponse> PredictNetwork(
      const hakd::v1::PredictNetworkRequest& request);
  // FitOverhead.
  absl::StatusOr<hakd::v1::OverheadModel> FitOverhead(
      const hakd::v1::FitOverheadRequest& request);

  // ---- TrainingService ----
  // SubmitTraining.
  absl::StatusOr<hakd::v1::TrainingTask> SubmitTraining(
      const hakd::v1::SubmitTrainingRequest& request);
  // GetTrainingTask.
  absl::StatusOr<hakd::v1::TrainingTask> GetTrainingTask(int64_t task_id);
  // ListTrainingTasks.
  absl::StatusOr<hakd::v1::ListTrainingTasksResponse> ListTrainingTasks(
      const hakd::v1::ListTrainingTasksRequest& request);
  // WatchTrainingTask; `on_update` sees every state the server sends.
  absl::Status WatchTrainingTask(
      int64_t task_id, const StreamHandler<hakd::v1::TrainingTask>& on_update);
  // CancelTrainingTask.
  absl::StatusOr<hakd::v1::TrainingTask> CancelTrainingTask(int64_t task_id);
  // GetArtifact; `on_chunk` sees the header chunk, then every data chunk.
  absl::Status GetArtifact(
      const std::string& artifact_id,
      const StreamHandler<hakd::v1::ArtifactChunk>& on_chunk);
  // ListWorkers.
  absl::StatusOr<hakd::v1::ListWorkersResponse> ListWorkers();

  // ---- DesignService ----
  // SubmitDesign.
  absl::StatusOr<hakd::v1::DesignJob> SubmitDesign(
      const hakd::v1::SubmitDesignRequest& request);
  // GetDesign.
  absl::StatusOr<hakd::v1::DesignJob> GetDesign(int64_t job_id);
  // ListDesigns, newest first; `limit` 0 keeps the server's default.
  absl::StatusOr<hakd::v1::ListDesignsResponse> ListDesigns(int32_t limit);
  // WatchDesign; `on_update` sees every state the server sends.
  absl::Status WatchDesign(int64_t job_id,
                           const StreamHandler<hakd::v1::DesignJob>& on_update);
  // CancelDesign.
  absl::StatusOr<hakd::v1::DesignJob> CancelDesign(int64_t job_id);

  // ---- AdminService ----
  // Backup; `on_chunk` sees the info chunk, then every data chunk. No
  // deadline: a large database takes as long as it takes.
  absl::Status Backup(const StreamHandler<hakd::v1::BackupChunk>& on_chunk);

 private:
  // The training stub, or UNIMPLEMENTED when this client has none.
  absl::Status NeedTraining() const;
  // The design stub, or UNIMPLEMENTED when this client has none.
  absl::Status NeedDesign() const;
  // The admin stub, or UNIMPLEMENTED when this client has none.
  absl::Status NeedAdmin() const;
  // Token, fail-fast and (for unary calls) the deadline.
  void Prepare(grpc::ClientContext* context, bool unary) const;
  // Runs a unary call and phrases its failure with `action`.
  template <typename Response, typename Call>
  absl::StatusOr<Response> Unary(absl::string_view action, Call call);
  // Drains a server stream into `handler`.
  template <typename Message, typename Open>
  absl::Status Stream(absl::string_view action, Open open,
                      const StreamHandler<Message>& handler);

  std::unique_ptr<hakd::v1::LatencyService::StubInterface> stub_;
  std::unique_ptr<hakd::v1::TrainingService::StubInterface> training_;
  std::unique_ptr<hakd::v1::DesignService::StubInterface> design_;
  std::unique_ptr<hakd::v1::AdminService::StubInterface> admin_;
  std::string token_;
  CallTarget target_;
};

}  // namespace hakd::cli

#endif  // HAKD_CLI_LATENCY_CLIENT_H_
