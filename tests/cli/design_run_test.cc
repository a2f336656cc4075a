// The design commands run whole against the in-process fake coordinator:
// the request sent, the output, the single stderr line and the exit code.
#include <stdio.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "cli/latency_client.h"
#include "cli/run.h"
#include "design_fixtures.h"
#include "fake_coordinator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hakd::cli {
namespace {

using hakd::v1::DesignJob;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using testing::kDesignNow;
using testing::MakeDesignJob;
using ::testing::StartsWith;

class DesignRunTest : public ::testing::Test {
 protected:
  struct Outcome {
    int code;
    std::string out;
    std::string err;
  };

  void SetUp() override {
    char dir[] = "/tmp/hakdctl-design-run-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    std::ofstream(Path("token")) << "secret-token\n";
    design().job = MakeDesignJob(hakd::v1::DESIGN_RUNNING);
  }
  void TearDown() override {
    for (const char* f : {"token", "plot.svg"}) unlink(Path(f).c_str());
    rmdir(dir_.c_str());
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  testing::FakeDesign& design() { return server_.design(); }

  // hakdctl ARGS... against the fake, with its token.
  Outcome Hakdctl(std::vector<std::string> args, bool terminal = false) {
    args.insert(args.begin(),
                {"--server", server_.address(), "--token-file", Path("token")});
    std::ostringstream out, err;
    RunEnvironment env{
        &out,
        &err,
        [](const char*) { return std::optional<std::string>(); },
        terminal,
        [] { return kDesignNow; },
        [](const GlobalOptions& o) { return LatencyClient::Create(o); }};
    const int code = RunHakdctl(args, env);
    return {code, out.str(), err.str()};
  }

  static void ExpectError(const Outcome& o, int code, const std::string& line) {
    EXPECT_EQ(o.code, code) << o.out;
    EXPECT_EQ(o.err, "hakdctl: " + line + "\n");
  }

  testing::FakeServer server_;
  std::string dir_;
};

TEST_F(DesignRunTest, SubmitSendsTheCheckedRequest) {
  Outcome o = Hakdctl({"design", "submit", "--teacher", "art-ab-1", "--dataset",
                       "cifar10", "--budget", "rpi4=5", "--budget", "nano=2.5",
                       "--candidates", "4", "--baselines", "uniform,fisher",
                       "--epochs", "30", "--name", "kd-rpi4"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out,
            "design job 12 running: teacher art-ab-1 on cifar10, budgets "
            "rpi4=5ms, nano=2.5ms\n");
  const hakd::v1::DesignSpec sent = design().LastSubmit().spec();
  EXPECT_EQ(sent.teacher_artifact_id(), "art-ab-1");
  EXPECT_EQ(sent.budgets_size(), 2);
  EXPECT_EQ(sent.candidates(), 4);
  EXPECT_EQ(sent.baselines_size(), 2);
  EXPECT_EQ(sent.student_schedule().epochs(), 30);

  o = Hakdctl({"design", "submit", "--teacher-network", "wrn-16-2", "--dataset",
               "fashion-mnist", "--budget", "rpi4=5", "--json"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_THAT(o.out, StartsWith("{\"job_id\":\"12\""));
  EXPECT_EQ(std::count(o.out.begin(), o.out.end(), '\n'), 1);
  EXPECT_EQ(design().LastSubmit().spec().teacher_network().name(), "WRN-16-2");

  // Mistakes fail before anything is sent; the coordinator's refusals map
  // to their exit codes.
  ExpectError(Hakdctl({"design", "submit", "--teacher", "art-ab-1", "--dataset",
                       "cifar10", "--budget", "rpi4=0"}),
              2,
              "--budget rpi4=0: the budget must be a number of milliseconds "
              "> 0, got '0'");
  design().submit_status =
      grpc::Status(grpc::StatusCode::NOT_FOUND, "no device 'pi5'");
  ExpectError(Hakdctl({"design", "submit", "--teacher", "art-ab-1", "--dataset",
                       "cifar10", "--budget", "pi5=5"}),
              5, "no device 'pi5'");
  design().submit_status = grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                                        "role 'viewer' is read-only");
  ExpectError(Hakdctl({"design", "submit", "--teacher", "art-ab-1", "--dataset",
                       "cifar10", "--budget", "rpi4=5"}),
              4,
              "permission denied (submit design jobs): role 'viewer' is "
              "read-only");
}

TEST_F(DesignRunTest, SubmitWatchFollowsToSuccess) {
  design().watch_updates = {MakeDesignJob(hakd::v1::DESIGN_RUNNING),
                            MakeDesignJob(hakd::v1::DESIGN_SUCCEEDED)};
  const Outcome o =
      Hakdctl({"design", "submit", "--teacher", "art-ab-1", "--dataset",
               "cifar10", "--budget", "rpi4=5", "--watch"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.err, "");
  EXPECT_THAT(o.out, StartsWith("design job 12 running: teacher art-ab-1 on "
                                "cifar10, budgets rpi4=5ms\n"
                                "skipped teacher       teacher art-ab-1 "
                                "given\n"));
  EXPECT_THAT(o.out, HasSubstr("\n\u2026       distillation 2/5  training "
                               "hakd-2\n\u2713       distillation\n"));
  EXPECT_THAT(o.out, EndsWith("design job 12 succeeded in 2h03m\n"
                              "  recommended: hakd-1 (93.20% test accuracy; "
                              "rpi4 4.81 ms of 5 ms; nano 2.40 ms of 2.5 ms)\n"
                              "  report: hakdctl design report 12\n"));
}

TEST_F(DesignRunTest, WatchEndsWithTheJobsOutcome) {
  design().watch_updates = {MakeDesignJob(hakd::v1::DESIGN_RUNNING),
                            MakeDesignJob(hakd::v1::DESIGN_FAILED)};
  Outcome o = Hakdctl({"design", "watch", "12"});
  ExpectError(o, 1,
              "design job 12 failed in stage verification: verification: "
              "device nano went offline");
  EXPECT_THAT(o.out, HasSubstr("\nfailed  verification  device nano went "
                               "offline\n"));

  design().watch_updates = {MakeDesignJob(hakd::v1::DESIGN_CANCELLED)};
  ExpectError(Hakdctl({"design", "watch", "12"}), 1,
              "design job 12 was cancelled");

  design().watch_updates = {MakeDesignJob(hakd::v1::DESIGN_RUNNING)};
  o = Hakdctl({"design", "watch", "12"}, /*terminal=*/true);
  ExpectError(o, 1,
              "the coordinator ended the watch of design job 12 before the "
              "job finished; run 'hakdctl design watch 12' again");
  // The redrawn line is closed before the error is printed.
  EXPECT_THAT(o.out, EndsWith("training hakd-2\x1b[K\n"));

  design().watch_updates = {MakeDesignJob(hakd::v1::DESIGN_RUNNING),
                            MakeDesignJob(hakd::v1::DESIGN_RUNNING),
                            MakeDesignJob(hakd::v1::DESIGN_SUCCEEDED)};
  o = Hakdctl({"design", "watch", "12", "--json"});
  ASSERT_EQ(o.code, 0) << o.err;
  const std::vector<std::string> lines =
      absl::StrSplit(o.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u);
  for (const std::string& line : lines) {
    EXPECT_THAT(line, StartsWith("{\"job_id\":\"12\""));
  }

  ExpectError(Hakdctl({"design", "watch", "13"}), 5, "no design job 13");
  ExpectError(Hakdctl({"design", "watch", "x"}), 2,
              "expected a design job ID (a whole number >= 1), got 'x'");
}

TEST_F(DesignRunTest, ReportPrintsPlotsAndJson) {
  design().job = MakeDesignJob(hakd::v1::DESIGN_SUCCEEDED);
  Outcome o = Hakdctl({"design", "report", "12", "--plot", Path("plot.svg")});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_THAT(o.out, StartsWith("design job 12 (kd-rpi4): succeeded in "
                                "2h03m\n"));
  EXPECT_THAT(o.out, HasSubstr("*  hakd-1   hakd       93.20%  4.81/4.60/5"));
  EXPECT_EQ(o.err, "plotted design job 12 to " + Path("plot.svg") + "\n");
  std::ifstream plot(Path("plot.svg"));
  std::stringstream svg;
  svg << plot.rdbuf();
  EXPECT_THAT(svg.str(), HasSubstr(">hakd-1 (recommended)</text>"));

  o = Hakdctl({"design", "report", "12", "--json"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_THAT(o.out, StartsWith("{\"job_id\":\"12\""));
  EXPECT_THAT(o.out, HasSubstr("\"recommended\":\"hakd-1\""));
  EXPECT_EQ(std::count(o.out.begin(), o.out.end(), '\n'), 1);

  // An unwritable plot path fails without a stray file.
  o = Hakdctl({"design", "report", "12", "--plot", Path("no/such/dir.svg")});
  EXPECT_EQ(o.code, 1) << o.err;
  EXPECT_THAT(o.err, HasSubstr("no/such/dir.svg"));
  ExpectError(Hakdctl({"design", "report", "7"}), 5, "no design job 7");
}

TEST_F(DesignRunTest, ListAndCancel) {
  Outcome o = Hakdctl({"design", "list"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "no design jobs\n");
  design().jobs = {MakeDesignJob(hakd::v1::DESIGN_RUNNING)};
  o = Hakdctl({"design", "list", "--limit", "5"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(design().LastList().limit(), 5);
  EXPECT_EQ(o.out,
            "ID  NAME     STATE    STAGE             BUDGETS               "
            "CREATED  RECOMMENDED\n"
            "12  kd-rpi4  running  distillation 2/5  rpi4=5ms, nano=2.5ms  "
            "2h ago   -\n");
  o = Hakdctl({"design", "list", "--json"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_THAT(o.out, StartsWith("{\"jobs\":[{\"job_id\":\"12\""));

  o = Hakdctl({"design", "cancel", "12"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "design job 12 is cancelled (stage distillation)\n");
  o = Hakdctl({"design", "cancel", "12", "--json"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_THAT(o.out, HasSubstr("\"state\":\"DESIGN_CANCELLED\""));
  ExpectError(Hakdctl({"design", "cancel", "13"}), 5, "no design job 13");

  std::ofstream(Path("token")) << "wrong-token";
  ExpectError(Hakdctl({"design", "list"}), 4,
              "the coordinator refused the token in " + Path("token") +
                  " (unauthenticated)");
}

TEST_F(DesignRunTest, HelpNamesTheCommands) {
  const Outcome o = Hakdctl({"help", "design"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_THAT(o.out, StartsWith("usage: hakdctl design submit --dataset NAME "
                                "--budget DEVICE=MS [FLAGS]\n"));
  EXPECT_THAT(o.out, HasSubstr("usage: hakdctl design report JOB [FLAGS]\n"));
  EXPECT_THAT(o.out, HasSubstr("--teacher-network SPEC"));
}

}  // namespace
}  // namespace hakd::cli
