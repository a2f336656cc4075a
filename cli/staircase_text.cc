#include "cli/staircase_text.h"

#include <algorithm>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/table.h"
#include "common/layer_spec.h"

namespace hakd::cli {

using hakd::v1::Staircase;

std::string StaircaseTitle(const Staircase& s) {
  std::string title(LayerKindName(s.kind()));
  if (s.kernel() > 0) {
    absl::StrAppend(&title, " ", s.kernel(), "x", s.kernel(), "/",
                    std::max(1, s.stride()));
  }
  if (s.resolution() > 0) {
    absl::StrAppend(&title, " @", s.resolution(), "x", s.resolution());
  }
  if (s.depthwise()) absl::StrAppend(&title, " (dw)");
  return title;
}

std::string StaircasePointsText(const Staircase& s) {
  if (s.channels_size() == 0) return "no points";
  return absl::StrCat(
      s.channels_size(), s.channels_size() == 1 ? " point" : " points",
      ", channels ", s.channels(0), "..", s.channels(s.channels_size() - 1));
}

std::string DropsText(const Staircase& s) {
  if (s.drop_at_size() == 0) return "";
  std::vector<std::string> drops;
  for (int i = 0; i < s.drop_at_size(); ++i) {
    drops.push_back(i < s.drop_ratio_size()
                        ? absl::StrFormat("%d (x%.2f)", s.drop_at(i), s.drop_ratio(i))
                        : absl::StrCat(s.drop_at(i)));
  }
  return absl::StrCat("drops at ", absl::StrJoin(drops, ", "),
                      ": wider is faster from there");
}

std::string EfficientWidthsText(const Staircase& s) {
  if (s.efficient_size() == 0) return "no steps: latency grows smoothly";
  return absl::StrCat("efficient widths: ", absl::StrJoin(s.efficient(), ", "));
}

std::string FormatStaircase(const Staircase& s) {
  std::string out =
      absl::StrCat(StaircaseTitle(s), ": ", StaircasePointsText(s), "\n");
  if (s.step_at_size() > 0) {
    Table table({"STEP-AT", "RATIO", "EFFICIENT-WIDTH"});
    for (int c = 0; c < 3; ++c) table.AlignRight(c);
    for (int i = 0; i < s.step_at_size(); ++i) {
      table.AddRow(
          {absl::StrCat(s.step_at(i)),
           i < s.step_ratio_size() ? absl::StrFormat("%.2f", s.step_ratio(i))
                                   : "-",
           i < s.efficient_size() ? absl::StrCat(s.efficient(i)) : "-"});
    }
    absl::StrAppend(&out, table.Render());
  }
  if (s.drop_at_size() > 0) absl::StrAppend(&out, DropsText(s), "\n");
  absl::StrAppend(&out, EfficientWidthsText(s), "\n");
  return out;
}

std::vector<std::vector<const Staircase*>> GroupByFamily(
    const std::vector<const Staircase*>& staircases) {
  auto key = [](const Staircase* s) {
    return std::make_tuple(static_cast<int>(s->kind()), s->kernel(),
                           std::max(1, s->stride()), s->depthwise(),
                           -s->resolution());
  };
  std::vector<const Staircase*> sorted = staircases;
  std::stable_sort(
      sorted.begin(), sorted.end(),
      [&](const Staircase* a, const Staircase* b) { return key(a) < key(b); });
  std::vector<std::vector<const Staircase*>> groups;
  for (const Staircase* s : sorted) {
    if (groups.empty() || key(groups.back().front()) != key(s))
      groups.emplace_back();
    groups.back().push_back(s);
  }
  return groups;
}

}  // namespace hakd::cli
