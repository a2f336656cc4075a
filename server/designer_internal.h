// Pieces shared by the designer's files (designer.cc,
// designer_baselines.cc): the teacher's residual blocks, the variants a
// block may take, saliency lookups and formatting. Not an API: only the
// designer includes it.
#ifndef HAKD_SERVER_DESIGNER_INTERNAL_H_
#define HAKD_SERVER_DESIGNER_INTERNAL_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/network/network_analysis.h"
#include "hakd/v1/latency_service.pb.h"
#include "hakd/v1/network.pb.h"
#include "hakd/v1/training.pb.h"
#include "server/designer.h"

namespace hakd::designer_internal {

// One residual block of the teacher.
struct TeacherBlock {
  int stage = 0;
  int block = 0;
  std::string field;    // "stages[s].blocks[b]"
  int unit = 0;         // index into TeacherInfo::analysis.units
  int inner_width = 0;  // the teacher's inner width (InnerWidth)
  int shape = 0;        // blocks with equal units share a shape index
};

// The teacher, analysed once.
struct TeacherInfo {
  NetworkAnalysis analysis;          // units: stem, every block, head
  std::vector<TeacherBlock> blocks;  // network order
  // shape index -> index into `blocks` of its first block.
  std::vector<int> shape_first;
  // Params and MACs of every unit (stem, blocks, head), from AnalyzeUnit.
  std::vector<int64_t> unit_params;
  std::vector<int64_t> unit_macs;
};

// INVALID_ARGUMENT naming "teacher.<field>" when the teacher is invalid or
// has a block that is not residual.
absl::StatusOr<TeacherInfo> AnalyzeTeacher(
    const hakd::v1::NetworkSpec& teacher);

// The width between a residual block's convolutions: mid_channels (0 reads
// as out_channels), or out_channels / bottleneck for bottleneck types.
int InnerWidth(const hakd::v1::ResidualBlock& block);

bool IsBottleneck(const hakd::v1::CheapConv& cheap);

// The cheap convolution with the fields its type does not use cleared.
hakd::v1::CheapConv NormalizedCheap(const hakd::v1::CheapConv& cheap);

// Short name: "" (standard), "G(2)", "B(2)", "BG(2,2)", "DW".
std::string CheapLabel(const hakd::v1::CheapConv& cheap);

// INVALID_ARGUMENT naming "options.<field>".
absl::Status ValidateOptions(const DesignerOptions& options);
// options.cheap, or the default six.
std::vector<hakd::v1::CheapConv> CheapOptions(const DesignerOptions& options);
// options.uniform_factors widest first, or 1.0 down to 0.05.
std::vector<double> UniformFactors(const DesignerOptions& options);

// INVALID_ARGUMENT naming "devices[i].<field>"; also when there are none.
absl::Status ValidateDevices(const std::vector<DeviceProfile>& devices);

// The overhead model with scale 0 read as 1 (ApplyOverhead takes the scale
// as it is).
hakd::v1::OverheadModel EffectiveOverhead(const hakd::v1::OverheadModel& model);

// One way a block may be built: a cheap convolution at an inner width.
struct Variant {
  int width = 0;
  hakd::v1::ResidualBlock block;
  hakd::v1::BlockUnit unit;  // the block with the teacher block's input
  std::string key;           // BlockUnitKey(unit)
  int64_t params = 0;
  int64_t macs = 0;
};

// The valid variants of a teacher block unit with `cheap`, narrowest first:
// inner widths that are multiples of the step (0: teacher width / 8, at
// least 1) up to the teacher's inner width, which is always tried; for
// bottleneck types, out / b for b = cheap.bottleneck, twice that, ...
// dividing out (and not above the teacher's inner width). Invalid widths
// (groups that do not divide) are left out.
std::vector<Variant> BlockVariants(const hakd::v1::BlockUnit& teacher_unit,
                                   int teacher_width,
                                   const hakd::v1::CheapConv& cheap,
                                   int width_step);

// The teacher with the stem, every block's output and every inner width
// scaled by `factor` (rounded, at least 1); cheap convolutions kept. Not
// validated.
hakd::v1::NetworkSpec UniformlyScaled(const hakd::v1::NetworkSpec& teacher,
                                      double factor);

// Predicted latency (us) of analysed units on a device: the overhead model
// applied to their sum, summed in network order. NOT_FOUND naming the
// device, the unit and its key when the profile lacks it.
absl::StatusOr<double> PredictUnits(const std::vector<NetworkUnit>& units,
                                    const DeviceProfile& profile);

// The profile's latency of one unit; NOT_FOUND as PredictUnits.
absl::StatusOr<double> UnitLatency(const DeviceProfile& profile,
                                   const std::string& unit_name,
                                   const std::string& key);

// Per-block saliency prepared for "sum of the w most salient channels".
class SaliencyIndex {
 public:
  // Duplicates after the first are ignored.
  explicit SaliencyIndex(const std::vector<hakd::v1::BlockSaliency>& saliency);

  // The sum of the `width` most salient channels of the block (all of them
  // when width exceeds their number); 0 for a block without saliency.
  double Kept(int stage, int block, int width) const;
  bool Has(int stage, int block) const;
  double total() const { return total_; }

 private:
  // prefix[k]: the sum of the k most salient channels.
  std::map<std::pair<int, int>, std::vector<double>> prefix_;
  double total_ = 0;
};

// INVALID_ARGUMENT naming "saliency[i]..." for entries that name no residual
// block of the teacher, repeat a block, or hold negative or non-finite
// values; with `require_all`, also when a residual block has no entry.
absl::Status ValidateSaliency(
    const std::vector<hakd::v1::BlockSaliency>& saliency,
    const TeacherInfo& teacher, bool require_all);

// Share of saliency.total() kept by these inner widths (one per teacher
// block, in order); 0 when the total is 0. SaliencyKept uses the same sum.
double KeptShare(const SaliencyIndex& saliency,
                 const std::vector<std::pair<int, int>>& positions,
                 const std::vector<int>& widths);

// "1.234" (milliseconds from microseconds, three decimals).
std::string Ms(double us);

// DeviceLatency for a prediction within budget.
hakd::v1::DeviceLatency LatencyOf(const DeviceProfile& device,
                                  double predicted_us);

}  // namespace hakd::designer_internal

#endif  // HAKD_SERVER_DESIGNER_INTERNAL_H_
