// sweep watch output: the bar, the status line, throttling and the final line.
#include "cli/progress.h"

#include <sstream>
#include <string>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hakd::cli {
namespace {

using hakd::v1::Sweep;
using ::testing::HasSubstr;
using ::testing::Not;

Sweep Running(int measured, int total, double rate) {
  Sweep s;
  s.set_id(7);
  s.set_device_name("rpi4");
  s.set_state(Sweep::STATE_RUNNING);
  s.set_measured(measured);
  s.set_total(total);
  s.set_layers_per_second(rate);
  s.set_device_online(true);
  s.set_created_unix_ms(1'000'000);
  s.set_started_unix_ms(1'000'000);
  return s;
}

TEST(ProgressBarTest, FillsProportionallyRoundingDown) {
  EXPECT_EQ(FormatProgressBar(0, 100, 10), "[..........]");
  EXPECT_EQ(FormatProgressBar(50, 100, 10), "[#####.....]");
  EXPECT_EQ(FormatProgressBar(99, 100, 10), "[#########.]");
  EXPECT_EQ(FormatProgressBar(100, 100, 10), "[##########]");
  EXPECT_EQ(FormatProgressBar(150, 100, 4), "[####]");
  EXPECT_EQ(FormatProgressBar(5, 0, 4), "[....]");
}

TEST(ProgressLineTest, RunningLine) {
  // 1121 left at 3.1 layers/s: 362 s; 2118 left: 683 s.
  EXPECT_EQ(
      FormatProgressLine(Running(1120, 2241, 3.1), 10),
      "[####......] 1120/2241 50.0%  3.1 layers/s  ETA 6m02s  device online");
  EXPECT_EQ(
      FormatProgressLine(Running(123, 2241, 3.1), 10),
      "[..........] 123/2241 5.5%  3.1 layers/s  ETA 11m23s  device online");
}

TEST(ProgressLineTest, FailuresCountAsDoneAndAreNamed) {
  Sweep s = Running(40, 100, 2);
  s.set_failed(10);
  EXPECT_EQ(FormatProgressLine(s, 10),
            "[#####.....] 50/100 50.0%  2.0 layers/s  ETA 25s  10 failed  "
            "device online");
}

TEST(ProgressLineTest, UnknownRateQueuedOfflineAndFinished) {
  Sweep s = Running(0, 10, 0);
  EXPECT_THAT(FormatProgressLine(s, 4), HasSubstr("-- layers/s  ETA --"));
  s.set_device_online(false);
  EXPECT_THAT(FormatProgressLine(s, 4), HasSubstr("device offline"));
  s.set_state(Sweep::STATE_QUEUED);
  EXPECT_EQ(FormatProgressLine(s, 4),
            "[....] 0/10 0.0%  queued  device offline");
  s.set_state(Sweep::STATE_DONE);
  s.set_measured(10);
  EXPECT_EQ(FormatProgressLine(s, 4), "[####] 10/10 100.0%  done");
}

TEST(ProgressLineTest, FinalLineAndElapsed) {
  Sweep s = Running(2230, 2241, 3);
  s.set_failed(11);
  s.set_state(Sweep::STATE_DONE);
  s.set_finished_unix_ms(1'000'000 + 723'000);
  EXPECT_EQ(FormatSweepFinal(s, 9'999'999'999),
            "sweep 7 done: 2230 of 2241 measured, 11 failed in 12m03s");
  s.set_state(Sweep::STATE_CANCELLED);
  EXPECT_THAT(FormatSweepFinal(s, 0), HasSubstr("sweep 7 cancelled:"));
  // Unfinished: elapsed runs to now.
  EXPECT_DOUBLE_EQ(SweepElapsedSeconds(Running(1, 2, 1), 1'000'000 + 5'000),
                   5.0);
  // Never started: counted from creation.
  Sweep queued;
  queued.set_created_unix_ms(1'000);
  queued.set_finished_unix_ms(3'000);
  EXPECT_DOUBLE_EQ(SweepElapsedSeconds(queued, 0), 2.0);
}

TEST(ProgressPrinterTest, TerminalRedrawsOneLine) {
  std::ostringstream out;
  ProgressPrinter p(out, ProgressPrinter::Mode::kTerminal, 4);
  ASSERT_TRUE(p.Update(Running(1, 4, 1), 0).ok());
  ASSERT_TRUE(p.Update(Running(2, 4, 1), 10).ok());
  Sweep done = Running(4, 4, 1);
  done.set_state(Sweep::STATE_DONE);
  done.set_finished_unix_ms(1'004'000);
  ASSERT_TRUE(p.Update(done, 20).ok());
  p.Finish(done, 20);
  const std::string text = out.str();
  EXPECT_EQ(text.rfind("\r[#...] 1/4", 0), 0u) << text;
  EXPECT_THAT(text, HasSubstr("\r[##..] 2/4"));
  // One newline closes the redrawn line, one ends the final line.
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2) << text;
  EXPECT_THAT(text,
              HasSubstr("\nsweep 7 done: 4 of 4 measured, 0 failed in 4s\n"));
}

TEST(ProgressPrinterTest, PlainLinesAreThrottledButNewsIsNot) {
  std::ostringstream out;
  ProgressPrinter p(out, ProgressPrinter::Mode::kLines, 4, 2.0);
  ASSERT_TRUE(p.Update(Running(1, 100, 1), 10'000).ok());  // first: printed
  ASSERT_TRUE(p.Update(Running(2, 100, 1), 10'500).ok());  // too soon
  ASSERT_TRUE(p.Update(Running(3, 100, 1), 11'999).ok());  // too soon
  ASSERT_TRUE(p.Update(Running(4, 100, 1), 12'000).ok());  // 2 s later
  Sweep offline = Running(5, 100, 1);
  offline.set_device_online(false);
  ASSERT_TRUE(p.Update(offline, 12'100).ok());  // news
  ASSERT_TRUE(p.Update(offline, 20'000).ok());  // unchanged
  const std::vector<std::string> lines =
      absl::StrSplit(out.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << out.str();
  EXPECT_THAT(lines[0], HasSubstr(" 1/100 "));
  EXPECT_THAT(lines[1], HasSubstr(" 4/100 "));
  EXPECT_THAT(lines[2], HasSubstr("device offline"));
  EXPECT_THAT(out.str(), Not(HasSubstr("\r")));
}

TEST(ProgressPrinterTest, JsonPrintsEveryUpdateAsOneObject) {
  std::ostringstream out;
  ProgressPrinter p(out, ProgressPrinter::Mode::kJson);
  ASSERT_TRUE(p.Update(Running(1, 2, 1), 0).ok());
  ASSERT_TRUE(p.Update(Running(1, 2, 1), 1).ok());
  p.Finish(Running(1, 2, 1), 2);
  const std::vector<std::string> lines =
      absl::StrSplit(out.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].front(), '{');
  EXPECT_EQ(lines[0].back(), '}');
  EXPECT_THAT(lines[0], HasSubstr("\"state\":\"STATE_RUNNING\""));
  EXPECT_THAT(lines[0], HasSubstr("\"failed\":0"));  // zero fields are printed
  EXPECT_THAT(lines[0], HasSubstr("\"device_name\":\"rpi4\""));
}

}  // namespace
}  // namespace hakd::cli
