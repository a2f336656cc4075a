#include "agent/result_batcher.h"

#include <set>

#include "gtest/gtest.h"

namespace hakd::agent {
namespace {

hakd::v1::Measurement M(int item) {
  hakd::v1::Measurement m;
  m.set_item_index(item);
  return m;
}

hakd::v1::ItemFailure F(int item) {
  hakd::v1::ItemFailure f;
  f.set_item_index(item);
  return f;
}

const absl::Time kT0 = absl::FromUnixSeconds(1000);

TEST(ResultBatcherTest, FullBatchFlushesWithSequentialIds) {
  ResultBatcher b("0123456789abcdef", {3, absl::Seconds(1)});
  EXPECT_FALSE(b.Add(M(0), kT0).has_value());
  EXPECT_FALSE(b.Add(F(1), kT0).has_value());
  std::optional<ReadyBatch> first = b.Add(M(2), kT0);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->seq, 1u);
  EXPECT_EQ(first->batch.batch_id(), "0123456789abcdef-1");
  EXPECT_EQ(first->batch.measurements_size(), 2);
  EXPECT_EQ(first->batch.failures_size(), 1);
  EXPECT_EQ(b.pending(), 0);
  EXPECT_FALSE(b.Add(M(3), kT0).has_value());
  std::optional<ReadyBatch> rest = b.Flush();
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(rest->batch.batch_id(), "0123456789abcdef-2");
  EXPECT_EQ(rest->batch.measurements(0).item_index(), 3);
  EXPECT_FALSE(b.Flush().has_value());
}

TEST(ResultBatcherTest, AgeOfFirstEntryFlushes) {
  ResultBatcher b("inst", {16, absl::Milliseconds(1000)});
  EXPECT_EQ(b.flush_deadline(), absl::InfiniteFuture());
  EXPECT_FALSE(b.FlushIfDue(kT0).has_value());
  b.Add(M(0), kT0);
  b.Add(M(1), kT0 + absl::Milliseconds(600));  // the first entry counts
  EXPECT_EQ(b.flush_deadline(), kT0 + absl::Milliseconds(1000));
  EXPECT_FALSE(b.FlushIfDue(kT0 + absl::Milliseconds(999)).has_value());
  std::optional<ReadyBatch> due = b.FlushIfDue(kT0 + absl::Milliseconds(1000));
  ASSERT_TRUE(due.has_value());
  EXPECT_EQ(due->batch.measurements_size(), 2);
  EXPECT_EQ(b.flush_deadline(), absl::InfiniteFuture());
  // A new first entry starts a new clock.
  b.Add(M(2), kT0 + absl::Seconds(5));
  EXPECT_EQ(b.flush_deadline(), kT0 + absl::Seconds(6));
}

TEST(ResultBatcherTest, InstanceIdsAreRandomHex) {
  std::set<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    const std::string id = NewInstanceId();
    ASSERT_EQ(id.size(), 16u) << id;
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos)
        << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 20u);
}

TEST(ResultBatcherTest, BatchIdsAreValid) {
  ResultBatcher b(NewInstanceId(), {1, absl::Seconds(1)});
  for (int i = 0; i < 3; ++i) {
    std::optional<ReadyBatch> r = b.Add(M(i), kT0);
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(IsValidBatchId(r->batch.batch_id())) << r->batch.batch_id();
  }
  EXPECT_TRUE(IsValidBatchId("a.b_c:d-1"));
  EXPECT_FALSE(IsValidBatchId(""));
  EXPECT_FALSE(IsValidBatchId("a b"));
  EXPECT_FALSE(IsValidBatchId("a/b"));
  EXPECT_FALSE(IsValidBatchId(std::string(129, 'a')));
  EXPECT_TRUE(IsValidBatchId(std::string(128, 'a')));
}

TEST(ResultBatcherTest, StartAfterNumbersPastLoadedBatches) {
  ResultBatcher b("0123456789abcdef", {1, absl::Seconds(1)});
  b.StartAfter(41);
  std::optional<ReadyBatch> first = b.Add(M(0), kT0);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->seq, 42u);
  EXPECT_EQ(first->batch.batch_id(), "0123456789abcdef-42");
  b.StartAfter(10);  // never backwards
  EXPECT_EQ(b.Add(M(1), kT0)->seq, 43u);
}

}  // namespace
}  // namespace hakd::agent
