// A self-contained SVG plot of latency staircases (latency in us against
// channel count), written by hand so the CLI needs no plotting library: one
// polyline per staircase, dashed verticals at its steps, ticked axes and a
// legend.
#ifndef HAKD_CLI_SVG_PLOT_H_
#define HAKD_CLI_SVG_PLOT_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "hakd/v1/latency_service.pb.h"

namespace hakd::cli {

// `text` with the XML special characters escaped, for element text and
// attribute values.
std::string XmlEscape(absl::string_view text);

// Round tick positions covering [lo, hi]: multiples of 1, 2 or 5 times a
// power of ten, about `target` of them.
std::vector<double> NiceTicks(double lo, double hi, int target);

// The plot as a complete SVG document. Points where channel count or latency
// is missing or not finite are skipped; with no points at all the document
// says "no data".
std::string RenderStaircaseSvg(
    const google::protobuf::RepeatedPtrField<hakd::v1::Staircase>& staircases);

}  // namespace hakd::cli

#endif  // HAKD_CLI_SVG_PLOT_H_
