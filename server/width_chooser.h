// WidthChooser: spends latency budgets where saliency per microsecond is
// highest. Each slot (a residual block) has options (its efficient widths,
// narrowest first) with a gain (saliency kept) and a cost on every device;
// one option per slot is chosen so that on every device the fixed cost plus
// the chosen costs stay within the budget. Torch-free and storage-free.
#ifndef HAKD_SERVER_WIDTH_CHOOSER_H_
#define HAKD_SERVER_WIDTH_CHOOSER_H_

#include <vector>

#include "absl/status/statusor.h"

namespace hakd {

// One choice for a slot.
struct WidthOption {
  int width = 0;              // the block's inner width
  double gain = 0;            // e.g. saliency kept with this width
  std::vector<double> cost;   // latency (us) on each device
};

// The options of one slot, narrowest (cheapest) first.
struct WidthSlot {
  std::vector<WidthOption> options;
};

// Greedy marginal-gain search: every slot starts at its first option; then,
// while some upgrade fits every budget, the upgrade of one slot to a later
// option with the highest gain per normalised cost (max over devices of
// extra us / budget us) is taken. Returns the chosen option index of every
// slot. FAILED_PRECONDITION when even the first options exceed a budget
// (the message names the device index and the shortfall); INVALID_ARGUMENT
// when sizes disagree, a slot has no option, or a budget is not positive.
// Only upgrades that gain are taken; one that costs nothing anywhere ranks
// first; ties go to the larger gain, then the lower slot and the narrower
// option. A budget met exactly (within 1e-9 relative) fits.
absl::StatusOr<std::vector<int>> ChooseWidths(
    const std::vector<WidthSlot>& slots, const std::vector<double>& fixed_us,
    const std::vector<double>& budget_us);

// Efficient widths of a latency curve: the widths that no wider width
// matches within `tolerance` (relative), i.e. the widest width of every
// latency plateau before a step up. `widths` ascending, one latency each;
// returns indices into them, ascending. The widest width is always kept.
std::vector<int> EfficientWidths(const std::vector<int>& widths,
                                 const std::vector<double>& latency_us,
                                 double tolerance = 0.03);

}  // namespace hakd

#endif  // HAKD_SERVER_WIDTH_CHOOSER_H_
