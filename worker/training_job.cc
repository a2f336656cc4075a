#include "worker/training_job.h"

#include "absl/strings/str_cat.h"
#include "common/artifact_file.h"
#include "common/torch/model_artifact.h"
#include "common/torch/network_module.h"
#include "worker/training_config.h"

namespace hakd::worker {

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
  const hakd::v1::TrainingSpec& spec = task.spec();
  absl::StatusOr<TrainerConfig> config = ToTrainerConfig(spec);
  if (!config.ok()) return config.status();
  config->loader_threads = context.loader_threads;
  absl::StatusOr<const Dataset*> train = context.datasets->Get(spec.dataset(), Split::kTrain);
  if (!train.ok()) return train.status();
  absl::StatusOr<const Dataset*> test = context.datasets->Get(spec.dataset(), Split::kTest);
  if (!test.ok()) return test.status();
  if (absl::Status st = CheckNetworkFitsDataset(spec.network(), **train); !st.ok()) return st;
  // Limits copy the images they keep (the cache stays whole).
  Dataset train_part, test_part;
  const Dataset* train_set = *train;
  const Dataset* test_set = *test;
  if (spec.schedule().train_limit() > 0 && spec.schedule().train_limit() < train_set->size()) {
    train_part = FirstImages(*train_set, spec.schedule().train_limit());
    train_set = &train_part;
  }
  if (spec.schedule().test_limit() > 0 && spec.schedule().test_limit() < test_set->size()) {
    test_part = FirstImages(*test_set, spec.schedule().test_limit());
    test_set = &test_part;
  }

  SeedTorch(config->seed);
  NetworkModuleOptions module_options;
  module_options.device = context.device;
  absl::StatusOr<std::unique_ptr<TorchNetwork>> student = BuildNetworkModule(spec.network(), module_options);
  if (!student.ok()) return student.status();

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
      Trainer::Create(student->get(), teacher.get(), train_set, test_set, *config);
  if (!trainer.ok()) return trainer.status();

  JobResult result;
  if (!task.checkpoint_artifact_id().empty()) {
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
  absl::StatusOr<std::string> model = EncodeModelArtifact(spec.network(), **student);
  if (!model.ok()) return model.status();
  result.model_artifact = std::move(*model);
  return result;
}

}  // namespace hakd::worker
