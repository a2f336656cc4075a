// StartSweepRequest from `sweep start` flags.
#include "cli/sweep_request.h"

#include <string>
#include <vector>

#include "cli/errors.h"
#include "cli/grammar.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hakd::cli {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<hakd::v1::StartSweepRequest> RequestFor(
    std::vector<std::string> flags) {
  std::vector<std::string> args = {"sweep", "start"};
  args.insert(args.end(), flags.begin(), flags.end());
  absl::StatusOr<CommandLine> line = ParseCommandLine(HakdctlGrammar(), args);
  if (!line.ok()) return line.status();
  return SweepRequestFromFlags(line->flags);
}

TEST(SweepRequestTest, PresetDefaultsToDefault) {
  absl::StatusOr<hakd::v1::StartSweepRequest> r =
      RequestFor({"--device", "rpi4"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->device(), "rpi4");
  EXPECT_EQ(r->preset(), "default");
  EXPECT_EQ(r->families_size(), 0);
  EXPECT_EQ(r->chunk_size(), 0);
  EXPECT_EQ(r->settings().min_samples(), 0);
}

TEST(SweepRequestTest, FamiliesAndSettings) {
  absl::StatusOr<hakd::v1::StartSweepRequest> r = RequestFor(
      {"--device", "7", "--family", "conv2d:k=3:c=8-16:res=8", "--family",
       "linear:c=8", "--chunk-size", "8", "--min-samples", "5", "--max-samples",
       "50", "--min-sample-ms", "0.5", "--warmup-runs", "2",
       "--max-seconds-per-layer", "1.5", "--stable-cv", "0.03", "--max-cv",
       "0.2", "--max-remeasure", "0", "--keep-samples"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->preset(), "");
  ASSERT_EQ(r->families_size(), 2);
  EXPECT_EQ(r->families(1).kind(), hakd::v1::LAYER_KIND_LINEAR);
  EXPECT_EQ(r->chunk_size(), 8);
  EXPECT_EQ(r->settings().min_samples(), 5);
  EXPECT_EQ(r->settings().max_samples(), 50);
  EXPECT_DOUBLE_EQ(r->settings().min_sample_ms(), 0.5);
  EXPECT_EQ(r->settings().warmup_runs(), 2);
  EXPECT_DOUBLE_EQ(r->settings().max_seconds_per_layer(), 1.5);
  EXPECT_DOUBLE_EQ(r->settings().stable_cv(), 0.03);
  EXPECT_DOUBLE_EQ(r->settings().max_cv(), 0.2);
  EXPECT_EQ(r->settings().max_remeasure(), -1);  // explicit "none"
  EXPECT_TRUE(r->settings().keep_samples());
}

TEST(SweepRequestTest, ThrottlingDetectorFlags) {
  absl::StatusOr<hakd::v1::StartSweepRequest> r = RequestFor(
      {"--device", "7", "--reference-interval-s", "2.5", "--reference-tolerance",
       "0.2"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_DOUBLE_EQ(r->settings().reference_interval_s(), 2.5);
  EXPECT_DOUBLE_EQ(r->settings().reference_tolerance(), 0.2);
  // 0 turns the detector off, which travels as -1 (0 is "agent default").
  r = RequestFor({"--device", "7", "--reference-interval-s", "0"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_DOUBLE_EQ(r->settings().reference_interval_s(), -1);
  EXPECT_FALSE(RequestFor({"--device", "7", "--reference-tolerance", "-1"}).ok());
}

TEST(SweepRequestTest, RefusesBadCombinations) {
  const struct {
    std::vector<std::string> flags;
    std::string fragment;
  } cases[] = {
      {{}, "--device is required"},
      {{"--device", "d", "--preset", "huge"},
       "--preset: unknown preset 'huge'"},
      {{"--device", "d", "--preset", "quick", "--family", "linear:c=8"},
       "--preset and --family exclude each other"},
      {{"--device", "d", "--family", "linear:c=8:k=1"},
       "'k' does not apply to linear"},
      {{"--device", "d", "--min-samples", "9", "--max-samples", "3"},
       "--min-samples 9 exceeds --max-samples 3"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<hakd::v1::StartSweepRequest> r = RequestFor(c.flags);
    ASSERT_FALSE(r.ok()) << c.fragment;
    EXPECT_EQ(ExitCodeOf(r.status()), kExitUsage);
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(c.fragment));
  }
}

TEST(SweepRequestTest, LabelAndUnitFlags) {
  absl::StatusOr<hakd::v1::StartSweepRequest> r =
      RequestFor({"--device", "rpi4", "--preset", "quick", "--label", "cal"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->preset(), "quick");
  EXPECT_EQ(r->label(), "cal");

  r = RequestFor({"--device", "rpi4", "--label", std::string(65, 'x')});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ExitCodeOf(r.status()), kExitUsage);
  EXPECT_EQ(r.status().message(), "--label: longer than 64 characters");

  r = RequestFor({"--device", "rpi4", "--network", "/nonexistent/net.json"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ExitCodeOf(r.status()), kExitUsage);
  EXPECT_THAT(r.status().message(),
              HasSubstr("/nonexistent/net.json: cannot open"));

  r = RequestFor({"--device", "rpi4", "--family", "linear:c=8", "--network",
                  "/nonexistent/net.json"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "--network and --family exclude each other (time units or "
            "layers, not both)");
}

}  // namespace
}  // namespace hakd::cli
