// End-to-end: the real coordinator, agent and CLI on loopback.
#include <signal.h>

#include <string>

#include "gtest/gtest.h"
#include "tests/e2e/farm.h"

namespace hakd::testing {
namespace {

int CountOccurrences(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

// A sweep fast enough for tests: 5 samples, at most 30 ms a layer.
const std::vector<std::string> kFastSettings = {
    "--min-samples", "5", "--max-samples", "5", "--max-seconds-per-layer", "0.03",
    "--min-sample-ms", "0.2", "--warmup-runs", "1"};

std::vector<std::string> With(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(FarmTest, SmokeSweepLandsInSqliteAndIsQueryable) {
  Farm farm;
  ASSERT_TRUE(farm.StartServer());
  ASSERT_TRUE(farm.StartAgent("e2e-board"));
  ASSERT_TRUE(Farm::WaitFor([&] {
    return farm.Ctl({"devices", "list"}).out.find("online") != std::string::npos;
  }, 30000)) << farm.agent().Stderr();

  CommandResult start = farm.Ctl(
      With({"sweep", "start", "--device", "e2e-board", "--preset", "smoke", "--watch",
            "--keep-samples"},
           kFastSettings));
  ASSERT_EQ(start.exit_code, 0) << start.out << start.err << farm.agent().Stderr();
  const long long total = farm.SqlInt("SELECT total FROM sweeps WHERE id = 1");
  ASSERT_GT(total, 20);
  EXPECT_EQ(farm.SqlInt("SELECT state FROM sweeps WHERE id = 1"), 3);  // DONE
  EXPECT_EQ(farm.SqlInt("SELECT count(*) FROM measurements WHERE sweep_id = 1"), total);
  EXPECT_EQ(farm.SqlInt("SELECT count(*) FROM sweep_items WHERE sweep_id = 1 AND state != 1"), 0);
  EXPECT_EQ(farm.SqlInt("SELECT count(*) FROM measurements WHERE median_us <= 0"), 0);
  // Every result says how it was taken: settings as applied, attempts, CV.
  EXPECT_EQ(farm.SqlInt("SELECT count(*) FROM measurements WHERE sweep_id = 1 AND "
                        "settings IS NOT NULL AND attempts >= 1 AND cv >= 0 AND "
                        "interop_threads = 1"),
            total);
  // --keep-samples: every timed sample is stored, 8 bytes each.
  EXPECT_EQ(farm.SqlInt("SELECT count(*) FROM measurements WHERE sweep_id = 1 AND "
                        "length(raw_samples) = 8 * samples AND samples >= 5"),
            total);

  CommandResult all = farm.Ctl({"--json", "latency", "query", "--device", "e2e-board",
                                "--limit", "1000"}, "reader");
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(CountOccurrences(all.out, "\"median_us\""), total);

  // One layer by its shape: the 3x3 conv 32->32 at 16x16 of the smoke preset.
  CommandResult one = farm.Ctl({"latency", "query", "--device", "e2e-board", "--kind",
                                "conv2d", "--kernel", "3", "--channels", "32", "--res",
                                "16", "--not-depthwise"}, "reader");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_NE(one.out.find("32->32"), std::string::npos) << one.out;

  // Export: header plus one line per measurement.
  const std::string csv = farm.dir() + "/export.csv";
  CommandResult exp = farm.Ctl({"latency", "export", "--device", "e2e-board", "--format",
                                "csv", "--output", csv}, "reader");
  ASSERT_EQ(exp.exit_code, 0) << exp.err;
  EXPECT_EQ(CountOccurrences(ReadFileOrEmpty(csv), "\n"), total + 1);

  // The agent stops cleanly on SIGTERM and the device goes offline, keeping its id.
  farm.agent().Signal(SIGTERM);
  EXPECT_EQ(farm.agent().Wait(20000), 0) << farm.agent().Stderr();
  EXPECT_TRUE(Farm::WaitFor([&] {
    return farm.Ctl({"devices", "list"}).out.find("offline") != std::string::npos;
  }, 10000));
  ASSERT_TRUE(farm.StartAgent("e2e-board"));
  EXPECT_TRUE(Farm::WaitFor([&] {
    return farm.Ctl({"devices", "list"}).out.find("online") != std::string::npos;
  }, 30000));
  EXPECT_EQ(farm.SqlInt("SELECT count(*) FROM devices"), 1);
}

TEST(FarmTest, CoordinatorKilledMidSweepLosesAndDuplicatesNothing) {
  Farm farm;
  ASSERT_TRUE(farm.StartServer());
  ASSERT_TRUE(farm.StartAgent("crashy"));
  ASSERT_TRUE(Farm::WaitFor([&] {
    return farm.SqlInt("SELECT count(*) FROM devices WHERE name = 'crashy'") == 1;
  }, 30000)) << farm.agent().Stderr();
  CommandResult start = farm.Ctl(
      With({"sweep", "start", "--device", "crashy", "--family",
            "conv2d:k=3:c=8-87:res=16", "--chunk-size", "8"}, kFastSettings));
  ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
  const int total = 80;
  ASSERT_EQ(farm.SqlInt("SELECT total FROM sweeps WHERE id = 1"), total);

  // Kill the coordinator twice while results are flowing.
  for (int kill_at : {15, 45}) {
    ASSERT_TRUE(Farm::WaitFor([&] {
      return farm.SqlInt("SELECT measured FROM sweeps WHERE id = 1") >= kill_at;
    }, 60000)) << farm.agent().Stderr();
    ASSERT_LT(farm.SqlInt("SELECT measured FROM sweeps WHERE id = 1"), total)
        << "the sweep finished before the kill; it is too fast for this test";
    const int port = farm.port();
    farm.server().Signal(SIGKILL);
    farm.server().Wait(5000);
    usleep(700 * 1000);  // the agent keeps measuring meanwhile
    ASSERT_TRUE(farm.StartServer(port)) << farm.server().Stderr();
  }
  ASSERT_TRUE(Farm::WaitFor([&] {
    return farm.SqlInt("SELECT state FROM sweeps WHERE id = 1") == 3;
  }, 120000)) << farm.agent().Stderr() << farm.server().Stderr();
  EXPECT_EQ(farm.SqlInt("SELECT count(*) FROM measurements WHERE sweep_id = 1"), total);
  EXPECT_EQ(farm.SqlInt("SELECT count(DISTINCT item_index) FROM measurements WHERE sweep_id = 1"),
            total);
  EXPECT_EQ(farm.SqlInt("SELECT measured FROM sweeps WHERE id = 1"), total);
  EXPECT_EQ(farm.SqlInt("SELECT failed FROM sweeps WHERE id = 1"), 0);
  // Every batch the coordinator committed is recorded once.
  EXPECT_EQ(farm.SqlInt("SELECT count(*) FROM measurements"),
            farm.SqlInt("SELECT coalesce(sum(entries), 0) FROM batches"));
}

TEST(FarmTest, CliErrorsAreOneLineWithDistinctExitCodes) {
  Farm farm;
  // Unreachable coordinator (nothing listens on this port yet).
  CommandResult down = RunCommand({HAKD_CTL_BIN, "--server", "127.0.0.1:1", "--token-file",
                                    farm.TokenFile("admin"), "devices", "list"},
                                   farm.dir() + "/down");
  EXPECT_EQ(down.exit_code, 3) << down.err;
  EXPECT_EQ(CountOccurrences(down.err, "\n"), 1) << down.err;
  EXPECT_NE(down.err.find("cannot reach"), std::string::npos) << down.err;

  ASSERT_TRUE(farm.StartServer());
  CommandResult bad = farm.Ctl({"devices", "list"}, "wrong");
  EXPECT_EQ(bad.exit_code, 4) << bad.err;
  EXPECT_EQ(CountOccurrences(bad.err, "\n"), 1) << bad.err;

  CommandResult denied = farm.Ctl({"sweep", "start", "--device", "x", "--preset", "smoke"},
                                  "reader");
  EXPECT_EQ(denied.exit_code, 4) << denied.err;
  EXPECT_NE(denied.err.find("may not"), std::string::npos) << denied.err;

  CommandResult agent_reads = farm.Ctl({"devices", "list"}, "agent");
  EXPECT_EQ(agent_reads.exit_code, 4) << agent_reads.err;

  CommandResult unknown = farm.Ctl({"latency", "query", "--device", "nosuchboard"}, "reader");
  EXPECT_EQ(unknown.exit_code, 5) << unknown.err;
  EXPECT_NE(unknown.err.find("nosuchboard"), std::string::npos) << unknown.err;
  EXPECT_EQ(CountOccurrences(unknown.err, "\n"), 1) << unknown.err;
}

}  // namespace
}  // namespace hakd::testing
