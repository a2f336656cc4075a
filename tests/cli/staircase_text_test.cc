#include "cli/staircase_text.h"

#include "gtest/gtest.h"

namespace hakd::cli {
namespace {

hakd::v1::Staircase Sample() {
  hakd::v1::Staircase s;
  s.set_kind(hakd::v1::LAYER_KIND_CONV2D);
  s.set_kernel(3);
  s.set_stride(1);
  s.set_resolution(16);
  for (int c = 60; c <= 100; c += 10) {
    s.add_channels(c);
    s.add_median_us(c <= 80 ? 3000 : 400);
  }
  s.add_drop_at(90);
  s.add_drop_ratio(0.14);
  return s;
}

TEST(StaircaseTextTest, DropsAreSaidAsSuch) {
  const hakd::v1::Staircase s = Sample();
  EXPECT_EQ(DropsText(s),
            "drops at 90 (x0.14): wider is faster from there");
  const std::string text = FormatStaircase(s);
  EXPECT_NE(text.find("conv2d 3x3/1 @16x16: 5 points, channels 60..100"), std::string::npos)
      << text;
  EXPECT_NE(text.find("drops at 90"), std::string::npos) << text;
  hakd::v1::Staircase none = s;
  none.clear_drop_at();
  none.clear_drop_ratio();
  EXPECT_EQ(DropsText(none), "");
  EXPECT_EQ(FormatStaircase(none).find("drops"), std::string::npos);
}

}  // namespace
}  // namespace hakd::cli
