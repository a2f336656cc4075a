// What every task kind does before its real work: load the dataset splits
// (limited as the schedule says) and start a network from the task's
// init_artifact_id. Torch-free (protobuf side).
#ifndef HAKD_WORKER_JOB_SETUP_H_
#define HAKD_WORKER_JOB_SETUP_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/torch/torch_network.h"
#include "hakd/v1/training.pb.h"
#include "worker/dataset.h"
#include "worker/training_job.h"

namespace hakd::worker {

// A task's splits. Limits copy the images they keep, so that the cache
// stays whole; `train` and `test` point into the cache or at the copies.
struct JobData {
  const Dataset* train = nullptr;
  const Dataset* test = nullptr;  // null unless asked for
  Dataset train_part;
  Dataset test_part;
};

// Loads the splits of spec.dataset (the test split only `with_test`) and
// checks that spec.network takes their images. Errors as DatasetCache::Get
// and CheckNetworkFitsDataset.
absl::StatusOr<std::unique_ptr<JobData>> LoadJobData(
    const hakd::v1::TrainingSpec& spec, const JobContext& context,
    bool with_test);

// Fetches spec.init_artifact_id and loads its weights into `network`.
// Errors: as the fetcher (NOT_FOUND: no such artifact), DATA_LOSS for a
// damaged file, INVALID_ARGUMENT "spec.init_artifact_id: ..." for a
// checkpoint or for weights that do not fit (naming the first tensor that
// does not), which another try cannot fix.
absl::Status LoadInitWeights(const hakd::v1::TrainingSpec& spec,
                             const JobContext& context, TorchNetwork* network);

}  // namespace hakd::worker

#endif  // HAKD_WORKER_JOB_SETUP_H_
