#include "tests/server/test_util.h"

#include <cstdlib>
#include <stdexcept>

namespace hakd::testing {

std::string MakeTempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/hakd-test-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) std::abort();
  return tmpl;
}

absl::StatusOr<std::unique_ptr<LatencyStore>> OpenTempStore() {
  StoreOptions options;
  options.path = MakeTempDir() + "/hakd.db";
  options.synchronous_full = false;
  return LatencyStore::Open(options);
}

hakd::v1::LayerSpec ConvLayer(int channels, int hw) {
  hakd::v1::LayerSpec l;
  l.set_kind(hakd::v1::LAYER_KIND_CONV2D);
  l.set_batch(1);
  l.set_in_channels(channels);
  l.set_out_channels(channels);
  l.set_height(hw);
  l.set_width(hw);
  l.set_kernel(3);
  l.set_stride(1);
  l.set_padding(1);
  l.set_groups(1);
  l.set_dtype(hakd::v1::DTYPE_FLOAT32);
  return l;
}

hakd::v1::Measurement MeasurementOf(const hakd::v1::LayerSpec& layer,
                                    double median_us) {
  hakd::v1::Measurement m;
  *m.mutable_layer() = layer;
  m.set_backend("cpu");
  m.set_threads(1);
  m.set_median_us(median_us);
  m.set_p10_us(median_us * 0.95);
  m.set_p90_us(median_us * 1.05);
  m.set_mean_us(median_us);
  m.set_stddev_us(median_us * 0.02);
  m.set_samples(15);
  m.set_runs_per_sample(4);
  m.set_measured_unix_ms(1700000000000);
  m.set_run_id("test");
  return m;
}

}  // namespace hakd::testing
