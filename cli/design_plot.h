// The SVG of `design report --plot`: test accuracy (y, %) against measured
// latency (x, ms) of every trained network of a design job, one series per
// budget device (colour), one marker shape per role (teacher, HAKD student,
// each baseline), each marker labelled with the network's name, the
// recommended student ringed, and each device's budget as a dashed vertical
// line. Hand-written like svg_plot.h, so hakdctl needs no plotting library.
#ifndef HAKD_CLI_DESIGN_PLOT_H_
#define HAKD_CLI_DESIGN_PLOT_H_

#include <string>

#include "hakd/v1/design.pb.h"

namespace hakd::cli {

// The plot as a complete SVG document. Networks without a test accuracy or
// without a measured latency on a device are left out of that device's
// series; with no point at all the document says so.
std::string RenderDesignSvg(const hakd::v1::DesignJob& job);

}  // namespace hakd::cli

#endif  // HAKD_CLI_DESIGN_PLOT_H_
