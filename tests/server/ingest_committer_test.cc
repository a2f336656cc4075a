#include "server/ingest_committer.h"

#include <atomic>
#include <thread>

#include "gtest/gtest.h"
#include "tests/server/test_util.h"

namespace hakd {
namespace {

TEST(IngestCommitterTest, ConcurrentAgentsAreGroupedAndEachGetsItsOutcome) {
  auto store = hakd::testing::OpenTempStore();
  ASSERT_TRUE(store.ok());
  std::vector<int64_t> devices;
  for (int d = 0; d < 8; ++d) {
    devices.push_back((*store)->RegisterDevice("dev" + std::to_string(d), {}, 1)->id);
  }
  std::atomic<int> callbacks{0};
  IngestCommitter committer(store->get(), IngestCommitterOptions(),
                            [&](const CommitSummary&) { ++callbacks; });
  constexpr int kBatchesPerDevice = 20;
  std::atomic<int> ok{0}, rejected{0};
  std::vector<std::thread> agents;
  for (int d = 0; d < 8; ++d) {
    agents.emplace_back([&, d] {
      for (int b = 0; b < kBatchesPerDevice; ++b) {
        hakd::v1::MeasurementBatch batch;
        batch.set_batch_id("b-" + std::to_string(b));
        for (int i = 0; i < 10; ++i) {
          *batch.add_measurements() = hakd::testing::MeasurementOf(
              hakd::testing::ConvLayer(8 + i, 8), 5 + i);
        }
        // Device 0's odd batches claim someone else's sweep: rejected.
        if (d == 0 && b % 2 == 1) {
          batch.mutable_measurements(0)->set_sweep_id(424242);
        }
        BatchResult r = committer.Commit(devices[d], batch);
        (r.status.ok() ? ok : rejected)++;
      }
    });
  }
  for (auto& t : agents) t.join();
  EXPECT_EQ(ok.load(), 8 * kBatchesPerDevice - kBatchesPerDevice / 2);
  EXPECT_EQ(rejected.load(), kBatchesPerDevice / 2);
  EXPECT_GT(callbacks.load(), 0);
  EXPECT_LE(committer.groups_committed(), committer.batches_committed());
  int64_t total = 0;
  for (int64_t d : devices) total += (*store)->CountMeasurements(d).value_or(0);
  EXPECT_EQ(total, ok.load() * 10);
}

}  // namespace
}  // namespace hakd
