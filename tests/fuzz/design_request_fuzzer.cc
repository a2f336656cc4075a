// Fuzzes what DesignManager::Submit checks of a SubmitDesign request before
// it needs the databases, in its order: ValidateDesignSpec, the coverage
// units of a teacher given as a network (CoverageUnits), and the teacher and
// student schedules as training tasks (ValidateTrainingSpec).
#include <cstddef>
#include <cstdint>

#include "hakd/v1/design.pb.h"
#include "server/design_validation.h"
#include "server/designer.h"
#include "server/training_validation.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/proto_mutator.h"

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size,
                                          size_t max_size, unsigned seed) {
  hakd::v1::SubmitDesignRequest message;
  return hakd::fuzz::MutateProtoInput(&message, data, size, max_size, seed);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  hakd::v1::SubmitDesignRequest request;
  if (!hakd::fuzz::ParseProto(data, size, &request)) return 0;
  const hakd::v1::DesignSpec& spec = request.spec();
  if (!hakd::ValidateDesignSpec(spec).ok()) return 0;
  if (!spec.has_teacher_network()) return 0;
  bool uniform = false;
  for (int b : spec.baselines()) uniform |= b == hakd::v1::BASELINE_UNIFORM;
  hakd::DesignerOptions options;
  options.candidates = spec.candidates() > 0 ? spec.candidates()
                                             : hakd::kDefaultDesignCandidates;
  options.width_step = spec.width_step();
  if (!hakd::CoverageUnits(spec.teacher_network(), uniform, options).ok()) {
    return 0;
  }
  hakd::v1::TrainingSpec teacher;
  *teacher.mutable_network() = spec.teacher_network();
  teacher.set_dataset(spec.dataset());
  *teacher.mutable_schedule() = spec.teacher_schedule();
  if (!hakd::ValidateTrainingSpec(teacher, "spec").ok()) return 0;
  hakd::v1::TrainingSpec student = teacher;
  *student.mutable_schedule() = spec.student_schedule();
  *student.mutable_distillation() = spec.distillation();
  student.mutable_distillation()->set_teacher_artifact_id("art-teacher");
  (void)hakd::ValidateTrainingSpec(student, "spec");
  return 0;
}
