// Text renderings of latency staircases, shared by `latency staircase`,
// `latency summary` and the SVG legend so a family is named the same way
// everywhere.
#ifndef HAKD_CLI_STAIRCASE_TEXT_H_
#define HAKD_CLI_STAIRCASE_TEXT_H_

#include <string>
#include <vector>

#include "hakd/v1/latency_service.pb.h"

namespace hakd::cli {

// The family of a staircase: "conv2d 3x3/1 @32x32 (dw)", "maxpool 2x2/2
// @16x16", "bnrelu @8x8", "linear".
std::string StaircaseTitle(const hakd::v1::Staircase& staircase);

// "249 points, channels 8..256" (or "no points").
std::string StaircasePointsText(const hakd::v1::Staircase& staircase);

// "efficient widths: 32, 64" or "no steps: latency grows smoothly".
// "drops at 81 (x0.14), ..." or "" when latency never falls.
std::string DropsText(const hakd::v1::Staircase& s);

std::string EfficientWidthsText(const hakd::v1::Staircase& staircase);

// The block `latency staircase` prints: title and points line, the steps as
// a STEP-AT / RATIO / EFFICIENT-WIDTH table, and the efficient widths.
std::string FormatStaircase(const hakd::v1::Staircase& staircase);

// Staircases grouped by family (kind, kernel, stride, resolution,
// depthwise), in a stable order: kind, then kernel, stride, depthwise and
// resolution descending, so a family's resolutions sit together.
std::vector<std::vector<const hakd::v1::Staircase*>> GroupByFamily(
    const std::vector<const hakd::v1::Staircase*>& staircases);

}  // namespace hakd::cli

#endif  // HAKD_CLI_STAIRCASE_TEXT_H_
