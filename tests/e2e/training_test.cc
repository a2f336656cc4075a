// End-to-end training: the real coordinator, two real CPU workers and
// hakdctl on loopback. A small network trains on a small Fashion-MNIST-format
// dataset written by the test; the first worker is SIGKILLed after its first
// checkpoint and the second finishes the task from that checkpoint.
#include <signal.h>

#include <cstdint>
#include <fstream>
#include <string>

#include "common/artifact_file.h"
#include "common/sha256.h"
#include "gtest/gtest.h"
#include "tests/e2e/farm.h"
#include "tests/e2e/test_data.h"

namespace hakd::testing {
namespace {

TEST(TrainingTest, KilledWorkerIsReplacedAndResumesFromCheckpoint) {
  Farm farm;
  const std::string data = farm.dir() + "/fmnist";
  ASSERT_EQ(system(("mkdir -p " + data).c_str()), 0);
  WriteIdx(data, "train", 2048, 1);
  WriteIdx(data, "t10k", 256, 2);
  std::ofstream(farm.dir() + "/tiny.json") << TinyNetworkJson("tiny-e2e");

  ASSERT_TRUE(farm.StartServer(0, {"--lease-ms", "1500"}));
  CommandResult submit = farm.Ctl({"train", "submit", "--network", farm.dir() + "/tiny.json",
                                   "--dataset", "fashion-mnist", "--name", "e2e-tiny",
                                   "--epochs", "5", "--batch-size", "32", "--lr", "0.05",
                                   "--json"});
  ASSERT_EQ(submit.exit_code, 0) << submit.out << submit.err;
  const std::string task_id = JsonField(submit.out, "task_id");
  ASSERT_FALSE(task_id.empty()) << submit.out;

  const std::vector<std::string> data_flag = {"--fashion-mnist-dir", data};
  Subprocess* first = farm.StartWorker("w1", data_flag);
  ASSERT_NE(first, nullptr);
  // SIGKILL as soon as a checkpoint is committed: the worker then dies
  // mid-task without a chance to hand the task back.
  ASSERT_TRUE(Farm::WaitFor([&] {
    return farm.SqlInt("SELECT COUNT(*) FROM artifacts WHERE kind = 'checkpoint'") > 0;
  }, 120000)) << first->Stderr();
  first->Signal(SIGKILL);
  first->Wait(10000);
  ASSERT_EQ(farm.SqlInt("SELECT COUNT(*) FROM training_tasks WHERE state = " +
                        std::to_string(3) /* TASK_SUCCEEDED */), 0)
      << "the task finished before the kill; make epochs longer";

  Subprocess* second = farm.StartWorker("w2", data_flag);
  ASSERT_NE(second, nullptr);
  CommandResult watch = farm.Ctl({"tasks", "watch", task_id}, "reader", 300000);
  EXPECT_EQ(watch.exit_code, 0) << watch.out << watch.err << second->Stderr();

  CommandResult show = farm.Ctl({"tasks", "show", task_id, "--json"}, "reader");
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("TASK_SUCCEEDED"), std::string::npos) << show.out;
  EXPECT_EQ(JsonField(show.out, "worker"), "w2") << show.out;
  EXPECT_EQ(JsonField(show.out, "attempts"), "2") << show.out;
  // The second worker resumed rather than restarting.
  EXPECT_NE(second->Stderr().find("resumed after epoch"), std::string::npos) << second->Stderr();
  // Five epochs of history, each once, however many workers trained them.
  EXPECT_EQ(farm.SqlInt("SELECT COUNT(*) FROM task_epochs WHERE task_id = " + task_id), 5);

  const std::string model_id = JsonField(show.out, "model_artifact_id");
  ASSERT_FALSE(model_id.empty()) << show.out;
  const std::string path = farm.dir() + "/model.hakd";
  CommandResult get = farm.Ctl({"artifact", "get", model_id, "-o", path}, "reader");
  ASSERT_EQ(get.exit_code, 0) << get.out << get.err;
  const std::string bytes = ReadFileOrEmpty(path);
  ASSERT_FALSE(bytes.empty());
  EXPECT_NE(get.out.find(Sha256Hex(bytes)), std::string::npos) << get.out;
  absl::StatusOr<ArtifactContents> model = DecodeArtifact(bytes, path);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->kind, ArtifactKind::kModel);
  EXPECT_EQ(model->spec.name(), "tiny-e2e");

  // The agent times the trained model, its own weights, end to end.
  CommandResult timed = RunCommand({HAKD_AGENT_BIN, "--time-artifact", path, "--threads", "1"},
                                   farm.dir() + "/time-artifact", 120000);
  EXPECT_EQ(timed.exit_code, 0) << timed.out << timed.err;
  EXPECT_NE(timed.out.find("network: tiny-e2e"), std::string::npos) << timed.out;
  EXPECT_NE(timed.out.find("median_ms: "), std::string::npos) << timed.out;

  // A worker token can do nothing but work.
  CommandResult forbidden = farm.Ctl({"tasks", "list"}, "worker");
  EXPECT_EQ(forbidden.exit_code, 4) << forbidden.err;
  EXPECT_NE(forbidden.err.find("permission denied"), std::string::npos) << forbidden.err;
}

}  // namespace
}  // namespace hakd::testing
