// Finds latency steps along a layer family: the channel counts where latency
// jumps up by more than smooth growth explains, and the efficient widths (the
// widest channel count before each jump). Torch-free; the coordinator runs it
// over the latency database.
#ifndef HAKD_COMMON_STAIRCASE_H_
#define HAKD_COMMON_STAIRCASE_H_

#include <vector>

namespace hakd {

// One latency jump.
struct StaircaseStep {
  int at = 0;          // first channel count after the jump
  int efficient = 0;   // widest channel count before the jump
  double ratio = 0;    // latency just after / latency just before
};

// Tuning of the finder.
struct StaircaseOptions {
  // A jump must exceed the latency extrapolated from the points before it by
  // this factor. Default 1.15.
  double min_step_ratio = 1.15;
  // Points before a candidate used to estimate level and slope. Default 4.
  int window = 4;
  // Fewest plateau points before a candidate: with fewer the slope is a
  // guess, and at small widths one channel more is already a large relative
  // change (8 -> 9 channels is +27% work). Default 3.
  int min_plateau = 3;
  // Points from the candidate on that must stay above the threshold, so a
  // single slow sample is not a step. Default 3 (fewer at the series' end).
  int persistence = 3;
};

// Returns the steps of the series (channels ascending, one latency each).
// Series shorter than 3 points have no steps.
std::vector<StaircaseStep> FindStaircaseSteps(
    const std::vector<int>& channels, const std::vector<double>& latency,
    const StaircaseOptions& options = StaircaseOptions());

}  // namespace hakd

#endif  // HAKD_COMMON_STAIRCASE_H_
