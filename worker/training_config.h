// From the wire (hakd.v1.TrainingSpec) to the trainer's plain values, with
// every "zero means default" resolved and every range checked.
#ifndef HAKD_WORKER_TRAINING_CONFIG_H_
#define HAKD_WORKER_TRAINING_CONFIG_H_

#include "absl/status/statusor.h"
#include "hakd/v1/network.pb.h"
#include "hakd/v1/training.pb.h"
#include "worker/dataset.h"
#include "worker/fisher_pruner.h"
#include "worker/fisher_saliency.h"
#include "worker/trainer.h"

namespace hakd::worker {

// Defaults as documented in training.proto; INVALID_ARGUMENT naming the
// field ("schedule.epochs: ...") for a value out of range.
absl::StatusOr<TrainerConfig> ToTrainerConfig(const hakd::v1::TrainingSpec& spec);

// SALIENCY: the examples (saliency_examples, 0: 1024) and the schedule's
// batch size. INVALID_ARGUMENT naming the field when out of range.
absl::StatusOr<SaliencyOptions> ToSaliencyOptions(const hakd::v1::TrainingSpec& spec,
                                                  const TrainerConfig& config);

// FISHER_PRUNE: the fisher field with its defaults (steps_between_prunes
// 10, channels_per_prune 1, min_width 1) and the fine-tuning optimiser from
// `config` (its learning rate held constant). INVALID_ARGUMENT naming the
// field for a value out of range or no table; the tables' fit to the
// network is FisherPrune's to check.
absl::StatusOr<FisherPruneOptions> ToFisherPruneOptions(const hakd::v1::TrainingSpec& spec,
                                                        const TrainerConfig& config);

// The network must take the dataset's images: INVALID_ARGUMENT otherwise.
absl::Status CheckNetworkFitsDataset(const hakd::v1::NetworkSpec& network,
                                     const Dataset& dataset);

// Teacher and student must share input and classes, and (when attention
// transfer is on) have as many stages with equal spatial sizes at every
// stage end. INVALID_ARGUMENT naming the first mismatch.
absl::Status CheckDistillationPair(const hakd::v1::NetworkSpec& student,
                                   const hakd::v1::NetworkSpec& teacher,
                                   bool attention_transfer);

}  // namespace hakd::worker

#endif  // HAKD_WORKER_TRAINING_CONFIG_H_
