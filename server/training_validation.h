// Validation of the training queue's requests (hakd/v1/training.proto).
// Every check answers INVALID_ARGUMENT whose message starts with the path
// of the bad field, e.g. "spec.schedule.batch_size: 0 is not in [1, 4096]".
// Checks that need the database (does the teacher artifact exist?) are the
// store's.
#ifndef HAKD_SERVER_TRAINING_VALIDATION_H_
#define HAKD_SERVER_TRAINING_VALIDATION_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "hakd/v1/training.pb.h"

namespace hakd {

// Limits of the training queue.
inline constexpr int kMaxTrainingEpochs = 1000;
inline constexpr int kMaxBatchSize = 4096;
inline constexpr int kMaxTaskNameLength = 128;
inline constexpr int kDefaultMaxAttempts = 3;
inline constexpr int kMaxMaxAttempts = 20;
// The largest artifact accepted: 2 GiB.
inline constexpr int64_t kMaxArtifactBytes = int64_t{2} << 30;

// Checks a TrainingSpec; `field` prefixes every path ("spec"). Besides the
// network, dataset, schedule and distillation it checks what the task kind
// needs: SALIENCY and FISHER_PRUNE start from init_artifact_id and take no
// teacher; keep_weights (TRAIN only) needs init_artifact_id and at most the
// network's convolution and linear weights; FISHER_PRUNE needs standard
// residual blocks and latency tables whose curves fit the network (whether
// a budget is reachable is the worker's to find out). Whether
// init_artifact_id exists is the store's question, as for the teacher.
absl::Status ValidateTrainingSpec(const hakd::v1::TrainingSpec& spec,
                                  absl::string_view field);

// Most workers one data-parallel group may have (TrainingSpec.world_size).
inline constexpr int kMaxWorldSize = 64;

// Checks a LeaseTaskRequest's group endpoint: port 0..65535 (0: no group
// tasks), host empty or a host name / IP address (<= 255 characters).
absl::Status ValidateGroupJoin(absl::string_view host, int port,
                               absl::string_view field);

// Checks a SubmitTrainingRequest: its spec and max_attempts (0 = 3, 1..20).
absl::Status ValidateSubmitTraining(
    const hakd::v1::SubmitTrainingRequest& request);

// Checks a worker name: [A-Za-z][A-Za-z0-9._-]{0,63}.
absl::Status ValidateWorkerName(absl::string_view name,
                                absl::string_view field);

// Checks capabilities: device "cpu" or "cuda:N", counts not negative, text
// fields of sane length.
absl::Status ValidateWorkerCapabilities(
    const hakd::v1::WorkerCapabilities& caps, absl::string_view field);

// Checks a lease id as handed out by the store: 32 lowercase hex digits.
absl::Status ValidateLeaseId(absl::string_view lease_id,
                             absl::string_view field);

// Checks a SHA-256 in lowercase hex (64 digits).
absl::Status ValidateSha256Hex(absl::string_view sha256,
                               absl::string_view field);

// Checks an artifact id's syntax ("art-..."; printable, <= 128 chars).
absl::Status ValidateArtifactId(absl::string_view artifact_id,
                                absl::string_view field);

// Checks a progress report: counts not negative, phase "", "train", "eval",
// "upload", "saliency" or "prune", no NaN.
absl::Status ValidateProgress(const hakd::v1::TrainingProgress& progress,
                              absl::string_view field);

// Checks a finished epoch: epoch in [1, 1000], no NaN or negative values.
absl::Status ValidateEpochMetrics(const hakd::v1::EpochMetrics& metrics,
                                  absl::string_view field);

}  // namespace hakd

#endif  // HAKD_SERVER_TRAINING_VALIDATION_H_
