// LayerFilter from flags: only given flags are set (proto3 presence), the
// shorthand flags expand, and contradictions are refused.
#include "cli/layer_filter.h"

#include <string>
#include <vector>

#include "cli/errors.h"
#include "cli/grammar.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hakd::cli {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<hakd::v1::LayerFilter> FilterFor(
    std::vector<std::string> flags) {
  std::vector<std::string> args = {"latency", "query", "--device", "d"};
  args.insert(args.end(), flags.begin(), flags.end());
  absl::StatusOr<CommandLine> line = ParseCommandLine(HakdctlGrammar(), args);
  if (!line.ok()) return line.status();
  return LayerFilterFromFlags(line->flags);
}

TEST(LayerFilterTest, NoFlagsFilterNothing) {
  absl::StatusOr<hakd::v1::LayerFilter> f = FilterFor({});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_FALSE(f->has_kind());
  EXPECT_FALSE(f->has_in_channels());
  EXPECT_FALSE(f->has_padding());
  EXPECT_FALSE(f->has_depthwise());
  EXPECT_FALSE(f->has_dtype());
  EXPECT_EQ(f->ByteSizeLong(), 0u);
}

TEST(LayerFilterTest, SetsExactlyTheGivenFields) {
  absl::StatusOr<hakd::v1::LayerFilter> f = FilterFor(
      {"--kind",          "conv2d",  "--in",     "16", "--out",    "32",
       "--height",        "28",      "--kernel", "3",  "--stride", "2",
       "--padding",       "0",       "--groups", "1",  "--batch",  "8",
       "--not-depthwise", "--dtype", "float16"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->kind(), hakd::v1::LAYER_KIND_CONV2D);
  EXPECT_EQ(f->in_channels(), 16);
  EXPECT_EQ(f->out_channels(), 32);
  EXPECT_TRUE(f->has_height());
  EXPECT_EQ(f->height(), 28);
  EXPECT_FALSE(f->has_width());
  EXPECT_EQ(f->kernel(), 3);
  EXPECT_EQ(f->stride(), 2);
  EXPECT_TRUE(f->has_padding());  // zero, but given
  EXPECT_EQ(f->padding(), 0);
  EXPECT_EQ(f->groups(), 1);
  EXPECT_EQ(f->batch(), 8);
  EXPECT_TRUE(f->has_depthwise());
  EXPECT_FALSE(f->depthwise());
  EXPECT_EQ(f->dtype(), hakd::v1::DTYPE_FLOAT16);
}

TEST(LayerFilterTest, ShorthandsSetBothFields) {
  absl::StatusOr<hakd::v1::LayerFilter> f = FilterFor(
      {"--channels", "64", "--res", "14", "--depthwise", "--kind", "maxpool"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->in_channels(), 64);
  EXPECT_EQ(f->out_channels(), 64);
  EXPECT_EQ(f->height(), 14);
  EXPECT_EQ(f->width(), 14);
  EXPECT_TRUE(f->depthwise());
  EXPECT_EQ(f->kind(), hakd::v1::LAYER_KIND_MAX_POOL);
}

TEST(LayerFilterTest, RefusesContradictionsAndUnknownNames) {
  const struct {
    std::vector<std::string> flags;
    std::string fragment;
  } cases[] = {
      {{"--channels", "8", "--in", "8"},
       "--channels and --in exclude each other"},
      {{"--channels", "8", "--out", "8"}, "--channels and --out"},
      {{"--res", "8", "--width", "8"}, "--res and --width"},
      {{"--depthwise", "--not-depthwise"}, "--depthwise and --not-depthwise"},
      {{"--kind", "conv3d"}, "--kind: unknown kind 'conv3d'"},
      {{"--dtype", "int8"}, "--dtype: unknown dtype 'int8'"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<hakd::v1::LayerFilter> f = FilterFor(c.flags);
    ASSERT_FALSE(f.ok()) << c.fragment;
    EXPECT_EQ(ExitCodeOf(f.status()), kExitUsage);
    EXPECT_THAT(std::string(f.status().message()), HasSubstr(c.fragment));
  }
}

}  // namespace
}  // namespace hakd::cli
