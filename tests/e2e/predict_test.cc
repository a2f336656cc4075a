// End-to-end prediction: the real agent times a network's units on demand,
// whole networks for the overhead fit, and hakdctl predicts from them.
#include <string>

#include "common/network/network_builders.h"
#include "common/network/network_json.h"
#include "gtest/gtest.h"
#include "tests/e2e/farm.h"

namespace hakd::testing {
namespace {

// Timing fast enough for tests: 5 samples, at most 30 ms a unit.
const std::vector<std::string> kFastSettings = {
    "--min-samples", "5", "--max-samples", "5", "--max-seconds-per-layer", "0.03",
    "--min-sample-ms", "0.2", "--warmup-runs", "1"};

std::vector<std::string> With(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// WRN-10-1 at 28x28 with the given stage widths: five units, quick to time.
std::string WriteWrn(const Farm& farm, const std::string& name, int w1, int w2, int w3) {
  absl::StatusOr<hakd::v1::NetworkSpec> spec = WideResNet(10, 1, FashionMnistInput(), 10);
  EXPECT_TRUE(spec.ok());
  const int widths[] = {w1, w2, w3};
  for (int s = 0; s < 3; ++s) {
    for (auto& b : *spec->mutable_stages(s)->mutable_blocks()) {
      b.mutable_residual()->set_out_channels(widths[s]);
    }
  }
  spec->set_name(name);
  const std::string path = farm.dir() + "/" + name + ".json";
  EXPECT_TRUE(WriteNetworkSpecFile(path, *spec).ok());
  return path;
}

TEST(PredictTest, MeasuresMissingUnitsFitsOverheadAndPredicts) {
  Farm farm;
  ASSERT_TRUE(farm.StartServer());
  ASSERT_TRUE(farm.StartAgent("e2e-board"));
  ASSERT_TRUE(Farm::WaitFor([&] {
    return farm.Ctl({"devices", "list"}).out.find("online") != std::string::npos;
  }, 30000)) << farm.agent().Stderr();
  const std::string student = WriteWrn(farm, "student", 12, 20, 40);

  // Nothing measured yet: incomplete, exit 1, and a hint.
  CommandResult before =
      farm.Ctl({"latency", "predict", "--device", "e2e-board", "--spec", student}, "reader");
  EXPECT_EQ(before.exit_code, 1) << before.out << before.err;
  EXPECT_NE((before.out + before.err).find("--measure-missing"), std::string::npos)
      << before.out << before.err;

  // On demand: the missing units are swept, then predicted from measurements.
  CommandResult on_demand = farm.Ctl(With({"latency", "predict", "--device", "e2e-board",
                                           "--spec", student, "--measure-missing"},
                                          kFastSettings));
  ASSERT_EQ(on_demand.exit_code, 0) << on_demand.out << on_demand.err
                                    << farm.agent().Stderr();
  EXPECT_EQ(farm.SqlInt("SELECT count(*) FROM units WHERE kind = 1"), 5);
  EXPECT_EQ(farm.SqlInt("SELECT count(*) FROM unit_measurements"), 5);
  EXPECT_EQ(farm.SqlInt("SELECT count(*) FROM unit_measurements WHERE median_us <= 0 "
                        "OR settings IS NULL OR reference_ratio < 0"),
            0);

  // Calibration: the units of two other networks, then both end to end.
  const std::string a = WriteWrn(farm, "cal-a", 16, 24, 48);
  const std::string b = WriteWrn(farm, "cal-b", 8, 16, 32);
  CommandResult units = farm.Ctl(With({"sweep", "start", "--device", "e2e-board",
                                       "--units-of", a, "--units-of", b, "--watch"},
                                      kFastSettings));
  ASSERT_EQ(units.exit_code, 0) << units.out << units.err;
  CommandResult nets = farm.Ctl(With({"sweep", "start", "--device", "e2e-board",
                                      "--network", a, "--network", b, "--label",
                                      "calibration", "--watch"},
                                     kFastSettings));
  ASSERT_EQ(nets.exit_code, 0) << nets.out << nets.err;
  const long long cal =
      farm.SqlInt("SELECT max(id) FROM sweeps WHERE preset = 'calibration'");
  ASSERT_GT(cal, 0);
  EXPECT_EQ(farm.SqlInt("SELECT count(*) FROM unit_measurements m JOIN units u ON "
                        "u.id = m.unit_id WHERE u.kind = 2"),
            2);
  CommandResult fit = farm.Ctl(
      {"latency", "fit-overhead", "--device", "e2e-board", "--sweep", std::to_string(cal)});
  ASSERT_EQ(fit.exit_code, 0) << fit.out << fit.err;
  EXPECT_EQ(farm.SqlInt("SELECT count(*) FROM overhead_models"), 1);

  // Now the prediction carries the overhead model.
  CommandResult json = farm.Ctl({"--json", "latency", "predict", "--device", "e2e-board",
                                 "--spec", student}, "reader");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_NE(json.out.find("\"predicted_us\""), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("\"overhead\""), std::string::npos) << json.out;
  EXPECT_TRUE(json.out.find("\"complete\": true") != std::string::npos ||
              json.out.find("\"complete\":true") != std::string::npos)
      << json.out;

  // A reader may predict but not start measurements.
  CommandResult denied = farm.Ctl({"latency", "predict", "--device", "e2e-board", "--spec",
                                   WriteWrn(farm, "other", 10, 20, 30), "--measure-missing"},
                                  "reader");
  EXPECT_EQ(denied.exit_code, 4) << denied.out << denied.err;
}

}  // namespace
}  // namespace hakd::testing
