// Finds latency steps along a layer family: the channel counts where latency
// jumps up by more than smooth growth explains, and the efficient widths (the
// widest channel count before each jump). Torch-free; the coordinator runs it
// over the latency database.
#ifndef HAKD_COMMON_STAIRCASE_H_
#define HAKD_COMMON_STAIRCASE_H_

#include <vector>

namespace hakd {

// One latency jump (ratio > 1) or drop (ratio < 1). Drops happen when the
// runtime switches to a faster implementation past some size (LibTorch 1.13
// moves batch-1 3x3 convolutions to oneDNN once N*C*H*W > 20480): the wider
// layer is then cheaper than the narrower ones before it.
struct StaircaseStep {
  int at = 0;          // first channel count after the change
  int efficient = 0;   // jumps: widest channel count before it; drops: 0
  double ratio = 0;    // latency just after / latency just before
  bool drop() const { return ratio < 1; }
};

// Tuning of the finder.
struct StaircaseOptions {
  // A jump must exceed the latency extrapolated from the points before it by
  // this factor, and a drop fall below it by the same factor. Default 1.15.
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

// Returns the jumps and drops of the series (channels ascending, one latency
// each), in channel order.
// Series shorter than 3 points have no steps.
std::vector<StaircaseStep> FindStaircaseSteps(
    const std::vector<int>& channels, const std::vector<double>& latency,
    const StaircaseOptions& options = StaircaseOptions());

}  // namespace hakd

#endif  // HAKD_COMMON_STAIRCASE_H_
