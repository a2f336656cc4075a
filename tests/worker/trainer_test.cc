// The trainer: learning-rate schedules, training a tiny network on a
// separable synthetic dataset, exact resumption from a checkpoint,
// cancellation and distillation from a teacher.
#include "worker/trainer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "common/torch/network_module.h"
#include "common/torch/torch_runtime.h"
#include "worker/training_config.h"

namespace hakd::worker {
namespace {

using ::testing::HasSubstr;

// ---- LearningRateAt --------------------------------------------------------------

TrainerConfig Lr(LrSchedule schedule, int epochs = 10, int warmup = 0) {
  TrainerConfig c;
  c.learning_rate = 0.1;
  c.epochs = epochs;
  c.schedule = schedule;
  c.warmup_epochs = warmup;
  return c;
}

TEST(LearningRateTest, Cosine) {
  TrainerConfig c = Lr(LrSchedule::kCosine);
  EXPECT_DOUBLE_EQ(LearningRateAt(c, 0, 0, 100), 0.1);
  EXPECT_NEAR(LearningRateAt(c, 5, 0, 100), 0.05, 1e-12);
  EXPECT_NEAR(LearningRateAt(c, 2, 50, 100), 0.1 * 0.5 * (1 + std::cos(M_PI * 0.25)), 1e-12);
  const double last = LearningRateAt(c, 9, 99, 100);
  EXPECT_GT(last, 0);
  EXPECT_LT(last, 1e-5);
  // Decreasing all the way, also within an epoch.
  double prev = 1;
  for (int e = 0; e < 10; ++e) {
    for (int s = 0; s < 100; s += 10) {
      double lr = LearningRateAt(c, e, s, 100);
      EXPECT_LT(lr, prev + 1e-15) << e << " " << s;
      prev = lr;
    }
  }
  // Never below zero past the end.
  EXPECT_NEAR(LearningRateAt(c, 10, 0, 100), 0.0, 1e-15);
}

TEST(LearningRateTest, StepWithMilestones) {
  TrainerConfig c = Lr(LrSchedule::kStep);
  c.milestones = {3, 6};
  c.gamma = 0.1;
  for (int e = 0; e < 3; ++e) EXPECT_DOUBLE_EQ(LearningRateAt(c, e, 50, 100), 0.1) << e;
  for (int e = 3; e < 6; ++e) EXPECT_NEAR(LearningRateAt(c, e, 0, 100), 0.01, 1e-15) << e;
  for (int e = 6; e < 10; ++e) EXPECT_NEAR(LearningRateAt(c, e, 99, 100), 0.001, 1e-15) << e;
}

TEST(LearningRateTest, Constant) {
  TrainerConfig c = Lr(LrSchedule::kConstant);
  for (int e = 0; e < 10; ++e) EXPECT_DOUBLE_EQ(LearningRateAt(c, e, 7, 10), 0.1);
}

TEST(LearningRateTest, WarmupStartsAtATenthAndRisesLinearly) {
  TrainerConfig c = Lr(LrSchedule::kCosine, 10, 2);
  EXPECT_NEAR(LearningRateAt(c, 0, 0, 100), 0.01, 1e-15);
  EXPECT_NEAR(LearningRateAt(c, 0, 50, 100), 0.1 * (0.1 + 0.9 * 0.25), 1e-15);
  EXPECT_NEAR(LearningRateAt(c, 1, 0, 100), 0.1 * (0.1 + 0.9 * 0.5), 1e-15);
  EXPECT_NEAR(LearningRateAt(c, 1, 50, 100), 0.1 * (0.1 + 0.9 * 0.75), 1e-15);
  // Equal steps, equal increments.
  const double d1 = LearningRateAt(c, 0, 20, 100) - LearningRateAt(c, 0, 10, 100);
  const double d2 = LearningRateAt(c, 1, 70, 100) - LearningRateAt(c, 1, 60, 100);
  EXPECT_NEAR(d1, d2, 1e-15);
  // Then the cosine over the remaining epochs: full lr, half at its middle.
  EXPECT_DOUBLE_EQ(LearningRateAt(c, 2, 0, 100), 0.1);
  EXPECT_NEAR(LearningRateAt(c, 6, 0, 100), 0.05, 1e-12);
  EXPECT_LT(LearningRateAt(c, 9, 99, 100), 1e-5);

  TrainerConfig s = Lr(LrSchedule::kStep, 10, 1);
  s.milestones = {5};
  EXPECT_NEAR(LearningRateAt(s, 0, 0, 10), 0.01, 1e-15);
  EXPECT_DOUBLE_EQ(LearningRateAt(s, 1, 0, 10), 0.1);
  EXPECT_NEAR(LearningRateAt(s, 5, 0, 10), 0.02, 1e-15);
}

// ---- a tiny network on a separable dataset ------------------------------------------

// 1x8x8 input, `classes` classes, stem 4 channels, stage 1: one residual
// block of `c1` channels; stage 2: one of `c2` channels with stride 2.
hakd::v1::NetworkSpec TinySpec(int c1 = 4, int c2 = 8, int stem = 4, int classes = 2) {
  hakd::v1::NetworkSpec spec;
  spec.set_name("tiny");
  spec.mutable_input()->set_channels(1);
  spec.mutable_input()->set_height(8);
  spec.mutable_input()->set_width(8);
  spec.set_num_classes(classes);
  spec.mutable_stem()->set_out_channels(stem);
  auto* s1 = spec.add_stages();
  s1->set_name("group1");
  s1->add_blocks()->mutable_residual()->set_out_channels(c1);
  auto* s2 = spec.add_stages();
  s2->set_name("group2");
  auto* r = s2->add_blocks()->mutable_residual();
  r->set_out_channels(c2);
  r->set_stride(2);
  spec.mutable_head()->set_batchnorm_relu(true);
  return spec;
}

// Class 0: dark noisy images; class 1: bright ones. Labels alternate.
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

std::vector<float> FixedInput(int batch) {
  std::vector<float> x(batch * 64);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(std::cos(0.29 * i) * 1.2);
  return x;
}

TrainerConfig SmallConfig(int epochs) {
  TrainerConfig c;
  c.epochs = epochs;
  c.batch_size = 32;
  c.learning_rate = 0.05;
  c.seed = 7;
  c.loader_threads = 2;
  c.eval_batch_size = 20;  // several evaluation batches, the last partial
  return c;
}

std::unique_ptr<TorchNetwork> Build(const hakd::v1::NetworkSpec& spec) {
  auto net = BuildNetworkModule(spec);
  EXPECT_TRUE(net.ok()) << net.status();
  return net.ok() ? std::move(*net) : nullptr;
}

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // One thread each: CPU kernels then sum in a fixed order, so runs are
    // bitwise repeatable.
    absl::Status st = ConfigureThreads(1, 1);
    ASSERT_TRUE(st.ok()) << st;
  }
  Dataset train_ = Separable(256, 1);
  Dataset test_ = Separable(64, 2);
};

TEST_F(TrainerTest, LearnsASeparableDataset) {
  SeedTorch(7);
  auto net = Build(TinySpec());
  ASSERT_NE(net, nullptr);
  auto trainer = Trainer::Create(net.get(), nullptr, &train_, &test_, SmallConfig(3));
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  EXPECT_EQ((*trainer)->next_epoch(), 0);
  int steps = 0, epochs_seen = 0;
  TrainerCallbacks cb;
  cb.on_step = [&](const StepProgress& p) {
    ++steps;
    EXPECT_EQ(p.epochs, 3);
    EXPECT_EQ(p.steps, 8);
    EXPECT_GE(p.step, 1);
    EXPECT_LE(p.step, 8);
    EXPECT_TRUE(std::isfinite(p.loss));
    EXPECT_GE(p.accuracy, 0);
    EXPECT_LE(p.accuracy, 1);
    return true;
  };
  cb.on_epoch = [&](const EpochResult& r, const std::string& checkpoint) {
    EXPECT_EQ(r.epoch, ++epochs_seen);
    EXPECT_FALSE(checkpoint.empty());
    return absl::OkStatus();
  };
  auto results = (*trainer)->Run(cb);
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 3u);
  EXPECT_EQ(steps, 3 * 8);
  EXPECT_EQ(epochs_seen, 3);
  EXPECT_EQ((*trainer)->next_epoch(), 3);
  const EpochResult& first = results->front();
  const EpochResult& last = results->back();
  for (const EpochResult& r : *results) {
    EXPECT_TRUE(std::isfinite(r.train_loss));
    EXPECT_TRUE(std::isfinite(r.test_loss));
    EXPECT_GT(r.learning_rate, 0);
    EXPECT_GT(r.images_per_second, 0);
    EXPECT_GE(r.seconds, 0);
  }
  EXPECT_LT(last.train_loss, first.train_loss);
  EXPECT_GE(last.test_accuracy, 0.9);
  EXPECT_GE(last.train_accuracy, 0.9);
  // The last learning rate of a 3-epoch cosine is near zero.
  EXPECT_LT(last.learning_rate, first.learning_rate);

  // Evaluate agrees with the last epoch's evaluation.
  auto eval = (*trainer)->Evaluate();
  ASSERT_TRUE(eval.ok()) << eval.status();
  EXPECT_DOUBLE_EQ(eval->test_accuracy, last.test_accuracy);
  EXPECT_NEAR(eval->test_loss, last.test_loss, 1e-6);

  // The trained network classifies fresh dark and bright images.
  std::vector<float> x(2 * 64);
  for (int i = 0; i < 64; ++i) {
    x[i] = (20 / 255.0f - 0.5f) / 0.3f;
    x[64 + i] = (230 / 255.0f - 0.5f) / 0.3f;
  }
  auto out = net->Forward(x, 2);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_GT(out->logits[0], out->logits[1]);
  EXPECT_GT(out->logits[3], out->logits[2]);
}

TEST_F(TrainerTest, ResumeFromACheckpointIsExact) {
  const TrainerConfig config = SmallConfig(2);
  // Run A: two epochs straight.
  SeedTorch(config.seed);
  auto a = Build(TinySpec());
  ASSERT_NE(a, nullptr);
  std::vector<EpochResult> a_results;
  {
    auto trainer = Trainer::Create(a.get(), nullptr, &train_, &test_, config);
    ASSERT_TRUE(trainer.ok()) << trainer.status();
    auto r = (*trainer)->Run({});
    ASSERT_TRUE(r.ok()) << r.status();
    a_results = *r;
  }
  ASSERT_EQ(a_results.size(), 2u);

  // Run B: one epoch, then stopped by its on_epoch.
  std::string checkpoint;
  {
    SeedTorch(config.seed);
    auto b = Build(TinySpec());
    ASSERT_NE(b, nullptr);
    auto trainer = Trainer::Create(b.get(), nullptr, &train_, &test_, config);
    ASSERT_TRUE(trainer.ok()) << trainer.status();
    TrainerCallbacks cb;
    cb.on_epoch = [&](const EpochResult& r, const std::string& ckpt) {
      EXPECT_EQ(r.epoch, 1);
      EXPECT_EQ(r.train_loss, a_results[0].train_loss) << "same first epoch";
      EXPECT_EQ(r.test_loss, a_results[0].test_loss);
      checkpoint = ckpt;
      return absl::AbortedError("worker stopped");
    };
    auto r = (*trainer)->Run(cb);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kAborted);
    EXPECT_EQ(r.status().message(), "worker stopped");
  }
  ASSERT_FALSE(checkpoint.empty());

  // A fresh student and trainer resume and train the second epoch.
  SeedTorch(config.seed);
  auto c = Build(TinySpec());
  ASSERT_NE(c, nullptr);
  auto trainer = Trainer::Create(c.get(), nullptr, &train_, &test_, config);
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  ASSERT_TRUE((*trainer)->Resume(checkpoint).ok());
  EXPECT_EQ((*trainer)->next_epoch(), 1);
  auto r = (*trainer)->Run({});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].epoch, 2);
  EXPECT_EQ((*r)[0].train_loss, a_results[1].train_loss);
  EXPECT_EQ((*r)[0].train_accuracy, a_results[1].train_accuracy);
  EXPECT_EQ((*r)[0].test_loss, a_results[1].test_loss);
  EXPECT_EQ((*r)[0].learning_rate, a_results[1].learning_rate);

  auto out_a = a->Forward(FixedInput(4), 4);
  auto out_c = c->Forward(FixedInput(4), 4);
  ASSERT_TRUE(out_a.ok() && out_c.ok());
  EXPECT_EQ(out_a->logits, out_c->logits);
  EXPECT_EQ(out_a->features, out_c->features);
  auto weights_a = a->SerializeWeights();
  auto weights_c = c->SerializeWeights();
  ASSERT_TRUE(weights_a.ok() && weights_c.ok());
  EXPECT_TRUE(*weights_a == *weights_c) << "serialised weights differ";

  // Nothing left to train after the last epoch.
  auto again = (*trainer)->Run({});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
}

TEST_F(TrainerTest, ResumeRefusesAnotherSeedAndGarbage) {
  TrainerConfig config = SmallConfig(2);
  config.steps_per_epoch = 1;
  SeedTorch(1);
  auto net = Build(TinySpec());
  std::string checkpoint;
  {
    auto trainer = Trainer::Create(net.get(), nullptr, &train_, &test_, config);
    ASSERT_TRUE(trainer.ok());
    TrainerCallbacks cb;
    cb.on_epoch = [&](const EpochResult&, const std::string& ckpt) {
      checkpoint = ckpt;
      return absl::OkStatus();
    };
    ASSERT_TRUE((*trainer)->Run(cb).ok());
  }
  TrainerConfig other = config;
  other.seed = 8;
  auto trainer = Trainer::Create(net.get(), nullptr, &train_, &test_, other);
  ASSERT_TRUE(trainer.ok());
  absl::Status st = (*trainer)->Resume(checkpoint);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_THAT(std::string(st.message()), HasSubstr("seed"));

  st = (*trainer)->Resume("definitely not a checkpoint");
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
  st = (*trainer)->Resume(checkpoint.substr(0, checkpoint.size() / 2));
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;

  // A checkpoint after 2 epochs into a 1-epoch run is out of range.
  TrainerConfig shorter = config;
  shorter.epochs = 1;
  auto short_trainer = Trainer::Create(net.get(), nullptr, &train_, &test_, shorter);
  ASSERT_TRUE(short_trainer.ok());
  st = (*short_trainer)->Resume(checkpoint);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
}

TEST_F(TrainerTest, OnStepReturningFalseCancels) {
  SeedTorch(3);
  auto net = Build(TinySpec());
  auto trainer = Trainer::Create(net.get(), nullptr, &train_, &test_, SmallConfig(3));
  ASSERT_TRUE(trainer.ok());
  int steps = 0, epochs = 0;
  TrainerCallbacks cb;
  cb.on_step = [&](const StepProgress&) { return ++steps < 3; };
  cb.on_epoch = [&](const EpochResult&, const std::string&) {
    ++epochs;
    return absl::OkStatus();
  };
  auto r = (*trainer)->Run(cb);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(steps, 3);
  EXPECT_EQ(epochs, 0);
  EXPECT_EQ((*trainer)->next_epoch(), 0);
}

TEST_F(TrainerTest, StepsPerEpochLimitsTheEpoch) {
  TrainerConfig config = SmallConfig(1);
  config.steps_per_epoch = 3;
  SeedTorch(3);
  auto net = Build(TinySpec());
  auto trainer = Trainer::Create(net.get(), nullptr, &train_, &test_, config);
  ASSERT_TRUE(trainer.ok());
  int64_t last_step = 0, steps_announced = 0;
  TrainerCallbacks cb;
  cb.on_step = [&](const StepProgress& p) {
    last_step = p.step;
    steps_announced = p.steps;
    return true;
  };
  ASSERT_TRUE((*trainer)->Run(cb).ok());
  EXPECT_EQ(last_step, 3);
  EXPECT_EQ(steps_announced, 3);

  double ips = 0;
  auto loss = (*trainer)->TrainSteps(2, &ips);
  ASSERT_TRUE(loss.ok()) << loss.status();
  EXPECT_TRUE(std::isfinite(*loss));
  EXPECT_GT(ips, 0);
}

TEST_F(TrainerTest, CreateRejectsBadArguments) {
  auto net = Build(TinySpec());
  Dataset empty = train_;
  empty.labels.clear();
  empty.images.clear();
  EXPECT_EQ(Trainer::Create(nullptr, nullptr, &train_, &test_, SmallConfig(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Trainer::Create(net.get(), nullptr, nullptr, &test_, SmallConfig(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Trainer::Create(net.get(), nullptr, &empty, &test_, SmallConfig(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Trainer::Create(net.get(), nullptr, &train_, &empty, SmallConfig(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  TrainerConfig zero = SmallConfig(1);
  zero.epochs = 0;
  EXPECT_EQ(Trainer::Create(net.get(), nullptr, &train_, &test_, zero).status().code(),
            absl::StatusCode::kInvalidArgument);
  zero = SmallConfig(1);
  zero.batch_size = 0;
  EXPECT_EQ(Trainer::Create(net.get(), nullptr, &train_, &test_, zero).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(TrainerTest, DistillationFromATrainedTeacher) {
  // The teacher: the tiny network trained for two epochs.
  SeedTorch(7);
  const hakd::v1::NetworkSpec teacher_spec = TinySpec();
  auto teacher = Build(teacher_spec);
  {
    auto trainer = Trainer::Create(teacher.get(), nullptr, &train_, &test_, SmallConfig(2));
    ASSERT_TRUE(trainer.ok());
    auto r = (*trainer)->Run({});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_GE(r->back().test_accuracy, 0.9);
  }
  auto teacher_before = teacher->Forward(FixedInput(2), 2);
  ASSERT_TRUE(teacher_before.ok());

  // A narrower student with the same attention points (8x8, 4x4).
  const hakd::v1::NetworkSpec student_spec = TinySpec(2, 4, 2);
  ASSERT_TRUE(CheckDistillationPair(student_spec, teacher_spec, true).ok());
  for (double beta : {1000.0, -1.0}) {
    SCOPED_TRACE(beta);
    SeedTorch(11);
    auto student = Build(student_spec);
    TrainerConfig config = SmallConfig(2);
    config.beta = beta;
    config.temperature = 4;
    config.alpha = 0.9;
    auto trainer = Trainer::Create(student.get(), teacher.get(), &train_, &test_, config);
    ASSERT_TRUE(trainer.ok()) << trainer.status();
    std::vector<double> losses;
    TrainerCallbacks cb;
    cb.on_step = [&](const StepProgress& p) {
      losses.push_back(p.loss);
      return true;
    };
    auto r = (*trainer)->Run(cb);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->size(), 2u);
    EXPECT_EQ(losses.size(), 16u);
    for (double l : losses) {
      EXPECT_TRUE(std::isfinite(l));
      EXPECT_GE(l, 0);
    }
    for (const EpochResult& e : *r) {
      EXPECT_TRUE(std::isfinite(e.train_loss));
      EXPECT_TRUE(std::isfinite(e.test_loss));
    }
    EXPECT_LT(r->back().train_loss, r->front().train_loss);
  }
  // The teacher is not trained by distillation.
  auto teacher_after = teacher->Forward(FixedInput(2), 2);
  ASSERT_TRUE(teacher_after.ok());
  EXPECT_EQ(teacher_after->logits, teacher_before->logits);
}

TEST(DistillationPairTest, MismatchedAttentionPointsAreRejected) {
  const hakd::v1::NetworkSpec teacher = TinySpec();
  // One stage only: 1 attention point against 2.
  hakd::v1::NetworkSpec one_stage = TinySpec(2, 4, 2);
  one_stage.mutable_stages()->RemoveLast();
  absl::Status st = CheckDistillationPair(one_stage, teacher, true);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(st.message()), HasSubstr("spec.network.stages"));
  EXPECT_TRUE(CheckDistillationPair(one_stage, teacher, false).ok());
  // Stage 2 without stride: 8x8 against the teacher's 4x4.
  hakd::v1::NetworkSpec no_stride = TinySpec(2, 4, 2);
  no_stride.mutable_stages(1)->mutable_blocks(0)->mutable_residual()->set_stride(1);
  st = CheckDistillationPair(no_stride, teacher, true);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(st.message()), HasSubstr("stages[1]"));
  EXPECT_THAT(std::string(st.message()), HasSubstr("8x8"));
  // Another number of classes.
  st = CheckDistillationPair(TinySpec(2, 4, 2, 3), teacher, false);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hakd::worker
