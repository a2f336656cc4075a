// Renderings of design jobs: names, stage lines, the list table, the report,
// the watch printer in every mode and the closing lines.
#include "cli/design_text.h"

#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "cli/design_report.h"
#include "design_fixtures.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hakd::cli {
namespace {

using hakd::v1::DesignJob;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using testing::kDesignNow;
using testing::MakeDesignJob;
using ::testing::Not;
using ::testing::StartsWith;

hakd::v1::StageStatus Stage(hakd::v1::DesignStage stage,
                            hakd::v1::StageState state, int done, int total,
                            const std::string& message) {
  hakd::v1::StageStatus s;
  s.set_stage(stage);
  s.set_state(state);
  s.set_done(done);
  s.set_total(total);
  s.set_message(message);
  return s;
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

TEST(DesignTextTest, Names) {
  EXPECT_EQ(DesignStateName(hakd::v1::DESIGN_RUNNING), "running");
  EXPECT_EQ(DesignStateName(hakd::v1::DESIGN_CANCELLED), "cancelled");
  EXPECT_EQ(DesignStateName(hakd::v1::DESIGN_STATE_UNSPECIFIED), "unknown");
  EXPECT_EQ(DesignStageName(hakd::v1::DESIGN_STAGE_TEACHER), "teacher");
  EXPECT_EQ(DesignStageName(hakd::v1::DESIGN_STAGE_VERIFICATION),
            "verification");
  EXPECT_EQ(DesignStageName(hakd::v1::DESIGN_STAGE_REPORT), "report");
  EXPECT_EQ(DesignStageName(static_cast<hakd::v1::DesignStage>(99)), "unknown");
  EXPECT_EQ(CandidateRoleName(hakd::v1::ROLE_MAGNITUDE), "magnitude");
  EXPECT_EQ(CandidateRoleName(hakd::v1::ROLE_UNSPECIFIED), "unknown");
  EXPECT_EQ(FormatBudgets(MakeDesignJob(hakd::v1::DESIGN_RUNNING).spec()),
            "rpi4=5ms, nano=2.5ms");
}

TEST(DesignTextTest, StageLinesAlignWhateverTheMark) {
  EXPECT_EQ(FormatStageLine(Stage(hakd::v1::DESIGN_STAGE_COVERAGE,
                                  hakd::v1::STAGE_DONE, 2, 2, "swept")),
            "\u2713       coverage     2/2  swept");
  EXPECT_EQ(
      FormatStageLine(Stage(hakd::v1::DESIGN_STAGE_DISTILLATION,
                            hakd::v1::STAGE_RUNNING, 2, 5, "training hakd-2")),
      "\u2026       distillation 2/5  training hakd-2");
  EXPECT_EQ(FormatStageLine(Stage(hakd::v1::DESIGN_STAGE_COVERAGE,
                                  hakd::v1::STAGE_WAITING, 0, 0,
                                  "device nano offline")),
            "waiting coverage      device nano offline");
  EXPECT_EQ(FormatStageLine(Stage(hakd::v1::DESIGN_STAGE_REPORT,
                                  hakd::v1::STAGE_PENDING, 0, 0, "")),
            "pending report");
  EXPECT_EQ(FormatStageLine(Stage(hakd::v1::DESIGN_STAGE_TEACHER,
                                  hakd::v1::STAGE_FAILED, 3, 10, "oom")),
            "failed  teacher      3/10  oom");
}

TEST(DesignTextTest, CurrentStageAndSummary) {
  DesignJob job = MakeDesignJob(hakd::v1::DESIGN_RUNNING);
  ASSERT_NE(CurrentStage(job), nullptr);
  EXPECT_EQ(CurrentStage(job)->stage(), hakd::v1::DESIGN_STAGE_DISTILLATION);
  EXPECT_EQ(StageSummary(job), "distillation 2/5");
  job.mutable_stages(4)->set_state(hakd::v1::STAGE_WAITING);
  EXPECT_EQ(StageSummary(job), "distillation (waiting)");
  EXPECT_EQ(CurrentStage(MakeDesignJob(hakd::v1::DESIGN_CANCELLED)), nullptr);
  EXPECT_EQ(StageSummary(MakeDesignJob(hakd::v1::DESIGN_SUCCEEDED)), "report");
}

TEST(DesignTextTest, ListTable) {
  hakd::v1::ListDesignsResponse jobs;
  *jobs.add_jobs() = MakeDesignJob(hakd::v1::DESIGN_RUNNING);
  *jobs.add_jobs() = MakeDesignJob(hakd::v1::DESIGN_SUCCEEDED);
  jobs.mutable_jobs(1)->set_job_id(9);
  jobs.mutable_jobs(1)->mutable_spec()->clear_name();
  EXPECT_EQ(DesignsTable(jobs, kDesignNow),
            "ID  NAME     STATE      STAGE             BUDGETS               "
            "CREATED  RECOMMENDED\n"
            "12  kd-rpi4  running    distillation 2/5  rpi4=5ms, nano=2.5ms  "
            "2h ago   -\n"
            " 9  -        succeeded  report            rpi4=5ms, nano=2.5ms  "
            "2h ago   hakd-1\n");
}

TEST(DesignTextTest, LatencyCellMarksMisses) {
  hakd::v1::DeviceLatency l;
  l.set_predicted_ms(4.6);
  l.set_measured_ms(4.81);
  l.set_meets_budget(true);
  EXPECT_EQ(LatencyCell(&l, 5), "4.81/4.60/5");
  l.set_measured_ms(5.21);
  l.set_meets_budget(false);
  EXPECT_EQ(LatencyCell(&l, 5), "5.21/4.60/5 MISS");
  l.set_measured_ms(0);
  l.set_predicted_ms(12.34);
  EXPECT_EQ(LatencyCell(&l, 2.5), "-/12.3/2.5 MISS");
  EXPECT_EQ(LatencyCell(nullptr, 2.5), "-/-/2.5");
}

TEST(DesignTextTest, ReportOfAFinishedJob) {
  const std::string report =
      DesignReport(MakeDesignJob(hakd::v1::DESIGN_SUCCEEDED), kDesignNow);
  EXPECT_EQ(
      report,
      "design job 12 (kd-rpi4): succeeded in 2h03m\n"
      "teacher:   art-ab-1 (given)\n"
      "dataset:   cifar10\n"
      "budgets:   rpi4=5ms, nano=2.5ms\n"
      "designer:  1234 configurations tried, 56 predicted within every "
      "budget\n"
      "\n"
      "   NAME     ROLE     TEST ACC  RPI4 MS           NANO MS             "
      "PARAMS    MACS  SALIENCY  NETWORK\n"
      "   teacher  teacher    94.10%  12.3/11.9/5 MISS  6.10/5.80/2.5 MISS    "
      "2.7M  400.0M    100.0%  WRN-16-2\n"
      "*  hakd-1   hakd       93.20%  4.81/4.60/5       2.40/2.30/2.5       "
      "900.0K  120.0M     87.3%  widths 16/24/48\n"
      "   hakd-2   hakd       92.50%  5.21/4.90/5 MISS  2.20/2.10/2.5       "
      "800.0K       -     85.0%\n"
      "   uniform  uniform    91.50%  4.90/4.70/5       2.45/2.40/2.5          "
      "  "
      "-       -         -\n"
      "   fisher   fisher          -  -/-/5             -/-/2.5                "
      "  "
      "-       -         -\n"
      "(latency in ms: measured/predicted/budget; MISS: over budget; * "
      "recommended)\n"
      "\n"
      "on the predicted Pareto front, not trained:\n"
      "NAME    RPI4 MS (PRED)  NANO MS (PRED)  PARAMS  SALIENCY  NETWORK\n"
      "hakd-3            3.90            1.90  500.0K     71.0%  widths "
      "8/16/32\n"
      "\n"
      "notes:\n"
      "  fisher: could not meet the budget on nano\n"
      "\n"
      "* recommended: hakd-1 (93.20% test accuracy; rpi4 4.81 ms of 5 ms; "
      "nano 2.40 ms of 2.5 ms)\n");
}

TEST(DesignTextTest, ReportOfARunningJobSaysSoAndShowsTheStages) {
  const std::string report =
      DesignReport(MakeDesignJob(hakd::v1::DESIGN_RUNNING), kDesignNow);
  EXPECT_THAT(report,
              StartsWith("design job 12 (kd-rpi4): running for 2h03m, stage "
                         "distillation 2/5; not finished, showing what is "
                         "known so far\n"));
  EXPECT_THAT(report, HasSubstr("\nstages:\n"
                                "  skipped teacher       teacher art-ab-1 "
                                "given\n"
                                "  \u2713       saliency\n"));
  EXPECT_THAT(report, HasSubstr("  \u2026       distillation 2/5  training "
                                "hakd-2\n"
                                "  pending verification\n"));
  // Before verification only predictions are known; the miss is predicted.
  EXPECT_THAT(report, HasSubstr("  hakd-1   hakd       93.20%  -/4.60/5   "));
  EXPECT_THAT(report, HasSubstr("  teacher  teacher    94.10%  -/11.9/5 MISS"));
  EXPECT_THAT(report, HasSubstr("  hakd-2   hakd            -  -/4.90/5"));
  EXPECT_THAT(report, EndsWith("\nno student recommended yet\n"));
  EXPECT_THAT(report, Not(HasSubstr("error:")));
}

TEST(DesignTextTest, ReportOfAFailedJobShowsTheError) {
  const std::string report =
      DesignReport(MakeDesignJob(hakd::v1::DESIGN_FAILED), kDesignNow);
  EXPECT_THAT(report, StartsWith("design job 12 (kd-rpi4): failed after 2h03m "
                                 "in stage verification\n"));
  EXPECT_THAT(report, HasSubstr("\nerror:     verification: device nano went "
                                "offline\n"));
  EXPECT_THAT(report, HasSubstr("\n  failed  verification  device nano went "
                                "offline\n"));
  EXPECT_THAT(report, EndsWith("\nno student recommended yet\n"));
}

TEST(DesignTextTest, ReportWithoutCandidatesOrRecommendation) {
  DesignJob job = MakeDesignJob(hakd::v1::DESIGN_RUNNING);
  job.clear_candidates();
  job.clear_configurations();
  job.mutable_spec()->clear_teacher_artifact_id();
  job.mutable_spec()->mutable_teacher_network()->set_name("WRN-16-2");
  std::string report = DesignReport(job, kDesignNow);
  EXPECT_THAT(report, HasSubstr("teacher:   WRN-16-2, not trained yet\n"));
  EXPECT_THAT(report, HasSubstr("\nno networks trained yet\n"));
  EXPECT_THAT(report, Not(HasSubstr("designer:")));
  EXPECT_THAT(report, Not(HasSubstr("Pareto")));
  job.set_teacher_task_id(31);
  job.set_teacher_artifact_id("art-cd-2");
  job.set_state(hakd::v1::DESIGN_SUCCEEDED);
  report = DesignReport(job, kDesignNow);
  EXPECT_THAT(report,
              HasSubstr("teacher:   WRN-16-2, trained by task 31: art-cd-2\n"));
  EXPECT_THAT(report, EndsWith("\nno student was recommended\n"));
}

TEST(DesignTextTest, FinalLines) {
  EXPECT_EQ(
      FormatDesignFinal(MakeDesignJob(hakd::v1::DESIGN_SUCCEEDED), kDesignNow),
      "design job 12 succeeded in 2h03m\n"
      "  recommended: hakd-1 (93.20% test accuracy; rpi4 4.81 ms of 5 "
      "ms; nano 2.40 ms of 2.5 ms)\n"
      "  report: hakdctl design report 12\n");
  EXPECT_EQ(
      FormatDesignFinal(MakeDesignJob(hakd::v1::DESIGN_FAILED), kDesignNow),
      "design job 12 failed after 2h03m in stage verification\n"
      "  error: verification: device nano went offline\n"
      "  report: hakdctl design report 12\n");
  // Unverified, the recommendation's latency is the prediction.
  DesignJob job = MakeDesignJob(hakd::v1::DESIGN_RUNNING);
  job.set_recommended("hakd-1");
  EXPECT_EQ(RecommendedSummary(job),
            "hakd-1 (93.20% test accuracy; rpi4 4.60 ms predicted of 5 ms; "
            "nano 2.30 ms predicted of 2.5 ms)");
  EXPECT_EQ(RecommendedSummary(MakeDesignJob(hakd::v1::DESIGN_FAILED)), "");
}

TEST(DesignProgressPrinterTest, LinesModePrintsEachStageOnceAndTheCurrent) {
  std::ostringstream out;
  DesignProgressPrinter printer(out, DesignProgressPrinter::Mode::kLines);
  DesignJob job = MakeDesignJob(hakd::v1::DESIGN_RUNNING);
  ASSERT_TRUE(printer.Update(job, kDesignNow).ok());
  ASSERT_TRUE(printer.Update(job, kDesignNow + 1000).ok());
  job.mutable_stages(4)->set_done(3);
  ASSERT_TRUE(printer.Update(job, kDesignNow + 2000).ok());  // throttled
  ASSERT_TRUE(printer.Update(job, kDesignNow + 61'000).ok());
  DesignJob done = MakeDesignJob(hakd::v1::DESIGN_SUCCEEDED);
  ASSERT_TRUE(printer.Update(done, kDesignNow + 62'000).ok());
  printer.Finish(done, kDesignNow);
  // Stages ended before the watch began are listed first; the unchanged
  // update prints nothing, the change within 60 s waits for the interval.
  EXPECT_EQ(out.str(),
            "skipped teacher       teacher art-ab-1 given\n"
            "\u2713       saliency\n"
            "\u2713       coverage     2/2  swept 2 devices\n"
            "\u2713       design\n"
            "\u2026       distillation 2/5  training hakd-2\n"
            "\u2026       distillation 3/5  training hakd-2\n"
            "\u2713       distillation\n"
            "\u2713       verification\n"
            "\u2713       report\n"
            "design job 12 succeeded in 2h03m\n"
            "  recommended: hakd-1 (93.20% test accuracy; rpi4 4.81 ms of 5 "
            "ms; nano 2.40 ms of 2.5 ms)\n"
            "  report: hakdctl design report 12\n");
}

TEST(DesignProgressPrinterTest, TerminalModeRedrawsOnlyTheCurrentStage) {
  std::ostringstream out;
  DesignProgressPrinter printer(out, DesignProgressPrinter::Mode::kTerminal);
  DesignJob job = MakeDesignJob(hakd::v1::DESIGN_RUNNING);
  ASSERT_TRUE(printer.Update(job, kDesignNow).ok());
  job.mutable_stages(4)->set_done(3);
  ASSERT_TRUE(printer.Update(job, kDesignNow + 1000).ok());
  printer.Abort();
  // Ended stages keep a line each; the running one is redrawn in place.
  EXPECT_EQ(out.str(),
            "\rskipped teacher       teacher art-ab-1 given\x1b[K\n"
            "\r\u2713       saliency\x1b[K\n"
            "\r\u2713       coverage     2/2  swept 2 devices\x1b[K\n"
            "\r\u2713       design\x1b[K\n"
            "\r\u2026       distillation 2/5  training hakd-2\x1b[K"
            "\r\u2026       distillation 3/5  training hakd-2\x1b[K\n");
}

TEST(DesignProgressPrinterTest, JsonModePrintsEveryUpdate) {
  std::ostringstream out;
  DesignProgressPrinter printer(out, DesignProgressPrinter::Mode::kJson);
  const DesignJob job = MakeDesignJob(hakd::v1::DESIGN_RUNNING);
  ASSERT_TRUE(printer.Update(job, kDesignNow).ok());
  ASSERT_TRUE(printer.Update(job, kDesignNow).ok());
  printer.Finish(job, kDesignNow);
  const std::vector<std::string> lines = Lines(out.str());
  ASSERT_EQ(lines.size(), 2u);
  for (const std::string& line : lines) {
    EXPECT_THAT(line, StartsWith("{\"job_id\":\"12\""));
  }
}

}  // namespace
}  // namespace hakd::cli
