// ChooseWidths on instances with known best answers (and against brute
// force where greedy is provably optimal), EfficientWidths on staircases.
#include "server/width_chooser.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <vector>

#include "absl/strings/match.h"

namespace hakd {
namespace {

WidthOption Opt(int width, double gain, std::vector<double> cost) {
  WidthOption o;
  o.width = width;
  o.gain = gain;
  o.cost = std::move(cost);
  return o;
}

// Slot A gains 100 for 10 us more, slot B 10 for 10 us more.
std::vector<WidthSlot> TwoSlots() {
  return {WidthSlot{{Opt(8, 0, {10}), Opt(16, 100, {20})}},
          WidthSlot{{Opt(8, 0, {10}), Opt(16, 10, {20})}}};
}

TEST(ChooseWidthsTest, HigherGainPerMicrosecondIsWidenedFirst) {
  auto chosen = ChooseWidths(TwoSlots(), {0}, {30});
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  EXPECT_EQ(*chosen, (std::vector<int>{1, 0}));
}

TEST(ChooseWidthsTest, BudgetThatExactlyFitsTakesEverything) {
  auto chosen = ChooseWidths(TwoSlots(), {5}, {45});
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  EXPECT_EQ(*chosen, (std::vector<int>{1, 1}));
  // One microsecond less and the weaker upgrade no longer fits.
  chosen = ChooseWidths(TwoSlots(), {5}, {44});
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  EXPECT_EQ(*chosen, (std::vector<int>{1, 0}));
}

TEST(ChooseWidthsTest, JumpsOverAnOptionWhenTheNextDoesNotPay) {
  // The middle option gains nothing; the widest gains a lot.
  std::vector<WidthSlot> slots = {
      WidthSlot{{Opt(8, 0, {10}), Opt(16, 0, {12}), Opt(24, 50, {14})}}};
  auto chosen = ChooseWidths(slots, {0}, {14});
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  EXPECT_EQ(*chosen, (std::vector<int>{2}));
}

TEST(ChooseWidthsTest, FreeUpgradeIsTakenAtAFullBudget) {
  std::vector<WidthSlot> slots = {
      WidthSlot{{Opt(8, 0, {10}), Opt(16, 5, {10})}},
      WidthSlot{{Opt(8, 0, {10}), Opt(16, 50, {11})}}};
  auto chosen = ChooseWidths(slots, {0}, {20});
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  EXPECT_EQ(*chosen, (std::vector<int>{1, 0}));
}

TEST(ChooseWidthsTest, InfeasibleBudgetNamesTheDevice) {
  auto chosen = ChooseWidths(TwoSlots(), {0}, {15});
  ASSERT_EQ(chosen.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(chosen.status().message(), "device 0"))
      << chosen.status();
  // Two devices: only the second is short.
  std::vector<WidthSlot> slots = {
      WidthSlot{{Opt(8, 0, {10, 10}), Opt(16, 1, {20, 20})}}};
  chosen = ChooseWidths(slots, {0, 5}, {100, 12});
  ASSERT_EQ(chosen.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(chosen.status().message(), "device 1"))
      << chosen.status();
  EXPECT_TRUE(absl::StrContains(chosen.status().message(), "3 us over"))
      << chosen.status();
}

TEST(ChooseWidthsTest, SecondDeviceBinds) {
  // A is cheap on device 0 and dear on device 1; B the other way round.
  // Device 0 has room for both; device 1 only for B's upgrade.
  std::vector<WidthSlot> slots = {
      WidthSlot{{Opt(8, 0, {10, 10}), Opt(16, 10, {11, 30})}},
      WidthSlot{{Opt(8, 0, {10, 10}), Opt(16, 8, {30, 11})}}};
  auto chosen = ChooseWidths(slots, {0, 0}, {1000, 25});
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  EXPECT_EQ(*chosen, (std::vector<int>{0, 1}));
  // With device 1 unconstrained, both are widened.
  chosen = ChooseWidths(slots, {0, 0}, {1000, 1000});
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  EXPECT_EQ(*chosen, (std::vector<int>{1, 1}));
}

TEST(ChooseWidthsTest, RefusesMalformedInput) {
  EXPECT_EQ(ChooseWidths(TwoSlots(), {0, 0}, {30}).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<WidthSlot> empty_slot = {WidthSlot{}};
  auto st = ChooseWidths(empty_slot, {0}, {30}).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(st.message(), "slots[0].options")) << st;
  std::vector<WidthSlot> short_cost = {WidthSlot{{Opt(8, 0, {10})}}};
  st = ChooseWidths(short_cost, {0, 0}, {30, 30}).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(st.message(), "slots[0].options[0].cost"))
      << st;
  EXPECT_EQ(ChooseWidths(TwoSlots(), {0}, {0}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ChooseWidthsTest, NoSlotsOnlyChecksTheFixedCost) {
  auto chosen = ChooseWidths({}, {10}, {20});
  ASSERT_TRUE(chosen.ok());
  EXPECT_TRUE(chosen->empty());
  EXPECT_EQ(ChooseWidths({}, {30}, {20}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// Every option of a slot costs one step more than the previous one and
// gains a decreasing amount (concave): then taking the best marginal gain
// per step is optimal, and brute force must agree with the greedy.
TEST(ChooseWidthsTest, MatchesBruteForceOnConcaveUnitStepInstances) {
  std::mt19937 rng(12345);
  std::uniform_real_distribution<double> uniform(0.1, 10.0);
  for (int instance = 0; instance < 200; ++instance) {
    const int n_slots = 2 + instance % 3;
    const double step = 1 + instance % 4;
    std::vector<WidthSlot> slots(n_slots);
    double base_total = 0;
    int max_steps = 0;
    for (WidthSlot& slot : slots) {
      const int n_options = 2 + static_cast<int>(rng() % 4);
      const double base = uniform(rng);
      base_total += base;
      max_steps += n_options - 1;
      // Decreasing positive increments: concave gains.
      std::vector<double> increments;
      for (int k = 1; k < n_options; ++k) increments.push_back(uniform(rng));
      std::sort(increments.begin(), increments.end(), std::greater<double>());
      double gain = 0;
      for (int k = 0; k < n_options; ++k) {
        if (k > 0) gain += increments[k - 1];
        slot.options.push_back(Opt(8 * (k + 1), gain, {base + k * step}));
      }
    }
    const int allowed = static_cast<int>(rng() % (max_steps + 1));
    const double fixed = 3;
    const double budget = fixed + base_total + allowed * step + 0.5 * step;
    auto chosen = ChooseWidths(slots, {fixed}, {budget});
    ASSERT_TRUE(chosen.ok()) << chosen.status();
    double greedy_gain = 0, greedy_cost = fixed;
    for (int i = 0; i < n_slots; ++i) {
      greedy_gain += slots[i].options[(*chosen)[i]].gain;
      greedy_cost += slots[i].options[(*chosen)[i]].cost[0];
    }
    EXPECT_LE(greedy_cost, budget);
    // Brute force over every combination.
    double best = -1;
    std::vector<int> pick(n_slots, 0);
    std::function<void(int, double, double)> search = [&](int i, double cost,
                                                          double gain) {
      if (cost > budget) return;
      if (i == n_slots) {
        best = std::max(best, gain);
        return;
      }
      for (const WidthOption& o : slots[i].options) {
        search(i + 1, cost + o.cost[0], gain + o.gain);
      }
    };
    search(0, fixed, 0);
    EXPECT_NEAR(greedy_gain, best, 1e-9) << "instance " << instance;
  }
}

TEST(EfficientWidthsTest, KeepsTheWidestOfEveryPlateau) {
  const std::vector<int> widths = {8, 16, 24, 32, 40, 48, 56, 64};
  const std::vector<double> us = {10, 10.1, 10.2, 20, 20.2, 20.3, 40, 40};
  EXPECT_EQ(EfficientWidths(widths, us), (std::vector<int>{2, 5, 7}));
}

TEST(EfficientWidthsTest, KeepsEveryWidthOfASmoothCurve) {
  const std::vector<int> widths = {8, 16, 24, 32, 40};
  const std::vector<double> us = {10, 12, 14, 16, 18};
  EXPECT_EQ(EfficientWidths(widths, us), (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(EfficientWidthsTest, ToleranceDecidesWhatIsAPlateau) {
  const std::vector<int> widths = {8, 16, 24};
  const std::vector<double> us = {10, 10.5, 20};
  EXPECT_EQ(EfficientWidths(widths, us, 0.03), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(EfficientWidths(widths, us, 0.06), (std::vector<int>{1, 2}));
  EXPECT_EQ(EfficientWidths(widths, us, 1.0), (std::vector<int>{2}));
}

TEST(EfficientWidthsTest, DropsAWidthThatAWiderOneUndercuts) {
  // 16 runs faster than 8 (a library's fast path): 8 is never worth it.
  const std::vector<int> widths = {8, 16, 24};
  const std::vector<double> us = {12, 9, 20};
  EXPECT_EQ(EfficientWidths(widths, us), (std::vector<int>{1, 2}));
  EXPECT_TRUE(EfficientWidths({}, {}).empty());
}

}  // namespace
}  // namespace hakd
