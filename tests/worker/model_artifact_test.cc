// Model artifacts: the network specification plus its weights, decoded into a
// network that computes exactly what the original did.
#include "common/torch/model_artifact.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "common/artifact_file.h"
#include "common/network/network_builders.h"
#include "common/torch/network_module.h"

namespace hakd {
namespace {

using ::testing::HasSubstr;

hakd::v1::NetworkSpec TinySpec(int stage2_channels = 8) {
  hakd::v1::NetworkSpec spec;
  spec.set_name("tiny");
  spec.mutable_input()->set_channels(1);
  spec.mutable_input()->set_height(8);
  spec.mutable_input()->set_width(8);
  spec.set_num_classes(3);
  spec.mutable_stem()->set_out_channels(4);
  auto* s1 = spec.add_stages();
  s1->set_name("group1");
  s1->add_blocks()->mutable_residual()->set_out_channels(4);
  auto* s2 = spec.add_stages();
  s2->set_name("group2");
  auto* r = s2->add_blocks()->mutable_residual();
  r->set_out_channels(stage2_channels);
  r->set_stride(2);
  spec.mutable_head()->set_batchnorm_relu(true);
  return spec;
}

std::vector<float> FixedInput(int batch) {
  std::vector<float> x(batch * 64);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(std::sin(0.37 * i) * 1.5);
  return x;
}

TEST(ModelArtifactTest, RoundTripComputesTheSameOutputs) {
  auto spec = TinySpec();
  auto net = BuildNetworkModule(spec);
  ASSERT_TRUE(net.ok()) << net.status();
  auto before = (*net)->Forward(FixedInput(3), 3);
  ASSERT_TRUE(before.ok()) << before.status();

  auto bytes = EncodeModelArtifact(spec, **net);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto contents = DecodeArtifact(*bytes, "m");
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_EQ(contents->kind, ArtifactKind::kModel);

  auto loaded = DecodeModelArtifact(*bytes, "tiny.hakd");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->spec.SerializeAsString(), spec.SerializeAsString());
  auto after = loaded->network->Forward(FixedInput(3), 3);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->logits_shape, before->logits_shape);
  EXPECT_EQ(after->logits, before->logits);
  EXPECT_EQ(after->features, before->features);

  // A fresh network of the same spec (other random weights) differs: the
  // equality above is the weights' doing.
  auto fresh = BuildNetworkModule(spec);
  ASSERT_TRUE(fresh.ok());
  auto other = (*fresh)->Forward(FixedInput(3), 3);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->logits, before->logits);
}

TEST(ModelArtifactTest, FileRoundTrip) {
  auto spec = TinySpec();
  auto net = BuildNetworkModule(spec);
  ASSERT_TRUE(net.ok());
  auto bytes = EncodeModelArtifact(spec, **net);
  ASSERT_TRUE(bytes.ok());
  auto contents = DecodeArtifact(*bytes, "m");
  ASSERT_TRUE(contents.ok());
  const std::string path = ::testing::TempDir() + "/hakd_model_artifact_test.hakd";
  ASSERT_TRUE(WriteArtifactFile(path, *contents).ok());
  auto loaded = LoadModelArtifact(path);
  std::remove(path.c_str());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->network->Forward(FixedInput(1), 1)->logits,
            (*net)->Forward(FixedInput(1), 1)->logits);
  auto missing = LoadModelArtifact(path);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

TEST(ModelArtifactTest, CheckpointIsRefused) {
  auto spec = TinySpec();
  auto net = BuildNetworkModule(spec);
  ASSERT_TRUE(net.ok());
  ArtifactContents c;
  c.kind = ArtifactKind::kCheckpoint;
  c.spec = spec;
  c.payload = *(*net)->SerializeWeights();
  auto loaded = DecodeModelArtifact(EncodeArtifact(c), "ckpt-1");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(loaded.status().message()), HasSubstr("ckpt-1"));
  EXPECT_THAT(std::string(loaded.status().message()), HasSubstr("checkpoint"));
}

TEST(ModelArtifactTest, WeightsOfAnotherSpecAreDataLoss) {
  auto small = BuildNetworkModule(TinySpec(8));
  ASSERT_TRUE(small.ok());
  ArtifactContents c;
  c.kind = ArtifactKind::kModel;
  c.spec = TinySpec(16);  // claims wider weights than the payload holds
  c.payload = *(*small)->SerializeWeights();
  auto loaded = DecodeModelArtifact(EncodeArtifact(c), "mixed.hakd");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss) << loaded.status();
  EXPECT_THAT(std::string(loaded.status().message()), HasSubstr("mixed.hakd"));
  EXPECT_THAT(std::string(loaded.status().message()), HasSubstr("do not fit"));

  c.payload = "not a torch archive";
  loaded = DecodeModelArtifact(EncodeArtifact(c), "garbage.hakd");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss) << loaded.status();
}

TEST(ModelArtifactTest, DamagedBytesAreDataLossAndBadSpecInvalid) {
  auto spec = TinySpec();
  auto net = BuildNetworkModule(spec);
  ASSERT_TRUE(net.ok());
  auto bytes = EncodeModelArtifact(spec, **net);
  ASSERT_TRUE(bytes.ok());
  std::string damaged = *bytes;
  damaged[damaged.size() / 2] ^= 0x01;
  auto loaded = DecodeModelArtifact(damaged, "damaged.hakd");
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);

  ArtifactContents c;
  c.kind = ArtifactKind::kModel;
  c.spec = spec;
  c.spec.clear_stages();  // invalid: a network needs a stage
  c.payload = *(*net)->SerializeWeights();
  loaded = DecodeModelArtifact(EncodeArtifact(c), "nostages.hakd");
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(loaded.status().message()), HasSubstr("nostages.hakd"));
}

}  // namespace
}  // namespace hakd

namespace hakd {
namespace {

// What `hakd-agent --time-artifact` does: the loaded model, its own weights,
// timed end to end under the timing protocol, untouched by the timing.
TEST(ModelArtifactTest, LoadedModelCanBeTimed) {
  auto spec = TinySpec();
  auto net = BuildNetworkModule(spec);
  ASSERT_TRUE(net.ok()) << net.status();
  auto bytes = EncodeModelArtifact(spec, **net);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto loaded = DecodeModelArtifact(*bytes, "tiny.hakd");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  auto before = loaded->network->Forward(FixedInput(2), 2);
  ASSERT_TRUE(before.ok());

  TimingOptions options;
  options.warmup_runs = 1;
  options.min_samples = 5;
  options.max_samples = 5;
  options.min_sample_ms = 0.2;
  options.max_seconds_per_layer = 0.5;
  absl::StatusOr<LayerTiming> timing = TimeBuiltNetwork(*loaded->network, options);
  ASSERT_TRUE(timing.ok()) << timing.status();
  EXPECT_GT(timing->median_us, 0);
  EXPECT_EQ(timing->samples, 5);
  EXPECT_LE(timing->p10_us, timing->median_us);

  auto after = loaded->network->Forward(FixedInput(2), 2);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->logits, before->logits);
}

}  // namespace
}  // namespace hakd
