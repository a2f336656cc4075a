// Small helpers shared by the DesignManager's stage files.
#ifndef HAKD_SERVER_DESIGN_JOB_UTIL_H_
#define HAKD_SERVER_DESIGN_JOB_UTIL_H_

#include <vector>

#include "hakd/v1/design.pb.h"
#include "hakd/v1/training.pb.h"

namespace hakd {

// The status of the stage the job is in (stages are stored in order).
inline hakd::v1::StageStatus* CurrentStage(hakd::v1::DesignJob* job) {
  return job->mutable_stages(static_cast<int>(job->stage()) - 1);
}

// The job's saliency as the designer takes it.
inline std::vector<hakd::v1::BlockSaliency> SaliencyOf(
    const hakd::v1::DesignJob& job) {
  return {job.saliency().begin(), job.saliency().end()};
}

inline bool TaskEnded(hakd::v1::TaskState state) {
  return state == hakd::v1::TASK_SUCCEEDED ||
         state == hakd::v1::TASK_FAILED || state == hakd::v1::TASK_CANCELLED;
}

}  // namespace hakd

#endif  // HAKD_SERVER_DESIGN_JOB_UTIL_H_
