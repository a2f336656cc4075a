// The HAKD designer: from a teacher (residual network), its per-channel
// Fisher saliency and the latency profiles of the target devices, builds
// student candidates by (a) choosing every residual block's inner width
// among the devices' efficient widths, spending the budgets where saliency
// per microsecond is highest (ChooseWidths), and (b) giving each stage a
// cheap convolution (grouped, bottleneck, bottleneck-grouped,
// depthwise-separable) where that buys latency. Every candidate's latency is
// predicted on every device from measured units; those within all budgets
// form a Pareto front of latency against capacity (saliency kept,
// parameters), and the best K are selected for training.
//
// Torch-free and storage-free: the coordinator's DesignManager feeds it
// measured unit latencies and stores what it returns.
#ifndef HAKD_SERVER_DESIGNER_H_
#define HAKD_SERVER_DESIGNER_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "hakd/v1/design.pb.h"
#include "hakd/v1/latency_service.pb.h"
#include "hakd/v1/network.pb.h"
#include "hakd/v1/training.pb.h"

namespace hakd {

// What the designer knows about one target device.
struct DeviceProfile {
  std::string device;       // name, as shown in reports
  double budget_us = 0;     // latency budget
  // Measured latency (us) by BlockUnitKey (common/network/unit_key.h).
  std::map<std::string, double> unit_us;
  // Applied to the sum of unit latencies (ApplyOverhead); unset fields read
  // as no overhead (scale 0 reads as 1).
  hakd::v1::OverheadModel overhead;
};

// Tuning of the designer.
struct DesignerOptions {
  // Students selected for training (K). Default 3.
  int candidates = 3;
  // Inner widths considered per residual block: multiples of this up to
  // the teacher's width. 0: teacher width / 8 (at least 1). Default 0.
  int width_step = 0;
  // Cheap convolutions tried (one per stage, every combination over
  // stages). Default (empty): standard, G(2), G(4), B(2), BG(2,2) and
  // depthwise-separable. A bottleneck type fixes the block's inner width
  // at out / b, so B(b) and BG(b,g) try b, 2b, 4b, ... (those dividing the
  // block's output width) instead of the width grid.
  std::vector<hakd::v1::CheapConv> cheap;
  // Two widths within this relative latency are one plateau (see
  // EfficientWidths). Default 0.03.
  double plateau_tolerance = 0.03;
  // Uniform-scaling factors tried, widest first. Default (empty): 1.0 down
  // to 0.05 in steps of 0.05.
  std::vector<double> uniform_factors;
};

// Every unit (stem, block variants at every width the designer may choose,
// head) that candidates can use, plus the teacher's own units and, when
// `uniform` is set, the units of every uniformly scaled network: what the
// devices must have measured before DesignStudents runs. The teacher
// block's own convolution at every grid width (what FisherLatencyTables
// reads) is included too, even when options.cheap leaves it out. Variants
// keep the teacher block's input shape (students keep every stage's output
// width). Deduplicated by
// BlockUnitKey, in a stable order. INVALID_ARGUMENT when the teacher is not
// a valid network of residual blocks (the message names the field).
absl::StatusOr<std::vector<hakd::v1::BlockUnit>> CoverageUnits(
    const hakd::v1::NetworkSpec& teacher, bool uniform,
    const DesignerOptions& options = DesignerOptions());

// The network's latency on a device from its profile: overhead applied to
// the sum of its units' measured latencies. NOT_FOUND naming the first unit
// (and its key) the profile lacks.
absl::StatusOr<double> PredictFromProfile(const hakd::v1::NetworkSpec& network,
                                          const DeviceProfile& profile);

// Share of the teacher's total saliency a network keeps: for every residual
// block, the sum of its `width` most salient channels (width = the block's
// inner width, capped at the teacher block's), over the total. Blocks are
// matched by (stage, block) index.
double SaliencyKept(const hakd::v1::NetworkSpec& network,
                    const std::vector<hakd::v1::BlockSaliency>& saliency);

// What DesignStudents found.
struct DesignOutcome {
  // The Pareto front of the configurations within every budget (role
  // HAKD, names "hakd-1", "hakd-2", ... best first, pareto true, latency
  // predicted on every device); the first `candidates` are selected.
  std::vector<hakd::v1::Candidate> front;
  int configurations = 0;   // cheap-block combinations tried
  int within_budget = 0;    // of those, within every budget
};

// Designs students. `devices` in the job's order, each with its budget.
// Ranking (best first): score = (saliency kept + parameters / teacher
// parameters) / 2. FAILED_PRECONDITION when no configuration meets every
// budget (the message gives the fastest predicted latency reachable on
// each device); NOT_FOUND when a profile lacks a unit CoverageUnits listed;
// INVALID_ARGUMENT for a bad teacher, options or budgets, or saliency that
// lacks a residual block of the teacher (every block's gain comes from it).
absl::StatusOr<DesignOutcome> DesignStudents(
    const hakd::v1::NetworkSpec& teacher,
    const std::vector<hakd::v1::BlockSaliency>& saliency,
    const std::vector<DeviceProfile>& devices,
    const DesignerOptions& options = DesignerOptions());

// The hardware-agnostic baseline: the teacher with every width (stem,
// blocks' outputs and inner widths) scaled by the widest factor of
// options.uniform_factors whose predicted latency meets every budget (widths
// rounded, at least 1). Role UNIFORM, name "uniform". FAILED_PRECONDITION
// when no factor fits.
absl::StatusOr<hakd::v1::Candidate> UniformBaseline(
    const hakd::v1::NetworkSpec& teacher,
    const std::vector<hakd::v1::BlockSaliency>& saliency,
    const std::vector<DeviceProfile>& devices,
    const DesignerOptions& options = DesignerOptions());

// The latency tables a Fisher-pruning task prunes against (one per device):
// every residual block's latency at every inner width 1..teacher width,
// interpolated linearly between the measured grid widths (and held at the
// narrowest below it); fixed_us is the rest of the network plus overhead.
absl::StatusOr<std::vector<hakd::v1::LatencyTable>> FisherLatencyTables(
    const hakd::v1::NetworkSpec& teacher,
    const std::vector<DeviceProfile>& devices,
    const DesignerOptions& options = DesignerOptions());

// One line describing a student's blocks relative to the teacher, e.g.
// "group1: mid 16,16 G(2) | group2: mid 32,24 | group3: B(2)".
std::string DescribeStudent(const hakd::v1::NetworkSpec& student);

}  // namespace hakd

#endif  // HAKD_SERVER_DESIGNER_H_
