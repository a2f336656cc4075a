// DataParallelGroup (worker/data_parallel.h): real c10d groups (TCPStore +
// Gloo on loopback) of two members, one per thread of this process.
#include "worker/data_parallel.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <array>
#include <chrono>
#include <functional>
#include <thread>

#include "common/free_port.h"

namespace hakd::worker {
namespace {

GroupOptions Options(int rank, int port) {
  GroupOptions o;
  o.rank = rank;
  o.world_size = 2;
  o.master_host = "127.0.0.1";
  o.master_port = port;
  o.prefix = "test";
  o.timeout_ms = 20000;
  return o;
}

// Rank 0 and rank 1 of a new group (they must join at once: rank 0's
// store waits for rank 1).
std::array<std::unique_ptr<DataParallelGroup>, 2> ConnectPair() {
  const int port = PickFreeTcpPort(true);
  EXPECT_GT(port, 0);
  std::array<std::unique_ptr<DataParallelGroup>, 2> groups;
  std::thread members[2];
  for (int rank = 0; rank < 2; ++rank) {
    members[rank] = std::thread([&, rank] {
      auto g = DataParallelGroup::Connect(Options(rank, port));
      EXPECT_TRUE(g.ok()) << g.status();
      if (g.ok()) groups[rank] = std::move(*g);
    });
  }
  for (std::thread& t : members) t.join();
  return groups;
}

// Runs `body(group)` as rank 0 and rank 1 at once.
void RunPair(const std::function<void(DataParallelGroup&)>& body) {
  std::array<std::unique_ptr<DataParallelGroup>, 2> groups = ConnectPair();
  ASSERT_TRUE(groups[0] && groups[1]);
  std::thread members[2];
  for (int rank = 0; rank < 2; ++rank) {
    members[rank] = std::thread([&, rank] { body(*groups[rank]); });
  }
  for (std::thread& t : members) t.join();
}

TEST(DataParallelGroupTest, AllReduceSumsEveryTensorOfEveryType) {
  RunPair([](DataParallelGroup& g) {
    EXPECT_EQ(g.backend(), "gloo");
    const float r = static_cast<float>(g.rank());
    // A channels-last 4-D tensor, a vector and a double: all summed.
    torch::Tensor conv = torch::arange(16, torch::kFloat32).reshape({1, 4, 2, 2}) * (r + 1);
    conv = conv.contiguous(at::MemoryFormat::ChannelsLast);
    torch::Tensor vec = torch::full({3}, r + 1);
    torch::Tensor dbl = torch::full({2}, 10.0 * (r + 1), torch::kFloat64);
    g.AllReduceSum({conv, vec, dbl});
    EXPECT_TRUE(torch::allclose(conv, torch::arange(16, torch::kFloat32).reshape({1, 4, 2, 2}) * 3));
    EXPECT_TRUE(conv.is_contiguous(at::MemoryFormat::ChannelsLast));
    EXPECT_TRUE(torch::allclose(vec, torch::full({3}, 3.0f)));
    EXPECT_TRUE(torch::allclose(dbl, torch::full({2}, 30.0, torch::kFloat64)));
  });
}

TEST(DataParallelGroupTest, BroadcastCopiesRankZerosTensors) {
  RunPair([](DataParallelGroup& g) {
    torch::Tensor w = torch::full({2, 3}, static_cast<float>(g.rank() + 5));
    torch::Tensor steps = torch::full({1}, static_cast<int64_t>(g.rank() * 100), torch::kInt64);
    g.Broadcast({w, steps}, 0);
    EXPECT_TRUE(torch::allclose(w, torch::full({2, 3}, 5.0f)));
    EXPECT_EQ(steps.item<int64_t>(), 0);
    g.Barrier();
  });
}

TEST(DataParallelGroupTest, DeadPeerFailsTheNextCollectiveQuickly) {
  std::array<std::unique_ptr<DataParallelGroup>, 2> groups = ConnectPair();
  ASSERT_TRUE(groups[0] && groups[1]);
  groups[1].reset();  // rank 1 goes away: its connections close
  const auto start = std::chrono::steady_clock::now();
  torch::Tensor t = torch::ones({4});
  EXPECT_THROW(groups[0]->AllReduceSum({t}), GroupError);
  // Well before the 20 s timeout: Gloo sees the closed connection.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(DataParallelGroupTest, RendezvousWithoutRankZeroIsUnavailable) {
  GroupOptions o = Options(1, PickFreeTcpPort(true));  // nobody serves this store
  o.timeout_ms = 1000;
  auto g = DataParallelGroup::Connect(o);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(g.status().message().find("could not join"), std::string::npos) << g.status();
}

TEST(DataParallelGroupTest, BadOptionsAreRefused) {
  GroupOptions o = Options(2, 1234);  // rank 2 of 2
  EXPECT_EQ(DataParallelGroup::Connect(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = Options(0, 0);
  EXPECT_EQ(DataParallelGroup::Connect(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = Options(0, 1234);
  o.device = "cuda:0";
#ifndef HAKD_HAVE_NCCL
  EXPECT_EQ(DataParallelGroup::Connect(o).status().code(), absl::StatusCode::kUnimplemented);
#endif
}

}  // namespace
}  // namespace hakd::worker
