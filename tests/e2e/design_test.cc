// End-to-end design job: the real coordinator, a real agent timing this CPU,
// a real CPU worker and hakdctl on loopback, with a tiny teacher and a tiny
// Fashion-MNIST-format dataset written by the test. The job goes through all
// seven stages — teacher training, Fisher saliency, coverage sweeps, the
// designer, distillation (plus the three baselines: uniform scaling, Fisher
// pruning, magnitude pruning), end-to-end verification on the agent, report
// — and the report, its JSON and its SVG plot come out of hakdctl.
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "tests/e2e/farm.h"
#include "tests/e2e/test_data.h"

namespace hakd::testing {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(DesignTest, TinyJobRunsAllSevenStagesWithRealProcesses) {
  Farm farm;
  const std::string data = farm.dir() + "/fmnist";
  ASSERT_EQ(system(("mkdir -p " + data).c_str()), 0);
  WriteIdx(data, "train", 512, 1);
  WriteIdx(data, "t10k", 128, 2);
  std::ofstream(farm.dir() + "/teacher.json") << TinyNetworkJson("tiny-teacher");

  ASSERT_TRUE(farm.StartServer(0));
  ASSERT_TRUE(farm.StartAgent("board"));
  ASSERT_TRUE(Farm::WaitFor([&] {
    return farm.SqlInt("SELECT COUNT(*) FROM devices WHERE name = 'board'") == 1;
  }, 30000));

  // Refused up front, naming the field: an unknown device.
  CommandResult unknown = farm.Ctl(
      {"design", "submit", "--teacher-network", farm.dir() + "/teacher.json",
       "--dataset", "fashion-mnist", "--budget", "nowhere=5"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("budgets[0].device"), std::string::npos) << unknown.err;
  EXPECT_EQ(farm.SqlInt("SELECT COUNT(*) FROM design_jobs"), 0);

  // A generous budget: the point here is the machinery, not the trade-off.
  CommandResult submit = farm.Ctl(
      {"design", "submit", "--name", "e2e", "--teacher-network",
       farm.dir() + "/teacher.json", "--dataset", "fashion-mnist", "--budget",
       "board=1000", "--candidates", "1", "--baselines", "uniform,fisher,magnitude",
       "--epochs", "1", "--teacher-epochs", "2", "--batch-size", "32", "--lr", "0.05",
       "--saliency-examples", "64", "--width-step", "4", "--prune-every", "2",
       "--min-samples", "3", "--max-samples", "5", "--max-seconds-per-layer", "0.2",
       "--json"});
  ASSERT_EQ(submit.exit_code, 0) << submit.out << submit.err;
  const std::string job = JsonField(submit.out, "job_id");
  ASSERT_FALSE(job.empty()) << submit.out;

  // No worker yet: the teacher stage says it is waiting for one.
  ASSERT_TRUE(Farm::WaitFor([&] {
    CommandResult show = farm.Ctl({"design", "report", job, "--json"}, "reader");
    return show.out.find("no worker online") != std::string::npos;
  }, 20000));

  Subprocess* worker = farm.StartWorker("w1", {"--fashion-mnist-dir", data});
  ASSERT_NE(worker, nullptr);
  CommandResult watch = farm.Ctl({"design", "watch", job}, "reader", 600000);
  EXPECT_EQ(watch.exit_code, 0) << watch.out << watch.err << worker->Stderr()
                                << farm.server().Stderr();
  // Live progress named every stage.
  for (const char* stage : {"teacher", "saliency", "coverage", "design",
                            "distillation", "verification", "report"}) {
    EXPECT_NE(watch.out.find(stage), std::string::npos) << stage << "\n" << watch.out;
  }

  CommandResult report = farm.Ctl({"design", "report", job, "--json"}, "reader");
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_NE(report.out.find("DESIGN_SUCCEEDED"), std::string::npos) << report.out;
  EXPECT_FALSE(JsonField(report.out, "recommended").empty()) << report.out;
  // Every stage finished (the teacher was trained here, not given).
  EXPECT_EQ(farm.SqlInt("SELECT state FROM design_jobs WHERE id = " + job), 2);
  // Teacher, saliency, pruning, and four trainings: one student, three baselines.
  EXPECT_EQ(farm.SqlInt("SELECT COUNT(*) FROM training_tasks WHERE state = 3"), 7)
      << worker->Stderr();
  // Coverage and verification were measured by the agent.
  EXPECT_GE(farm.SqlInt("SELECT COUNT(*) FROM sweeps WHERE state = 3"), 2);
  EXPECT_GT(farm.SqlInt("SELECT COUNT(*) FROM unit_measurements"), 10);
  for (const char* role : {"ROLE_TEACHER", "ROLE_HAKD", "ROLE_UNIFORM",
                           "ROLE_FISHER", "ROLE_MAGNITUDE"}) {
    EXPECT_NE(report.out.find(role), std::string::npos) << role;
  }
  EXPECT_NE(report.out.find("measured_ms"), std::string::npos) << report.out;

  const std::string svg = farm.dir() + "/design.svg";
  CommandResult table = farm.Ctl({"design", "report", job, "--plot", svg}, "reader");
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("recommended"), std::string::npos) << table.out;
  const std::string plot = ReadAll(svg);
  EXPECT_NE(plot.find("<svg"), std::string::npos);
  EXPECT_NE(plot.find("hakd-1"), std::string::npos);

  CommandResult list = farm.Ctl({"design", "list"}, "reader");
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("e2e"), std::string::npos) << list.out;
}

}  // namespace
}  // namespace hakd::testing
