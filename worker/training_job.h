// One task from start (or its last checkpoint) to its result. TRAIN: loads
// data, builds the student (from init_artifact_id's weights, magnitude-
// pruned when keep_weights is set, and the teacher from its artifact),
// trains and hands every epoch's checkpoint to the caller. SALIENCY and
// FISHER_PRUNE (analysis_jobs.h) start from init_artifact_id and keep no
// checkpoint: a retry starts them over. Knows nothing of gRPC: the worker
// supplies the artifact fetcher and the callbacks, so tests and benchmarks
// can run jobs directly.
#ifndef HAKD_WORKER_TRAINING_JOB_H_
#define HAKD_WORKER_TRAINING_JOB_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "hakd/v1/training.pb.h"
#include "worker/dataset.h"
#include "worker/trainer.h"

namespace hakd::worker {

// Loaded splits, kept across tasks (loading Fashion-MNIST costs ~0.5 s).
class DatasetCache {
 public:
  // `fashion_mnist_dir` empty: the Debian package's directory.
  DatasetCache(std::string fashion_mnist_dir, std::string cifar10_dir)
      : fashion_mnist_dir_(std::move(fashion_mnist_dir)),
        cifar10_dir_(std::move(cifar10_dir)) {}

  // The split, loaded on first use. Not thread-safe.
  absl::StatusOr<const Dataset*> Get(const std::string& name, Split split);

  // Makes Get return `dataset` for (name, split) without reading files:
  // for tests and benchmarks on synthetic data.
  void Add(const std::string& name, Split split, Dataset dataset);

 private:
  std::string fashion_mnist_dir_;
  std::string cifar10_dir_;
  std::map<std::pair<std::string, int>, std::unique_ptr<Dataset>> loaded_;
};

struct JobContext {
  // "cpu" or "cuda:N". Default "cpu".
  std::string device = "cpu";
  // Batch-preparing threads. Default 2.
  int loader_threads = 2;
  DatasetCache* datasets = nullptr;  // required
  // Returns the bytes of an artifact (the teacher model, the checkpoint).
  std::function<absl::StatusOr<std::string>(const std::string& artifact_id)>
      fetch_artifact;
  // Progress (its phase says of what); returning false cancels.
  std::function<bool(const StepProgress&)> on_step;
  // A finished epoch and the checkpoint artifact's bytes (artifact_file.h);
  // an error stops the job.
  std::function<absl::Status(const EpochResult&, const std::string& checkpoint)>
      on_epoch;
  // Called once when the job resumes from the task's checkpoint.
  std::function<void(int next_epoch)> on_resume;
  // TRAIN with world_size > 1: this member's connected group (not owned;
  // see TrainerConfig::group). Members other than rank 0 make no model
  // artifact. Default null: one worker.
  DataParallelGroup* group = nullptr;
};

// The result of a job: what CompleteTask reports.
struct JobResult {
  // The model artifact's bytes; empty for SALIENCY, which makes no model.
  std::string model_artifact;
  std::vector<EpochResult> epochs;  // TRAIN: every epoch trained
  int resumed_from_epoch = 0;       // 0: started fresh
  // SALIENCY: every residual block's mid-channel saliency.
  std::vector<hakd::v1::BlockSaliency> saliency;
  // FISHER_PRUNE: the pruned network (the model artifact's spec).
  std::optional<hakd::v1::NetworkSpec> result_network;
  int channels_removed = 0;         // FISHER_PRUNE
  // TRAIN with keep_weights: nonzero parameters of the trained model (every
  // parameter, BatchNorm and biases included; not running statistics).
  int64_t nonzero_params = 0;
};

// Runs `task` as its kind says (its checkpoint_artifact_id, when set, is
// resumed by TRAIN). Errors: INVALID_ARGUMENT / FAILED_PRECONDITION /
// NOT_FOUND mean retrying cannot help (bad spec, weights that do not fit
// the network, an unreachable budget, missing data); CANCELLED when on_step
// said stop.
absl::StatusOr<JobResult> RunTrainingJob(const hakd::v1::TrainingTask& task,
                                         const JobContext& context);

// True when an error of RunTrainingJob may go away on another try.
bool IsRetryable(const absl::Status& status);

}  // namespace hakd::worker

#endif  // HAKD_WORKER_TRAINING_JOB_H_
