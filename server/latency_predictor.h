// Predicts a network's latency on a device from the latency database: the
// sum of its units' latencies (stem, every block, head; measured exactly, or
// interpolated between the nearest measured widths of the unit's family when
// no latency step lies between them) plus the device's overhead model,
// fitted from end-to-end measurements. Torch-free and free of storage: the
// data comes through UnitLatencySource, so tests feed synthetic databases.
#ifndef HAKD_SERVER_LATENCY_PREDICTOR_H_
#define HAKD_SERVER_LATENCY_PREDICTOR_H_

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/staircase.h"
#include "hakd/v1/latency_service.pb.h"
#include "hakd/v1/network.pb.h"

namespace hakd {

// Latencies of one device, by unit key and by unit family.
class UnitLatencySource {
 public:
  virtual ~UnitLatencySource() = default;
  // Latency (us) of each key that has been measured; others are absent.
  virtual absl::StatusOr<std::map<std::string, double>> Exact(
      const std::set<std::string>& keys) = 0;
  // Measured (width, latency us) points of a family, ascending by width.
  virtual absl::StatusOr<std::vector<std::pair<int, double>>> Family(
      const std::string& family) = 0;
};

// How the predictor interpolates.
struct PredictorOptions {
  // Steps within a family (a neighbour pair straddling one is not used).
  StaircaseOptions staircase;
  // The measured neighbours may be at most this far apart, relative to the
  // width predicted: (upper - lower) / width. Default 0.5.
  double max_gap_fraction = 0.5;
  // Expected error added per unit of interpolated share (%). Default 10.
  double interpolation_error_pct = 10;
  // Expected error when no overhead model is fitted (%). Default 10.
  double unfitted_error_pct = 10;
};

// Predicts `network` (validated here: INVALID_ARGUMENT naming the field).
// `overhead` may be null (no fit yet: overhead 0). A unit that can be
// neither found nor interpolated is reported SOURCE_MISSING with the reason;
// the prediction is then incomplete and predicted_us is 0.
absl::StatusOr<hakd::v1::PredictNetworkResponse> PredictNetworkLatency(
    const hakd::v1::NetworkSpec& network, UnitLatencySource& source,
    const hakd::v1::OverheadModel* overhead,
    const PredictorOptions& options = PredictorOptions());

// The overhead model applied to a sum of unit latencies over `units` units.
double ApplyOverhead(const hakd::v1::OverheadModel& model, double units_sum_us,
                     int units);

// One network for the overhead fit.
struct OverheadSample {
  double units_sum_us = 0;
  int units = 0;
  double measured_us = 0;
};

// Fits measured = scale * sum + intercept + per_unit * units minimising the
// squared relative error. With fewer than 4 samples (or a fit whose scale
// leaves [0.5, 2]) only the intercept is fitted (scale 1, per_unit 0), as
// the median difference. INVALID_ARGUMENT without samples. Fills every
// field but device_id, fitted_unix_ms, sweep_ids and skipped_networks.
absl::StatusOr<hakd::v1::OverheadModel> FitOverheadModel(
    const std::vector<OverheadSample>& samples);

}  // namespace hakd

#endif  // HAKD_SERVER_LATENCY_PREDICTOR_H_
