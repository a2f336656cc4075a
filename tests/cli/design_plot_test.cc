// The accuracy-vs-latency SVG of `design report --plot`: one marker per
// trained network and device, shapes by role, labels, budgets, escaping.
#include "cli/design_plot.h"

#include <string>

#include "design_fixtures.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hakd::cli {
namespace {

using hakd::v1::DesignJob;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using testing::MakeDesignJob;
using ::testing::Not;
using ::testing::StartsWith;

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + what.size())) {
    ++n;
  }
  return n;
}

// A document whose elements open and close in pairs and whose text holds no
// raw markup characters.
void ExpectDocument(const std::string& svg) {
  EXPECT_THAT(svg, StartsWith("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                              "<svg xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_THAT(svg, EndsWith("</svg>\n"));
  EXPECT_EQ(Count(svg, "<svg"), 1);
  EXPECT_EQ(Count(svg, "<text"), Count(svg, "</text>"));
  EXPECT_EQ(Count(svg, "<g "), Count(svg, "</g>"));
}

TEST(DesignPlotTest, OneMarkerPerTrainedNetworkAndDevice) {
  const std::string svg =
      RenderDesignSvg(MakeDesignJob(hakd::v1::DESIGN_SUCCEEDED));
  ExpectDocument(svg);
  // teacher, hakd-1, hakd-2 and uniform were measured on rpi4 and nano;
  // fisher has no accuracy and hakd-3 was never trained.
  EXPECT_EQ(Count(svg, ">teacher</text>"), 2 + 1);  // + the role legend
  EXPECT_EQ(Count(svg, ">hakd-1 (recommended)</text>"), 2);
  EXPECT_EQ(Count(svg, ">hakd-2</text>"), 2);
  EXPECT_EQ(Count(svg, ">uniform</text>"), 2 + 1);
  EXPECT_EQ(Count(svg, ">fisher</text>"), 1);
  EXPECT_THAT(svg, Not(HasSubstr("hakd-3")));
  // Shapes tell roles apart: squares for the teacher (and its legend
  // entry), circles for students, triangles for uniform.
  EXPECT_EQ(Count(svg, "<rect x="), 2 + 1);
  EXPECT_EQ(Count(svg, "fill=\"none\" stroke=\"#000\""), 2);  // ring
  EXPECT_EQ(Count(svg, "<polygon"), 2 + 2);  // uniform points, 2 legend
  EXPECT_EQ(Count(svg, "<path d=\"M"), 1);   // the magnitude legend entry
  // Budgets as dashed verticals in the device's colour; x spans 0 to 1.1
  // times the slowest latency (12.3 ms) over 80..700.
  EXPECT_THAT(svg, HasSubstr("<line x1=\"309.1\" y1=\"40.0\" x2=\"309.1\" "
                             "y2=\"490.0\" stroke=\"#0072b2\" "
                             "stroke-dasharray=\"5 3\"/>"));
  EXPECT_THAT(svg, HasSubstr("<line x1=\"194.6\" y1=\"40.0\" x2=\"194.6\" "
                             "y2=\"490.0\" stroke=\"#d55e00\" "
                             "stroke-dasharray=\"5 3\"/>"));
  EXPECT_THAT(svg, HasSubstr(">rpi4 (budget 5 ms)</text>"));
  EXPECT_THAT(svg, HasSubstr(">nano (budget 2.5 ms)</text>"));
  // Accuracy 91.5..94.1 % padded by a point: ticks 91 to 95.
  EXPECT_THAT(svg, HasSubstr(">91</text>"));
  EXPECT_THAT(svg, HasSubstr(">95</text>"));
  EXPECT_THAT(svg, Not(HasSubstr(">96</text>")));
  EXPECT_THAT(svg, HasSubstr(">measured latency (ms, batch 1)</text>"));
}

TEST(DesignPlotTest, NamesAreEscapedAndMagnitudeHasItsOwnShape) {
  DesignJob job = MakeDesignJob(hakd::v1::DESIGN_SUCCEEDED);
  job.mutable_spec()->set_name("a<b & \"c\"");
  hakd::v1::Candidate* m = job.mutable_candidates(5);  // fisher, untrained
  m->set_name("mag<1>");
  m->set_role(hakd::v1::ROLE_MAGNITUDE);
  m->set_test_accuracy(0.9);
  m->mutable_latency(0)->set_measured_ms(12);
  const std::string svg = RenderDesignSvg(job);
  ExpectDocument(svg);
  EXPECT_THAT(
      svg,
      HasSubstr("design job 12 (a&lt;b &amp; &quot;c&quot;): test accuracy"));
  EXPECT_THAT(svg, HasSubstr(">mag&lt;1&gt;</text>"));
  EXPECT_THAT(svg, Not(HasSubstr("mag<1>")));
  EXPECT_EQ(Count(svg, "<path d=\"M"), 1 + 1);  // rpi4 only
}

TEST(DesignPlotTest, NothingMeasuredYet) {
  const std::string svg =
      RenderDesignSvg(MakeDesignJob(hakd::v1::DESIGN_RUNNING));
  ExpectDocument(svg);
  EXPECT_THAT(svg, HasSubstr(">no measured latencies yet</text>"));
  EXPECT_THAT(svg, Not(HasSubstr("<circle")));
}

}  // namespace
}  // namespace hakd::cli
