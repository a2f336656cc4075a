// The staircase SVG: well-formed XML, the data's points, steps and legend.
#include "cli/svg_plot.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hakd::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Checks XML well-formedness the way a parser would: one root element, every
// tag closed in order, attributes quoted, no raw '<' or stray '&' in text.
// Returns "" when well-formed, else what is wrong.
std::string XmlProblem(const std::string& xml) {
  std::vector<std::string> open;
  int roots = 0;
  size_t i = 0;
  auto check_text = [](const std::string& text) -> std::string {
    for (size_t k = 0; k < text.size(); ++k) {
      if (text[k] != '&') continue;
      const size_t semi = text.find(';', k);
      const std::string entity =
          text.substr(k, semi == std::string::npos ? 8 : semi - k + 1);
      if (entity != "&amp;" && entity != "&lt;" && entity != "&gt;" &&
          entity != "&quot;" && entity != "&apos;") {
        return "bad entity " + entity;
      }
    }
    return "";
  };
  while (i < xml.size()) {
    const size_t lt = xml.find('<', i);
    const std::string text =
        xml.substr(i, lt == std::string::npos ? std::string::npos : lt - i);
    if (std::string p = check_text(text); !p.empty()) return p;
    if (open.empty() &&
        text.find_first_not_of(" \n\r\t") != std::string::npos) {
      return "text outside the root: " + text;
    }
    if (lt == std::string::npos) break;
    const size_t gt = xml.find('>', lt);
    if (gt == std::string::npos) return "unterminated tag";
    std::string tag = xml.substr(lt + 1, gt - lt - 1);
    i = gt + 1;
    if (absl::StartsWith(tag, "?")) {
      if (lt != 0 || !absl::EndsWith(tag, "?")) return "misplaced declaration";
      continue;
    }
    if (absl::StartsWith(tag, "/")) {
      const std::string name = tag.substr(1);
      if (open.empty() || open.back() != name)
        return "unbalanced </" + name + ">";
      open.pop_back();
      continue;
    }
    const bool self_closing = absl::EndsWith(tag, "/");
    if (self_closing) tag.pop_back();
    const size_t space = tag.find_first_of(" \n");
    const std::string name = tag.substr(0, space);
    if (name.empty()) return "empty tag name";
    // Attributes: name="value" pairs, values without '<' and with valid
    // entities.
    std::string rest = space == std::string::npos ? "" : tag.substr(space);
    size_t k = 0;
    while (true) {
      k = rest.find_first_not_of(" \n", k);
      if (k == std::string::npos) break;
      const size_t eq = rest.find('=', k);
      if (eq == std::string::npos || eq + 1 >= rest.size() ||
          rest[eq + 1] != '"') {
        return "unquoted attribute in <" + name + ">";
      }
      const size_t close = rest.find('"', eq + 2);
      if (close == std::string::npos)
        return "unterminated attribute in <" + name + ">";
      const std::string value = rest.substr(eq + 2, close - eq - 2);
      if (value.find('<') != std::string::npos) return "'<' in attribute";
      if (std::string p = check_text(value); !p.empty()) return p;
      k = close + 1;
    }
    if (open.empty()) ++roots;
    if (!self_closing) open.push_back(name);
  }
  if (!open.empty()) return "unclosed <" + open.back() + ">";
  if (roots != 1) return "expected one root element";
  return "";
}

hakd::v1::GetStaircasesResponse TwoStaircases() {
  hakd::v1::GetStaircasesResponse r;
  hakd::v1::Staircase* a = r.add_staircases();
  a->set_kind(hakd::v1::LAYER_KIND_CONV2D);
  a->set_kernel(3);
  a->set_stride(1);
  a->set_resolution(32);
  a->set_depthwise(true);
  for (int c : {8, 16, 24, 32, 40}) a->add_channels(c);
  for (double us : {10.0, 11.0, 12.0, 20.0, 21.0}) a->add_median_us(us);
  a->add_step_at(32);
  a->add_step_ratio(1.67);
  a->add_efficient(24);
  hakd::v1::Staircase* b = r.add_staircases();
  b->set_kind(hakd::v1::LAYER_KIND_LINEAR);
  for (int c : {8, 40}) b->add_channels(c);
  for (double us : {5.0, 42.0}) b->add_median_us(us);
  return r;
}

TEST(XmlProblemTest, CatchesBrokenDocuments) {
  EXPECT_EQ(XmlProblem("<a><b/></a>"), "");
  EXPECT_NE(XmlProblem("<a><b></a>"), "");
  EXPECT_NE(XmlProblem("<a x=1/>"), "");
  EXPECT_NE(XmlProblem("<a>x & y</a>"), "");
  EXPECT_NE(XmlProblem("<a/><b/>"), "");
  EXPECT_NE(XmlProblem("<a>"), "");
}

TEST(SvgPlotTest, WellFormedWithPointsStepsAndLegend) {
  const std::string svg = RenderStaircaseSvg(TwoStaircases().staircases());
  EXPECT_EQ(XmlProblem(svg), "") << svg;
  EXPECT_THAT(svg, HasSubstr("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  // x: channels 8..40 onto 80..690; y: 0..42*1.05 onto bottom 480..40.
  // First point of the first series: (8, 10 us) -> (80.0, 480 - 10/44.1*440).
  EXPECT_THAT(svg, HasSubstr("points=\"80.0,380.2 "));
  // Last point of the second series: (40, 42 us) -> (690.0, 60.95).
  EXPECT_THAT(svg, HasSubstr(" 690.0,61.0\""));
  EXPECT_THAT(svg, HasSubstr(">0</text>"));  // the y axis starts at 0, not -0
  EXPECT_THAT(svg, Not(HasSubstr(">-0<")));
  size_t polylines = 0;
  for (size_t p = svg.find("<polyline"); p != std::string::npos;
       p = svg.find("<polyline", p + 1)) {
    ++polylines;
  }
  EXPECT_EQ(polylines, 2u);
  // The step at 32 channels: x = 80 + 24/32*610 = 537.5, dashed.
  EXPECT_THAT(svg, HasSubstr("x1=\"537.5\""));
  EXPECT_THAT(svg, HasSubstr("stroke-dasharray"));
  EXPECT_THAT(svg, HasSubstr(">conv2d 3x3/1 @32x32 (dw)</text>"));
  EXPECT_THAT(svg, HasSubstr(">linear</text>"));
  EXPECT_THAT(svg, HasSubstr(">channels</text>"));
  EXPECT_THAT(svg, HasSubstr(">latency (us)</text>"));
  EXPECT_THAT(svg, HasSubstr(">40</text>"));  // an x tick label
}

TEST(SvgPlotTest, EmptyAndDegenerateInputsStayWellFormed) {
  hakd::v1::GetStaircasesResponse empty;
  std::string svg = RenderStaircaseSvg(empty.staircases());
  EXPECT_EQ(XmlProblem(svg), "") << svg;
  EXPECT_THAT(svg, HasSubstr("no data"));

  hakd::v1::GetStaircasesResponse one;
  hakd::v1::Staircase* s = one.add_staircases();
  s->set_kind(hakd::v1::LAYER_KIND_BATCHNORM_RELU);
  s->add_channels(16);
  s->add_median_us(0);
  s->add_channels(32);  // no latency for this one: skipped
  svg = RenderStaircaseSvg(one.staircases());
  EXPECT_EQ(XmlProblem(svg), "") << svg;
  EXPECT_THAT(svg, HasSubstr("<polyline"));
}

TEST(SvgPlotTest, EscapesText) {
  EXPECT_EQ(XmlEscape("a<b & \"c\" 'd'>"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
}

TEST(SvgPlotTest, NiceTicks) {
  EXPECT_EQ(NiceTicks(0, 10, 5), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  EXPECT_FALSE(std::signbit(NiceTicks(0, 10, 5)[0]));
  EXPECT_EQ(NiceTicks(8, 256, 8),
            (std::vector<double>{50, 100, 150, 200, 250}));
  const std::vector<double> small = NiceTicks(0, 0.5, 5);
  ASSERT_EQ(small.size(), 6u);
  for (size_t i = 0; i < small.size(); ++i)
    EXPECT_NEAR(small[i], 0.1 * i, 1e-12);
  EXPECT_TRUE(NiceTicks(5, 5, 4).empty());
}

}  // namespace
}  // namespace hakd::cli
