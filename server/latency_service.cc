#include "server/latency_service.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/layer_spec.h"
#include "common/staircase.h"
#include "common/status_grpc.h"

namespace hakd {
namespace {

using grpc::Status;
using grpc::StatusCode;

constexpr int kDefaultQueryLimit = 1000;
constexpr int kMaxQueryLimit = 100000;
constexpr int kDefaultPageSize = 1000;
constexpr int kMaxPageSize = 10000;

#define HAKD_CHECK_AUTH(permission, what)                                   \
  if (Status _st = auth_->Check(context, permission, what); !_st.ok()) {    \
    return _st;                                                             \
  }

// For streaming calls: also holds one of the caller's stream slots until the
// handler returns.
#define HAKD_CHECK_STREAM_AUTH(permission, what)                             \
  StreamSlot _slot;                                                          \
  if (Status _st = auth_->CheckStream(context, permission, what, &_slot);    \
      !_st.ok()) {                                                           \
    return _st;                                                              \
  }

Status ValidateFilter(const hakd::v1::LayerFilter& f) {
  if (f.has_kind() && (!hakd::v1::LayerKind_IsValid(f.kind()) ||
                       f.kind() == hakd::v1::LAYER_KIND_UNSPECIFIED)) {
    return Status(StatusCode::INVALID_ARGUMENT,
                  absl::StrCat("filter.kind: unknown layer kind ", f.kind()));
  }
  if (f.has_dtype() && !hakd::v1::DType_IsValid(f.dtype())) {
    return Status(StatusCode::INVALID_ARGUMENT,
                  absl::StrCat("filter.dtype: unknown dtype ", f.dtype()));
  }
  const std::pair<const char*, std::pair<bool, int>> sizes[] = {
      {"batch", {f.has_batch(), f.batch()}},
      {"in_channels", {f.has_in_channels(), f.in_channels()}},
      {"out_channels", {f.has_out_channels(), f.out_channels()}},
      {"height", {f.has_height(), f.height()}},
      {"width", {f.has_width(), f.width()}},
      {"kernel", {f.has_kernel(), f.kernel()}},
      {"stride", {f.has_stride(), f.stride()}},
      {"padding", {f.has_padding(), f.padding()}},
      {"groups", {f.has_groups(), f.groups()}}};
  for (const auto& [name, value] : sizes) {
    if (value.first && value.second < 0) {
      return Status(StatusCode::INVALID_ARGUMENT,
                    absl::StrCat("filter.", name, ": must not be negative"));
    }
  }
  return Status::OK;
}

// The family a measured layer belongs to: every shape field except the
// channel count that a staircase runs along.
using FamilyKey = std::tuple<int, int, int, int, int, int, int, int, bool, int, int>;

FamilyKey FamilyOf(const hakd::v1::LayerSpec& l) {
  const bool dw = IsDepthwise(l);
  return FamilyKey{l.kind(),  l.kernel(), l.stride(), l.padding(),
                   l.height(), l.width(), l.batch(),  l.dtype(),
                   dw,         dw ? 0 : l.groups(),
                   l.in_channels() == l.out_channels() ? 0 : l.in_channels()};
}

}  // namespace

Status LatencyServiceImpl::DescribeDevice(const DeviceRecord& r,
                                          hakd::v1::Device* out) {
  out->set_id(r.id);
  out->set_name(r.name);
  *out->mutable_facts() = r.facts;
  out->set_online(registry_->IsOnline(r.id));
  out->set_last_seen_unix_ms(r.last_seen_ms);
  out->set_first_seen_unix_ms(r.first_seen_ms);
  absl::StatusOr<int64_t> count = store_->CountMeasurements(r.id);
  if (!count.ok()) return ToGrpcStatus(count.status());
  out->set_measurement_count(*count);
  return Status::OK;
}

Status LatencyServiceImpl::ListDevices(grpc::ServerContext* context,
                                       const hakd::v1::ListDevicesRequest*,
                                       hakd::v1::ListDevicesResponse* response) {
  HAKD_CHECK_AUTH(Permission::kRead, "list devices");
  absl::StatusOr<std::vector<DeviceRecord>> devices = store_->ListDevices();
  if (!devices.ok()) return ToGrpcStatus(devices.status());
  for (const DeviceRecord& d : *devices) {
    if (Status st = DescribeDevice(d, response->add_devices()); !st.ok()) return st;
  }
  return Status::OK;
}

Status LatencyServiceImpl::GetDevice(grpc::ServerContext* context,
                                     const hakd::v1::GetDeviceRequest* request,
                                     hakd::v1::Device* response) {
  HAKD_CHECK_AUTH(Permission::kRead, "read devices");
  absl::StatusOr<DeviceRecord> d = store_->FindDevice(request->device());
  if (!d.ok()) return ToGrpcStatus(d.status());
  return DescribeDevice(*d, response);
}

Status LatencyServiceImpl::QueryMeasurements(
    grpc::ServerContext* context, const hakd::v1::QueryMeasurementsRequest* request,
    hakd::v1::QueryMeasurementsResponse* response) {
  HAKD_CHECK_AUTH(Permission::kRead, "query measurements");
  if (request->limit() < 0 || request->limit() > kMaxQueryLimit) {
    return Status(StatusCode::INVALID_ARGUMENT,
                  absl::StrCat("limit: must be in [1, ", kMaxQueryLimit, "], got ",
                               request->limit()));
  }
  if (Status st = ValidateFilter(request->filter()); !st.ok()) return st;
  absl::StatusOr<DeviceRecord> d = store_->FindDevice(request->device());
  if (!d.ok()) return ToGrpcStatus(d.status());
  absl::StatusOr<QueryResult> result = store_->QueryMeasurements(
      d->id, request->filter(),
      request->limit() == 0 ? kDefaultQueryLimit : request->limit(),
      request->latest_only());
  if (!result.ok()) return ToGrpcStatus(result.status());
  response->mutable_measurements()->Reserve(
      static_cast<int>(result->measurements.size()));
  for (hakd::v1::Measurement& m : result->measurements) {
    *response->add_measurements() = std::move(m);
  }
  response->set_truncated(result->truncated);
  return Status::OK;
}

Status LatencyServiceImpl::ExportMeasurements(
    grpc::ServerContext* context, const hakd::v1::ExportMeasurementsRequest* request,
    grpc::ServerWriter<hakd::v1::MeasurementPage>* writer) {
  HAKD_CHECK_STREAM_AUTH(Permission::kRead, "export measurements");
  if (request->page_size() < 0 || request->page_size() > kMaxPageSize) {
    return Status(StatusCode::INVALID_ARGUMENT,
                  absl::StrCat("page_size: must be in [1, ", kMaxPageSize, "]"));
  }
  const int page_size =
      request->page_size() == 0 ? kDefaultPageSize : request->page_size();
  absl::StatusOr<DeviceRecord> d = store_->FindDevice(request->device());
  if (!d.ok()) return ToGrpcStatus(d.status());
  int64_t after = 0;
  while (!context->IsCancelled()) {
    absl::StatusOr<std::vector<hakd::v1::Measurement>> page =
        request->units() ? store_->UnitMeasurementsPage(d->id, after, page_size)
                         : store_->ExportPage(d->id, after, page_size);
    if (!page.ok()) return ToGrpcStatus(page.status());
    if (page->empty()) return Status::OK;
    after = page->back().id();
    hakd::v1::MeasurementPage out;
    for (hakd::v1::Measurement& m : *page) *out.add_measurements() = std::move(m);
    if (!writer->Write(out)) {
      return Status(StatusCode::CANCELLED, "the client stopped reading");
    }
  }
  return Status(StatusCode::CANCELLED, "export cancelled");
}

Status LatencyServiceImpl::StartSweep(grpc::ServerContext* context,
                                      const hakd::v1::StartSweepRequest* request,
                                      hakd::v1::Sweep* response) {
  HAKD_CHECK_AUTH(Permission::kControl, "start sweeps");
  absl::StatusOr<DeviceRecord> d = store_->FindDevice(request->device());
  if (!d.ok()) return ToGrpcStatus(d.status());
  absl::StatusOr<SweepRecord> sweep = sweeps_->Start(*d, *request);
  if (!sweep.ok()) return ToGrpcStatus(sweep.status());
  absl::StatusOr<hakd::v1::Sweep> out = sweeps_->Describe(*sweep);
  if (!out.ok()) return ToGrpcStatus(out.status());
  *response = *out;
  return Status::OK;
}

Status LatencyServiceImpl::GetSweep(grpc::ServerContext* context,
                                    const hakd::v1::GetSweepRequest* request,
                                    hakd::v1::Sweep* response) {
  HAKD_CHECK_AUTH(Permission::kRead, "read sweeps");
  absl::StatusOr<SweepRecord> sweep = store_->GetSweep(request->sweep_id());
  if (!sweep.ok()) return ToGrpcStatus(sweep.status());
  absl::StatusOr<hakd::v1::Sweep> out = sweeps_->Describe(*sweep);
  if (!out.ok()) return ToGrpcStatus(out.status());
  *response = *out;
  return Status::OK;
}

Status LatencyServiceImpl::ListSweeps(grpc::ServerContext* context,
                                      const hakd::v1::ListSweepsRequest* request,
                                      hakd::v1::ListSweepsResponse* response) {
  HAKD_CHECK_AUTH(Permission::kRead, "list sweeps");
  int64_t device_id = 0;
  if (!request->device().empty()) {
    absl::StatusOr<DeviceRecord> d = store_->FindDevice(request->device());
    if (!d.ok()) return ToGrpcStatus(d.status());
    device_id = d->id;
  }
  absl::StatusOr<std::vector<SweepRecord>> sweeps = store_->ListSweeps(device_id);
  if (!sweeps.ok()) return ToGrpcStatus(sweeps.status());
  for (const SweepRecord& r : *sweeps) {
    absl::StatusOr<hakd::v1::Sweep> out = sweeps_->Describe(r);
    if (!out.ok()) return ToGrpcStatus(out.status());
    *response->add_sweeps() = *out;
  }
  return Status::OK;
}

Status LatencyServiceImpl::CancelSweep(grpc::ServerContext* context,
                                       const hakd::v1::CancelSweepRequest* request,
                                       hakd::v1::Sweep* response) {
  HAKD_CHECK_AUTH(Permission::kControl, "cancel sweeps");
  absl::StatusOr<SweepRecord> sweep = sweeps_->Cancel(request->sweep_id());
  if (!sweep.ok()) return ToGrpcStatus(sweep.status());
  absl::StatusOr<hakd::v1::Sweep> out = sweeps_->Describe(*sweep);
  if (!out.ok()) return ToGrpcStatus(out.status());
  *response = *out;
  return Status::OK;
}

Status LatencyServiceImpl::WatchSweep(grpc::ServerContext* context,
                                      const hakd::v1::GetSweepRequest* request,
                                      grpc::ServerWriter<hakd::v1::Sweep>* writer) {
  HAKD_CHECK_STREAM_AUTH(Permission::kRead, "watch sweeps");
  int64_t version = sweeps_->version();
  std::string last_sent;
  absl::Time last_write = absl::InfinitePast();
  while (!context->IsCancelled()) {
    absl::StatusOr<SweepRecord> record = store_->GetSweep(request->sweep_id());
    if (!record.ok()) return ToGrpcStatus(record.status());
    absl::StatusOr<hakd::v1::Sweep> sweep = sweeps_->Describe(*record);
    if (!sweep.ok()) return ToGrpcStatus(sweep.status());
    // Resend at least every 5 s so a client can tell a stalled sweep from a
    // dead stream.
    const std::string encoded = sweep->SerializeAsString();
    if (encoded != last_sent || absl::Now() - last_write > absl::Seconds(5)) {
      if (!writer->Write(*sweep)) return Status(StatusCode::CANCELLED, "client gone");
      last_sent = encoded;
      last_write = absl::Now();
    }
    if (sweep->state() == hakd::v1::Sweep::STATE_DONE ||
        sweep->state() == hakd::v1::Sweep::STATE_CANCELLED) {
      return Status::OK;
    }
    sweeps_->WaitForChange(&version, absl::Seconds(1));
  }
  return Status(StatusCode::CANCELLED, "watch cancelled");
}

Status LatencyServiceImpl::GetStaircases(grpc::ServerContext* context,
                                         const hakd::v1::GetStaircasesRequest* request,
                                         hakd::v1::GetStaircasesResponse* response) {
  HAKD_CHECK_AUTH(Permission::kRead, "read staircases");
  if (Status st = ValidateFilter(request->filter()); !st.ok()) return st;
  const double ratio =
      request->min_step_ratio() == 0 ? 1.15 : request->min_step_ratio();
  if (!(ratio > 1.0 && ratio < 100.0)) {
    return Status(StatusCode::INVALID_ARGUMENT,
                  "min_step_ratio: must be in (1, 100)");
  }
  absl::StatusOr<DeviceRecord> d = store_->FindDevice(request->device());
  if (!d.ok()) return ToGrpcStatus(d.status());
  absl::StatusOr<QueryResult> result = store_->QueryMeasurements(
      d->id, request->filter(), kMaxQueryLimit, /*latest_only=*/true);
  if (!result.ok()) return ToGrpcStatus(result.status());
  std::map<FamilyKey, std::vector<const hakd::v1::Measurement*>> families;
  for (const hakd::v1::Measurement& m : result->measurements) {
    families[FamilyOf(m.layer())].push_back(&m);
  }
  StaircaseOptions options;
  options.min_step_ratio = ratio;
  for (auto& [key, points] : families) {
    std::sort(points.begin(), points.end(), [](auto* a, auto* b) {
      return a->layer().out_channels() < b->layer().out_channels();
    });
    hakd::v1::Staircase* s = response->add_staircases();
    const hakd::v1::LayerSpec& l = points.front()->layer();
    s->set_kind(l.kind());
    s->set_kernel(l.kernel());
    s->set_stride(l.stride());
    s->set_resolution(l.height());
    s->set_depthwise(IsDepthwise(l));
    std::vector<int> channels;
    std::vector<double> latency;
    for (const auto* m : points) {
      channels.push_back(m->layer().out_channels());
      latency.push_back(m->median_us());
      s->add_channels(channels.back());
      s->add_median_us(latency.back());
    }
    for (const StaircaseStep& step : FindStaircaseSteps(channels, latency, options)) {
      if (step.drop()) {
        s->add_drop_at(step.at);
        s->add_drop_ratio(step.ratio);
        continue;
      }
      s->add_step_at(step.at);
      s->add_step_ratio(step.ratio);
      s->add_efficient(step.efficient);
    }
  }
  return Status::OK;
}

}  // namespace hakd
