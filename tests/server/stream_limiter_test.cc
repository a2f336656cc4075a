#include "server/stream_limiter.h"

#include <utility>

#include "gtest/gtest.h"

namespace hakd {
namespace {

TEST(StreamLimiterTest, CapsEachIdentitySeparatelyAndReleasesOnDestruction) {
  StreamLimiter limiter(2);
  absl::StatusOr<StreamSlot> a1 = limiter.Acquire("a");
  absl::StatusOr<StreamSlot> a2 = limiter.Acquire("a");
  ASSERT_TRUE(a1.ok() && a2.ok());
  absl::StatusOr<StreamSlot> a3 = limiter.Acquire("a");
  EXPECT_EQ(a3.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(a3.status().message().find("limit 2"), std::string::npos);
  // Another identity is not affected.
  EXPECT_TRUE(limiter.Acquire("b").ok());
  EXPECT_EQ(limiter.Open("b"), 0);  // the temporary slot was released
  EXPECT_EQ(limiter.Open("a"), 2);
  { StreamSlot moved = *std::move(a1); EXPECT_EQ(limiter.Open("a"), 2); }
  EXPECT_EQ(limiter.Open("a"), 1);
  StreamSlot assigned;
  assigned = *std::move(a2);
  EXPECT_EQ(limiter.Open("a"), 1);
  assigned = StreamSlot();
  EXPECT_EQ(limiter.Open("a"), 0);
  EXPECT_TRUE(limiter.Acquire("a").ok());
}

}  // namespace
}  // namespace hakd
