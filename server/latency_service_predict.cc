// LatencyService.PredictNetwork and FitOverhead: the predictor
// (latency_predictor.h) over the latency database.
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/network/network_analysis.h"
#include "common/network/unit_key.h"
#include "common/status_grpc.h"
#include "common/time_util.h"
#include "server/latency_predictor.h"
#include "server/latency_service.h"

namespace hakd {
namespace {

using grpc::Status;
using grpc::StatusCode;

// Most networks one fit may read.
constexpr int kMaxFitSweeps = 100;

// The latencies of one device in the store.
class StoreLatencySource : public UnitLatencySource {
 public:
  StoreLatencySource(LatencyStore* store, int64_t device_id)
      : store_(store), device_id_(device_id) {}

  absl::StatusOr<std::map<std::string, double>> Exact(
      const std::set<std::string>& keys) override {
    return store_->UnitLatencies(device_id_, keys);
  }
  absl::StatusOr<std::vector<std::pair<int, double>>> Family(
      const std::string& family) override {
    return store_->FamilyLatencies(device_id_, family);
  }

 private:
  LatencyStore* const store_;
  const int64_t device_id_;
};

Status WithField(const absl::Status& st, absl::string_view field) {
  return ToGrpcStatus(
      absl::Status(st.code(), absl::StrCat(field, ".", st.message())));
}

}  // namespace

Status LatencyServiceImpl::PredictNetwork(
    grpc::ServerContext* context,
    const hakd::v1::PredictNetworkRequest* request,
    hakd::v1::PredictNetworkResponse* response) {
  if (Status st = auth_->Check(context, Permission::kRead, "predict latency");
      !st.ok()) {
    return st;
  }
  if (request->measure_missing()) {
    if (Status st = auth_->Check(context, Permission::kControl,
                                 "measure missing units (start sweeps)");
        !st.ok()) {
      return st;
    }
  }
  if (!request->has_network()) {
    return Status(StatusCode::INVALID_ARGUMENT, "network: is missing");
  }
  if (absl::Status st = ValidateNetworkSpec(request->network()); !st.ok()) {
    return WithField(st, "network");
  }
  absl::StatusOr<DeviceRecord> d = store_->FindDevice(request->device());
  if (!d.ok()) return ToGrpcStatus(d.status());
  absl::StatusOr<hakd::v1::OverheadModel> model =
      store_->LoadOverheadModel(d->id);
  if (!model.ok() && model.status().code() != absl::StatusCode::kNotFound) {
    return ToGrpcStatus(model.status());
  }
  StoreLatencySource source(store_, d->id);
  absl::StatusOr<hakd::v1::PredictNetworkResponse> out = PredictNetworkLatency(
      request->network(), source, model.ok() ? &*model : nullptr);
  if (!out.ok()) return ToGrpcStatus(out.status());
  out->set_device_name(d->name);
  if (!out->complete() && request->measure_missing() &&
      registry_->Find(d->id) != nullptr) {
    // Measure exactly the missing units, each once.
    absl::StatusOr<NetworkAnalysis> analysis =
        AnalyzeNetwork(request->network());
    if (!analysis.ok()) return ToGrpcStatus(analysis.status());
    hakd::v1::StartSweepRequest sweep;
    sweep.set_label("predict");
    *sweep.mutable_settings() = request->settings();
    std::set<std::string> queued;
    for (int i = 0; i < out->units_size(); ++i) {
      const hakd::v1::UnitPrediction& u = out->units(i);
      if (u.source() != hakd::v1::UnitPrediction::SOURCE_MISSING) continue;
      if (!queued.insert(u.key()).second) continue;
      *sweep.add_units()->mutable_block() = analysis->units[i].unit;
    }
    absl::StatusOr<SweepRecord> started = sweeps_->Start(*d, sweep);
    if (!started.ok()) return ToGrpcStatus(started.status());
    out->set_measuring_sweep_id(started->id);
  }
  *response = *std::move(out);
  return Status::OK;
}

Status LatencyServiceImpl::FitOverhead(
    grpc::ServerContext* context, const hakd::v1::FitOverheadRequest* request,
    hakd::v1::OverheadModel* response) {
  if (Status st = auth_->Check(context, Permission::kControl, "fit overheads");
      !st.ok()) {
    return st;
  }
  absl::StatusOr<DeviceRecord> d = store_->FindDevice(request->device());
  if (!d.ok()) return ToGrpcStatus(d.status());
  if (request->sweep_ids_size() == 0 ||
      request->sweep_ids_size() > kMaxFitSweeps) {
    return Status(StatusCode::INVALID_ARGUMENT,
                  absl::StrCat("sweep_ids: give 1 to ", kMaxFitSweeps,
                               " sweeps of whole networks"));
  }
  std::vector<int64_t> ids(request->sweep_ids().begin(),
                           request->sweep_ids().end());
  for (int64_t id : ids) {
    absl::StatusOr<SweepRecord> sweep = store_->GetSweep(id);
    if (!sweep.ok()) return ToGrpcStatus(sweep.status());
    if (sweep->device_id != d->id) {
      return Status(
          StatusCode::INVALID_ARGUMENT,
          absl::StrCat("sweep_ids: sweep ", id, " belongs to another device"));
    }
  }
  absl::StatusOr<std::vector<std::pair<hakd::v1::NetworkSpec, double>>>
      results = store_->NetworkResults(d->id, ids);
  if (!results.ok()) return ToGrpcStatus(results.status());
  if (results->empty()) {
    return Status(StatusCode::FAILED_PRECONDITION,
                  absl::StrCat("sweeps ", absl::StrJoin(ids, ", "),
                               " hold no end-to-end network results"));
  }
  StoreLatencySource source(store_, d->id);
  std::vector<OverheadSample> samples;
  int skipped = 0;
  int missing_units = 0;
  for (const auto& [network, measured_us] : *results) {
    absl::StatusOr<hakd::v1::PredictNetworkResponse> p =
        PredictNetworkLatency(network, source, nullptr);
    if (!p.ok()) return ToGrpcStatus(p.status());
    if (!p->complete()) {
      ++skipped;
      missing_units += p->missing_units();
      continue;
    }
    samples.push_back({p->units_sum_us(), p->units_size(), measured_us});
  }
  if (samples.empty()) {
    return Status(
        StatusCode::FAILED_PRECONDITION,
        absl::StrCat("none of the ", results->size(),
                     " networks can be predicted yet (", missing_units,
                     " units missing); measure their units first"));
  }
  absl::StatusOr<hakd::v1::OverheadModel> model = FitOverheadModel(samples);
  if (!model.ok()) return ToGrpcStatus(model.status());
  model->set_device_id(d->id);
  model->set_fitted_unix_ms(NowUnixMs());
  model->set_skipped_networks(skipped);
  for (int64_t id : ids) model->add_sweep_ids(id);
  if (absl::Status st = store_->SaveOverheadModel(*model); !st.ok()) {
    return ToGrpcStatus(st);
  }
  *response = *std::move(model);
  return Status::OK;
}

}  // namespace hakd
