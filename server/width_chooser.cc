#include "server/width_chooser.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace hakd {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Sums of many latencies are compared with budgets they may meet exactly;
// this much relative slack keeps rounding from refusing an exact fit.
constexpr double kFitSlack = 1e-9;

absl::Status CheckInputs(const std::vector<WidthSlot>& slots,
                         const std::vector<double>& fixed_us,
                         const std::vector<double>& budget_us) {
  const size_t devices = budget_us.size();
  if (fixed_us.size() != devices) {
    return absl::InvalidArgumentError(absl::StrCat(
        "fixed_us: ", fixed_us.size(), " values for ", devices, " budgets"));
  }
  for (size_t d = 0; d < devices; ++d) {
    if (!std::isfinite(budget_us[d]) || budget_us[d] <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "budget_us[", d, "]: ", budget_us[d], " must be a positive number"));
    }
    if (!std::isfinite(fixed_us[d])) {
      return absl::InvalidArgumentError(
          absl::StrCat("fixed_us[", d, "]: not a finite number"));
    }
  }
  for (size_t i = 0; i < slots.size(); ++i) {
    if (slots[i].options.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("slots[", i, "].options: a slot needs an option"));
    }
    for (size_t j = 0; j < slots[i].options.size(); ++j) {
      const WidthOption& o = slots[i].options[j];
      const std::string field = absl::StrCat("slots[", i, "].options[", j, "]");
      if (o.cost.size() != devices) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".cost: ", o.cost.size(), " values for ",
                         devices, " devices"));
      }
      if (!std::isfinite(o.gain)) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".gain: not a finite number"));
      }
      for (double c : o.cost) {
        if (!std::isfinite(c)) {
          return absl::InvalidArgumentError(
              absl::StrCat(field, ".cost: not a finite number"));
        }
      }
    }
  }
  return absl::OkStatus();
}

// The best upgrade of one slot from its current option.
struct Upgrade {
  int option = -1;  // -1: none fits or gains
  double ratio = 0;
  double gain = 0;
};

// Higher ratio first, then higher gain; earlier candidates win exact ties
// (the caller visits narrower options and lower slots first).
bool Better(const Upgrade& a, const Upgrade& b) {
  if (b.option < 0) return a.option >= 0;
  if (a.option < 0) return false;
  if (a.ratio != b.ratio) return a.ratio > b.ratio;
  return a.gain > b.gain;
}

class Greedy {
 public:
  Greedy(const std::vector<WidthSlot>& slots, const std::vector<double>& budget)
      : slots_(slots), budget_(budget), choice_(slots.size(), 0) {
    for (double b : budget_) limit_.push_back(b * (1 + kFitSlack));
  }

  // Starts from the first options; false when they exceed a budget.
  bool Start(const std::vector<double>& fixed_us, int* over_device) {
    used_ = fixed_us;
    for (const WidthSlot& s : slots_) {
      for (size_t d = 0; d < used_.size(); ++d)
        used_[d] += s.options[0].cost[d];
    }
    for (size_t d = 0; d < used_.size(); ++d) {
      if (used_[d] > limit_[d]) {
        *over_device = static_cast<int>(d);
        return false;
      }
    }
    return true;
  }

  double used(int d) const { return used_[d]; }

  // Takes the best upgrade while one fits. Each upgrade raises one slot's
  // option index, so this ends after at most the number of options.
  std::vector<int> Run() {
    best_.resize(slots_.size());
    for (size_t i = 0; i < slots_.size(); ++i) best_[i] = BestOf(i);
    while (true) {
      int pick = -1;
      for (size_t i = 0; i < slots_.size(); ++i) {
        if (Better(best_[i], pick < 0 ? Upgrade() : best_[pick])) {
          pick = static_cast<int>(i);
        }
      }
      if (pick < 0) break;
      const std::vector<double>& from = Option(pick).cost;
      const std::vector<double>& to =
          slots_[pick].options[best_[pick].option].cost;
      bool freed = false;  // some device got cheaper: more may fit now
      for (size_t d = 0; d < used_.size(); ++d) {
        used_[d] += to[d] - from[d];
        freed = freed || to[d] < from[d];
      }
      choice_[pick] = best_[pick].option;
      // A cached best that still fits is still the best: the options that
      // fit only shrink while no device gets cheaper.
      for (size_t i = 0; i < slots_.size(); ++i) {
        if (freed || static_cast<int>(i) == pick || !StillFits(i)) {
          best_[i] = BestOf(i);
        }
      }
    }
    return choice_;
  }

 private:
  const WidthOption& Option(size_t slot) const {
    return slots_[slot].options[choice_[slot]];
  }

  bool Fits(const WidthOption& from, const WidthOption& to) const {
    for (size_t d = 0; d < used_.size(); ++d) {
      if (used_[d] + (to.cost[d] - from.cost[d]) > limit_[d]) return false;
    }
    return true;
  }

  bool StillFits(size_t slot) const {
    return best_[slot].option < 0 ||
           Fits(Option(slot), slots_[slot].options[best_[slot].option]);
  }

  Upgrade BestOf(size_t slot) const {
    const auto& options = slots_[slot].options;
    const WidthOption& from = options[choice_[slot]];
    Upgrade best;
    for (size_t j = choice_[slot] + 1; j < options.size(); ++j) {
      const WidthOption& to = options[j];
      const double gain = to.gain - from.gain;
      if (!(gain > 0) || !Fits(from, to)) continue;
      // Normalised cost: the largest share of any device's budget spent.
      double cost = -kInf;
      for (size_t d = 0; d < used_.size(); ++d) {
        cost = std::max(cost, (to.cost[d] - from.cost[d]) / budget_[d]);
      }
      Upgrade u{static_cast<int>(j), cost > 0 ? gain / cost : kInf, gain};
      if (Better(u, best)) best = u;
    }
    return best;
  }

  const std::vector<WidthSlot>& slots_;
  const std::vector<double>& budget_;
  std::vector<double> limit_;
  std::vector<int> choice_;
  std::vector<double> used_;
  std::vector<Upgrade> best_;
};

}  // namespace

absl::StatusOr<std::vector<int>> ChooseWidths(
    const std::vector<WidthSlot>& slots, const std::vector<double>& fixed_us,
    const std::vector<double>& budget_us) {
  if (absl::Status s = CheckInputs(slots, fixed_us, budget_us); !s.ok()) {
    return s;
  }
  Greedy greedy(slots, budget_us);
  int over = -1;
  if (!greedy.Start(fixed_us, &over)) {
    const double need = greedy.used(over);
    return absl::FailedPreconditionError(absl::StrFormat(
        "device %d: the narrowest options need %.6g us, %.6g us over its "
        "budget of %.6g us",
        over, need, need - budget_us[over], budget_us[over]));
  }
  return greedy.Run();
}

std::vector<int> EfficientWidths(const std::vector<int>& widths,
                                 const std::vector<double>& latency_us,
                                 double tolerance) {
  // Mismatched lengths: only the widths that have a latency count.
  const int n = static_cast<int>(std::min(widths.size(), latency_us.size()));
  std::vector<int> kept;
  double cheapest_wider = kInf;  // over indices > i
  for (int i = n - 1; i >= 0; --i) {
    // A width is efficient unless some wider one costs at most
    // (1 + tolerance) times as much: that one gives more for about as much.
    if (!(cheapest_wider <= latency_us[i] * (1 + tolerance))) kept.push_back(i);
    cheapest_wider = std::min(cheapest_wider, latency_us[i]);
  }
  std::reverse(kept.begin(), kept.end());
  return kept;
}

}  // namespace hakd
