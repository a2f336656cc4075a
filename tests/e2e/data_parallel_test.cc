// End-to-end data-parallel training: the real coordinator, real CPU workers
// (separate processes joined by LibTorch's c10d: TCPStore + Gloo on
// loopback) and hakdctl. A two-worker group must follow the loss curve of
// one worker with the same global batch, and a group that loses a member
// must re-form and resume from its last checkpoint.
#include <signal.h>
#include <sqlite3.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "hakd/v1/training.pb.h"
#include "tests/e2e/farm.h"
#include "tests/e2e/test_data.h"

namespace hakd::testing {
namespace {

// How far a two-worker group's per-epoch training loss may be from one
// worker's, relative. The data, order, augmentation, initial weights and
// global batch are identical; what differs is BatchNorm, which normalises
// each member's half batch with that half's statistics (no SyncBatchNorm),
// and the order of floating-point sums.
constexpr double kLossTolerance = 0.05;

// Every stored epoch of a task, in order.
std::vector<hakd::v1::EpochMetrics> History(const std::string& db, const std::string& task_id) {
  std::vector<hakd::v1::EpochMetrics> out;
  sqlite3* handle = nullptr;
  if (sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(handle);
    return out;
  }
  sqlite3_busy_timeout(handle, 5000);
  sqlite3_stmt* s = nullptr;
  const std::string sql = "SELECT metrics FROM task_epochs WHERE task_id = " + task_id + " ORDER BY epoch";
  if (sqlite3_prepare_v2(handle, sql.c_str(), -1, &s, nullptr) == SQLITE_OK) {
    while (sqlite3_step(s) == SQLITE_ROW) {
      hakd::v1::EpochMetrics m;
      m.ParseFromArray(sqlite3_column_blob(s, 0), sqlite3_column_bytes(s, 0));
      out.push_back(m);
    }
  }
  sqlite3_finalize(s);
  sqlite3_close(handle);
  return out;
}

class DataParallelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = farm_.dir() + "/fmnist";
    ASSERT_EQ(system(("mkdir -p " + data_).c_str()), 0);
    WriteIdx(data_, "train", 2048, 1);
    WriteIdx(data_, "t10k", 512, 2);
    std::ofstream(farm_.dir() + "/tiny.json") << TinyNetworkJson("tiny-dp");
    ASSERT_TRUE(farm_.StartServer(0, {"--lease-ms", "3000"}));
  }

  std::string Submit(const std::string& name, int workers, int epochs) {
    CommandResult submit = farm_.Ctl({"train", "submit", "--network", farm_.dir() + "/tiny.json",
                                      "--dataset", "fashion-mnist", "--name", name,
                                      "--epochs", std::to_string(epochs), "--batch-size", "64",
                                      "--lr", "0.1", "--seed", "7", "--workers",
                                      std::to_string(workers), "--json"});
    EXPECT_EQ(submit.exit_code, 0) << submit.out << submit.err;
    return JsonField(submit.out, "task_id");
  }

  Subprocess* Worker(const std::string& name) {
    return farm_.StartWorker(name, {"--fashion-mnist-dir", data_});
  }

  std::string Show(const std::string& task_id) {
    return farm_.Ctl({"tasks", "show", task_id, "--json"}, "reader").out;
  }

  Farm farm_;
  std::string data_;
};

TEST_F(DataParallelTest, TwoWorkersFollowOneWorkersLossCurve) {
  const std::string single = Submit("one-worker", 1, 4);
  const std::string pair = Submit("two-workers", 2, 4);
  ASSERT_FALSE(single.empty());
  ASSERT_FALSE(pair.empty());
  Subprocess* w1 = Worker("w1");
  Subprocess* w2 = Worker("w2");
  ASSERT_NE(w1, nullptr);
  ASSERT_NE(w2, nullptr);
  CommandResult watch = farm_.Ctl({"tasks", "watch", pair}, "reader", 400000);
  ASSERT_EQ(watch.exit_code, 0) << watch.out << watch.err << w1->Stderr() << w2->Stderr();
  ASSERT_TRUE(Farm::WaitFor([&] { return Show(single).find("TASK_SUCCEEDED") != std::string::npos; },
                            300000))
      << Show(single) << w1->Stderr() << w2->Stderr();

  const std::string shown = Show(pair);
  EXPECT_NE(shown.find("TASK_SUCCEEDED"), std::string::npos) << shown;
  EXPECT_EQ(JsonField(shown, "attempts"), "1") << shown;
  // Both processes trained it, through Gloo.
  const std::string logs = w1->Stderr() + w2->Stderr();
  EXPECT_NE(logs.find("rank 0 of 2 connected (gloo)"), std::string::npos) << logs;
  EXPECT_NE(logs.find("rank 1 of 2 connected (gloo)"), std::string::npos) << logs;

  const std::vector<hakd::v1::EpochMetrics> one = History(farm_.db_path(), single);
  const std::vector<hakd::v1::EpochMetrics> two = History(farm_.db_path(), pair);
  ASSERT_EQ(one.size(), 4u);
  ASSERT_EQ(two.size(), 4u);
  for (size_t i = 0; i < one.size(); ++i) {
    const double rel = std::fabs(two[i].train_loss() - one[i].train_loss()) / one[i].train_loss();
    std::printf("epoch %zu: train loss one worker %.5f, two workers %.5f (%.2f%% apart); test accuracy "
                "%.4f vs %.4f; images/s %.0f vs %.0f\n",
                i + 1, one[i].train_loss(), two[i].train_loss(), 100 * rel, one[i].test_accuracy(),
                two[i].test_accuracy(), one[i].images_per_second(), two[i].images_per_second());
    EXPECT_LT(rel, kLossTolerance) << "epoch " << i + 1;
  }
  // Both curves fall: the group learns, not just agrees.
  EXPECT_LT(two.back().train_loss(), two.front().train_loss());
}

TEST_F(DataParallelTest, LostMemberMakesTheGroupResumeFromItsCheckpoint) {
  const std::string task = Submit("survives", 2, 6);
  ASSERT_FALSE(task.empty());
  Subprocess* w1 = Worker("w1");
  Subprocess* w2 = Worker("w2");
  ASSERT_NE(w1, nullptr);
  ASSERT_NE(w2, nullptr);
  ASSERT_TRUE(Farm::WaitFor([&] {
    return farm_.SqlInt("SELECT COUNT(*) FROM artifacts WHERE kind = 'checkpoint'") > 0;
  }, 300000)) << w1->Stderr() << w2->Stderr();
  // Kill whichever member is not rank 0 (rank 0 holds the task's lease).
  const std::string rank0 = JsonField(Show(task), "worker");
  Subprocess* victim = rank0 == "w1" ? w2 : w1;
  Subprocess* survivor = rank0 == "w1" ? w1 : w2;
  victim->Signal(SIGKILL);
  victim->Wait(10000);
  ASSERT_EQ(farm_.SqlInt("SELECT COUNT(*) FROM training_tasks WHERE state = 3"), 0)
      << "the task finished before the kill; make epochs longer";

  // The survivor's next collective fails at once; the coordinator requeues
  // the task and a new member forms a new group with it.
  Subprocess* w3 = Worker("w3");
  ASSERT_NE(w3, nullptr);
  CommandResult watch = farm_.Ctl({"tasks", "watch", task}, "reader", 400000);
  EXPECT_EQ(watch.exit_code, 0) << watch.out << watch.err << survivor->Stderr() << w3->Stderr();
  const std::string shown = Show(task);
  EXPECT_NE(shown.find("TASK_SUCCEEDED"), std::string::npos) << shown;
  EXPECT_EQ(JsonField(shown, "attempts"), "2") << shown;
  const std::string logs = survivor->Stderr() + w3->Stderr();
  EXPECT_NE(logs.find("resumed after epoch"), std::string::npos) << logs;
  EXPECT_NE(w3->Stderr().find("of 2 connected (gloo)"), std::string::npos) << w3->Stderr();
  // Six epochs of history, each once, though two groups trained them.
  EXPECT_EQ(farm_.SqlInt("SELECT COUNT(*) FROM task_epochs WHERE task_id = " + task), 6);
  // The retry's reason names the broken group.
  const std::string error = JsonField(shown, "error");
  std::printf("retry reason: %s\n", error.c_str());
  EXPECT_TRUE(error.find("data-parallel") != std::string::npos ||
              error.find("group member") != std::string::npos)
      << shown;
}

}  // namespace
}  // namespace hakd::testing
