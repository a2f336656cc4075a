#include "worker/training_job.h"

#include "absl/strings/str_cat.h"
#include "common/artifact_file.h"
#include "common/torch/model_artifact.h"
#include "common/torch/network_module.h"
#include "worker/analysis_jobs.h"
#include "worker/data_parallel.h"
#include "worker/job_setup.h"
#include "worker/magnitude_pruning.h"
#include "worker/training_config.h"

namespace hakd::worker {
namespace {

// TRAIN: a teacher, or a student distilled from one, from random weights
// or from init_artifact_id, magnitude-pruned when keep_weights is set.
absl::StatusOr<JobResult> RunTrainJob(const hakd::v1::TrainingTask& task,
                                      const JobContext& context) {
  const hakd::v1::TrainingSpec& spec = task.spec();
  absl::StatusOr<TrainerConfig> config = ToTrainerConfig(spec);
  if (!config.ok()) return config.status();
  config->loader_threads = context.loader_threads;
  config->group = context.group;
  if (spec.keep_weights() < 0) return absl::InvalidArgumentError("spec.keep_weights: negative");
  if (spec.keep_weights() > 0 && spec.init_artifact_id().empty()) {
    return absl::InvalidArgumentError("spec.keep_weights: needs init_artifact_id (the trained model to prune)");
  }
  config->keep_zero_weights = spec.keep_weights() > 0;
  absl::StatusOr<std::unique_ptr<JobData>> data = LoadJobData(spec, context, /*with_test=*/true);
  if (!data.ok()) return data.status();

  SeedTorch(config->seed);
  NetworkModuleOptions module_options;
  module_options.device = context.device;
  absl::StatusOr<std::unique_ptr<TorchNetwork>> student = BuildNetworkModule(spec.network(), module_options);
  if (!student.ok()) return student.status();
  // A resumed run takes everything from its checkpoint, the pruned zeros
  // included (the trainer rebuilds the mask from them).
  const bool resuming = !task.checkpoint_artifact_id().empty();
  if (!resuming && !spec.init_artifact_id().empty()) {
    if (absl::Status st = LoadInitWeights(spec, context, student->get()); !st.ok()) return st;
  }
  if (!resuming && spec.keep_weights() > 0) {
    if (absl::Status st = KeepLargestWeights(student->get(), spec.keep_weights()); !st.ok()) {
      return st.code() == absl::StatusCode::kInvalidArgument
                 ? absl::InvalidArgumentError(absl::StrCat("spec.", st.message()))
                 : st;
    }
  }

  std::unique_ptr<TorchNetwork> teacher;
  if (!spec.distillation().teacher_artifact_id().empty()) {
    const std::string& id = spec.distillation().teacher_artifact_id();
    absl::StatusOr<std::string> bytes = context.fetch_artifact(id);
    if (!bytes.ok()) return bytes.status();
    absl::StatusOr<LoadedModel> loaded = DecodeModelArtifact(*bytes, id, context.device);
    if (!loaded.ok()) return loaded.status();
    if (absl::Status st = CheckDistillationPair(spec.network(), loaded->spec, config->beta >= 0); !st.ok()) return st;
    teacher = std::move(loaded->network);
  }

  absl::StatusOr<std::unique_ptr<Trainer>> trainer =
      Trainer::Create(student->get(), teacher.get(), (*data)->train, (*data)->test, *config);
  if (!trainer.ok()) return trainer.status();

  JobResult result;
  if (resuming) {
    absl::StatusOr<std::string> bytes = context.fetch_artifact(task.checkpoint_artifact_id());
    if (!bytes.ok()) return bytes.status();
    absl::StatusOr<ArtifactContents> contents = DecodeArtifact(*bytes, task.checkpoint_artifact_id());
    if (!contents.ok()) return contents.status();
    if (contents->kind != ArtifactKind::kCheckpoint ||
        contents->spec.SerializeAsString() != spec.network().SerializeAsString()) {
      return absl::DataLossError(absl::StrCat(task.checkpoint_artifact_id(), ": not a checkpoint of this task's network"));
    }
    if (absl::Status st = (*trainer)->Resume(contents->payload); !st.ok()) return st;
    result.resumed_from_epoch = (*trainer)->next_epoch();
    if (context.on_resume) context.on_resume(result.resumed_from_epoch);
  }

  TrainerCallbacks callbacks;
  callbacks.on_step = context.on_step;
  callbacks.on_epoch = [&](const EpochResult& r, const std::string& checkpoint) -> absl::Status {
    if (!context.on_epoch) return absl::OkStatus();
    ArtifactContents contents;
    contents.kind = ArtifactKind::kCheckpoint;
    contents.spec = spec.network();
    contents.payload = checkpoint;
    return context.on_epoch(r, EncodeArtifact(contents));
  };
  absl::StatusOr<std::vector<EpochResult>> epochs = (*trainer)->Run(callbacks);
  if (!epochs.ok()) return epochs.status();
  result.epochs = std::move(*epochs);
  if (spec.keep_weights() > 0) {
    absl::StatusOr<NonzeroCount> nonzero = CountNonzero(**student);
    if (!nonzero.ok()) return nonzero.status();
    result.nonzero_params = nonzero->parameters;
  }
  if (context.group != nullptr && context.group->rank() != 0) return result;
  absl::StatusOr<std::string> model = EncodeModelArtifact(spec.network(), **student);
  if (!model.ok()) return model.status();
  result.model_artifact = std::move(*model);
  return result;
}

}  // namespace

absl::StatusOr<const Dataset*> DatasetCache::Get(const std::string& name, Split split) {
  auto key = std::make_pair(name, static_cast<int>(split));
  auto it = loaded_.find(key);
  if (it != loaded_.end()) return it->second.get();
  const std::string& root = name == "cifar10" ? cifar10_dir_ : fashion_mnist_dir_;
  absl::StatusOr<Dataset> d = LoadDataset(name, root, split);
  if (!d.ok()) return d.status();
  auto owned = std::make_unique<Dataset>(std::move(*d));
  const Dataset* ptr = owned.get();
  loaded_.emplace(key, std::move(owned));
  return ptr;
}

void DatasetCache::Add(const std::string& name, Split split, Dataset dataset) {
  loaded_[std::make_pair(name, static_cast<int>(split))] = std::make_unique<Dataset>(std::move(dataset));
}

bool IsRetryable(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kPermissionDenied:
      return false;
    default:
      return true;
  }
}

absl::StatusOr<JobResult> RunTrainingJob(const hakd::v1::TrainingTask& task,
                                         const JobContext& context) {
  if (context.group != nullptr && task.spec().kind() != hakd::v1::TASK_KIND_TRAIN) {
    return absl::InvalidArgumentError("spec.world_size: only TRAIN tasks run data-parallel");
  }
  switch (task.spec().kind()) {
    case hakd::v1::TASK_KIND_TRAIN:
      return RunTrainJob(task, context);
    case hakd::v1::TASK_KIND_SALIENCY:
      return RunSaliencyJob(task, context);
    case hakd::v1::TASK_KIND_FISHER_PRUNE:
      return RunFisherPruneJob(task, context);
    default:
      // Retryable: a newer worker may know it.
      return absl::UnimplementedError(
          absl::StrCat("spec.kind: ", static_cast<int>(task.spec().kind()),
                       " is a task kind this worker does not know (an older worker?)"));
  }
}

}  // namespace hakd::worker
