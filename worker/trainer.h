// The trainer shared by teacher training (cross-entropy) and student
// distillation (Hinton KD + attention transfer): SGD with momentum,
// step/cosine schedules with optional warm-up, evaluation on the test split
// every epoch and a checkpoint every epoch from which a run resumes exactly.
// Torch-free header (the implementation is torch code).
#ifndef HAKD_WORKER_TRAINER_H_
#define HAKD_WORKER_TRAINER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/torch/torch_network.h"
#include "worker/dataset.h"

namespace hakd::worker {

class DataParallelGroup;  // worker/data_parallel.h

enum class LrSchedule { kCosine, kStep, kConstant };

// Every value already defaulted (hakd.v1.Schedule and Distillation with
// their zeros resolved, see training_config.h).
struct TrainerConfig {
  int epochs = 10;                  // default 10
  int batch_size = 128;             // default 128
  double learning_rate = 0.1;       // default 0.1
  double momentum = 0.9;            // default 0.9
  bool nesterov = true;             // default true
  double weight_decay = 5e-4;       // default 5e-4
  LrSchedule schedule = LrSchedule::kCosine;  // default cosine
  std::vector<int> milestones;      // step: epochs (1-based) where lr *= gamma
  double gamma = 0.2;               // default 0.2
  int warmup_epochs = 0;            // default 0
  uint64_t seed = 1;                // default 1
  int64_t steps_per_epoch = 0;      // 0 (default): a full pass
  bool mixed_precision = false;     // bfloat16 autocast on CUDA only
  // Distillation (used when a teacher is given).
  double temperature = 4;           // default 4
  double alpha = 0.9;               // default 0.9; 0: no KD term
  double beta = 1000;               // default 1000; < 0: no attention term
  // Magnitude pruning: the convolution and linear weights that are zero
  // when Run starts (after Resume, so a resumed run rebuilds the same mask
  // from the checkpoint) stay zero, re-masked after every optimiser step so
  // that momentum and weight decay cannot revive them. Default false.
  bool keep_zero_weights = false;
  // Data loading threads. Default 2.
  int loader_threads = 2;
  // Test batch size. Default 256.
  int eval_batch_size = 256;
  // Data-parallel training (not owned; null, the default: one worker).
  // Each member trains on its shard of every global batch (batch_size is
  // the global batch), gradients are averaged over the group before every
  // optimiser step, rank 0's weights and buffers are broadcast when a run
  // starts and its BatchNorm statistics before every evaluation, and the
  // test split is evaluated in shards. Reported losses, accuracies and
  // images/s are the group's. Only rank 0 makes checkpoints (the others'
  // on_epoch gets an empty one).
  DataParallelGroup* group = nullptr;
};

// The learning rate at `step` (0-based) of `epoch` (0-based).
double LearningRateAt(const TrainerConfig& config, int epoch, int64_t step,
                      int64_t steps_per_epoch);

// Progress inside an epoch.
struct StepProgress {
  int epoch = 0;            // 1-based
  int epochs = 0;
  int64_t step = 0;         // 1-based
  int64_t steps = 0;
  double loss = 0;          // running mean over the epoch
  double accuracy = 0;      // running training accuracy
  double images_per_second = 0;
  // What the job is doing: "train", or "saliency" / "prune" for the
  // analysis tasks, which reuse this report (training_job.h).
  std::string phase = "train";
};

// One finished epoch.
struct EpochResult {
  int epoch = 0;  // 1-based
  double train_loss = 0;
  double train_accuracy = 0;
  double test_loss = 0;
  double test_accuracy = 0;
  double images_per_second = 0;   // training steps only
  double seconds = 0;             // training + evaluation
  double learning_rate = 0;       // at the last step
  double loader_wait_seconds = 0; // time the trainer waited on data
};

struct TrainerCallbacks {
  // After every step; returning false stops the run (CANCELLED).
  std::function<bool(const StepProgress&)> on_step;
  // After every epoch with the checkpoint to resume from after it; an error
  // stops the run with that error.
  std::function<absl::Status(const EpochResult&, const std::string& checkpoint)>
      on_epoch;
};

// Seeds LibTorch's generators (initial weights); call before building the
// networks of a run.
void SeedTorch(uint64_t seed);

class Trainer {
 public:
  // `student` is trained in place; `teacher` (may be null: teacher training)
  // must share the student's input and, when beta >= 0, the spatial size of
  // every attention point. Datasets and networks must outlive the trainer.
  static absl::StatusOr<std::unique_ptr<Trainer>> Create(
      TorchNetwork* student, TorchNetwork* teacher, const Dataset* train,
      const Dataset* test, const TrainerConfig& config);
  ~Trainer();

  // Restores model, optimiser, epoch and RNG state from a checkpoint made by
  // this trainer's configuration. DATA_LOSS when it cannot be read.
  absl::Status Resume(const std::string& checkpoint);

  // First epoch (0-based) Run will train.
  int next_epoch() const;

  // Trains from next_epoch() to the last epoch.
  absl::StatusOr<std::vector<EpochResult>> Run(const TrainerCallbacks& callbacks);

  // Test loss and accuracy of the student now.
  absl::StatusOr<EpochResult> Evaluate();

  // One distillation (or teacher) step on a batch of the training split,
  // without checkpoints: for throughput benchmarks. Returns the loss.
  absl::StatusOr<double> TrainSteps(int64_t steps, double* images_per_second);

 private:
  class Impl;
  explicit Trainer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hakd::worker

#endif  // HAKD_WORKER_TRAINER_H_
