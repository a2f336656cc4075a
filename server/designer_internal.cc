#include "server/designer_internal.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/network/unit_key.h"
#include "server/latency_predictor.h"

namespace hakd::designer_internal {

using hakd::v1::BlockUnit;
using hakd::v1::CheapConv;
using hakd::v1::NetworkSpec;
using hakd::v1::ResidualBlock;

absl::StatusOr<TeacherInfo> AnalyzeTeacher(const NetworkSpec& teacher) {
  TeacherInfo info;
  auto analysis = AnalyzeNetwork(teacher);
  if (!analysis.ok()) {
    return absl::Status(analysis.status().code(),
                        absl::StrCat("teacher.", analysis.status().message()));
  }
  info.analysis = *std::move(analysis);
  // Units with equal keys run the same computation: analyse each once.
  std::map<std::string, int> shape_of_key;
  std::map<std::string, std::pair<int64_t, int64_t>> cost_of_key;
  int unit = 1;  // units[0] is the stem
  for (int s = 0; s < teacher.stages_size(); ++s) {
    for (int b = 0; b < teacher.stages(s).blocks_size(); ++b, ++unit) {
      const std::string field = absl::StrCat("stages[", s, "].blocks[", b, "]");
      if (!teacher.stages(s).blocks(b).has_residual()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "teacher.", field, ": the designer handles residual blocks only"));
      }
      TeacherBlock tb;
      tb.stage = s;
      tb.block = b;
      tb.field = field;
      tb.unit = unit;
      tb.inner_width = InnerWidth(teacher.stages(s).blocks(b).residual());
      const std::string key = BlockUnitKey(info.analysis.units[unit].unit);
      auto [it, added] =
          shape_of_key.emplace(key, static_cast<int>(info.shape_first.size()));
      if (added)
        info.shape_first.push_back(static_cast<int>(info.blocks.size()));
      tb.shape = it->second;
      info.blocks.push_back(tb);
    }
  }
  for (const NetworkUnit& u : info.analysis.units) {
    const std::string key = BlockUnitKey(u.unit);
    auto it = cost_of_key.find(key);
    if (it == cost_of_key.end()) {
      auto a = AnalyzeUnit(u.unit);
      if (!a.ok()) {  // cannot happen for a unit of a valid network
        return absl::InternalError(
            absl::StrCat("teacher ", u.name, ": ", a.status().message()));
      }
      it = cost_of_key
               .emplace(key, std::make_pair(a->total_params, a->total_macs))
               .first;
    }
    info.unit_params.push_back(it->second.first);
    info.unit_macs.push_back(it->second.second);
  }
  return info;
}

bool IsBottleneck(const CheapConv& cheap) {
  return cheap.type() == CheapConv::TYPE_BOTTLENECK ||
         cheap.type() == CheapConv::TYPE_BOTTLENECK_GROUPED;
}

int InnerWidth(const ResidualBlock& block) {
  if (IsBottleneck(block.cheap())) {
    const int b = std::max(1, block.cheap().bottleneck());
    return block.out_channels() / b;
  }
  return block.mid_channels() == 0 ? block.out_channels()
                                   : block.mid_channels();
}

CheapConv NormalizedCheap(const CheapConv& cheap) {
  CheapConv c = cheap;
  switch (c.type()) {
    case CheapConv::TYPE_GROUPED:
      c.set_bottleneck(0);
      break;
    case CheapConv::TYPE_BOTTLENECK:
      c.set_groups(0);
      break;
    case CheapConv::TYPE_BOTTLENECK_GROUPED:
      break;
    default:
      c.set_groups(0);
      c.set_bottleneck(0);
      break;
  }
  return c;
}

std::string CheapLabel(const CheapConv& cheap) {
  switch (cheap.type()) {
    case CheapConv::TYPE_GROUPED:
      return absl::StrCat("G(", cheap.groups(), ")");
    case CheapConv::TYPE_BOTTLENECK:
      return absl::StrCat("B(", cheap.bottleneck(), ")");
    case CheapConv::TYPE_BOTTLENECK_GROUPED:
      return absl::StrCat("BG(", cheap.bottleneck(), ",", cheap.groups(), ")");
    case CheapConv::TYPE_DEPTHWISE_SEPARABLE:
      return "DW";
    default:
      return "";
  }
}

absl::Status ValidateOptions(const DesignerOptions& options) {
  if (options.candidates < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.candidates: ", options.candidates, " must be at least 1"));
  }
  if (options.width_step < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.width_step: ", options.width_step, " is negative"));
  }
  if (!(options.plateau_tolerance >= 0) ||
      !std::isfinite(options.plateau_tolerance)) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.plateau_tolerance: ", options.plateau_tolerance,
                     " must be a finite number >= 0"));
  }
  for (size_t i = 0; i < options.cheap.size(); ++i) {
    const CheapConv& c = options.cheap[i];
    const std::string field = absl::StrCat("options.cheap[", i, "]");
    if (!CheapConv::Type_IsValid(c.type())) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".type: unknown type ", c.type()));
    }
    const bool grouped = c.type() == CheapConv::TYPE_GROUPED ||
                         c.type() == CheapConv::TYPE_BOTTLENECK_GROUPED;
    if (grouped && c.groups() < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".groups: ", c.groups(), " must be >= 1"));
    }
    if (IsBottleneck(c) && c.bottleneck() < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".bottleneck: ", c.bottleneck(), " must be >= 1"));
    }
  }
  for (size_t i = 0; i < options.uniform_factors.size(); ++i) {
    const double f = options.uniform_factors[i];
    if (!(f > 0) || !std::isfinite(f)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "options.uniform_factors[", i, "]: ", f, " must be positive"));
    }
  }
  return absl::OkStatus();
}

std::vector<CheapConv> CheapOptions(const DesignerOptions& options) {
  std::vector<CheapConv> out;
  if (!options.cheap.empty()) {
    for (const CheapConv& c : options.cheap) out.push_back(NormalizedCheap(c));
    return out;
  }
  auto make = [](CheapConv::Type type, int groups, int bottleneck) {
    CheapConv c;
    c.set_type(type);
    c.set_groups(groups);
    c.set_bottleneck(bottleneck);
    return c;
  };
  return {make(CheapConv::TYPE_STANDARD, 0, 0),
          make(CheapConv::TYPE_GROUPED, 2, 0),
          make(CheapConv::TYPE_GROUPED, 4, 0),
          make(CheapConv::TYPE_BOTTLENECK, 0, 2),
          make(CheapConv::TYPE_BOTTLENECK_GROUPED, 2, 2),
          make(CheapConv::TYPE_DEPTHWISE_SEPARABLE, 0, 0)};
}

std::vector<double> UniformFactors(const DesignerOptions& options) {
  std::vector<double> out = options.uniform_factors;
  if (out.empty()) {
    for (int i = 20; i >= 1; --i) out.push_back(i / 20.0);
  }
  std::stable_sort(out.begin(), out.end(), std::greater<double>());
  return out;
}

absl::Status ValidateDevices(const std::vector<DeviceProfile>& devices) {
  if (devices.empty()) {
    return absl::InvalidArgumentError("devices: at least one device is needed");
  }
  for (size_t d = 0; d < devices.size(); ++d) {
    const double b = devices[d].budget_us;
    if (!(b > 0) || !std::isfinite(b)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "devices[", d, "].budget_us: ", b, " must be a positive number"));
    }
  }
  return absl::OkStatus();
}

hakd::v1::OverheadModel EffectiveOverhead(
    const hakd::v1::OverheadModel& model) {
  hakd::v1::OverheadModel m = model;
  if (m.scale() == 0) m.set_scale(1);
  return m;
}

std::vector<Variant> BlockVariants(const BlockUnit& teacher_unit,
                                   int teacher_width, const CheapConv& cheap_in,
                                   int width_step) {
  const CheapConv cheap = NormalizedCheap(cheap_in);
  const ResidualBlock& teacher = teacher_unit.block().residual();
  const int out = teacher.out_channels();
  std::vector<std::pair<int, ResidualBlock>> tries;  // width, block
  if (IsBottleneck(cheap)) {
    for (int64_t b = std::max(1, cheap.bottleneck()); b <= out; b *= 2) {
      if (out % b != 0 || out / b > teacher_width) continue;
      ResidualBlock r = teacher;
      r.set_mid_channels(0);
      *r.mutable_cheap() = cheap;
      r.mutable_cheap()->set_bottleneck(static_cast<int32_t>(b));
      tries.emplace_back(static_cast<int>(out / b), std::move(r));
    }
  } else {
    const int step =
        width_step > 0 ? width_step : std::max(1, teacher_width / 8);
    std::vector<int> widths;
    for (int w = step; w < teacher_width; w += step) widths.push_back(w);
    widths.push_back(teacher_width);
    for (int w : widths) {
      ResidualBlock r = teacher;
      r.set_mid_channels(w);
      *r.mutable_cheap() = cheap;
      tries.emplace_back(w, std::move(r));
    }
  }
  std::sort(tries.begin(), tries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Variant> out_variants;
  for (auto& [width, block] : tries) {
    Variant v;
    v.width = width;
    v.unit = teacher_unit;
    *v.unit.mutable_block()->mutable_residual() = block;
    auto a = AnalyzeUnit(v.unit);
    if (!a.ok()) continue;  // e.g. groups that do not divide this width
    v.block = std::move(block);
    v.key = BlockUnitKey(v.unit);
    v.params = a->total_params;
    v.macs = a->total_macs;
    out_variants.push_back(std::move(v));
  }
  return out_variants;
}

NetworkSpec UniformlyScaled(const NetworkSpec& teacher, double factor) {
  auto scale = [factor](int c) {
    return static_cast<int32_t>(std::max<long>(1, std::lround(factor * c)));
  };
  NetworkSpec n = teacher;
  n.set_name("uniform");
  n.mutable_stem()->set_out_channels(scale(n.stem().out_channels()));
  for (auto& stage : *n.mutable_stages()) {
    for (auto& block : *stage.mutable_blocks()) {
      if (!block.has_residual()) continue;
      ResidualBlock* r = block.mutable_residual();
      const int inner = InnerWidth(*r);
      r->set_out_channels(scale(r->out_channels()));
      // Bottleneck blocks derive their width from out_channels.
      if (!IsBottleneck(r->cheap())) r->set_mid_channels(scale(inner));
    }
  }
  return n;
}

absl::StatusOr<double> UnitLatency(const DeviceProfile& profile,
                                   const std::string& unit_name,
                                   const std::string& key) {
  auto it = profile.unit_us.find(key);
  if (it == profile.unit_us.end()) {
    return absl::NotFoundError(
        absl::StrCat("device ", profile.device, ": no measured latency for ",
                     unit_name, " (unit \"", key, "\")"));
  }
  return it->second;
}

absl::StatusOr<double> PredictUnits(const std::vector<NetworkUnit>& units,
                                    const DeviceProfile& profile) {
  double sum = 0;
  for (const NetworkUnit& u : units) {
    auto us = UnitLatency(profile, u.name, BlockUnitKey(u.unit));
    if (!us.ok()) return us.status();
    sum += *us;
  }
  return ApplyOverhead(EffectiveOverhead(profile.overhead), sum,
                       static_cast<int>(units.size()));
}

SaliencyIndex::SaliencyIndex(
    const std::vector<hakd::v1::BlockSaliency>& saliency) {
  for (const auto& s : saliency) {
    auto [it, added] = prefix_.try_emplace({s.stage(), s.block()});
    if (!added) continue;
    std::vector<double> values(s.channels().begin(), s.channels().end());
    std::sort(values.begin(), values.end(), std::greater<double>());
    std::vector<double>& prefix = it->second;
    prefix.reserve(values.size() + 1);
    prefix.push_back(0);
    for (double v : values) prefix.push_back(prefix.back() + v);
  }
  for (const auto& [position, prefix] : prefix_) total_ += prefix.back();
}

double SaliencyIndex::Kept(int stage, int block, int width) const {
  auto it = prefix_.find({stage, block});
  if (it == prefix_.end() || width <= 0) return 0;
  const std::vector<double>& prefix = it->second;
  return prefix[std::min<size_t>(width, prefix.size() - 1)];
}

bool SaliencyIndex::Has(int stage, int block) const {
  return prefix_.count({stage, block}) > 0;
}

absl::Status ValidateSaliency(
    const std::vector<hakd::v1::BlockSaliency>& saliency,
    const TeacherInfo& teacher, bool require_all) {
  std::set<std::pair<int, int>> residual;
  for (const TeacherBlock& b : teacher.blocks)
    residual.insert({b.stage, b.block});
  std::set<std::pair<int, int>> seen;
  for (size_t i = 0; i < saliency.size(); ++i) {
    const auto& s = saliency[i];
    const std::string field = absl::StrCat("saliency[", i, "]");
    if (residual.count({s.stage(), s.block()}) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": stages[", s.stage(), "].blocks[", s.block(),
                       "] is not a residual block of the teacher"));
    }
    if (!seen.insert({s.stage(), s.block()}).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": stages[", s.stage(), "].blocks[", s.block(),
                       "] appears twice"));
    }
    for (int c = 0; c < s.channels_size(); ++c) {
      if (!(s.channels(c) >= 0) || !std::isfinite(s.channels(c))) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".channels[", c, "]: ", s.channels(c),
                         " must be a finite number >= 0"));
      }
    }
  }
  if (require_all) {
    for (const TeacherBlock& b : teacher.blocks) {
      if (seen.count({b.stage, b.block}) == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("saliency: no entry for teacher block ", b.field));
      }
    }
  }
  return absl::OkStatus();
}

double KeptShare(const SaliencyIndex& saliency,
                 const std::vector<std::pair<int, int>>& positions,
                 const std::vector<int>& widths) {
  if (!(saliency.total() > 0)) return 0;
  double kept = 0;
  for (size_t i = 0; i < positions.size(); ++i) {
    kept += saliency.Kept(positions[i].first, positions[i].second, widths[i]);
  }
  return kept / saliency.total();
}

std::string Ms(double us) { return absl::StrFormat("%.3f", us / 1000); }

hakd::v1::DeviceLatency LatencyOf(const DeviceProfile& device,
                                  double predicted_us) {
  hakd::v1::DeviceLatency l;
  l.set_device(device.device);
  l.set_budget_ms(device.budget_us / 1000);
  l.set_predicted_ms(predicted_us / 1000);
  l.set_meets_budget(predicted_us <= device.budget_us * (1 + 1e-9));
  return l;
}

}  // namespace hakd::designer_internal
