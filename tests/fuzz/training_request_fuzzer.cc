// Fuzzes the validation of SubmitTraining requests (ValidateSubmitTraining,
// server/training_validation.h): the network, dataset, schedule,
// distillation and what the task kind needs (saliency, Fisher pruning
// tables, magnitude pruning).
#include <cstddef>
#include <cstdint>

#include "hakd/v1/training.pb.h"
#include "server/training_validation.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/proto_mutator.h"

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size,
                                          size_t max_size, unsigned seed) {
  hakd::v1::SubmitTrainingRequest message;
  return hakd::fuzz::MutateProtoInput(&message, data, size, max_size, seed);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  hakd::v1::SubmitTrainingRequest request;
  if (!hakd::fuzz::ParseProto(data, size, &request)) return 0;
  (void)hakd::ValidateSubmitTraining(request);
  return 0;
}
