#include "common/layer_spec.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace hakd {
namespace {

using hakd::v1::LayerSpec;

LayerSpec Conv(int in, int out, int hw, int k, int groups) {
  LayerSpec l;
  l.set_kind(hakd::v1::LAYER_KIND_CONV2D);
  l.set_batch(1);
  l.set_in_channels(in);
  l.set_out_channels(out);
  l.set_height(hw);
  l.set_width(hw);
  l.set_kernel(k);
  l.set_stride(1);
  l.set_padding(k / 2);
  l.set_groups(groups);
  return l;
}

hakd::v1::Measurement GoodMeasurement() {
  hakd::v1::Measurement m;
  *m.mutable_layer() = Conv(32, 32, 32, 3, 1);
  m.set_backend("cpu");
  m.set_threads(1);
  m.set_median_us(170);
  m.set_p10_us(165);
  m.set_p90_us(180);
  m.set_mean_us(172);
  m.set_stddev_us(4);
  m.set_samples(15);
  m.set_runs_per_sample(8);
  return m;
}

TEST(ValidateLayerSpecTest, AcceptsStandardGroupedDepthwiseAndPointwise) {
  EXPECT_TRUE(ValidateLayerSpec(Conv(32, 64, 32, 3, 1), "l").ok());
  EXPECT_TRUE(ValidateLayerSpec(Conv(32, 64, 32, 3, 4), "l").ok());
  EXPECT_TRUE(ValidateLayerSpec(Conv(48, 48, 16, 3, 48), "l").ok());
  EXPECT_TRUE(ValidateLayerSpec(Conv(48, 96, 8, 1, 1), "l").ok());
  EXPECT_TRUE(IsDepthwise(Conv(48, 48, 16, 3, 48)));
  EXPECT_FALSE(IsDepthwise(Conv(48, 96, 16, 3, 48)));
}

TEST(ValidateLayerSpecTest, RejectsGroupsNotDividingChannelsNamingTheField) {
  absl::Status st = ValidateLayerSpec(Conv(30, 64, 32, 3, 4), "batch.measurements[2].layer");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("batch.measurements[2].layer.groups"), std::string::npos)
      << st.message();
}

TEST(ValidateLayerSpecTest, RejectsZeroAndNegativeSizesAndUnknownKind) {
  LayerSpec l = Conv(32, 32, 32, 3, 1);
  l.set_height(0);
  EXPECT_NE(ValidateLayerSpec(l, "l").message().find("l.height"), std::string::npos);
  l = Conv(32, 32, 32, 3, 1);
  l.set_out_channels(-4);
  EXPECT_NE(ValidateLayerSpec(l, "l").message().find("l.out_channels"), std::string::npos);
  l = Conv(32, 32, 32, 3, 1);
  l.set_kind(static_cast<hakd::v1::LayerKind>(77));
  EXPECT_NE(ValidateLayerSpec(l, "l").message().find("l.kind"), std::string::npos);
  l = Conv(32, 32, 32, 3, 1);
  l.set_kind(hakd::v1::LAYER_KIND_UNSPECIFIED);
  EXPECT_FALSE(ValidateLayerSpec(l, "l").ok());
}

TEST(ValidateLayerSpecTest, KernelMustFitInput) {
  LayerSpec l = Conv(8, 8, 2, 7, 1);
  l.set_padding(0);
  absl::Status st = ValidateLayerSpec(l, "l");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("l.kernel"), std::string::npos) << st.message();
}

TEST(ValidateLayerSpecTest, KindSpecificFieldsMustBeZero) {
  LayerSpec lin;
  lin.set_kind(hakd::v1::LAYER_KIND_LINEAR);
  lin.set_batch(1);
  lin.set_in_channels(256);
  lin.set_out_channels(10);
  EXPECT_TRUE(ValidateLayerSpec(lin, "l").ok());
  lin.set_kernel(3);
  EXPECT_NE(ValidateLayerSpec(lin, "l").message().find("l.kernel"), std::string::npos);

  LayerSpec bn;
  bn.set_kind(hakd::v1::LAYER_KIND_BATCHNORM_RELU);
  bn.set_batch(1);
  bn.set_in_channels(16);
  bn.set_out_channels(32);
  bn.set_height(8);
  bn.set_width(8);
  EXPECT_NE(ValidateLayerSpec(bn, "l").message().find("l.out_channels"),
            std::string::npos);
}

TEST(ValidateLayerSpecTest, RefusesHugeTensors) {
  LayerSpec l = Conv(4096, 4096, 8192, 1, 1);
  l.set_batch(64);
  EXPECT_FALSE(ValidateLayerSpec(l, "l").ok());
}

TEST(ValidateMeasurementTest, AcceptsGoodAndRejectsNanNegativeAbsurd) {
  EXPECT_TRUE(ValidateMeasurement(GoodMeasurement(), "m").ok());
  hakd::v1::Measurement m = GoodMeasurement();
  m.set_median_us(std::numeric_limits<double>::quiet_NaN());
  EXPECT_NE(ValidateMeasurement(m, "m").message().find("m.median_us"), std::string::npos);
  m = GoodMeasurement();
  m.set_p10_us(-1);
  EXPECT_NE(ValidateMeasurement(m, "m").message().find("m.p10_us"), std::string::npos);
  m = GoodMeasurement();
  m.set_median_us(1e12);
  m.set_p90_us(1e12);
  EXPECT_NE(ValidateMeasurement(m, "m").message().find("beyond the limit"),
            std::string::npos);
  m = GoodMeasurement();
  m.set_median_us(200);  // above p90
  EXPECT_FALSE(ValidateMeasurement(m, "m").ok());
  m = GoodMeasurement();
  m.set_stddev_us(std::numeric_limits<double>::infinity());
  EXPECT_FALSE(ValidateMeasurement(m, "m").ok());
  m = GoodMeasurement();
  m.set_samples(0);
  EXPECT_NE(ValidateMeasurement(m, "m").message().find("m.samples"), std::string::npos);
}

TEST(ValidateMeasurementTest, ConditionsAreChecked) {
  hakd::v1::Measurement m = GoodMeasurement();
  m.set_cv(-0.1);
  EXPECT_NE(ValidateMeasurement(m, "m").message().find("m.cv"), std::string::npos);
  m = GoodMeasurement();
  m.mutable_state()->set_temperature_c(std::numeric_limits<double>::quiet_NaN());
  EXPECT_NE(ValidateMeasurement(m, "m").message().find("m.state.temperature_c"),
            std::string::npos);
  m = GoodMeasurement();
  m.set_attempts(1000);
  EXPECT_NE(ValidateMeasurement(m, "m").message().find("m.attempts"), std::string::npos);
  m = GoodMeasurement();
  m.mutable_state()->set_frequency_khz(-5);
  EXPECT_FALSE(ValidateMeasurement(m, "m").ok());
  m = GoodMeasurement();  // samples = 15
  for (int i = 0; i < 15; ++i) m.add_samples_us(170 + i);
  EXPECT_TRUE(ValidateMeasurement(m, "m").ok());
  m.add_samples_us(171);
  EXPECT_NE(ValidateMeasurement(m, "m").message().find("m.samples_us: holds 16"),
            std::string::npos);
  m.mutable_samples_us()->RemoveLast();
  m.set_samples_us(3, std::numeric_limits<double>::quiet_NaN());
  EXPECT_NE(ValidateMeasurement(m, "m").message().find("m.samples_us[3]"),
            std::string::npos);
}

TEST(ValidateBatchTest, NamesTheBadEntryAndChecksIdAndSize) {
  hakd::v1::MeasurementBatch b;
  b.set_batch_id("abc-1");
  *b.add_measurements() = GoodMeasurement();
  *b.add_measurements() = GoodMeasurement();
  EXPECT_TRUE(ValidateBatch(b).ok());
  b.mutable_measurements(1)->mutable_layer()->set_groups(5);
  absl::Status st = ValidateBatch(b);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("batch.measurements[1].layer.groups"), std::string::npos)
      << st.message();
  b.mutable_measurements(1)->mutable_layer()->set_groups(1);
  b.set_batch_id("has space");
  EXPECT_NE(ValidateBatch(b).message().find("batch_id"), std::string::npos);
  b.set_batch_id("ok");
  BatchLimits small;
  small.max_measurements = 1;
  EXPECT_NE(ValidateBatch(b, LayerLimits(), small).message().find("limit"),
            std::string::npos);
  hakd::v1::MeasurementBatch empty;
  empty.set_batch_id("e");
  EXPECT_FALSE(ValidateBatch(empty).ok());
}

TEST(DeviceNameTest, Rules) {
  EXPECT_TRUE(ValidateDeviceName("rpi4-lab.2", "name").ok());
  EXPECT_FALSE(ValidateDeviceName("4pi", "name").ok());
  EXPECT_FALSE(ValidateDeviceName("", "name").ok());
  EXPECT_FALSE(ValidateDeviceName("a b", "name").ok());
  EXPECT_FALSE(ValidateDeviceName(std::string(65, 'a'), "name").ok());
}

TEST(LayerMathTest, MacsAndDescription) {
  // 3x3 conv 32->32 at 32x32: 32*32*32*32*9 MACs.
  EXPECT_EQ(LayerMacs(Conv(32, 32, 32, 3, 1)), int64_t{32} * 32 * 32 * 32 * 9);
  // Depthwise: each output channel sees one input channel.
  EXPECT_EQ(LayerMacs(Conv(32, 32, 32, 3, 32)), int64_t{32} * 32 * 32 * 9);
  EXPECT_EQ(DescribeLayer(Conv(32, 64, 16, 3, 1)), "conv2d 3x3/1 p1 g1 32->64 @16x16 b1");
  EXPECT_EQ(ParseLayerKind("conv2d"), hakd::v1::LAYER_KIND_CONV2D);
  EXPECT_EQ(ParseLayerKind("nope"), hakd::v1::LAYER_KIND_UNSPECIFIED);
}

}  // namespace
}  // namespace hakd
