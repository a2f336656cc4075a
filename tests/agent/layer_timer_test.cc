// TimeLayer and the runtime helpers with the real LibTorch, on layers small
// enough that the whole file runs in a few seconds.
#include "common/torch/layer_timer.h"

#include <stdexcept>
#include <string>

#include "common/torch/torch_runtime.h"
#include "gtest/gtest.h"

namespace hakd {
namespace {

using hakd::v1::LayerSpec;

LayerSpec Conv(int in, int out, int hw, int k, int s, int p, int g) {
  LayerSpec l;
  l.set_kind(hakd::v1::LAYER_KIND_CONV2D);
  l.set_batch(1);
  l.set_in_channels(in);
  l.set_out_channels(out);
  l.set_height(hw);
  l.set_width(hw);
  l.set_kernel(k);
  l.set_stride(s);
  l.set_padding(p);
  l.set_groups(g);
  return l;
}

LayerSpec Pool(hakd::v1::LayerKind kind, int c, int hw, int k, int s, int p) {
  LayerSpec l = Conv(c, c, hw, k, s, p, 0);
  l.set_kind(kind);
  return l;
}

LayerSpec Linear(int batch, int in, int out) {
  LayerSpec l;
  l.set_kind(hakd::v1::LAYER_KIND_LINEAR);
  l.set_batch(batch);
  l.set_in_channels(in);
  l.set_out_channels(out);
  return l;
}

LayerSpec BnRelu(int c, int hw) {
  LayerSpec l = Conv(c, c, hw, 0, 0, 0, 0);
  l.set_kind(hakd::v1::LAYER_KIND_BATCHNORM_RELU);
  return l;
}

TimingOptions Quick() {
  TimingOptions o;
  o.warmup_runs = 2;
  o.min_sample_ms = 0.5;
  o.min_samples = 5;
  o.max_samples = 20;
  o.max_seconds_per_layer = 0.1;
  o.max_settle_seconds = 0.05;
  return o;
}

// Test names for the instantiation below, in its order.
std::string KindName(const ::testing::TestParamInfo<LayerSpec>& info) {
  static const char* const kNames[] = {"Conv",    "Depthwise", "Pointwise",
                                       "Grouped", "Linear",    "MaxPool",
                                       "AvgPool", "BnRelu"};
  return kNames[info.index];
}

class EveryKindTest : public ::testing::TestWithParam<LayerSpec> {};

TEST_P(EveryKindTest, TimesTheLayer) {
  ASSERT_TRUE(ConfigureThreads(1, 1).ok());
  const TimingOptions options = Quick();
  absl::StatusOr<LayerTiming> t = TimeLayer(GetParam(), options);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_GT(t->median_us, 0);
  EXPECT_LE(t->p10_us, t->median_us);
  EXPECT_LE(t->median_us, t->p90_us);
  EXPECT_GT(t->mean_us, 0);
  EXPECT_GE(t->stddev_us, 0);
  EXPECT_GE(t->samples, options.min_samples);
  EXPECT_LE(t->samples, options.max_samples);
  EXPECT_EQ(t->samples_us.size(), static_cast<size_t>(t->samples));
  EXPECT_GE(t->runs_per_sample, 1);
  // The inner loop grew until a sample reached min_sample_ms; later samples
  // may be a little faster than the calibrating one, never half as long.
  EXPECT_GE(t->median_us * t->runs_per_sample,
            0.5 * options.min_sample_ms * 1000);
  EXPECT_GT(t->total_timed_seconds, 0);
}

INSTANTIATE_TEST_SUITE_P(
    Layers, EveryKindTest,
    ::testing::Values(Conv(8, 16, 16, 3, 1, 1, 1),    // standard
                      Conv(16, 16, 16, 3, 2, 1, 16),  // depthwise
                      Conv(8, 8, 8, 1, 1, 0, 1),      // pointwise
                      Conv(8, 16, 8, 3, 1, 1, 4),     // grouped
                      Linear(4, 64, 32),
                      Pool(hakd::v1::LAYER_KIND_MAX_POOL, 8, 16, 3, 2, 1),
                      Pool(hakd::v1::LAYER_KIND_AVG_POOL, 8, 16, 2, 2, 0),
                      BnRelu(8, 16)),
    KindName);

TEST(LayerTimerTest, TinyLayerNeedsManyRunsPerSample) {
  // A 2x2 max pool over 1x4x4 takes well under 100 us per run on any CPU.
  absl::StatusOr<LayerTiming> t =
      TimeLayer(Pool(hakd::v1::LAYER_KIND_MAX_POOL, 1, 4, 2, 2, 0), Quick());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_GT(t->runs_per_sample, 4);
}

TEST(LayerTimerTest, InvalidSpecIsInvalidArgumentNamingTheLayer) {
  LayerSpec bad = Conv(8, 16, 16, 3, 1, 1, 3);  // 3 does not divide 8
  absl::StatusOr<LayerTiming> t = TimeLayer(bad, Quick());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("conv2d 3x3"), std::string::npos)
      << t.status();
  EXPECT_NE(t.status().message().find("groups"), std::string::npos)
      << t.status();

  LayerSpec no_kind;
  EXPECT_EQ(TimeLayer(no_kind, Quick()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(LayerTimerTest, BadDeviceIsAnError) {
  TimingOptions options = Quick();
  options.device = "gpu0";
  EXPECT_EQ(TimeLayer(Linear(1, 8, 8), options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.device = "cuda:99";
  absl::StatusOr<LayerTiming> t = TimeLayer(Linear(1, 8, 8), options);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kFailedPrecondition)
      << t.status();
}

TEST(LayerTimerTest, BadSettingsAreInvalidArgument) {
  TimingOptions options = Quick();
  options.max_samples = -4;
  EXPECT_EQ(TimeLayer(Linear(1, 8, 8), options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(LayerTimerTest, HalfPrecisionOnCpuWorksOrFailsCleanly) {
  // CPU support for float16/bfloat16 kernels differs between LibTorch
  // builds; either way TimeLayer must return, not throw.
  for (hakd::v1::DType dtype :
       {hakd::v1::DTYPE_FLOAT16, hakd::v1::DTYPE_BFLOAT16}) {
    LayerSpec l = Conv(8, 8, 8, 3, 1, 1, 1);
    l.set_dtype(dtype);
    absl::StatusOr<LayerTiming> t = TimeLayer(l, Quick());
    if (t.ok()) {
      EXPECT_GT(t->median_us, 0);
    } else {
      EXPECT_EQ(t.status().code(), absl::StatusCode::kInternal) << t.status();
      EXPECT_NE(t.status().message().find("conv2d"), std::string::npos);
      // No C++ backtrace in the message that travels to the coordinator.
      EXPECT_EQ(t.status().message().find("frame #"), std::string::npos);
    }
  }
}

TEST(TorchRuntimeTest, ParsesDevices) {
  absl::StatusOr<ComputeDevice> d = ParseComputeDevice("cpu");
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->cuda);
  d = ParseComputeDevice("cuda:3");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->cuda);
  EXPECT_EQ(d->index, 3);
  for (const char* bad :
       {"", "cuda", "cuda:", "cuda:-1", "cuda:1x", "CPU", "mps"}) {
    EXPECT_EQ(ParseComputeDevice(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(TorchRuntimeTest, CheckDevice) {
  EXPECT_TRUE(CheckDevice("cpu").ok());
  EXPECT_EQ(CheckDevice("tpu").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckDevice("cuda:4096").code(),
            absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<AcceleratorInfo> cpu = GetAcceleratorInfo("cpu");
  ASSERT_TRUE(cpu.ok());
  EXPECT_TRUE(cpu->name.empty());
  EXPECT_EQ(cpu->memory_bytes, 0);
}

TEST(TorchRuntimeTest, InterOpThreadsAreFixedOnce) {
  ASSERT_TRUE(ConfigureThreads(2, 1).ok());
  EXPECT_TRUE(ConfigureThreads(1, 1).ok());  // same inter-op count: fine
  EXPECT_EQ(ConfigureThreads(1, 2).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ConfigureThreads(0, 1).code(), absl::StatusCode::kInvalidArgument);
}

TEST(TorchRuntimeTest, VersionAndExceptionText) {
  const std::string version = LibTorchVersion();
  ASSERT_FALSE(version.empty());
  EXPECT_TRUE(version[0] >= '1' && version[0] <= '9') << version;
  EXPECT_NE(version.find('.'), std::string::npos);
  EXPECT_EQ(ExceptionMessage(std::runtime_error("boom")), "boom");
}

}  // namespace
}  // namespace hakd
