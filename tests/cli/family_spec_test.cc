// The --family SPEC parser: every documented form, and errors that name the
// offending part.
#include "cli/family_spec.h"

#include "absl/strings/str_cat.h"
#include "cli/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hakd::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(FamilySpecTest, FullConvolution) {
  absl::StatusOr<hakd::v1::SweepFamily> f =
      ParseFamilySpec("conv2d:k=3:c=8-256/8:res=32,16,8:s=2:in=16:b=4");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->kind(), hakd::v1::LAYER_KIND_CONV2D);
  EXPECT_EQ(f->kernel(), 3);
  EXPECT_EQ(f->channels().start(), 8);
  EXPECT_EQ(f->channels().stop(), 256);
  EXPECT_EQ(f->channels().step(), 8);
  EXPECT_THAT(f->resolutions(), ElementsAre(32, 16, 8));
  EXPECT_EQ(f->stride(), 2);
  EXPECT_EQ(f->in_channels(), 16);
  EXPECT_EQ(f->batch(), 4);
  EXPECT_FALSE(f->depthwise());
  EXPECT_EQ(f->groups(), 0);
}

TEST(FamilySpecTest, OptionalKeysStayZeroForServerDefaults) {
  absl::StatusOr<hakd::v1::SweepFamily> f =
      ParseFamilySpec("conv2d:k=1:c=8-64:res=7:dw");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(f->depthwise());
  EXPECT_EQ(f->channels().step(), 1);
  EXPECT_EQ(f->stride(), 0);
  EXPECT_EQ(f->batch(), 0);
  EXPECT_EQ(f->in_channels(), 0);

  f = ParseFamilySpec("conv2d:res=8:c=32:k=3:g=4");  // any key order
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->channels().start(), 32);
  EXPECT_EQ(f->channels().stop(), 32);
  EXPECT_EQ(f->groups(), 4);
}

TEST(FamilySpecTest, OtherKinds) {
  absl::StatusOr<hakd::v1::SweepFamily> f =
      ParseFamilySpec("linear:c=64-4096/64:in=512");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->kind(), hakd::v1::LAYER_KIND_LINEAR);
  EXPECT_EQ(f->in_channels(), 512);
  EXPECT_TRUE(f->resolutions().empty());

  f = ParseFamilySpec("maxpool:k=2:s=2:c=16-64/16:res=32");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->kind(), hakd::v1::LAYER_KIND_MAX_POOL);

  f = ParseFamilySpec("avgpool:k=3:c=16:res=8,4");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->kind(), hakd::v1::LAYER_KIND_AVG_POOL);

  f = ParseFamilySpec("bnrelu:c=8-32:res=16:b=2");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->kind(), hakd::v1::LAYER_KIND_BATCHNORM_RELU);
  EXPECT_EQ(f->batch(), 2);
}

struct BadSpec {
  const char* spec;
  const char* fragment;  // the error must name this
};

class FamilySpecErrorTest : public ::testing::TestWithParam<BadSpec> {};

TEST_P(FamilySpecErrorTest, NamesTheProblem) {
  absl::StatusOr<hakd::v1::SweepFamily> f = ParseFamilySpec(GetParam().spec);
  ASSERT_FALSE(f.ok()) << GetParam().spec;
  EXPECT_EQ(ExitCodeOf(f.status()), kExitUsage);
  const std::string message(f.status().message());
  EXPECT_THAT(message,
              HasSubstr(absl::StrCat("--family '", GetParam().spec, "'")));
  EXPECT_THAT(message, HasSubstr(GetParam().fragment));
}

INSTANTIATE_TEST_SUITE_P(
    Invalid, FamilySpecErrorTest,
    ::testing::Values(
        BadSpec{"", "missing KIND"},
        BadSpec{"conv3d:k=3:c=8:res=8", "unknown kind 'conv3d'"},
        BadSpec{"conv2d:k=x:c=8:res=8",
                "in 'k=x': expected a whole number >= 1, got 'x'"},
        BadSpec{"conv2d:k=0:c=8:res=8", "in 'k=0'"},
        BadSpec{"conv2d:k=:c=8:res=8", "in 'k=': expected k=VALUE"},
        BadSpec{"conv2d:k:c=8:res=8", "in 'k': expected k=VALUE"},
        BadSpec{"conv2d:k=3:c=8-256/0:res=8", "in 'c=8-256/0': step '0'"},
        BadSpec{"conv2d:k=3:c=256-8:res=8",
                "in 'c=256-8': range 256-8 runs backwards"},
        BadSpec{"conv2d:k=3:c=a-8:res=8", "in 'c=a-8'"},
        BadSpec{"conv2d:k=3:c=8-:res=8", "in 'c=8-'"},
        BadSpec{"conv2d:k=3:c=8:res=32,,8", "in 'res=32,,8': resolution ''"},
        BadSpec{"conv2d:k=3:c=8:res=32,x", "resolution 'x'"},
        BadSpec{"conv2d:k=3:c=8:res=8:zz=1", "unknown key 'zz'"},
        BadSpec{"conv2d:k=3:c=8:res=8:k=5", "'k' given twice"},
        BadSpec{"conv2d:k=3:c=8:res=8::", "empty part"},
        BadSpec{"conv2d:k=3:c=8:res=8:dw=1", "dw takes no value"},
        BadSpec{"conv2d:c=8:res=8", "missing k=K (required for conv2d)"},
        BadSpec{"conv2d:k=3:res=8", "missing c=FROM-TO[/STEP]"},
        BadSpec{"conv2d:k=3:c=8", "missing res="},
        BadSpec{"conv2d:k=3:c=8:res=8:dw:g=2", "dw and g= exclude each other"},
        BadSpec{"conv2d:k=3:c=8:res=8:dw:in=4",
                "dw and in= exclude each other"},
        BadSpec{"linear:c=8:k=3", "in 'k=3': 'k' does not apply to linear"},
        BadSpec{"linear:c=8:res=8", "'res' does not apply to linear"},
        BadSpec{"maxpool:k=2:c=8:res=8:g=2", "'g' does not apply to maxpool"},
        BadSpec{"bnrelu:c=8:res=8:s=2", "'s' does not apply to bnrelu"},
        BadSpec{"bnrelu:c=8:res=8:dw", "'dw' does not apply to bnrelu"}),
    // Stable names for CTest (the default prints the parameter's bytes).
    [](const ::testing::TestParamInfo<BadSpec>& info) {
      return "Case" + std::to_string(info.index);
    });

}  // namespace
}  // namespace hakd::cli
