// The task kinds that analyse a trained model rather than train one:
// SALIENCY (every residual block's mid-channel Fisher saliency, for the
// designer) and FISHER_PRUNE (prune mid channels until latency tables meet
// their budgets). Both start from spec.init_artifact_id and keep no
// checkpoint: they are short next to training, and a retry starts over.
// Torch-free (protobuf side); RunTrainingJob dispatches here.
#ifndef HAKD_WORKER_ANALYSIS_JOBS_H_
#define HAKD_WORKER_ANALYSIS_JOBS_H_

#include "absl/status/statusor.h"
#include "hakd/v1/training.pb.h"
#include "worker/training_job.h"

namespace hakd::worker {

// SALIENCY: the saliency over the first saliency_examples (default 1024)
// images of the training split, unaugmented, in eval mode. Progress: phase
// "saliency", step = examples done of steps. The result has saliency and
// no model. Errors as RunTrainingJob.
absl::StatusOr<JobResult> RunSaliencyJob(const hakd::v1::TrainingTask& task,
                                         const JobContext& context);

// FISHER_PRUNE: FisherPrune (fisher_pruner.h) of the init model with the
// schedule's batch size, learning rate (constant), momentum, Nesterov,
// weight decay, seed and train_limit; the schedule's epochs and learning
// rate schedule do not apply. Progress: phase "prune", step = channels
// removed, steps = the estimated total, loss and accuracy running since the
// last removal. The result has the pruned model and result_network, its
// spec: spec.network with the pruned blocks' mid_channels. Errors as
// RunTrainingJob.
absl::StatusOr<JobResult> RunFisherPruneJob(const hakd::v1::TrainingTask& task,
                                            const JobContext& context);

}  // namespace hakd::worker

#endif  // HAKD_WORKER_ANALYSIS_JOBS_H_
