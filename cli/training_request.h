// Builds the SubmitTrainingRequest of `train submit` from its flags, checking
// locally what can be checked so that a mistake names its flag before a task
// is queued (the coordinator checks again and names the field).
#ifndef HAKD_CLI_TRAINING_REQUEST_H_
#define HAKD_CLI_TRAINING_REQUEST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cli/args.h"
#include "hakd/v1/training.pb.h"

namespace hakd::cli {

// Schedule limits and the epoch count the coordinator assumes when none is
// given (what milestones and warm-up are checked against).
inline constexpr int32_t kDefaultScheduleEpochs = 10;
inline constexpr int32_t kMaxScheduleEpochs = 1000;
inline constexpr int32_t kMaxBatchSize = 4096;

// The request for --network FILE (read and validated like every network
// spec), --dataset, --name, --teacher, the schedule flags, the distillation
// flags and --max-attempts. Only settings given are set (0 keeps the
// coordinator's default); an explicit 0 that would read as "default" on the
// wire travels as -1 (--momentum 0, --weight-decay 0, --beta 0: off).
// Usage errors (exit 2) name the flag: --network given twice or unreadable,
// an unknown --dataset or --schedule, values out of range (--epochs
// 1..1000, --batch-size 1..4096, --momentum and --alpha up to 1,
// --max-attempts 1..20, --name up to 128 characters), bad --milestones,
// --milestones / --gamma without --schedule step, --warmup-epochs not below
// the epochs, distillation flags without --teacher, --beta with
// --no-attention, a bad --seed.
absl::StatusOr<hakd::v1::SubmitTrainingRequest> TrainingRequestFromFlags(
    const FlagValues& flags);

// The schedule flags (--epochs, --batch-size, --lr, --momentum,
// --no-nesterov, --weight-decay, --schedule, --milestones, --gamma,
// --warmup-epochs, --seed, --steps-per-epoch, --train-limit, --test-limit,
// --mixed-precision), shared by `train submit` and `design submit`, with the
// checks and wire encodings described above.
absl::StatusOr<hakd::v1::Schedule> ScheduleFromFlags(const FlagValues& flags);

// --temperature, --alpha, --beta and --no-attention into `d` (the teacher is
// left alone); usage errors as above.
absl::Status DistillationFromFlags(const FlagValues& flags,
                                   hakd::v1::Distillation* d);

// --dataset: required, fashion-mnist or cifar10.
absl::StatusOr<std::string> DatasetFromFlags(const FlagValues& flags);

// --name ("" when absent): at most 128 characters.
absl::StatusOr<std::string> NameFromFlags(const FlagValues& flags);

// A usage error "--NAME: at most MAX, got N" when the integer flag is above
// `max`.
absl::Status CheckFlagAtMost(const FlagValues& flags, absl::string_view name,
                             int32_t max);

// Parses "3,6,8": whole numbers >= 1, strictly increasing, each at most
// `epochs`. Errors name --milestones.
absl::StatusOr<std::vector<int32_t>> ParseMilestones(absl::string_view text,
                                                     int32_t epochs);

// Parses an id argument; unless it is a whole number >= 1, a usage error
// "expected a WHAT ID (a whole number >= 1), got 'TEXT'".
absl::StatusOr<int64_t> ParseWholeId(absl::string_view text,
                                     absl::string_view what);

// Parses a task id argument (ParseWholeId of a "task").
absl::StatusOr<int64_t> ParseTaskId(absl::string_view text);

// Parses a --state value ("queued" ... "cancelled"); a usage error naming
// --state otherwise.
absl::StatusOr<hakd::v1::TaskState> ParseTaskState(absl::string_view text);

}  // namespace hakd::cli

#endif  // HAKD_CLI_TRAINING_REQUEST_H_
