// DesignStudents, PredictFromProfile and SaliencyKept. Coverage, the
// baselines and DescribeStudent are in designer_baselines.cc.
#include "server/designer.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/network/network_analysis.h"
#include "common/network/unit_key.h"
#include "common/status_macros.h"
#include "server/designer_internal.h"
#include "server/latency_predictor.h"
#include "server/width_chooser.h"

namespace hakd {
namespace {

namespace di = designer_internal;
using hakd::v1::Candidate;
using hakd::v1::CheapConv;
using hakd::v1::NetworkSpec;

// Relative slack on budget checks, for sums that meet a budget exactly.
constexpr double kSlack = 1e-9;
// More cheap-block combinations than this is a mistake in the options.
constexpr int64_t kMaxCombinations = 1000000;

// What one teacher block shape may become with one cheap convolution.
struct Menu {
  std::vector<di::Variant> variants;    // narrowest first
  std::vector<std::vector<double>> us;  // [variant][device], unit sums
  std::vector<int> offered;             // efficient variants, ascending
  std::vector<double> fastest_us;       // per device, over all variants
};

// menus[shape][cheap option]. NOT_FOUND for a variant a profile lacks.
absl::StatusOr<std::vector<std::vector<Menu>>> BuildMenus(
    const di::TeacherInfo& info, const std::vector<CheapConv>& cheap,
    const std::vector<DeviceProfile>& devices, const DesignerOptions& options) {
  std::vector<std::vector<Menu>> menus(info.shape_first.size());
  for (size_t shape = 0; shape < menus.size(); ++shape) {
    const di::TeacherBlock& tb = info.blocks[info.shape_first[shape]];
    for (const CheapConv& c : cheap) {
      Menu m;
      m.variants = di::BlockVariants(info.analysis.units[tb.unit].unit,
                                     tb.inner_width, c, options.width_step);
      m.fastest_us.assign(devices.size(),
                          std::numeric_limits<double>::infinity());
      const std::string label = di::CheapLabel(c);
      std::vector<int> widths;
      for (const di::Variant& v : m.variants) {
        widths.push_back(v.width);
        std::vector<double>& us = m.us.emplace_back();
        for (size_t d = 0; d < devices.size(); ++d) {
          HAKD_ASSIGN_OR_RETURN(
              double t,
              di::UnitLatency(devices[d],
                              absl::StrCat(tb.field, " as ",
                                           label.empty() ? "standard" : label,
                                           " width ", v.width),
                              v.key));
          us.push_back(t);
          m.fastest_us[d] = std::min(m.fastest_us[d], t);
        }
      }
      // Every device's efficient widths are on offer: the chooser weighs
      // them against all budgets at once.
      std::vector<bool> offer(m.variants.size(), false);
      for (size_t d = 0; d < devices.size() && !m.variants.empty(); ++d) {
        std::vector<double> curve;
        for (const auto& us : m.us) curve.push_back(us[d]);
        for (int i :
             EfficientWidths(widths, curve, options.plateau_tolerance)) {
          offer[i] = true;
        }
      }
      if (!offer.empty()) offer.back() = true;
      for (size_t i = 0; i < offer.size(); ++i) {
        if (offer[i]) m.offered.push_back(static_cast<int>(i));
      }
      menus[shape].push_back(std::move(m));
    }
  }
  return menus;
}

// One configuration within every budget.
struct Student {
  int64_t combination = 0;
  std::vector<int> variant;          // per teacher block, into its menu
  std::vector<double> predicted_us;  // per device
  double ratio = 0;                  // max over devices of predicted / budget
  double kept = 0;                   // saliency kept
  int64_t params = 0;
  int64_t macs = 0;
  int combinations = 1;  // identical networks found
  bool alive = true;
  bool verified = false;
  Candidate candidate;  // built when verified
};

bool Dominates(const Student& a, const Student& b) {
  const bool no_worse =
      a.ratio <= b.ratio && a.kept >= b.kept && a.params >= b.params;
  const bool better =
      a.ratio < b.ratio || a.kept > b.kept || a.params > b.params;
  return no_worse && better;
}

std::vector<int> ParetoFront(const std::vector<Student>& pool) {
  std::vector<int> front;
  for (size_t i = 0; i < pool.size(); ++i) {
    if (!pool[i].alive) continue;
    bool dominated = false;
    for (size_t j = 0; j < pool.size() && !dominated; ++j) {
      dominated = j != i && pool[j].alive && Dominates(pool[j], pool[i]);
    }
    if (!dominated) front.push_back(static_cast<int>(i));
  }
  return front;
}

// The state DesignStudents shares between its steps.
class Designer {
 public:
  Designer(const NetworkSpec& teacher,
           const std::vector<DeviceProfile>& devices,
           const DesignerOptions& options, di::TeacherInfo info,
           const std::vector<hakd::v1::BlockSaliency>& saliency)
      : teacher_(teacher),
        devices_(devices),
        options_(options),
        info_(std::move(info)),
        saliency_(saliency),
        cheap_(di::CheapOptions(options)) {
    for (const di::TeacherBlock& b : info_.blocks) {
      positions_.push_back({b.stage, b.block});
    }
  }

  absl::StatusOr<DesignOutcome> Run() {
    HAKD_RETURN_IF_ERROR(Prepare());
    std::vector<Student> pool;
    HAKD_RETURN_IF_ERROR(TryCombinations(&pool));
    // The front is built from the fast sums; each member is then checked as
    // a whole network. A member that fails leaves the pool and the front is
    // recomputed, so a network it hid can come back.
    std::vector<int> front;
    while (true) {
      front = ParetoFront(pool);
      bool dropped = false;
      for (int i : front) {
        if (pool[i].verified) continue;
        HAKD_ASSIGN_OR_RETURN(bool ok, Verify(&pool[i]));
        if (!ok) {
          pool[i].alive = false;
          outcome_.within_budget -= pool[i].combinations;
          dropped = true;
        }
      }
      if (!dropped) break;
    }
    if (front.empty()) return NoStudent();
    const double teacher_params =
        static_cast<double>(info_.analysis.total_params);
    auto score = [&](const Student& s) {
      return (s.kept + s.params / teacher_params) / 2;
    };
    std::stable_sort(front.begin(), front.end(), [&](int a, int b) {
      const double sa = score(pool[a]), sb = score(pool[b]);
      if (sa != sb) return sa > sb;
      return pool[a].ratio < pool[b].ratio;
    });
    for (size_t rank = 0; rank < front.size(); ++rank) {
      Candidate c = std::move(pool[front[rank]].candidate);
      c.set_name(absl::StrCat("hakd-", rank + 1));
      c.mutable_network()->set_name(c.name());
      c.set_pareto(true);
      c.set_selected(static_cast<int>(rank) < options_.candidates);
      outcome_.front.push_back(std::move(c));
    }
    return std::move(outcome_);
  }

 private:
  // Menus, the fixed units' latencies and the budgets in the domain of unit
  // sums.
  absl::Status Prepare() {
    HAKD_ASSIGN_OR_RETURN(menus_,
                          BuildMenus(info_, cheap_, devices_, options_));
    const auto& units = info_.analysis.units;
    units_ = static_cast<int>(units.size());
    for (const DeviceProfile& d : devices_) {
      HAKD_ASSIGN_OR_RETURN(double stem,
                            di::UnitLatency(d, units.front().name,
                                            BlockUnitKey(units.front().unit)));
      HAKD_ASSIGN_OR_RETURN(double head,
                            di::UnitLatency(d, units.back().name,
                                            BlockUnitKey(units.back().unit)));
      stem_us_.push_back(stem);
      head_us_.push_back(head);
      fixed_us_.push_back(stem + head);
      const hakd::v1::OverheadModel m = di::EffectiveOverhead(d.overhead);
      models_.push_back(m);
      // ApplyOverhead is affine in the sum: invert it for the budget.
      sum_budget_us_.push_back(
          (d.budget_us - m.intercept_us() - m.per_unit_us() * units_) /
          m.scale());
    }
    // The chooser's slots, one per (teacher block, cheap option).
    slots_.resize(info_.blocks.size());
    for (size_t i = 0; i < info_.blocks.size(); ++i) {
      const di::TeacherBlock& tb = info_.blocks[i];
      for (const Menu& m : menus_[tb.shape]) {
        WidthSlot& slot = slots_[i].emplace_back();
        for (int v : m.offered) {
          WidthOption o;
          o.width = m.variants[v].width;
          o.gain = saliency_.Kept(tb.stage, tb.block, o.width);
          o.cost = m.us[v];
          slot.options.push_back(std::move(o));
        }
      }
    }
    for (const di::TeacherBlock& tb : info_.blocks) {
      teacher_block_params_ += info_.unit_params[tb.unit];
      teacher_block_macs_ += info_.unit_macs[tb.unit];
    }
    return absl::OkStatus();
  }

  absl::Status TryCombinations(std::vector<Student>* pool) {
    const int stages = teacher_.stages_size();
    const int64_t options = static_cast<int64_t>(cheap_.size());
    int64_t total = 1;
    for (int s = 0; s < stages; ++s) {
      total *= options;
      if (total > kMaxCombinations) {
        return absl::InvalidArgumentError(absl::StrCat(
            "options.cheap: ", options, " cheap convolutions over ", stages,
            " stages give more than ", kMaxCombinations, " combinations"));
      }
    }
    bool budgets_reachable = true;
    for (double b : sum_budget_us_) {
      budgets_reachable = budgets_reachable && b > 0;
    }
    std::map<std::vector<int>, int> seen;  // network signature -> pool index
    std::vector<int> stage_cheap(stages);
    std::vector<WidthSlot> slots;
    for (int64_t combo = 0; combo < total; ++combo) {
      int64_t x = combo;  // stage 0 is the most significant digit
      for (int s = stages - 1; s >= 0; --s) {
        stage_cheap[s] = static_cast<int>(x % options);
        x /= options;
      }
      ++outcome_.configurations;
      if (!budgets_reachable) continue;
      slots.clear();
      bool valid = true;
      for (size_t i = 0; i < info_.blocks.size() && valid; ++i) {
        const WidthSlot& slot = slots_[i][stage_cheap[info_.blocks[i].stage]];
        valid = !slot.options.empty();
        slots.push_back(slot);
      }
      if (!valid) continue;  // a block this cheap convolution cannot build
      auto chosen = ChooseWidths(slots, fixed_us_, sum_budget_us_);
      if (absl::IsFailedPrecondition(chosen.status())) continue;
      if (!chosen.ok()) return chosen.status();
      Student s = Evaluate(combo, stage_cheap, *chosen);
      if (!WithinBudgets(s.predicted_us)) continue;
      ++outcome_.within_budget;
      // Identical networks (e.g. from repeated cheap options) count once.
      std::vector<int> signature;
      for (size_t i = 0; i < s.variant.size(); ++i) {
        const di::Variant& v = MenuOf(i, stage_cheap).variants[s.variant[i]];
        signature.insert(signature.end(),
                         {v.block.cheap().type(), v.block.cheap().groups(),
                          v.block.cheap().bottleneck(), v.width});
      }
      auto [it, added] =
          seen.emplace(std::move(signature), static_cast<int>(pool->size()));
      if (!added) {
        ++(*pool)[it->second].combinations;
        continue;
      }
      pool->push_back(std::move(s));
    }
    return absl::OkStatus();
  }

  const Menu& MenuOf(size_t block, const std::vector<int>& stage_cheap) const {
    const di::TeacherBlock& tb = info_.blocks[block];
    return menus_[tb.shape][stage_cheap[tb.stage]];
  }

  // The chosen configuration's latency (summed in network order, as
  // PredictFromProfile does), saliency and size.
  Student Evaluate(int64_t combo, const std::vector<int>& stage_cheap,
                   const std::vector<int>& chosen) const {
    Student s;
    s.combination = combo;
    s.params = info_.analysis.total_params - teacher_block_params_;
    s.macs = info_.analysis.total_macs - teacher_block_macs_;
    std::vector<int> widths;
    for (size_t i = 0; i < chosen.size(); ++i) {
      const Menu& m = MenuOf(i, stage_cheap);
      const int v = m.offered[chosen[i]];
      s.variant.push_back(v);
      widths.push_back(m.variants[v].width);
      s.params += m.variants[v].params;
      s.macs += m.variants[v].macs;
    }
    for (size_t d = 0; d < devices_.size(); ++d) {
      double sum = 0;
      sum += stem_us_[d];
      for (size_t i = 0; i < chosen.size(); ++i) {
        sum += MenuOf(i, stage_cheap).us[s.variant[i]][d];
      }
      sum += head_us_[d];
      const double us = ApplyOverhead(models_[d], sum, units_);
      s.predicted_us.push_back(us);
      s.ratio = std::max(s.ratio, us / devices_[d].budget_us);
    }
    s.kept = di::KeptShare(saliency_, positions_, widths);
    return s;
  }

  bool WithinBudgets(const std::vector<double>& predicted_us) const {
    for (size_t d = 0; d < devices_.size(); ++d) {
      if (predicted_us[d] > devices_[d].budget_us * (1 + kSlack)) return false;
    }
    return true;
  }

  // Builds the student's network and candidate, and checks it as a whole:
  // valid, and PredictFromProfile's latency within every budget. False
  // when it misses a budget.
  absl::StatusOr<bool> Verify(Student* s) {
    NetworkSpec net = teacher_;
    std::vector<int> stage_cheap(teacher_.stages_size());
    int64_t x = s->combination;
    for (int st = teacher_.stages_size() - 1; st >= 0; --st) {
      stage_cheap[st] = static_cast<int>(x % cheap_.size());
      x /= static_cast<int64_t>(cheap_.size());
    }
    for (size_t i = 0; i < info_.blocks.size(); ++i) {
      const di::TeacherBlock& tb = info_.blocks[i];
      *net.mutable_stages(tb.stage)
           ->mutable_blocks(tb.block)
           ->mutable_residual() =
          MenuOf(i, stage_cheap).variants[s->variant[i]].block;
    }
    auto analysis = AnalyzeNetwork(net);
    if (!analysis.ok()) {
      return absl::InternalError(absl::StrCat("designed student is invalid: ",
                                              analysis.status().message()));
    }
    Candidate& c = s->candidate;
    for (size_t d = 0; d < devices_.size(); ++d) {
      HAKD_ASSIGN_OR_RETURN(double us,
                            di::PredictUnits(analysis->units, devices_[d]));
      if (us > devices_[d].budget_us * (1 + kSlack)) return false;
      *c.add_latency() = di::LatencyOf(devices_[d], us);
    }
    c.set_role(hakd::v1::ROLE_HAKD);
    c.set_params(analysis->total_params);
    c.set_macs(analysis->total_macs);
    c.set_saliency_kept(s->kept);
    c.set_description(DescribeStudent(net));
    *c.mutable_network() = std::move(net);
    s->verified = true;
    return true;
  }

  // FAILED_PRECONDITION with the fastest latency any configuration reaches
  // on each device (every block at its fastest variant).
  absl::Status NoStudent() const {
    std::vector<std::string> parts;
    for (size_t d = 0; d < devices_.size(); ++d) {
      double sum = stem_us_[d];
      for (int st = 0; st < teacher_.stages_size(); ++st) {
        double best = std::numeric_limits<double>::infinity();
        for (size_t c = 0; c < cheap_.size(); ++c) {
          double stage_sum = 0;
          for (const di::TeacherBlock& tb : info_.blocks) {
            if (tb.stage == st) stage_sum += menus_[tb.shape][c].fastest_us[d];
          }
          best = std::min(best, stage_sum);
        }
        sum += best;
      }
      sum += head_us_[d];
      if (!std::isfinite(sum)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "no student meets the budgets: no cheap convolution in the "
            "options builds every block of some stage"));
      }
      parts.push_back(
          absl::StrCat(di::Ms(ApplyOverhead(models_[d], sum, units_)),
                       " ms on ", devices_[d].device, " (budget ",
                       di::Ms(devices_[d].budget_us), " ms)"));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("no student meets the budgets: fastest reachable is ",
                     absl::StrJoin(parts, ", ")));
  }

  const NetworkSpec& teacher_;
  const std::vector<DeviceProfile>& devices_;
  const DesignerOptions& options_;
  const di::TeacherInfo info_;
  const di::SaliencyIndex saliency_;
  const std::vector<CheapConv> cheap_;
  std::vector<std::pair<int, int>> positions_;  // (stage, block) per block

  std::vector<std::vector<Menu>> menus_;
  std::vector<std::vector<WidthSlot>> slots_;  // [block][cheap]
  int units_ = 0;
  std::vector<double> stem_us_, head_us_, fixed_us_, sum_budget_us_;
  std::vector<hakd::v1::OverheadModel> models_;
  int64_t teacher_block_params_ = 0;
  int64_t teacher_block_macs_ = 0;
  DesignOutcome outcome_;
};

}  // namespace

absl::StatusOr<double> PredictFromProfile(const NetworkSpec& network,
                                          const DeviceProfile& profile) {
  HAKD_ASSIGN_OR_RETURN(NetworkAnalysis analysis, AnalyzeNetwork(network));
  return di::PredictUnits(analysis.units, profile);
}

double SaliencyKept(const NetworkSpec& network,
                    const std::vector<hakd::v1::BlockSaliency>& saliency) {
  std::vector<std::pair<int, int>> positions;
  std::vector<int> widths;
  for (int s = 0; s < network.stages_size(); ++s) {
    for (int b = 0; b < network.stages(s).blocks_size(); ++b) {
      const auto& block = network.stages(s).blocks(b);
      if (!block.has_residual()) continue;
      positions.push_back({s, b});
      widths.push_back(di::InnerWidth(block.residual()));
    }
  }
  return di::KeptShare(di::SaliencyIndex(saliency), positions, widths);
}

absl::StatusOr<DesignOutcome> DesignStudents(
    const NetworkSpec& teacher,
    const std::vector<hakd::v1::BlockSaliency>& saliency,
    const std::vector<DeviceProfile>& devices, const DesignerOptions& options) {
  HAKD_RETURN_IF_ERROR(di::ValidateOptions(options));
  HAKD_RETURN_IF_ERROR(di::ValidateDevices(devices));
  for (size_t d = 0; d < devices.size(); ++d) {
    if (devices[d].overhead.scale() < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "devices[", d, "].overhead.scale: ", devices[d].overhead.scale(),
          " is negative"));
    }
  }
  HAKD_ASSIGN_OR_RETURN(di::TeacherInfo info, di::AnalyzeTeacher(teacher));
  HAKD_RETURN_IF_ERROR(
      di::ValidateSaliency(saliency, info, /*require_all=*/true));
  Designer designer(teacher, devices, options, std::move(info), saliency);
  return designer.Run();
}

}  // namespace hakd
