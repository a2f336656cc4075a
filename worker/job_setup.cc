#include "worker/job_setup.h"

#include "absl/strings/str_cat.h"
#include "common/artifact_file.h"
#include "worker/training_config.h"

namespace hakd::worker {

absl::StatusOr<std::unique_ptr<JobData>> LoadJobData(
    const hakd::v1::TrainingSpec& spec, const JobContext& context,
    bool with_test) {
  auto data = std::make_unique<JobData>();
  absl::StatusOr<const Dataset*> train = context.datasets->Get(spec.dataset(), Split::kTrain);
  if (!train.ok()) return train.status();
  if (absl::Status st = CheckNetworkFitsDataset(spec.network(), **train); !st.ok()) return st;
  data->train = *train;
  const int train_limit = spec.schedule().train_limit();
  if (train_limit > 0 && train_limit < data->train->size()) {
    data->train_part = FirstImages(*data->train, train_limit);
    data->train = &data->train_part;
  }
  if (!with_test) return data;
  absl::StatusOr<const Dataset*> test = context.datasets->Get(spec.dataset(), Split::kTest);
  if (!test.ok()) return test.status();
  data->test = *test;
  const int test_limit = spec.schedule().test_limit();
  if (test_limit > 0 && test_limit < data->test->size()) {
    data->test_part = FirstImages(*data->test, test_limit);
    data->test = &data->test_part;
  }
  return data;
}

absl::Status LoadInitWeights(const hakd::v1::TrainingSpec& spec,
                             const JobContext& context, TorchNetwork* network) {
  const std::string& id = spec.init_artifact_id();
  absl::StatusOr<std::string> bytes = context.fetch_artifact(id);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<ArtifactContents> contents = DecodeArtifact(*bytes, id);
  if (!contents.ok()) return contents.status();
  if (contents->kind != ArtifactKind::kModel) {
    return absl::InvalidArgumentError(absl::StrCat("spec.init_artifact_id: ", id, " is a checkpoint, not a model"));
  }
  // The file arrived intact (its SHA-256 was checked): weights that do not
  // load will not load on another try either.
  if (absl::Status st = network->LoadWeights(contents->payload); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("spec.init_artifact_id: ", id, ": ", st.message()));
  }
  return absl::OkStatus();
}

}  // namespace hakd::worker
