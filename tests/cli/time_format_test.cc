// Human time formats: ages, durations, timestamps.
#include "cli/time_format.h"

#include "gtest/gtest.h"

namespace hakd::cli {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

TEST(TimeFormatTest, Ago) {
  EXPECT_EQ(FormatAgo(kNow - 3'000, kNow), "3s ago");
  EXPECT_EQ(FormatAgo(kNow - 3'999, kNow), "3s ago");
  EXPECT_EQ(FormatAgo(kNow, kNow), "0s ago");
  EXPECT_EQ(FormatAgo(kNow + 5'000, kNow), "0s ago");  // clock skew
  EXPECT_EQ(FormatAgo(kNow - 59'000, kNow), "59s ago");
  EXPECT_EQ(FormatAgo(kNow - 60'000, kNow), "1m ago");
  EXPECT_EQ(FormatAgo(kNow - 3'599'000, kNow), "59m ago");
  EXPECT_EQ(FormatAgo(kNow - 3'600'000, kNow), "1h ago");
  EXPECT_EQ(FormatAgo(kNow - 47 * 3'600'000LL, kNow), "47h ago");
  EXPECT_EQ(FormatAgo(kNow - 3 * 86'400'000LL, kNow), "3d ago");
  EXPECT_EQ(FormatAgo(0, kNow), "never");
}

TEST(TimeFormatTest, Duration) {
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(45.4), "45s");
  EXPECT_EQ(FormatDuration(59.6), "1m00s");
  EXPECT_EQ(FormatDuration(680), "11m20s");
  EXPECT_EQ(FormatDuration(2 * 3600 + 5 * 60 + 9), "2h05m");
  EXPECT_EQ(FormatDuration(3 * 86400 + 4 * 3600), "3d04h");
  EXPECT_EQ(FormatDuration(-5), "0s");
}

TEST(TimeFormatTest, TimestampHasFixedShape) {
  EXPECT_EQ(FormatTimestamp(0), "-");
  const std::string t = FormatTimestamp(kNow);
  ASSERT_EQ(t.size(), 19u) << t;  // YYYY-MM-DD HH:MM:SS in local time
  EXPECT_EQ(t[4], '-');
  EXPECT_EQ(t[10], ' ');
  EXPECT_EQ(t[13], ':');
}

}  // namespace
}  // namespace hakd::cli
