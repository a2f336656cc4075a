// LatencyServiceImpl: queries of the latency database and control of sweeps,
// for hakdctl and other tools.
#ifndef HAKD_SERVER_LATENCY_SERVICE_H_
#define HAKD_SERVER_LATENCY_SERVICE_H_

#include "hakd/v1/latency_service.grpc.pb.h"
#include "server/agent_registry.h"
#include "server/auth.h"
#include "server/latency_store.h"
#include "server/sweep_manager.h"

namespace hakd {

class LatencyServiceImpl final : public hakd::v1::LatencyService::Service {
 public:
  LatencyServiceImpl(const Authorizer* auth, LatencyStore* store,
                     AgentRegistry* registry, SweepManager* sweeps)
      : auth_(auth), store_(store), registry_(registry), sweeps_(sweeps) {}

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
  grpc::Status GetStaircases(grpc::ServerContext* context,
                             const hakd::v1::GetStaircasesRequest* request,
                             hakd::v1::GetStaircasesResponse* response) override;

  // In latency_service_predict.cc.
  grpc::Status PredictNetwork(grpc::ServerContext* context,
                              const hakd::v1::PredictNetworkRequest* request,
                              hakd::v1::PredictNetworkResponse* response) override;
  grpc::Status FitOverhead(grpc::ServerContext* context,
                           const hakd::v1::FitOverheadRequest* request,
                           hakd::v1::OverheadModel* response) override;

 private:
  // Fills a Device from its record plus online state and counts.
  grpc::Status DescribeDevice(const DeviceRecord& record, hakd::v1::Device* out);

  const Authorizer* const auth_;
  LatencyStore* const store_;
  AgentRegistry* const registry_;
  SweepManager* const sweeps_;
};

}  // namespace hakd

#endif  // HAKD_SERVER_LATENCY_SERVICE_H_
