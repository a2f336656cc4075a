// CoverageUnits, the baselines (UniformBaseline, FisherLatencyTables) and
// DescribeStudent. DesignStudents is in designer.cc.
#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/network/network_analysis.h"
#include "common/network/unit_key.h"
#include "common/status_macros.h"
#include "server/designer.h"
#include "server/designer_internal.h"
#include "server/latency_predictor.h"

namespace hakd {
namespace {

namespace di = designer_internal;
using hakd::v1::BlockUnit;
using hakd::v1::NetworkSpec;

// The grid FisherLatencyTables interpolates: the teacher block's own
// convolution at the designer's widths. Bottleneck blocks cannot be pruned
// channel by channel (their width is out / b), so they are refused.
absl::StatusOr<std::vector<di::Variant>> PruningGrid(
    const di::TeacherInfo& info, const di::TeacherBlock& tb,
    const NetworkSpec& teacher, int width_step) {
  const auto& r = teacher.stages(tb.stage).blocks(tb.block).residual();
  if (di::IsBottleneck(r.cheap())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "teacher.", tb.field,
        ".residual.cheap: pruning tables need blocks whose inner width is "
        "mid_channels, not a bottleneck"));
  }
  return di::BlockVariants(info.analysis.units[tb.unit].unit, tb.inner_width,
                           r.cheap(), width_step);
}

// us_by_width[w - 1] for w = 1..points.back().first: linear between the
// points (ascending widths), held at the first below it.
std::vector<double> Interpolate(const std::vector<std::pair<int, double>>& p) {
  std::vector<double> out;
  if (p.empty()) return out;
  size_t k = 0;
  for (int w = 1; w <= p.back().first; ++w) {
    while (k + 1 < p.size() && p[k + 1].first <= w) ++k;
    if (w <= p[k].first || k + 1 == p.size()) {
      out.push_back(p[k].second);
      continue;
    }
    const double t =
        static_cast<double>(w - p[k].first) / (p[k + 1].first - p[k].first);
    out.push_back(p[k].second + t * (p[k + 1].second - p[k].second));
  }
  return out;
}

// One run of consecutive blocks built alike, for DescribeStudent.
struct Run {
  std::string label;
  bool label_first = false;  // "B(2) 32,16" rather than "mid 16,16 G(2)"
  std::vector<int> widths;
};

}  // namespace

absl::StatusOr<std::vector<BlockUnit>> CoverageUnits(
    const NetworkSpec& teacher, bool uniform, const DesignerOptions& options) {
  HAKD_RETURN_IF_ERROR(di::ValidateOptions(options));
  HAKD_ASSIGN_OR_RETURN(di::TeacherInfo info, di::AnalyzeTeacher(teacher));
  std::vector<BlockUnit> out;
  std::set<std::string> keys;
  auto add = [&](const BlockUnit& unit, std::string key) {
    if (keys.insert(std::move(key)).second) out.push_back(unit);
  };
  for (const NetworkUnit& u : info.analysis.units)
    add(u.unit, BlockUnitKey(u.unit));
  // Blocks of one shape have the same variants: list them once, in the
  // order the shapes first appear. A variant keeps the teacher block's
  // input: students keep every stage's output width.
  const std::vector<hakd::v1::CheapConv> cheap = di::CheapOptions(options);
  for (int first : info.shape_first) {
    const di::TeacherBlock& tb = info.blocks[first];
    if (auto grid = PruningGrid(info, tb, teacher, options.width_step);
        grid.ok()) {
      for (const di::Variant& v : *grid) add(v.unit, v.key);
    }
    for (const auto& c : cheap) {
      for (const di::Variant& v :
           di::BlockVariants(info.analysis.units[tb.unit].unit, tb.inner_width,
                             c, options.width_step)) {
        add(v.unit, v.key);
      }
    }
  }
  if (uniform) {
    for (double f : di::UniformFactors(options)) {
      auto a = AnalyzeNetwork(di::UniformlyScaled(teacher, f));
      if (!a.ok()) continue;  // UniformBaseline skips it too
      for (const NetworkUnit& u : a->units) add(u.unit, BlockUnitKey(u.unit));
    }
  }
  return out;
}

absl::StatusOr<hakd::v1::Candidate> UniformBaseline(
    const NetworkSpec& teacher,
    const std::vector<hakd::v1::BlockSaliency>& saliency,
    const std::vector<DeviceProfile>& devices, const DesignerOptions& options) {
  HAKD_RETURN_IF_ERROR(di::ValidateOptions(options));
  HAKD_RETURN_IF_ERROR(di::ValidateDevices(devices));
  HAKD_ASSIGN_OR_RETURN(di::TeacherInfo info, di::AnalyzeTeacher(teacher));
  HAKD_RETURN_IF_ERROR(
      di::ValidateSaliency(saliency, info, /*require_all=*/false));
  std::string narrowest;  // what the narrowest valid factor predicts
  for (double f : di::UniformFactors(options)) {
    NetworkSpec net = di::UniformlyScaled(teacher, f);
    auto analysis = AnalyzeNetwork(net);
    if (!analysis.ok()) continue;
    hakd::v1::Candidate c;
    std::vector<std::string> parts;
    bool fits = true;
    for (const DeviceProfile& d : devices) {
      HAKD_ASSIGN_OR_RETURN(double us, di::PredictUnits(analysis->units, d));
      *c.add_latency() = di::LatencyOf(d, us);
      fits = fits && c.latency(c.latency_size() - 1).meets_budget();
      parts.push_back(absl::StrCat(di::Ms(us), " ms on ", d.device, " (budget ",
                                   di::Ms(d.budget_us), " ms)"));
    }
    if (!fits) {
      narrowest =
          absl::StrCat("x", f, " predicts ", absl::StrJoin(parts, ", "));
      continue;
    }
    c.set_name("uniform");
    c.set_role(hakd::v1::ROLE_UNIFORM);
    c.set_description(absl::StrCat("uniform x", f));
    c.set_params(analysis->total_params);
    c.set_macs(analysis->total_macs);
    c.set_saliency_kept(SaliencyKept(net, saliency));
    c.set_selected(true);
    *c.mutable_network() = std::move(net);
    return c;
  }
  return absl::FailedPreconditionError(
      narrowest.empty()
          ? "no uniform scaling of the teacher is a valid network"
          : absl::StrCat("no uniform scaling meets the budgets: the "
                         "narrowest, ",
                         narrowest));
}

absl::StatusOr<std::vector<hakd::v1::LatencyTable>> FisherLatencyTables(
    const NetworkSpec& teacher, const std::vector<DeviceProfile>& devices,
    const DesignerOptions& options) {
  HAKD_RETURN_IF_ERROR(di::ValidateOptions(options));
  HAKD_RETURN_IF_ERROR(di::ValidateDevices(devices));
  HAKD_ASSIGN_OR_RETURN(di::TeacherInfo info, di::AnalyzeTeacher(teacher));
  // Per shape; blocks of one shape share their cheap convolution, so this
  // refuses every bottleneck block.
  std::vector<std::vector<di::Variant>> grids;
  for (int first : info.shape_first) {
    HAKD_ASSIGN_OR_RETURN(auto grid, PruningGrid(info, info.blocks[first],
                                                 teacher, options.width_step));
    grids.push_back(std::move(grid));
  }
  const auto& units = info.analysis.units;
  const int n = static_cast<int>(units.size());
  std::vector<hakd::v1::LatencyTable> tables;
  for (const DeviceProfile& d : devices) {
    // ApplyOverhead(sum) = scale * (stem + head + blocks) + intercept +
    // per_unit * n: the scale goes into every curve, the rest into fixed_us.
    const hakd::v1::OverheadModel m = di::EffectiveOverhead(d.overhead);
    HAKD_ASSIGN_OR_RETURN(double stem,
                          di::UnitLatency(d, units.front().name,
                                          BlockUnitKey(units.front().unit)));
    HAKD_ASSIGN_OR_RETURN(
        double head,
        di::UnitLatency(d, units.back().name, BlockUnitKey(units.back().unit)));
    hakd::v1::LatencyTable& table = tables.emplace_back();
    table.set_device(d.device);
    table.set_budget_us(d.budget_us);
    table.set_fixed_us(m.intercept_us() + m.per_unit_us() * n +
                       m.scale() * (stem + head));
    std::vector<std::vector<double>> curves(grids.size());  // per shape
    for (size_t shape = 0; shape < grids.size(); ++shape) {
      const di::TeacherBlock& tb = info.blocks[info.shape_first[shape]];
      std::vector<std::pair<int, double>> points;
      for (const di::Variant& v : grids[shape]) {
        HAKD_ASSIGN_OR_RETURN(
            double us,
            di::UnitLatency(d, absl::StrCat(tb.field, " width ", v.width),
                            v.key));
        points.push_back({v.width, m.scale() * us});
      }
      curves[shape] = Interpolate(points);
    }
    for (const di::TeacherBlock& tb : info.blocks) {
      hakd::v1::BlockLatencyCurve* c = table.add_blocks();
      c->set_stage(tb.stage);
      c->set_block(tb.block);
      c->mutable_us_by_width()->Add(curves[tb.shape].begin(),
                                    curves[tb.shape].end());
    }
  }
  return tables;
}

std::string DescribeStudent(const NetworkSpec& student) {
  std::vector<std::string> stages;
  for (int s = 0; s < student.stages_size(); ++s) {
    const auto& stage = student.stages(s);
    std::vector<Run> runs;
    for (const auto& block : stage.blocks()) {
      Run r;
      if (block.has_residual()) {
        const auto cheap = di::NormalizedCheap(block.residual().cheap());
        r.label = di::CheapLabel(cheap);
        r.label_first = di::IsBottleneck(cheap);
        r.widths.push_back(di::InnerWidth(block.residual()));
      } else {  // not designed here; named by kind
        r.label = block.has_separable() ? "separable"
                  : block.has_dense()   ? "dense"
                                        : "transition";
        r.label_first = true;
      }
      if (!runs.empty() && runs.back().label == r.label &&
          runs.back().label_first == r.label_first) {
        runs.back().widths.insert(runs.back().widths.end(), r.widths.begin(),
                                  r.widths.end());
      } else {
        runs.push_back(std::move(r));
      }
    }
    std::vector<std::string> texts;
    for (const Run& r : runs) {
      const std::string widths = absl::StrJoin(r.widths, ",");
      if (r.label_first) {
        texts.push_back(widths.empty() ? r.label
                                       : absl::StrCat(r.label, " ", widths));
      } else {
        texts.push_back(
            absl::StrCat("mid ", widths, r.label.empty() ? "" : " ", r.label));
      }
    }
    const std::string name =
        stage.name().empty() ? absl::StrCat("stages[", s, "]") : stage.name();
    stages.push_back(absl::StrCat(name, ": ", absl::StrJoin(texts, ", ")));
  }
  return absl::StrJoin(stages, " | ");
}

}  // namespace hakd
