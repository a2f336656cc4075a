#include "common/layer_spec.h"

#include <cmath>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/network/unit_key.h"
#include "common/status_macros.h"

namespace hakd {
namespace {

using hakd::v1::LayerKind;
using hakd::v1::LayerSpec;

absl::Status Invalid(absl::string_view field, absl::string_view name,
                     absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat(field, field.empty() ? "" : ".", name, ": ", problem));
}

absl::Status CheckRange(absl::string_view field, absl::string_view name,
                        int64_t value, int64_t lo, int64_t hi) {
  if (value < lo || value > hi) {
    return Invalid(field, name,
                   absl::StrCat("must be in [", lo, ", ", hi, "], got ", value));
  }
  return absl::OkStatus();
}

absl::Status CheckZero(absl::string_view field, absl::string_view name,
                       int64_t value, absl::string_view kind) {
  if (value != 0) {
    return Invalid(field, name,
                   absl::StrCat("must be 0 for ", kind, ", got ", value));
  }
  return absl::OkStatus();
}


absl::Status CheckSpatial(const LayerSpec& l, absl::string_view field,
                          const LayerLimits& lim) {
  HAKD_RETURN_IF_ERROR(CheckRange(field, "height", l.height(), 1, lim.max_spatial));
  HAKD_RETURN_IF_ERROR(CheckRange(field, "width", l.width(), 1, lim.max_spatial));
  return absl::OkStatus();
}

absl::Status CheckWindow(const LayerSpec& l, absl::string_view field,
                         const LayerLimits& lim) {
  HAKD_RETURN_IF_ERROR(CheckRange(field, "kernel", l.kernel(), 1, lim.max_kernel));
  HAKD_RETURN_IF_ERROR(CheckRange(field, "stride", l.stride(), 1, lim.max_kernel));
  HAKD_RETURN_IF_ERROR(CheckRange(field, "padding", l.padding(), 0, l.kernel() / 2));
  if (OutputExtent(l, l.height()) < 1 || OutputExtent(l, l.width()) < 1) {
    return Invalid(field, "kernel",
                   absl::StrCat(l.kernel(), " with padding ", l.padding(),
                                " does not fit a ", l.height(), "x", l.width(),
                                " input"));
  }
  return absl::OkStatus();
}

}  // namespace

int32_t OutputExtent(const LayerSpec& layer, int32_t input_extent) {
  switch (layer.kind()) {
    case hakd::v1::LAYER_KIND_CONV2D:
    case hakd::v1::LAYER_KIND_MAX_POOL:
    case hakd::v1::LAYER_KIND_AVG_POOL:
      if (layer.stride() <= 0) return 0;
      return (input_extent + 2 * layer.padding() - layer.kernel()) /
                 layer.stride() + 1;
    case hakd::v1::LAYER_KIND_BATCHNORM_RELU:
      return input_extent;
    default:
      return 0;
  }
}

bool IsDepthwise(const LayerSpec& layer) {
  return layer.kind() == hakd::v1::LAYER_KIND_CONV2D && layer.groups() > 1 &&
         layer.groups() == layer.in_channels() &&
         layer.groups() == layer.out_channels();
}

int64_t LayerMacs(const LayerSpec& l) {
  const int64_t b = l.batch();
  switch (l.kind()) {
    case hakd::v1::LAYER_KIND_CONV2D: {
      const int64_t out_pixels = int64_t{OutputExtent(l, l.height())} *
                                 OutputExtent(l, l.width());
      const int64_t groups = l.groups() > 0 ? l.groups() : 1;
      return b * out_pixels * l.out_channels() * (l.in_channels() / groups) *
             l.kernel() * l.kernel();
    }
    case hakd::v1::LAYER_KIND_LINEAR:
      return b * int64_t{l.in_channels()} * l.out_channels();
    case hakd::v1::LAYER_KIND_MAX_POOL:
    case hakd::v1::LAYER_KIND_AVG_POOL:
      return b * int64_t{OutputExtent(l, l.height())} *
             OutputExtent(l, l.width()) * l.in_channels() * l.kernel() *
             l.kernel();
    case hakd::v1::LAYER_KIND_BATCHNORM_RELU:
      return b * int64_t{l.height()} * l.width() * l.in_channels();
    default:
      return 0;
  }
}

absl::string_view LayerKindName(LayerKind kind) {
  switch (kind) {
    case hakd::v1::LAYER_KIND_CONV2D: return "conv2d";
    case hakd::v1::LAYER_KIND_LINEAR: return "linear";
    case hakd::v1::LAYER_KIND_MAX_POOL: return "maxpool";
    case hakd::v1::LAYER_KIND_AVG_POOL: return "avgpool";
    case hakd::v1::LAYER_KIND_BATCHNORM_RELU: return "bnrelu";
    default: return "unspecified";
  }
}

LayerKind ParseLayerKind(absl::string_view name) {
  const std::string n = absl::AsciiStrToLower(name);
  if (n == "conv2d" || n == "conv") return hakd::v1::LAYER_KIND_CONV2D;
  if (n == "linear" || n == "fc") return hakd::v1::LAYER_KIND_LINEAR;
  if (n == "maxpool") return hakd::v1::LAYER_KIND_MAX_POOL;
  if (n == "avgpool") return hakd::v1::LAYER_KIND_AVG_POOL;
  if (n == "bnrelu") return hakd::v1::LAYER_KIND_BATCHNORM_RELU;
  return hakd::v1::LAYER_KIND_UNSPECIFIED;
}

std::string DescribeLayer(const LayerSpec& l) {
  const std::string kind(LayerKindName(l.kind()));
  switch (l.kind()) {
    case hakd::v1::LAYER_KIND_CONV2D:
      return absl::StrCat(kind, " ", l.kernel(), "x", l.kernel(), "/",
                          l.stride(), " p", l.padding(), " g", l.groups(), " ",
                          l.in_channels(), "->", l.out_channels(), " @",
                          l.height(), "x", l.width(), " b", l.batch());
    case hakd::v1::LAYER_KIND_LINEAR:
      return absl::StrCat(kind, " ", l.in_channels(), "->", l.out_channels(),
                          " b", l.batch());
    case hakd::v1::LAYER_KIND_MAX_POOL:
    case hakd::v1::LAYER_KIND_AVG_POOL:
      return absl::StrCat(kind, " ", l.kernel(), "x", l.kernel(), "/",
                          l.stride(), " p", l.padding(), " ", l.in_channels(),
                          " @", l.height(), "x", l.width(), " b", l.batch());
    case hakd::v1::LAYER_KIND_BATCHNORM_RELU:
      return absl::StrCat(kind, " ", l.in_channels(), " @", l.height(), "x",
                          l.width(), " b", l.batch());
    default:
      return absl::StrCat("unspecified kind ", static_cast<int>(l.kind()));
  }
}

absl::Status ValidateLayerSpec(const LayerSpec& l, absl::string_view field,
                               const LayerLimits& lim) {
  if (!hakd::v1::LayerKind_IsValid(l.kind()) ||
      l.kind() == hakd::v1::LAYER_KIND_UNSPECIFIED) {
    return Invalid(field, "kind",
                   absl::StrCat("unknown layer kind ", static_cast<int>(l.kind())));
  }
  if (!hakd::v1::DType_IsValid(l.dtype())) {
    return Invalid(field, "dtype",
                   absl::StrCat("unknown dtype ", static_cast<int>(l.dtype())));
  }
  const absl::string_view kind = LayerKindName(l.kind());
  HAKD_RETURN_IF_ERROR(CheckRange(field, "batch", l.batch(), 1, lim.max_batch));
  HAKD_RETURN_IF_ERROR(
      CheckRange(field, "in_channels", l.in_channels(), 1, lim.max_channels));
  HAKD_RETURN_IF_ERROR(
      CheckRange(field, "out_channels", l.out_channels(), 1, lim.max_channels));
  switch (l.kind()) {
    case hakd::v1::LAYER_KIND_CONV2D:
      HAKD_RETURN_IF_ERROR(CheckSpatial(l, field, lim));
      HAKD_RETURN_IF_ERROR(CheckWindow(l, field, lim));
      HAKD_RETURN_IF_ERROR(
          CheckRange(field, "groups", l.groups(), 1, lim.max_channels));
      if (l.in_channels() % l.groups() != 0 ||
          l.out_channels() % l.groups() != 0) {
        return Invalid(field, "groups",
                       absl::StrCat(l.groups(), " does not divide in_channels ",
                                    l.in_channels(), " and out_channels ",
                                    l.out_channels()));
      }
      break;
    case hakd::v1::LAYER_KIND_LINEAR:
      HAKD_RETURN_IF_ERROR(CheckZero(field, "height", l.height(), kind));
      HAKD_RETURN_IF_ERROR(CheckZero(field, "width", l.width(), kind));
      HAKD_RETURN_IF_ERROR(CheckZero(field, "kernel", l.kernel(), kind));
      HAKD_RETURN_IF_ERROR(CheckZero(field, "stride", l.stride(), kind));
      HAKD_RETURN_IF_ERROR(CheckZero(field, "padding", l.padding(), kind));
      HAKD_RETURN_IF_ERROR(CheckZero(field, "groups", l.groups(), kind));
      break;
    case hakd::v1::LAYER_KIND_MAX_POOL:
    case hakd::v1::LAYER_KIND_AVG_POOL:
      HAKD_RETURN_IF_ERROR(CheckSpatial(l, field, lim));
      HAKD_RETURN_IF_ERROR(CheckWindow(l, field, lim));
      HAKD_RETURN_IF_ERROR(CheckZero(field, "groups", l.groups(), kind));
      break;
    case hakd::v1::LAYER_KIND_BATCHNORM_RELU:
      HAKD_RETURN_IF_ERROR(CheckSpatial(l, field, lim));
      HAKD_RETURN_IF_ERROR(CheckZero(field, "kernel", l.kernel(), kind));
      HAKD_RETURN_IF_ERROR(CheckZero(field, "stride", l.stride(), kind));
      HAKD_RETURN_IF_ERROR(CheckZero(field, "padding", l.padding(), kind));
      HAKD_RETURN_IF_ERROR(CheckZero(field, "groups", l.groups(), kind));
      break;
    default:
      break;
  }
  if (l.kind() != hakd::v1::LAYER_KIND_CONV2D &&
      l.kind() != hakd::v1::LAYER_KIND_LINEAR &&
      l.out_channels() != l.in_channels()) {
    return Invalid(field, "out_channels",
                   absl::StrCat("must equal in_channels (", l.in_channels(),
                                ") for ", kind, ", got ", l.out_channels()));
  }
  const int64_t in_elems = int64_t{l.batch()} * l.in_channels() *
                           std::max(1, l.height()) * std::max(1, l.width());
  const int64_t out_elems = int64_t{l.batch()} * l.out_channels() *
                            std::max(1, OutputExtent(l, l.height())) *
                            std::max(1, OutputExtent(l, l.width()));
  if (in_elems > lim.max_tensor_elements || out_elems > lim.max_tensor_elements) {
    return Invalid(field, "batch",
                   absl::StrCat("tensor of ", std::max(in_elems, out_elems),
                                " elements exceeds the limit of ",
                                lim.max_tensor_elements));
  }
  return absl::OkStatus();
}

absl::Status ValidateMeasurement(const hakd::v1::Measurement& m,
                                 absl::string_view field,
                                 const LayerLimits& layer_limits,
                                 const BatchLimits& limits) {
  if (m.has_layer() == m.has_unit()) {
    return Invalid(field, "layer", "exactly one of layer and unit must be set");
  }
  if (m.has_layer()) {
    HAKD_RETURN_IF_ERROR(ValidateLayerSpec(
        m.layer(), absl::StrCat(field, ".layer"), layer_limits));
  } else {
    HAKD_RETURN_IF_ERROR(ValidateUnitSpec(m.unit(), absl::StrCat(field, ".unit")));
  }
  if (!std::isfinite(m.reference_ratio()) || m.reference_ratio() < 0 ||
      m.reference_ratio() > 1000) {
    return Invalid(field, "reference_ratio", "must be finite and in [0, 1000]");
  }
  if (!std::isfinite(m.timed_seconds()) || m.timed_seconds() < 0 ||
      m.timed_seconds() > 86400) {
    return Invalid(field, "timed_seconds", "must be finite and in [0, 86400]");
  }
  if (m.backend().empty() || m.backend().size() > 32) {
    return Invalid(field, "backend", "must be 1..32 characters");
  }
  HAKD_RETURN_IF_ERROR(CheckRange(field, "threads", m.threads(), 1, 4096));
  HAKD_RETURN_IF_ERROR(
      CheckRange(field, "samples", m.samples(), 1, limits.max_samples));
  HAKD_RETURN_IF_ERROR(CheckRange(field, "runs_per_sample", m.runs_per_sample(),
                                  0, 100'000'000));
  struct NamedValue {
    const char* name;
    double value;
  };
  const NamedValue values[] = {{"median_us", m.median_us()},
                               {"p10_us", m.p10_us()},
                               {"p90_us", m.p90_us()},
                               {"mean_us", m.mean_us()}};
  for (const NamedValue& v : values) {
    if (!std::isfinite(v.value)) return Invalid(field, v.name, "is not finite");
    if (v.value <= 0) {
      return Invalid(field, v.name, absl::StrCat("must be positive, got ", v.value));
    }
    if (v.value > limits.max_latency_us) {
      return Invalid(field, v.name,
                     absl::StrCat(v.value, " us is beyond the limit of ",
                                  limits.max_latency_us, " us"));
    }
  }
  if (!std::isfinite(m.stddev_us()) || m.stddev_us() < 0) {
    return Invalid(field, "stddev_us", "must be finite and not negative");
  }
  // Allow a little rounding slack in the order p10 <= median <= p90.
  const double slack = 1e-6 * m.median_us();
  if (m.p10_us() > m.median_us() + slack || m.median_us() > m.p90_us() + slack) {
    return Invalid(field, "median_us",
                   absl::StrCat("percentiles out of order: p10 ", m.p10_us(),
                                ", median ", m.median_us(), ", p90 ", m.p90_us()));
  }
  if (m.measured_unix_ms() < 0) {
    return Invalid(field, "measured_unix_ms", "must not be negative");
  }
  if (m.run_id().size() > 128) {
    return Invalid(field, "run_id", "is longer than 128 characters");
  }
  if (m.sweep_id() < 0) return Invalid(field, "sweep_id", "must not be negative");
  if (!std::isfinite(m.cv()) || m.cv() < 0) {
    return Invalid(field, "cv", "must be finite and not negative");
  }
  if (!std::isfinite(m.robust_cv()) || m.robust_cv() < 0) {
    return Invalid(field, "robust_cv", "must be finite and not negative");
  }
  HAKD_RETURN_IF_ERROR(CheckRange(field, "attempts", m.attempts(), 0, 100));
  HAKD_RETURN_IF_ERROR(
      CheckRange(field, "interop_threads", m.interop_threads(), 0, 4096));
  const hakd::v1::DeviceState& state = m.state();
  if (state.frequency_governor().size() > 64) {
    return Invalid(field, "state.frequency_governor", "is longer than 64 characters");
  }
  if (state.frequency_khz() < 0 || state.frequency_khz() > 100'000'000) {
    return Invalid(field, "state.frequency_khz", "must be in [0, 100000000]");
  }
  if (!std::isfinite(state.temperature_c()) || state.temperature_c() < -100 ||
      state.temperature_c() > 300) {
    return Invalid(field, "state.temperature_c", "must be in [-100, 300]");
  }
  if (m.samples_us_size() > 0 && m.samples_us_size() != m.samples()) {
    return Invalid(field, "samples_us",
                   absl::StrCat("holds ", m.samples_us_size(),
                                " values but samples is ", m.samples()));
  }
  for (int i = 0; i < m.samples_us_size(); ++i) {
    const double v = m.samples_us(i);
    if (!std::isfinite(v) || v <= 0 || v > limits.max_latency_us) {
      return Invalid(field, absl::StrCat("samples_us[", i, "]"),
                     "must be positive, finite and below the latency limit");
    }
  }
  if (!std::isfinite(state.load_average_1m()) || state.load_average_1m() < 0 ||
      state.load_average_1m() > 1e6) {
    return Invalid(field, "state.load_average_1m", "must be in [0, 1000000]");
  }
  if (m.item_index() < 0) {
    return Invalid(field, "item_index", "must not be negative");
  }
  return absl::OkStatus();
}

absl::Status ValidateBatch(const hakd::v1::MeasurementBatch& batch,
                           const LayerLimits& layer_limits,
                           const BatchLimits& limits) {
  const std::string& id = batch.batch_id();
  if (id.empty() || id.size() > 128) {
    return Invalid("batch", "batch_id", "must be 1..128 characters");
  }
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '_' && c != ':' && c != '-') {
      return Invalid("batch", "batch_id",
                     "may hold only letters, digits and . _ : -");
    }
  }
  const int total = batch.measurements_size() + batch.failures_size();
  if (total == 0) return Invalid("batch", "measurements", "batch is empty");
  if (total > limits.max_measurements) {
    return Invalid("batch", "measurements",
                   absl::StrCat(total, " entries exceed the limit of ",
                                limits.max_measurements, " per batch"));
  }
  for (int i = 0; i < batch.measurements_size(); ++i) {
    HAKD_RETURN_IF_ERROR(ValidateMeasurement(
        batch.measurements(i), absl::StrCat("batch.measurements[", i, "]"),
        layer_limits, limits));
  }
  for (int i = 0; i < batch.failures_size(); ++i) {
    const hakd::v1::ItemFailure& f = batch.failures(i);
    const std::string field = absl::StrCat("batch.failures[", i, "]");
    if (f.sweep_id() <= 0) return Invalid(field, "sweep_id", "must be positive");
    if (f.item_index() < 0) {
      return Invalid(field, "item_index", "must not be negative");
    }
    if (f.error().size() > 4096) {
      return Invalid(field, "error", "is longer than 4096 characters");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateDeviceName(absl::string_view name, absl::string_view field) {
  if (name.empty() || name.size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": device name must be 1..64 characters"));
  }
  if (!absl::ascii_isalpha(static_cast<unsigned char>(name[0]))) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": device name must start with a letter, got '", name, "'"));
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '_' && c != '-') {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": device name may hold only letters, digits and . _ -, got '",
          name, "'"));
    }
  }
  return absl::OkStatus();
}

}  // namespace hakd
