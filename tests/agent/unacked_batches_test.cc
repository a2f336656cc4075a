#include "agent/unacked_batches.h"

#include "gtest/gtest.h"

namespace hakd::agent {
namespace {

hakd::v1::MeasurementBatch Batch(const std::string& id, int measurements,
                                 int failures) {
  hakd::v1::MeasurementBatch b;
  b.set_batch_id(id);
  for (int i = 0; i < measurements; ++i)
    b.add_measurements()->set_item_index(i);
  for (int i = 0; i < failures; ++i) b.add_failures()->set_item_index(100 + i);
  return b;
}

hakd::v1::BatchAck Ack(const std::string& id, int code,
                       bool duplicate = false) {
  hakd::v1::BatchAck a;
  a.set_batch_id(id);
  a.set_code(code);
  a.set_duplicate(duplicate);
  return a;
}

std::vector<std::string> Ids(const UnackedBatches& u) {
  std::vector<std::string> ids;
  for (const auto& b : u.InOrder()) ids.push_back(b.batch_id());
  return ids;
}

using Outcome = UnackedBatches::AckResult::Outcome;

TEST(UnackedBatchesTest, ResendOrderIsSequenceOrder) {
  UnackedBatches u;
  u.Add(2, Batch("i-2", 2, 0));
  u.Add(1, Batch("i-1", 1, 1));
  u.Add(10, Batch("i-10", 3, 0));
  EXPECT_EQ(Ids(u), (std::vector<std::string>{"i-1", "i-2", "i-10"}));
  EXPECT_EQ(u.size(), 3u);
  EXPECT_EQ(u.entries(), 7);
}

TEST(UnackedBatchesTest, CommitDropsTheBatchOnce) {
  UnackedBatches u;
  u.Add(1, Batch("i-1", 2, 1));
  u.Add(2, Batch("i-2", 1, 0));
  UnackedBatches::AckResult r = u.Ack(Ack("i-1", 0));
  EXPECT_EQ(r.outcome, Outcome::kCommitted);
  EXPECT_EQ(r.measurements, 2);
  EXPECT_EQ(r.failures, 1);
  EXPECT_EQ(Ids(u), (std::vector<std::string>{"i-2"}));
  EXPECT_EQ(u.entries(), 1);
  // A second acknowledgement of the same batch (after a resend) is no-op.
  EXPECT_EQ(u.Ack(Ack("i-1", 0, true)).outcome, Outcome::kUnknown);
  // duplicate=true is success too.
  EXPECT_EQ(u.Ack(Ack("i-2", 0, true)).outcome, Outcome::kCommitted);
  EXPECT_TRUE(u.empty());
  EXPECT_EQ(u.entries(), 0);
}

TEST(UnackedBatchesTest, RejectedBatchIsDroppedNotResent) {
  UnackedBatches u;
  u.Add(1, Batch("i-1", 2, 0));
  u.Add(2, Batch("i-2", 1, 0));
  UnackedBatches::AckResult r = u.Ack(Ack("i-1", 3));
  EXPECT_EQ(r.outcome, Outcome::kRejected);
  EXPECT_EQ(r.measurements, 2);
  EXPECT_EQ(Ids(u), (std::vector<std::string>{"i-2"}));
}

TEST(UnackedBatchesTest, UnknownAckChangesNothing) {
  UnackedBatches u;
  u.Add(1, Batch("i-1", 1, 0));
  EXPECT_EQ(u.Ack(Ack("other-1", 0)).outcome, Outcome::kUnknown);
  EXPECT_EQ(u.size(), 1u);
}

TEST(UnackedBatchesTest, KnowsWhichItemsItHoldsUntilAcknowledged) {
  UnackedBatches u;
  EXPECT_EQ(u.last_seq(), 0u);
  hakd::v1::MeasurementBatch a = Batch("i-4", 2, 1);  // items 0, 1, 100
  for (auto& m : *a.mutable_measurements()) m.set_sweep_id(3);
  a.mutable_failures(0)->set_sweep_id(3);
  hakd::v1::MeasurementBatch b = Batch("i-7", 1, 0);  // item 0 again
  b.mutable_measurements(0)->set_sweep_id(3);
  u.Add(4, a);
  u.Add(7, b);
  EXPECT_EQ(u.last_seq(), 7u);
  EXPECT_TRUE(u.HoldsItem(3, 0));
  EXPECT_TRUE(u.HoldsItem(3, 1));
  EXPECT_TRUE(u.HoldsItem(3, 100));
  EXPECT_FALSE(u.HoldsItem(3, 2));
  EXPECT_FALSE(u.HoldsItem(4, 0));
  u.Ack(Ack("i-4", 0));
  EXPECT_TRUE(u.HoldsItem(3, 0));  // still in i-7
  EXPECT_FALSE(u.HoldsItem(3, 1));
  EXPECT_FALSE(u.HoldsItem(3, 100));
  u.Ack(Ack("i-7", 5));
  EXPECT_FALSE(u.HoldsItem(3, 0));
}

}  // namespace
}  // namespace hakd::agent
