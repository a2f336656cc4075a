// Whole jobs of every task kind on a tiny network and a separable synthetic
// dataset, with artifacts served from memory instead of the coordinator:
// starting from init_artifact_id, magnitude pruning (and its mask across a
// resume), the saliency task and the Fisher-pruning task.
#include "worker/training_job.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/artifact_file.h"
#include "common/torch/model_artifact.h"
#include "common/torch/network_module.h"
#include "common/torch/torch_runtime.h"
#include "worker/fisher_saliency.h"
#include "worker/magnitude_pruning.h"

namespace hakd::worker {
namespace {

using ::testing::HasSubstr;

// 1x8x8 input, two classes, stem 4; stage 1: a residual block of `c1`
// channels; stage 2: one of 8 channels with stride 2. Mid widths 4 and 8 by
// default.
hakd::v1::NetworkSpec TinySpec(int c1 = 4) {
  hakd::v1::NetworkSpec spec;
  spec.set_name("tiny");
  spec.mutable_input()->set_channels(1);
  spec.mutable_input()->set_height(8);
  spec.mutable_input()->set_width(8);
  spec.set_num_classes(2);
  spec.mutable_stem()->set_out_channels(4);
  spec.add_stages()->add_blocks()->mutable_residual()->set_out_channels(c1);
  auto* r = spec.add_stages()->add_blocks()->mutable_residual();
  r->set_out_channels(8);
  r->set_stride(2);
  spec.mutable_head()->set_batchnorm_relu(true);
  return spec;
}

// Convolution and linear weights of TinySpec(): stem 1*4*9, block 1:
// 2 * 4*4*9, block 2: 4*8*9 + 8*8*9 + shortcut 4*8, fc 8*2.
constexpr int64_t kTinyWeights = 36 + 288 + 288 + 576 + 32 + 16;

// Class 0: dark noisy images; class 1: bright ones.
Dataset Separable(int n, uint32_t seed) {
  Dataset d;
  d.name = "separable";
  d.channels = 1;
  d.height = 8;
  d.width = 8;
  d.num_classes = 2;
  d.mean = {0.5f};
  d.stddev = {0.3f};
  d.augment = false;
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> dark(0, 90), bright(150, 255);
  for (int i = 0; i < n; ++i) {
    const int label = (i * 7 + static_cast<int>(seed)) % 2;
    d.labels.push_back(static_cast<uint8_t>(label));
    for (int p = 0; p < 64; ++p) {
      d.images.push_back(static_cast<uint8_t>(label == 0 ? dark(gen) : bright(gen)));
    }
  }
  return d;
}

class TrainingJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status st = ConfigureThreads(1, 1);
    ASSERT_TRUE(st.ok()) << st;
    cache_.Add("fashion-mnist", Split::kTrain, Separable(256, 1));
    cache_.Add("fashion-mnist", Split::kTest, Separable(64, 2));
  }

  JobContext Context() {
    JobContext c;
    c.loader_threads = 1;
    c.datasets = &cache_;
    c.fetch_artifact = [this](const std::string& id) -> absl::StatusOr<std::string> {
      fetched_.push_back(id);
      auto it = artifacts_.find(id);
      if (it == artifacts_.end()) return absl::NotFoundError(absl::StrCat("no artifact ", id));
      return it->second;
    };
    c.on_step = [this](const StepProgress& p) {
      phases_.insert(p.phase);
      last_ = p;
      return true;
    };
    return c;
  }

  static hakd::v1::TrainingTask Task(int epochs, hakd::v1::TaskKind kind = hakd::v1::TASK_KIND_TRAIN) {
    hakd::v1::TrainingTask task;
    task.set_task_id(1);
    hakd::v1::TrainingSpec* spec = task.mutable_spec();
    spec->set_kind(kind);
    spec->set_dataset("fashion-mnist");
    *spec->mutable_network() = TinySpec();
    spec->mutable_schedule()->set_epochs(epochs);
    spec->mutable_schedule()->set_batch_size(32);
    spec->mutable_schedule()->set_learning_rate(0.05);
    spec->mutable_schedule()->set_seed(7);
    return task;
  }

  // A model artifact of `spec` with random weights.
  static std::string RandomModel(const hakd::v1::NetworkSpec& spec, uint64_t seed) {
    SeedTorch(seed);
    auto net = BuildNetworkModule(spec);
    EXPECT_TRUE(net.ok()) << net.status();
    auto bytes = EncodeModelArtifact(spec, **net);
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    return *bytes;
  }

  // Stores a model trained from scratch for three epochs as "art-trained-1".
  void AddTrainedModel() {
    auto trained = RunTrainingJob(Task(3), Context());
    ASSERT_TRUE(trained.ok()) << trained.status();
    ASSERT_GE(trained->epochs.back().test_accuracy, 0.9);
    artifacts_["art-trained-1"] = trained->model_artifact;
  }

  static NonzeroCount Nonzero(const std::string& model_artifact) {
    auto model = DecodeModelArtifact(model_artifact, "model");
    EXPECT_TRUE(model.ok()) << model.status();
    auto count = CountNonzero(*model->network);
    EXPECT_TRUE(count.ok()) << count.status();
    return *count;
  }

  DatasetCache cache_{"", ""};
  std::map<std::string, std::string> artifacts_;
  std::vector<std::string> fetched_;
  std::set<std::string> phases_;
  StepProgress last_;
};

// ---- init_artifact_id -----------------------------------------------------------

TEST_F(TrainingJobTest, InitArtifactStartsTrainingFromItsWeights) {
  AddTrainedModel();
  // With a learning rate of 1e-9 the job learns nothing: what it knows, it
  // got from the init model.
  hakd::v1::TrainingTask task = Task(1);
  task.mutable_spec()->mutable_schedule()->set_learning_rate(1e-9);
  auto scratch = RunTrainingJob(task, Context());
  ASSERT_TRUE(scratch.ok()) << scratch.status();

  task.mutable_spec()->set_init_artifact_id("art-trained-1");
  fetched_.clear();
  auto from_init = RunTrainingJob(task, Context());
  ASSERT_TRUE(from_init.ok()) << from_init.status();
  EXPECT_EQ(fetched_, std::vector<std::string>{"art-trained-1"});
  EXPECT_GE(from_init->epochs[0].test_accuracy, 0.9);
  EXPECT_LT(from_init->epochs[0].test_loss, scratch->epochs[0].test_loss);
  EXPECT_EQ(from_init->nonzero_params, 0) << "reported only with keep_weights";
}

TEST_F(TrainingJobTest, InitArtifactThatDoesNotFitIsNotRetryable) {
  artifacts_["art-wide-1"] = RandomModel(TinySpec(8), 1);
  hakd::v1::TrainingTask task = Task(1);
  task.mutable_spec()->set_init_artifact_id("art-wide-1");
  auto result = RunTrainingJob(task, Context());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()),
              HasSubstr("spec.init_artifact_id: art-wide-1: weights do not fit this network: stage0.0."));
  EXPECT_FALSE(IsRetryable(result.status()));

  // A checkpoint is no init model; an unknown id is the coordinator's NOT_FOUND.
  ArtifactContents checkpoint;
  checkpoint.kind = ArtifactKind::kCheckpoint;
  checkpoint.spec = TinySpec();
  checkpoint.payload = "x";
  artifacts_["art-ckpt-1"] = EncodeArtifact(checkpoint);
  task.mutable_spec()->set_init_artifact_id("art-ckpt-1");
  result = RunTrainingJob(task, Context());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("checkpoint, not a model"));
  task.mutable_spec()->set_init_artifact_id("art-none-1");
  EXPECT_EQ(RunTrainingJob(task, Context()).status().code(), absl::StatusCode::kNotFound);
}

// ---- magnitude pruning ------------------------------------------------------------

TEST_F(TrainingJobTest, MagnitudePruningKeepsExactlyKeepWeightsThroughTraining) {
  artifacts_["art-init-1"] = RandomModel(TinySpec(), 3);
  ASSERT_EQ(Nonzero(artifacts_["art-init-1"]).prunable, kTinyWeights);
  hakd::v1::TrainingTask task = Task(2);
  task.mutable_spec()->set_init_artifact_id("art-init-1");
  task.mutable_spec()->set_keep_weights(300);
  auto result = RunTrainingJob(task, Context());
  ASSERT_TRUE(result.ok()) << result.status();
  const NonzeroCount count = Nonzero(result->model_artifact);
  EXPECT_EQ(count.prunable, 300);
  EXPECT_EQ(result->nonzero_params, count.parameters);
  EXPECT_GT(result->nonzero_params, 300) << "BatchNorm and biases are not pruned";
  EXPECT_GE(result->epochs.back().test_accuracy, 0.9) << "300 of 1236 weights still learn it";

  // Keeping more weights than there are is a spec error.
  task.mutable_spec()->set_keep_weights(kTinyWeights + 1);
  result = RunTrainingJob(task, Context());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("spec.keep_weights:"));
}

TEST_F(TrainingJobTest, MagnitudeMaskSurvivesResume) {
  artifacts_["art-init-1"] = RandomModel(TinySpec(), 4);
  hakd::v1::TrainingTask task = Task(2);
  task.mutable_spec()->set_init_artifact_id("art-init-1");
  task.mutable_spec()->set_keep_weights(250);
  JobContext first = Context();
  first.on_epoch = [&](const EpochResult& r, const std::string& checkpoint) {
    EXPECT_EQ(r.epoch, 1);
    artifacts_["art-ckpt-1"] = checkpoint;
    return absl::AbortedError("worker killed");
  };
  ASSERT_EQ(RunTrainingJob(task, first).status().code(), absl::StatusCode::kAborted);

  task.set_checkpoint_artifact_id("art-ckpt-1");
  fetched_.clear();
  auto resumed = RunTrainingJob(task, Context());
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->resumed_from_epoch, 1);
  ASSERT_EQ(resumed->epochs.size(), 1u);
  EXPECT_EQ(fetched_, std::vector<std::string>{"art-ckpt-1"}) << "the init model is not fetched again";
  EXPECT_EQ(Nonzero(resumed->model_artifact).prunable, 250);
}

TEST_F(TrainingJobTest, WithoutTheMaskPrunedWeightsComeBack) {
  // The control for the two tests above: pruning alone does not survive
  // SGD with momentum and weight decay.
  SeedTorch(5);
  auto net = BuildNetworkModule(TinySpec());
  ASSERT_TRUE(net.ok());
  ASSERT_TRUE(KeepLargestWeights(net->get(), 250).ok());
  TrainerConfig config;
  config.epochs = 1;
  config.batch_size = 32;
  config.learning_rate = 0.05;
  config.loader_threads = 1;
  auto train = cache_.Get("fashion-mnist", Split::kTrain);
  auto test = cache_.Get("fashion-mnist", Split::kTest);
  ASSERT_TRUE(train.ok() && test.ok());
  auto trainer = Trainer::Create(net->get(), nullptr, *train, *test, config);
  ASSERT_TRUE(trainer.ok());
  ASSERT_TRUE((*trainer)->Run({}).ok());
  EXPECT_GT(CountNonzero(**net)->prunable, 250);
}

// ---- SALIENCY -----------------------------------------------------------------------

TEST_F(TrainingJobTest, SaliencyTaskReportsEveryBlockAndMakesNoModel) {
  artifacts_["art-init-1"] = RandomModel(TinySpec(), 6);
  hakd::v1::TrainingTask task = Task(1, hakd::v1::TASK_KIND_SALIENCY);
  task.mutable_spec()->set_init_artifact_id("art-init-1");
  task.mutable_spec()->set_saliency_examples(40);
  JobContext context = Context();
  context.on_epoch = [](const EpochResult&, const std::string&) {
    ADD_FAILURE() << "a saliency task keeps no checkpoint";
    return absl::OkStatus();
  };
  auto result = RunTrainingJob(task, context);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->model_artifact.empty());
  EXPECT_FALSE(result->result_network.has_value());
  EXPECT_EQ(phases_, std::set<std::string>{"saliency"});
  EXPECT_EQ(last_.step, 40);
  EXPECT_EQ(last_.steps, 40);
  ASSERT_EQ(result->saliency.size(), 2u);

  // The same as ComputeFisherSaliency on the init model and the first 40
  // training images, in the schedule's batches.
  auto model = DecodeModelArtifact(artifacts_["art-init-1"], "init");
  ASSERT_TRUE(model.ok());
  SaliencyOptions options;
  options.batch_size = 32;
  options.examples = 40;
  auto expected = ComputeFisherSaliency(model->network.get(), **cache_.Get("fashion-mnist", Split::kTrain), options);
  ASSERT_TRUE(expected.ok()) << expected.status();
  for (size_t i = 0; i < 2; ++i) {
    const hakd::v1::BlockSaliency& got = result->saliency[i];
    EXPECT_EQ(got.stage(), static_cast<int>(i));
    EXPECT_EQ(got.block(), 0);
    ASSERT_EQ(got.channels_size(), i == 0 ? 4 : 8);
    EXPECT_EQ(std::vector<double>(got.channels().begin(), got.channels().end()), (*expected)[i].channels);
  }
}

TEST_F(TrainingJobTest, SaliencyTaskNeedsAnInitModel) {
  auto result = RunTrainingJob(Task(1, hakd::v1::TASK_KIND_SALIENCY), Context());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("spec.init_artifact_id: required"));
}

// ---- FISHER_PRUNE --------------------------------------------------------------------

// One table: every mid channel costs 1 us (12 us unpruned), `budget` us.
void SetTable(hakd::v1::TrainingTask* task, double budget) {
  hakd::v1::FisherPruneSpec* fisher = task->mutable_spec()->mutable_fisher();
  fisher->set_steps_between_prunes(2);
  hakd::v1::LatencyTable* t = fisher->add_tables();
  t->set_device("cpu");
  t->set_budget_us(budget);
  for (int stage = 0; stage < 2; ++stage) {
    hakd::v1::BlockLatencyCurve* c = t->add_blocks();
    c->set_stage(stage);
    for (int w = 1; w <= 4 * (stage + 1); ++w) c->add_us_by_width(w);
  }
}

TEST_F(TrainingJobTest, FisherPruneTaskUploadsThePrunedNetwork) {
  AddTrainedModel();
  phases_.clear();
  hakd::v1::TrainingTask task = Task(1, hakd::v1::TASK_KIND_FISHER_PRUNE);
  task.mutable_spec()->set_init_artifact_id("art-trained-1");
  SetTable(&task, 9);
  auto result = RunTrainingJob(task, Context());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->channels_removed, 3);
  EXPECT_EQ(phases_, std::set<std::string>{"prune"});
  EXPECT_EQ(last_.step, 3);
  ASSERT_TRUE(result->result_network.has_value());
  const hakd::v1::NetworkSpec& pruned = *result->result_network;
  const int mid0 = ToPlainBlock(pruned.stages(0).blocks(0)).mid_channels;
  const int mid1 = ToPlainBlock(pruned.stages(1).blocks(0)).mid_channels;
  EXPECT_EQ(mid0 + mid1, 9);
  // Only mid widths changed.
  hakd::v1::NetworkSpec unpruned = pruned;
  unpruned.mutable_stages(0)->mutable_blocks(0)->mutable_residual()->clear_mid_channels();
  unpruned.mutable_stages(1)->mutable_blocks(0)->mutable_residual()->clear_mid_channels();
  EXPECT_EQ(unpruned.SerializeAsString(), TinySpec().SerializeAsString());
  // The model artifact is the pruned network, and still classifies.
  auto model = DecodeModelArtifact(result->model_artifact, "pruned");
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->spec.SerializeAsString(), pruned.SerializeAsString());
  std::vector<float> x(2 * 64);
  for (int i = 0; i < 64; ++i) {
    x[i] = (20 / 255.0f - 0.5f) / 0.3f;
    x[64 + i] = (230 / 255.0f - 0.5f) / 0.3f;
  }
  auto out = model->network->Forward(x, 2);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_GT(out->logits[0], out->logits[1]);
  EXPECT_GT(out->logits[3], out->logits[2]);
}

TEST_F(TrainingJobTest, FisherPruneWithAnUnreachableBudgetIsNotRetryable) {
  artifacts_["art-init-1"] = RandomModel(TinySpec(), 8);
  hakd::v1::TrainingTask task = Task(1, hakd::v1::TASK_KIND_FISHER_PRUNE);
  task.mutable_spec()->set_init_artifact_id("art-init-1");
  SetTable(&task, 1.5);  // 2 us at width 1 everywhere
  auto result = RunTrainingJob(task, Context());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("cannot be met"));
  EXPECT_FALSE(IsRetryable(result.status()));
}

TEST_F(TrainingJobTest, UnknownKindIsLeftToAnotherWorker) {
  hakd::v1::TrainingTask task = Task(1);
  task.mutable_spec()->set_kind(static_cast<hakd::v1::TaskKind>(9));
  auto result = RunTrainingJob(task, Context());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_TRUE(IsRetryable(result.status()));
}

}  // namespace
}  // namespace hakd::worker
