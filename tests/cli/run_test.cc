// hakdctl run whole against an in-process fake coordinator: output, the
// single stderr line and the exit code of each kind of outcome.
#include "cli/run.h"

#include <dirent.h>
#include <stdlib.h>
#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/artifact_download.h"
#include "cli/latency_client.h"
#include "fake_coordinator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hakd::cli {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int64_t kNow = 1'700'000'000'000;

struct Result {
  int code;
  std::string out;
  std::string err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  return names;
}

hakd::v1::Measurement MakeMeasurement(int64_t id, int channels) {
  hakd::v1::Measurement m;
  m.set_id(id);
  m.set_device_id(3);
  hakd::v1::LayerSpec* l = m.mutable_layer();
  l->set_kind(hakd::v1::LAYER_KIND_CONV2D);
  l->set_batch(1);
  l->set_in_channels(channels);
  l->set_out_channels(channels);
  l->set_height(32);
  l->set_width(32);
  l->set_kernel(3);
  l->set_stride(1);
  l->set_padding(1);
  l->set_groups(1);
  m.set_backend("cpu");
  m.set_threads(4);
  m.set_median_us(100 + id);
  m.set_p10_us(90);
  m.set_p90_us(150);
  m.set_mean_us(105);
  m.set_stddev_us(3.5);
  m.set_samples(15);
  m.set_runs_per_sample(4);
  m.set_measured_unix_ms(kNow - 60'000);
  m.set_run_id(id == 2 ? "quoted, \"run\"" : "sweep-9");
  return m;
}

hakd::v1::Sweep MakeSweep(hakd::v1::Sweep::State state, int measured) {
  hakd::v1::Sweep s;
  s.set_id(9);
  s.set_device_id(3);
  s.set_device_name("rpi4");
  s.set_preset("quick");
  s.set_state(state);
  s.set_total(2241);
  s.set_measured(measured);
  s.set_device_online(true);
  s.set_layers_per_second(3.1);
  s.set_created_unix_ms(kNow - 100'000);
  s.set_started_unix_ms(kNow - 90'000);
  if (state == hakd::v1::Sweep::STATE_DONE ||
      state == hakd::v1::Sweep::STATE_CANCELLED) {
    s.set_finished_unix_ms(kNow);
  }
  return s;
}

// A small valid network spec (see docs/network-spec.md): stem, two equal
// residual blocks, a strided one, head; 4 distinct units of 5.
constexpr char kTwinSpec[] = R"({
  "name": "twin",
  "input": {"channels": 3, "height": 32, "width": 32},
  "num_classes": 10,
  "stem": {"out_channels": 16},
  "stages": [
    {"name": "group1", "blocks": [
      {"residual": {"out_channels": 16}},
      {"residual": {"out_channels": 16}},
      {"residual": {"out_channels": 32, "stride": 2}}
    ]}
  ],
  "head": {"batchnorm_relu": true}
})";

hakd::v1::UnitPrediction MakeUnit(const std::string& name,
                                  hakd::v1::UnitPrediction::Source source,
                                  double us, int width) {
  hakd::v1::UnitPrediction u;
  u.set_name(name);
  u.set_key("key of " + name);
  u.set_source(source);
  u.set_latency_us(us);
  u.set_width(width);
  return u;
}

// A prediction of kTwinSpec on rpi4: complete, or with its head missing.
hakd::v1::PredictNetworkResponse MakePrediction(bool complete) {
  using Source = hakd::v1::UnitPrediction;
  hakd::v1::PredictNetworkResponse p;
  p.set_device_name("rpi4");
  p.set_macs(41'234'567);
  p.set_params(360'500);
  *p.add_units() = MakeUnit("stem", Source::SOURCE_MEASURED, 120, 16);
  *p.add_units() =
      MakeUnit("stages[0].blocks[0]", Source::SOURCE_MEASURED, 1500, 16);
  *p.add_units() =
      MakeUnit("stages[0].blocks[1]", Source::SOURCE_MEASURED, 1500, 16);
  hakd::v1::UnitPrediction* i = p.add_units();
  *i = MakeUnit("stages[0].blocks[2]", Source::SOURCE_INTERPOLATED, 2345, 32);
  i->set_lower_width(24);
  i->set_upper_width(40);
  if (complete) {
    *p.add_units() = MakeUnit("head", Source::SOURCE_MEASURED, 35, 32);
    p.set_complete(true);
    p.set_measured_units(4);
    p.set_interpolated_units(1);
    p.set_units_sum_us(5500);
    p.set_overhead_us(450);
    p.set_predicted_us(5950);
    p.set_confidence("medium");
    p.set_expected_error_pct(8.25);
    p.mutable_overhead()->set_networks(3);
  } else {
    hakd::v1::UnitPrediction* m = p.add_units();
    *m = MakeUnit("head", Source::SOURCE_MISSING, 0, 32);
    m->set_reason("no measurement of its family");
    p.set_measured_units(3);
    p.set_interpolated_units(1);
    p.set_missing_units(1);
    p.set_units_sum_us(5465);
    p.set_confidence("none");
    p.set_expected_error_pct(14.3);
  }
  return p;
}

class RunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/hakdctl-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    token_file_ = dir_ + "/token";
    std::ofstream(token_file_) << "secret-token\n";

    testing::FakeCoordinator& fake = server_.service();
    hakd::v1::Device d;
    d.set_id(3);
    d.set_name("rpi4");
    d.set_online(true);
    d.set_last_seen_unix_ms(kNow - 3'000);
    d.set_measurement_count(3);
    d.mutable_facts()->set_arch("aarch64");
    d.mutable_facts()->set_cpu_model("Cortex-A72");
    d.mutable_facts()->set_cpu_cores(4);
    d.mutable_facts()->set_threads(4);
    d.mutable_facts()->set_libtorch_version("1.13.1");
    fake.devices.push_back(d);
    for (int i = 1; i <= 3; ++i)
      fake.measurements.push_back(MakeMeasurement(i, 8 * i));
    fake.sweep = MakeSweep(hakd::v1::Sweep::STATE_QUEUED, 0);
    hakd::v1::Staircase* s = fake.staircases.add_staircases();
    s->set_kind(hakd::v1::LAYER_KIND_CONV2D);
    s->set_kernel(3);
    s->set_stride(1);
    s->set_resolution(32);
    s->set_depthwise(true);
    for (int c : {8, 16, 24, 32, 40}) s->add_channels(c);
    for (double us : {10.0, 11.0, 12.0, 20.0, 21.0}) s->add_median_us(us);
    s->add_step_at(32);
    s->add_step_ratio(1.67);
    s->add_efficient(24);
  }

  void TearDown() override {
    for (const std::string& f : FilesIn(dir_)) unlink((dir_ + "/" + f).c_str());
    rmdir(dir_.c_str());
  }

  // Runs hakdctl against the fake server with the right token.
  Result Run(std::vector<std::string> args, bool terminal = false) {
    std::vector<std::string> full = {"--server", server_.address(),
                                     "--token-file", token_file_};
    full.insert(full.end(), args.begin(), args.end());
    return RunBare(full, terminal);
  }

  // Runs hakdctl with exactly `args`.
  Result RunBare(std::vector<std::string> args, bool terminal = false) {
    std::ostringstream out;
    std::ostringstream err;
    RunEnvironment env;
    env.out = &out;
    env.err = &err;
    env.env = [](const char*) -> std::optional<std::string> {
      return std::nullopt;
    };
    env.out_is_terminal = terminal;
    env.clock = [] { return kNow; };
    env.connect = [](const GlobalOptions& o) {
      return LatencyClient::Create(o);
    };
    const int code = RunHakdctl(args, env);
    return {code, out.str(), err.str()};
  }

  // Asserts a failure with exactly this one stderr line.
  static void ExpectFailure(const Result& r, int code,
                            const std::string& line) {
    EXPECT_EQ(r.code, code) << r.err;
    EXPECT_EQ(r.err, "hakdctl: " + line + "\n");
  }

  // Writes `text` to a file in the test's directory; returns its path.
  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  testing::FakeServer server_;
  std::string dir_;
  std::string token_file_;
};

TEST_F(RunTest, HelpListsCommandsAndSpecSyntax) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"help"}, std::vector<std::string>{"-h"},
        std::vector<std::string>{"--help"}}) {
    const Result r = RunBare(args);
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.err, "");
    EXPECT_THAT(r.out, HasSubstr("devices list"));
    EXPECT_THAT(r.out, HasSubstr("latency staircase --device D"));
    EXPECT_THAT(r.out, HasSubstr("KIND:k=K:c=FROM-TO[/STEP]:res=R[,R...]"));
  }
  const Result r = RunBare({"sweep", "watch", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, StartsWith("usage: hakdctl sweep watch ID\n"));
  ExpectFailure(RunBare({"help", "nonsense"}), 2,
                "no command 'nonsense' (see 'hakdctl help')");
}

TEST_F(RunTest, UsageErrorsExitTwoWithOneLine) {
  ExpectFailure(RunBare({"devices", "list", "--bogus"}), 2,
                "unknown flag --bogus");
  ExpectFailure(RunBare({"devices", "list"}), 2,
                "--token-file (or HAKD_TOKEN_FILE) is required to talk to the "
                "coordinator");
  ExpectFailure(Run({"sweep", "show", "x"}), 2,
                "expected a sweep ID (a whole number >= 1), got 'x'");
  const Result r =
      RunBare({"--token-file", dir_ + "/missing", "devices", "list"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("missing"));
}

TEST_F(RunTest, UnreachableCoordinatorExitsThree) {
  const Result r = RunBare({"--server", "127.0.0.1:1", "--token-file",
                            token_file_, "devices", "list"});
  EXPECT_EQ(r.code, 3);
  EXPECT_THAT(
      r.err,
      StartsWith("hakdctl: cannot reach the coordinator at 127.0.0.1:1: "));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  EXPECT_EQ(r.out, "");
}

TEST_F(RunTest, RefusedTokenExitsFour) {
  std::ofstream(token_file_) << "wrong-token";
  ExpectFailure(Run({"devices", "list"}), 4,
                "the coordinator refused the token in " + token_file_ +
                    " (unauthenticated)");
}

TEST_F(RunTest, PermissionDeniedNamesTheAction) {
  server_.service().start_sweep_status = grpc::Status(
      grpc::StatusCode::PERMISSION_DENIED, "role 'viewer' is read-only");
  ExpectFailure(
      Run({"sweep", "start", "--device", "rpi4"}), 4,
      "permission denied (start sweeps): role 'viewer' is read-only");
}

TEST_F(RunTest, OtherServerErrorsExitOneWithCodeName) {
  server_.service().start_sweep_status = grpc::Status(
      grpc::StatusCode::INVALID_ARGUMENT, "families[0].kernel: too big");
  ExpectFailure(Run({"sweep", "start", "--device", "rpi4"}), 1,
                "INVALID_ARGUMENT: families[0].kernel: too big");
}

TEST_F(RunTest, DevicesListAndShow) {
  Result r = Run({"devices", "list"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::vector<std::string> lines =
      absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_THAT(lines[0], StartsWith("ID  NAME  STATE   LAST-SEEN  ARCH"));
  EXPECT_THAT(lines[0], EndsWith("LIBTORCH  MEASUREMENTS"));
  EXPECT_THAT(lines[1],
              HasSubstr("rpi4  online  3s ago     aarch64  Cortex-A72"));

  r = Run({"devices", "list", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out,
              StartsWith("{\"devices\":[{\"id\":\"3\",\"name\":\"rpi4\""));

  r = Run({"devices", "show", "3"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("libtorch:           1.13.1\n"));
  ExpectFailure(Run({"devices", "show", "nope"}), 5, "no device 'nope'");
}

TEST_F(RunTest, SweepStartSendsTheRequestAndWatches) {
  testing::FakeCoordinator& fake = server_.service();
  fake.watch_updates = {MakeSweep(hakd::v1::Sweep::STATE_RUNNING, 100),
                        MakeSweep(hakd::v1::Sweep::STATE_DONE, 2241)};
  const Result r =
      Run({"sweep", "start", "--device", "rpi4", "--family",
           "conv2d:k=3:c=8-64/8:res=32", "--min-samples", "5", "--watch"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::vector<std::string> lines =
      absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_EQ(lines[0], "sweep 9 started on device rpi4: 2241 layers");
  EXPECT_THAT(lines[1], HasSubstr("100/2241 4.5%  3.1 layers/s  ETA"));
  EXPECT_THAT(lines[2], HasSubstr("2241/2241 100.0%  done"));
  EXPECT_EQ(lines[3], "sweep 9 done: 2241 of 2241 measured, 0 failed in 1m30s");

  const hakd::v1::StartSweepRequest sent = fake.LastStart();
  EXPECT_EQ(sent.device(), "rpi4");
  ASSERT_EQ(sent.families_size(), 1);
  EXPECT_EQ(sent.families(0).channels().step(), 8);
  EXPECT_EQ(sent.settings().min_samples(), 5);
}

TEST_F(RunTest, WatchOfCancelledSweepExitsOne) {
  server_.service().watch_updates = {
      MakeSweep(hakd::v1::Sweep::STATE_CANCELLED, 10)};
  const Result r = Run({"sweep", "watch", "9"}, /*terminal=*/true);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "hakdctl: sweep 9 was cancelled\n");
  EXPECT_THAT(r.out, StartsWith("\r[........"));
  EXPECT_THAT(
      r.out,
      EndsWith(
          "\nsweep 9 cancelled: 10 of 2241 measured, 0 failed in 1m30s\n"));
}

TEST_F(RunTest, WatchJsonAndUnfinishedStream) {
  server_.service().watch_updates = {
      MakeSweep(hakd::v1::Sweep::STATE_RUNNING, 1),
      MakeSweep(hakd::v1::Sweep::STATE_DONE, 2241)};
  Result r = Run({"--json", "sweep", "watch", "9"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::vector<std::string> lines =
      absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[1], HasSubstr("\"state\":\"STATE_DONE\""));

  server_.service().watch_updates = {
      MakeSweep(hakd::v1::Sweep::STATE_RUNNING, 1)};
  r = Run({"sweep", "watch", "9"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(
      r.err, HasSubstr("ended the watch of sweep 9 before the sweep finished"));
}

TEST_F(RunTest, SweepListShowCancel) {
  server_.service().sweeps = {MakeSweep(hakd::v1::Sweep::STATE_RUNNING, 5)};
  Result r = Run({"sweep", "list"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("rpi4    quick   running"));
  r = Run({"sweep", "show", "9"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("state:      queued\n"));
  ExpectFailure(Run({"sweep", "show", "10"}), 5, "no sweep 10");
  r = Run({"sweep", "cancel", "9"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "sweep 9 is cancelled: 0 of 2241 measured, 0 failed\n");
}

TEST_F(RunTest, QuerySendsOnlyGivenFiltersAndPrintsTable) {
  testing::FakeCoordinator& fake = server_.service();
  fake.query_truncated = true;
  Result r = Run({"latency", "query", "--device", "rpi4", "--channels", "16",
                  "--kernel", "3", "--limit", "3", "--latest"});
  ASSERT_EQ(r.code, 0) << r.err;
  const hakd::v1::QueryMeasurementsRequest sent = fake.LastQuery();
  EXPECT_EQ(sent.device(), "rpi4");
  EXPECT_EQ(sent.limit(), 3);
  EXPECT_TRUE(sent.latest_only());
  EXPECT_EQ(sent.filter().in_channels(), 16);
  EXPECT_EQ(sent.filter().out_channels(), 16);
  EXPECT_EQ(sent.filter().kernel(), 3);
  EXPECT_FALSE(sent.filter().has_kind());
  EXPECT_FALSE(sent.filter().has_stride());
  EXPECT_THAT(r.out, StartsWith("ID  LAYER"));
  EXPECT_THAT(r.out, HasSubstr("conv2d 3x3/1 p1 g1 16->16 @32x32 b1  cpu"));
  EXPECT_THAT(r.out,
              EndsWith("(truncated: more than 3 matched; use --limit)\n"));

  fake.measurements.clear();
  fake.query_truncated = false;
  r = Run({"latency", "query", "--device", "rpi4"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "no measurements match\n");
  EXPECT_EQ(fake.LastQuery().limit(), 0);
  EXPECT_FALSE(fake.LastQuery().has_filter() &&
               fake.LastQuery().filter().ByteSizeLong() > 0);
}

TEST_F(RunTest, ExportCsvToFileAtomically) {
  const std::string path = dir_ + "/out.csv";
  const Result r = Run({"latency", "export", "--device", "rpi4", "--format",
                        "csv", "--output", path});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "exported 3 measurements to " + path + "\n");
  const std::string csv = ReadFile(path);
  const std::vector<std::string> lines =
      absl::StrSplit(csv, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u) << csv;
  EXPECT_THAT(lines[0], StartsWith("id,device_id,kind,"));
  EXPECT_THAT(
      lines[2],
      StartsWith("2,3,conv2d,1,16,16,32,32,3,1,1,1,float32,cpu,4,102,"));
  EXPECT_THAT(lines[2], HasSubstr(",\"quoted, \"\"run\"\"\",0,0"));
  EXPECT_EQ(FilesIn(dir_).size(), 2u);  // token and out.csv: no temp file left
}

TEST_F(RunTest, FailedExportLeavesNoFile) {
  server_.service().export_fail_after_pages = 1;
  const std::string path = dir_ + "/out.json";
  const Result r = Run({"latency", "export", "--device", "rpi4", "--format",
                        "json", "--output", path});
  ExpectFailure(r, 1, "INTERNAL: database went away");
  EXPECT_EQ(FilesIn(dir_), std::vector<std::string>{"token"});
}

TEST_F(RunTest, ExportJsonToStdout) {
  const Result r =
      Run({"latency", "export", "--device", "3", "--format", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("[\n{\"id\":\"1\","));
  EXPECT_THAT(r.out, EndsWith("}\n]\n"));
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'),
            5);  // [, 3 objects, ]
  EXPECT_EQ(r.err, "exported 3 measurements to standard output\n");
  ExpectFailure(Run({"latency", "export", "--device", "3", "--format", "xml"}),
                2, "--format: expected csv or json, got 'xml'");
}

// Measurements carry only a device id; query and export look the device up
// and mark every row of an agent under a CPU emulator.
TEST_F(RunTest, QueryAndExportMarkEmulatedDevices) {
  testing::FakeCoordinator& fake = server_.service();
  hakd::v1::Device qemu = fake.devices[0];
  qemu.set_id(5);
  qemu.set_name("qemu-pi");
  qemu.mutable_facts()->set_emulated(true);
  qemu.mutable_facts()->set_emulation_evidence(
      "uname machine aarch64 but /proc/cpuinfo describes an x86 CPU");
  fake.devices.push_back(qemu);
  const std::string note =
      "note: device 5 qemu-pi runs under an emulator (uname machine aarch64 "
      "but /proc/cpuinfo describes an x86 CPU); its latencies are not the "
      "board's\n";
  const auto count = [](const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos;
         at = text.find(what, at + 1)) {
      ++n;
    }
    return n;
  };

  // A real board: no mark, no note; JSON says false.
  Result r = Run({"latency", "query", "--device", "rpi4"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("EMULATED")));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("yes")));
  r = Run({"--json", "latency", "query", "--device", "rpi4"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(count(r.out, "\"emulated\":false}"), 3u) << r.out;
  EXPECT_EQ(count(r.out, "\"emulated\":true"), 0u) << r.out;
  r = Run({"latency", "export", "--device", "rpi4", "--format", "csv"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "exported 3 measurements to standard output\n");
  std::vector<std::string> lines =
      absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_THAT(lines[0], EndsWith(",temperature_c,load_1m,emulated"));
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_THAT(lines[i], EndsWith(",0")) << lines[i];
  }

  // The emulated agent's measurements.
  for (hakd::v1::Measurement& m : fake.measurements) m.set_device_id(5);
  r = Run({"latency", "query", "--device", "qemu-pi"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, note);
  lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_THAT(lines[0], StartsWith("ID  LAYER"));
  EXPECT_THAT(lines[0], HasSubstr("  MEASURED-AT  "));
  EXPECT_THAT(lines[0], EndsWith("  EMULATED"));
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_THAT(lines[i], EndsWith("  yes")) << lines[i];
  }

  r = Run({"--json", "latency", "query", "--device", "qemu-pi"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, note);
  EXPECT_EQ(count(r.out, "\"emulated\":true}"), 3u) << r.out;
  EXPECT_EQ(count(r.out, "\"emulated\":false"), 0u) << r.out;
  EXPECT_THAT(r.out, StartsWith("{\"measurements\":[{\"id\":\"1\","));
  EXPECT_THAT(r.out, EndsWith("],\"truncated\":false}\n"));
  // Still the response, field for field, to a reader that skips the mark.
  hakd::v1::QueryMeasurementsResponse parsed;
  google::protobuf::util::JsonParseOptions lenient;
  lenient.ignore_unknown_fields = true;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(r.out, &parsed, lenient)
          .ok())
      << r.out;
  ASSERT_EQ(parsed.measurements_size(), 3);
  EXPECT_EQ(parsed.measurements(2).median_us(), 103);

  const std::string path = dir_ + "/qemu.csv";
  r = Run({"latency", "export", "--device", "qemu-pi", "--format", "csv",
           "--output", path});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, note + "exported 3 measurements to " + path + "\n");
  const std::string csv = ReadFile(path);
  lines = absl::StrSplit(csv, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u) << csv;
  EXPECT_THAT(lines[0], EndsWith(",load_1m,emulated"));
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_THAT(lines[i], StartsWith(absl::StrCat(i, ",5,conv2d,")));
    EXPECT_THAT(lines[i], EndsWith(",1")) << lines[i];
  }

  r = Run({"latency", "export", "--device", "5", "--format", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, note + "exported 3 measurements to standard output\n");
  EXPECT_THAT(r.out, StartsWith("[\n{\"id\":\"1\","));
  EXPECT_EQ(count(r.out, "\"emulated\":true}"), 3u) << r.out;
  EXPECT_THAT(r.out, EndsWith("\"emulated\":true}\n]\n"));
}

TEST_F(RunTest, StaircaseTableAndSvg) {
  const std::string svg = dir_ + "/plot.svg";
  const Result r =
      Run({"latency", "staircase", "--device", "rpi4", "--kind", "conv2d",
           "--depthwise", "--min-ratio", "1.3", "--svg", svg});
  ASSERT_EQ(r.code, 0) << r.err;
  const hakd::v1::GetStaircasesRequest sent =
      server_.service().LastStaircases();
  EXPECT_DOUBLE_EQ(sent.min_step_ratio(), 1.3);
  EXPECT_TRUE(sent.filter().depthwise());
  EXPECT_EQ(sent.filter().kind(), hakd::v1::LAYER_KIND_CONV2D);
  EXPECT_EQ(r.out,
            "conv2d 3x3/1 @32x32 (dw): 5 points, channels 8..40\n"
            "STEP-AT  RATIO  EFFICIENT-WIDTH\n"
            "     32   1.67               24\n"
            "efficient widths: 24\n");
  EXPECT_THAT(ReadFile(svg), HasSubstr("<polyline"));
  EXPECT_EQ(r.err, "plotted 1 staircases to " + svg + "\n");
  ExpectFailure(
      Run({"latency", "staircase", "--device", "rpi4", "--min-ratio", "1"}), 2,
      "--min-ratio: must be above 1, got 1");
}

TEST_F(RunTest, Summary) {
  const Result r = Run({"latency", "summary", "--device", "rpi4"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "device 3 rpi4 (online): aarch64, Cortex-A72, 4 cores, 4 threads, "
            "libtorch 1.13.1\n"
            "measurements: 3\n"
            "\n"
            "conv2d 3x3/1 @32x32 (dw)\n"
            "  5 points, channels 8..40, latency 10.0..21.0 us\n"
            "  steps at 32 (x1.67)\n"
            "  efficient widths: 24\n");
  EXPECT_EQ(server_.service().LastStaircases().device(), "3");
  const Result json = Run({"--json", "latency", "summary", "--device", "rpi4"});
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_THAT(json.out, StartsWith("{\"device\":{\"id\":\"3\""));
  EXPECT_THAT(json.out,
              HasSubstr(",\"staircases\":[{\"kind\":\"LAYER_KIND_CONV2D\""));
}

TEST_F(RunTest, PredictPrintsUnitsAndExitsZeroWhenComplete) {
  testing::FakeCoordinator& fake = server_.service();
  fake.predictions = {MakePrediction(/*complete=*/true)};
  const std::string spec = WriteFile("twin.json", kTwinSpec);
  const Result r =
      Run({"latency", "predict", "--device", "rpi4", "--spec", spec});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "device rpi4, network twin: 5.95 ms predicted (units 5.50 ms + "
            "overhead 0.450 ms), confidence medium, expected error 8.2%\n"
            "units: 4 measured, 1 interpolated, 0 missing; 41.2M MACs, 360.5K "
            "params\n"
            "\n"
            "UNIT                 SOURCE        LATENCY-MS  WIDTH  DETAIL\n"
            "stem                 measured           0.120     16\n"
            "stages[0].blocks[0]  measured           1.500     16\n"
            "stages[0].blocks[1]  measured           1.500     16\n"
            "stages[0].blocks[2]  interpolated       2.345     32  24..40\n"
            "head                 measured           0.035     32\n");
  const std::vector<hakd::v1::PredictNetworkRequest> sent =
      fake.PredictRequests();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].device(), "rpi4");
  EXPECT_EQ(sent[0].network().name(), "twin");
  EXPECT_EQ(sent[0].network().stages(0).blocks_size(), 3);
  EXPECT_FALSE(sent[0].measure_missing());

  const Result json =
      Run({"--json", "latency", "predict", "--device", "rpi4", "--spec", spec});
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_THAT(json.out, StartsWith("{\"device_name\":\"rpi4\""));
  EXPECT_EQ(std::count(json.out.begin(), json.out.end(), '\n'), 1);
}

TEST_F(RunTest, PredictIncompleteOnOfflineDeviceExitsOneWithHint) {
  testing::FakeCoordinator& fake = server_.service();
  fake.devices[0].set_online(false);
  fake.predictions = {MakePrediction(/*complete=*/false)};
  const std::string spec = WriteFile("twin.json", kTwinSpec);
  const Result r = Run({"latency", "predict", "--device", "rpi4", "--spec",
                        spec, "--measure-missing"});
  ExpectFailure(r, 1,
                "device rpi4 is offline; 1 unit cannot be predicted; rerun "
                "with --measure-missing when its agent is online");
  EXPECT_THAT(r.out, StartsWith("device rpi4, network twin: incomplete "
                                "(units predicted so far 5.46 ms), "
                                "confidence none"));
  EXPECT_THAT(r.out, HasSubstr("units: 3 measured, 1 interpolated, 1 missing"));
  EXPECT_THAT(r.out, HasSubstr("\nhead                 missing                -"
                               "     32  no measurement of its family\n"));
  ASSERT_EQ(fake.PredictRequests().size(), 1u);
  EXPECT_TRUE(fake.PredictRequests()[0].measure_missing());

  // Online, but not asked to measure: suggest it.
  fake.devices[0].set_online(true);
  ExpectFailure(
      Run({"latency", "predict", "--device", "rpi4", "--spec", spec}), 1,
      "1 unit cannot be predicted; rerun with --measure-missing to measure "
      "them on device rpi4");
}

TEST_F(RunTest, PredictMeasureMissingWaitsForTheSweepAndPredictsAgain) {
  testing::FakeCoordinator& fake = server_.service();
  hakd::v1::PredictNetworkResponse first = MakePrediction(false);
  first.set_measuring_sweep_id(9);
  fake.predictions = {first, MakePrediction(true)};
  fake.watch_updates = {MakeSweep(hakd::v1::Sweep::STATE_RUNNING, 100),
                        MakeSweep(hakd::v1::Sweep::STATE_DONE, 2241)};
  const std::string spec = WriteFile("twin.json", kTwinSpec);
  const Result r = Run({"latency", "predict", "--device", "rpi4", "--spec",
                        spec, "--measure-missing", "--min-samples", "5"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::vector<std::string> lines =
      absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_GE(lines.size(), 6u) << r.out;
  EXPECT_EQ(lines[0],
            "device rpi4, network twin: 1 unit cannot be predicted yet; "
            "measuring them in sweep 9");
  EXPECT_THAT(lines[1], HasSubstr("100/2241"));
  EXPECT_EQ(lines[3], "sweep 9 done: 2241 of 2241 measured, 0 failed in 1m30s");
  EXPECT_THAT(lines[4], StartsWith("device rpi4, network twin: 5.95 ms "
                                   "predicted"));
  EXPECT_THAT(r.out, EndsWith("head                 measured           "
                              "0.035     32\n"));
  const std::vector<hakd::v1::PredictNetworkRequest> sent =
      fake.PredictRequests();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_TRUE(sent[0].measure_missing());
  EXPECT_EQ(sent[0].settings().min_samples(), 5);
  EXPECT_FALSE(sent[1].measure_missing());
  EXPECT_EQ(sent[1].network().name(), "twin");
}

TEST_F(RunTest, PredictMeasureMissingJsonAndNoWait) {
  testing::FakeCoordinator& fake = server_.service();
  hakd::v1::PredictNetworkResponse first = MakePrediction(false);
  first.set_measuring_sweep_id(9);
  fake.predictions = {first, MakePrediction(true)};
  fake.watch_updates = {MakeSweep(hakd::v1::Sweep::STATE_DONE, 2241)};
  const std::string spec = WriteFile("twin.json", kTwinSpec);
  // --json: one document on stdout, the progress on stderr.
  Result r = Run({"--json", "latency", "predict", "--device", "rpi4", "--spec",
                  spec, "--measure-missing"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("\"complete\":true"));
  EXPECT_THAT(r.err, HasSubstr("measuring them in sweep 9\n"));
  EXPECT_THAT(r.err, HasSubstr("sweep 9 done:"));

  // --no-wait: the incomplete prediction, exit 1 saying how to follow up.
  fake.predictions = {first};
  r = Run({"latency", "predict", "--device", "rpi4", "--spec", spec,
           "--measure-missing", "--no-wait"});
  ExpectFailure(r, 1,
                "prediction incomplete: 1 unit being measured in sweep 9; run "
                "'hakdctl sweep watch 9', then predict again");
  EXPECT_THAT(r.out, HasSubstr(": incomplete"));
  EXPECT_EQ(fake.PredictRequests().size(), 3u);

  ExpectFailure(Run({"latency", "predict", "--device", "rpi4", "--spec", spec,
                     "--no-wait"}),
                2, "--no-wait applies only with --measure-missing");
}

TEST_F(RunTest, PredictBadSpecFileIsAUsageErrorNamingTheFile) {
  server_.service().predictions = {MakePrediction(true)};
  const std::string bad = WriteFile(
      "bad.json", R"({"name": "bad", "input": {"channels": 3, "height": 32,
      "width": 32}, "num_classes": 10, "stem": {"out_channels": 16},
      "stages": [{"blocks": [{"residual": {"out_channels": 16,
      "cheap": {"type": "TYPE_GROUPED", "groups": 3}}}]}]})");
  Result r = Run({"latency", "predict", "--device", "rpi4", "--spec", bad});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_THAT(r.err, StartsWith("hakdctl: " + bad + ": "));
  EXPECT_THAT(r.err, HasSubstr("groups"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  EXPECT_TRUE(server_.service().PredictRequests().empty());

  const std::string missing = dir_ + "/missing.json";
  r = Run({"latency", "predict", "--device", "rpi4", "--spec", missing});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_THAT(r.err, StartsWith("hakdctl: " + missing + ": cannot open"));

  const std::string junk = WriteFile("junk.json", "{not json");
  r = Run({"sweep", "start", "--device", "rpi4", "--units-of", junk});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_THAT(r.err, StartsWith("hakdctl: " + junk + ": "));
}

TEST_F(RunTest, FitOverheadPrintsTheModel) {
  testing::FakeCoordinator& fake = server_.service();
  hakd::v1::OverheadModel& m = fake.overhead;
  m.set_device_id(3);
  m.set_scale(1.02);
  m.set_intercept_us(350);
  m.set_per_unit_us(4.21);
  m.set_networks(5);
  m.set_skipped_networks(1);
  m.set_fit_median_abs_err_pct(2.14);
  m.set_fit_max_abs_err_pct(5.3);
  m.add_sweep_ids(10);
  m.add_sweep_ids(11);
  Result r = Run({"latency", "fit-overhead", "--device", "rpi4", "--sweep",
                  "10", "--sweep", "11"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "measured = scale * sum(units) + intercept + per unit * units\n"
            "device:           rpi4 (id 3)\n"
            "networks fitted:  5 (1 skipped: not every unit predictable)\n"
            "sweeps:           10, 11\n"
            "scale:            1.0200\n"
            "intercept:        350 us\n"
            "per unit:         4.21 us\n"
            "median abs error: 2.1%\n"
            "max abs error:    5.3%\n"
            "fitted:           -\n");
  const hakd::v1::FitOverheadRequest sent = fake.LastFitOverhead();
  EXPECT_EQ(sent.device(), "rpi4");
  EXPECT_THAT(sent.sweep_ids(), ::testing::ElementsAre(10, 11));

  r = Run({"--json", "latency", "fit-overhead", "--device", "rpi4", "--sweep",
           "10"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"intercept_us\":350"));

  ExpectFailure(
      Run({"latency", "fit-overhead", "--device", "rpi4", "--sweep", "x"}), 2,
      "--sweep: expected a sweep ID (a whole number >= 1), got 'x'");
  ExpectFailure(Run({"latency", "fit-overhead", "--device", "rpi4"}), 2,
                "--sweep is required for 'latency fit-overhead'");
  fake.fit_overhead_status =
      grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                   "sweeps 10 hold no end-to-end network results");
  ExpectFailure(
      Run({"latency", "fit-overhead", "--device", "rpi4", "--sweep", "10"}), 1,
      "FAILED_PRECONDITION: sweeps 10 hold no end-to-end network results");
}

TEST_F(RunTest, SweepStartTimesNetworksAndTheirUnits) {
  testing::FakeCoordinator& fake = server_.service();
  const std::string spec = WriteFile("twin.json", kTwinSpec);
  Result r = Run({"sweep", "start", "--device", "rpi4", "--network", spec,
                  "--units-of", spec, "--label", "calibration"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "sweep 9 started on device rpi4: 2241 units\n");
  hakd::v1::StartSweepRequest sent = fake.LastStart();
  EXPECT_EQ(sent.device(), "rpi4");
  EXPECT_EQ(sent.preset(), "");
  EXPECT_EQ(sent.families_size(), 0);
  EXPECT_EQ(sent.label(), "calibration");
  // The network end to end, then stem, the two distinct blocks (the second
  // equals the first) and head.
  ASSERT_EQ(sent.units_size(), 5);
  EXPECT_TRUE(sent.units(0).has_network());
  EXPECT_EQ(sent.units(0).network().name(), "twin");
  EXPECT_TRUE(sent.units(1).block().has_stem());
  EXPECT_EQ(sent.units(2).block().block().residual().out_channels(), 16);
  EXPECT_EQ(sent.units(3).block().block().residual().out_channels(), 32);
  EXPECT_EQ(sent.units(3).block().input().channels(), 16);
  EXPECT_TRUE(sent.units(4).block().has_head());
  EXPECT_EQ(sent.units(4).block().num_classes(), 10);

  r = Run({"sweep", "start", "--device", "rpi4", "--network", spec, "--network",
           spec});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(fake.LastStart().units_size(), 1);
  EXPECT_EQ(fake.LastStart().label(), "");

  ExpectFailure(Run({"sweep", "start", "--device", "rpi4", "--network", spec,
                     "--preset", "quick"}),
                2,
                "--network and --preset exclude each other (time units or "
                "layers, not both)");
  ExpectFailure(Run({"sweep", "start", "--device", "rpi4", "--units-of", spec,
                     "--family", "linear:c=8"}),
                2,
                "--units-of and --family exclude each other (time units or "
                "layers, not both)");
}

// ---- training ----

hakd::v1::TrainingTask MakeTask(hakd::v1::TaskState state, int finished) {
  hakd::v1::TrainingTask t;
  t.set_task_id(7);
  t.mutable_spec()->set_dataset("cifar10");
  t.mutable_spec()->mutable_network()->set_name("twin");
  t.mutable_spec()->mutable_schedule()->set_epochs(3);
  t.set_state(state);
  t.set_attempts(state == hakd::v1::TASK_QUEUED ? 0 : 1);
  t.set_max_attempts(3);
  if (state != hakd::v1::TASK_QUEUED) t.set_worker("gpu-box");
  t.set_created_unix_ms(kNow - 120'000);
  if (state != hakd::v1::TASK_QUEUED) t.set_started_unix_ms(kNow - 100'000);
  for (int e = 1; e <= finished; ++e) {
    hakd::v1::EpochMetrics* m = t.add_history();
    m->set_epoch(e);
    m->set_test_accuracy(0.5 + 0.1 * e - (e == 3 ? 0.15 : 0));
    m->set_train_loss(1.0 / e);
  }
  if (state == hakd::v1::TASK_RUNNING) {
    hakd::v1::TrainingProgress* p = t.mutable_progress();
    p->set_epoch(finished + 1);
    p->set_epochs(3);
    p->set_step(10);
    p->set_steps_per_epoch(100);
    p->set_loss(0.5);
    p->set_train_accuracy(0.8);
    p->set_images_per_second(2000);
    p->set_phase("train");
  }
  if (state == hakd::v1::TASK_SUCCEEDED) {
    t.set_model_artifact_id("art-feed-1");
    t.set_finished_unix_ms(kNow);
  }
  if (state == hakd::v1::TASK_FAILED || state == hakd::v1::TASK_CANCELLED) {
    t.set_finished_unix_ms(kNow);
  }
  return t;
}

TEST_F(RunTest, TrainSubmitSendsTheRequest) {
  testing::FakeTraining& fake = server_.training();
  fake.task = MakeTask(hakd::v1::TASK_QUEUED, 0);
  const std::string spec = WriteFile("twin.json", kTwinSpec);
  Result r = Run({"train", "submit", "--network", spec, "--dataset", "cifar10",
                  "--epochs", "3", "--teacher", "art-ab-1", "--no-attention",
                  "--name", "kd", "--max-attempts", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "task 7 queued: student twin on cifar10, 3 epochs, teacher "
            "art-ab-1\n");
  const hakd::v1::SubmitTrainingRequest sent = fake.LastSubmit();
  EXPECT_EQ(sent.spec().network().name(), "twin");
  EXPECT_EQ(sent.spec().name(), "kd");
  EXPECT_EQ(sent.spec().schedule().epochs(), 3);
  EXPECT_EQ(sent.spec().distillation().teacher_artifact_id(), "art-ab-1");
  EXPECT_EQ(sent.spec().distillation().beta(), -1);
  EXPECT_EQ(sent.max_attempts(), 2);

  r = Run({"--json", "train", "submit", "--network", spec, "--dataset",
           "fashion-mnist"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("{\"task_id\":\"7\""));
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1);

  ExpectFailure(Run({"train", "submit", "--network", spec, "--dataset",
                     "cifar10", "--epochs", "0"}),
                2,
                "--epochs: expected a whole number >= 1 that fits 32 bits, "
                "got '0'");
  fake.submit_status = grpc::Status(grpc::StatusCode::NOT_FOUND,
                                    "no artifact 'art-zz-1'");
  ExpectFailure(Run({"train", "submit", "--network", spec, "--dataset",
                     "cifar10", "--teacher", "art-zz-1"}),
                5, "no artifact 'art-zz-1'");
  fake.submit_status = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                    "spec.schedule.epochs: at most 1000");
  ExpectFailure(Run({"train", "submit", "--network", spec, "--dataset",
                     "cifar10"}),
                1, "INVALID_ARGUMENT: spec.schedule.epochs: at most 1000");
}

TEST_F(RunTest, TrainSubmitWatchFollowsToSuccess) {
  testing::FakeTraining& fake = server_.training();
  fake.task = MakeTask(hakd::v1::TASK_QUEUED, 0);
  fake.watch_updates = {MakeTask(hakd::v1::TASK_QUEUED, 0),
                        MakeTask(hakd::v1::TASK_RUNNING, 0),
                        MakeTask(hakd::v1::TASK_RUNNING, 1),
                        MakeTask(hakd::v1::TASK_RUNNING, 2),
                        MakeTask(hakd::v1::TASK_SUCCEEDED, 3)};
  const std::string spec = WriteFile("twin.json", kTwinSpec);
  const Result r = Run({"train", "submit", "--network", spec, "--dataset",
                        "cifar10", "--epochs", "3", "--watch"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_THAT(r.out, StartsWith("task 7 queued: teacher twin on cifar10, 3 "
                                "epochs\n[....................] queued\n"));
  EXPECT_THAT(r.out, HasSubstr("epoch 2/3 step 10/100  loss 0.5000  acc "
                               "80.0%  2000 img/s  test acc 60.00% (epoch 1)"
                               "  on gpu-box\n"));
  EXPECT_THAT(r.out, EndsWith("task 7 succeeded after 3 of 3 epochs in "
                              "1m40s\n"
                              "  final test accuracy: 65.00%\n"
                              "  best test accuracy:  70.00% (epoch 2)\n"
                              "  model artifact:      art-feed-1\n"));
}

TEST_F(RunTest, TasksWatchFailureCancelAndJson) {
  testing::FakeTraining& fake = server_.training();
  fake.task = MakeTask(hakd::v1::TASK_RUNNING, 1);
  hakd::v1::TrainingTask failed = MakeTask(hakd::v1::TASK_FAILED, 1);
  failed.set_error("worker gpu-box: CUDA out of memory");
  fake.watch_updates = {MakeTask(hakd::v1::TASK_RUNNING, 1), failed};
  Result r = Run({"tasks", "watch", "7"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "hakdctl: task 7 failed: worker gpu-box: CUDA out of memory\n");
  EXPECT_THAT(r.out, HasSubstr("task 7 failed after 1 of 3 epochs"));

  fake.watch_updates = {MakeTask(hakd::v1::TASK_RUNNING, 1),
                        MakeTask(hakd::v1::TASK_CANCELLED, 1)};
  ExpectFailure(Run({"tasks", "watch", "7"}), 1, "task 7 was cancelled");

  fake.watch_updates = {MakeTask(hakd::v1::TASK_RUNNING, 1),
                        MakeTask(hakd::v1::TASK_RUNNING, 2),
                        MakeTask(hakd::v1::TASK_SUCCEEDED, 3)};
  r = Run({"tasks", "watch", "7", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::vector<std::string> lines =
      absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u);
  for (const std::string& line : lines) {
    EXPECT_THAT(line, StartsWith("{\"task_id\":\"7\""));
  }

  // A terminal gets one redrawn line, then the final lines.
  r = Run({"tasks", "watch", "7"}, /*terminal=*/true);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("\r[#######"));
  EXPECT_THAT(r.out, HasSubstr("\x1b[K\ntask 7 succeeded"));

  fake.watch_updates = {MakeTask(hakd::v1::TASK_RUNNING, 1)};
  ExpectFailure(Run({"tasks", "watch", "7"}), 1,
                "the coordinator ended the watch of task 7 before the task "
                "finished; run 'hakdctl tasks watch 7' again");
  ExpectFailure(Run({"tasks", "watch", "8"}), 5, "no training task 8");
  ExpectFailure(Run({"tasks", "watch", "x"}), 2,
                "expected a task ID (a whole number >= 1), got 'x'");
}

TEST_F(RunTest, TasksListShowCancelAndWorkers) {
  testing::FakeTraining& fake = server_.training();
  ExpectFailure(Run({"tasks", "list", "--state", "done"}), 2,
                "--state: unknown state 'done' (queued, running, succeeded, "
                "failed, cancelled)");
  Result r = Run({"tasks", "list"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "no training tasks\n");
  fake.tasks = {MakeTask(hakd::v1::TASK_RUNNING, 1),
                MakeTask(hakd::v1::TASK_SUCCEEDED, 3)};
  fake.tasks[1].set_task_id(6);
  r = Run({"tasks", "list", "--state", "running", "--limit", "5"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(fake.LastList().state(), hakd::v1::TASK_RUNNING);
  EXPECT_EQ(fake.LastList().limit(), 5);
  EXPECT_EQ(r.out,
            "ID  NAME  KIND     DATASET  STATE      EPOCH  TEST ACC  WORKER   "
            "ATTEMPTS  AGE\n"
            " 7  twin  teacher  cifar10  running      2/3    60.00%  gpu-box  "
            "     1/3  2m ago\n"
            " 6  twin  teacher  cifar10  succeeded    3/3    65.00%  gpu-box  "
            "     1/3  2m ago\n");

  fake.task = MakeTask(hakd::v1::TASK_SUCCEEDED, 3);
  r = Run({"tasks", "show", "7"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("model artifact:      art-feed-1\n"));
  EXPECT_THAT(r.out, HasSubstr("history:\nEPOCH  TRAIN LOSS"));
  ExpectFailure(Run({"tasks", "show", "9"}), 5, "no training task 9");

  r = Run({"tasks", "cancel", "7"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "task 7 is cancelled after 3 of 3 epochs\n");

  r = Run({"workers", "list"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "no workers\n");
  hakd::v1::WorkerInfo w;
  w.set_name("gpu-box");
  w.mutable_capabilities()->set_device("cuda:0");
  w.mutable_capabilities()->set_device_name("H100");
  w.mutable_capabilities()->set_memory_bytes(1LL << 30);
  w.set_online(true);
  w.set_current_task_id(7);
  w.set_last_seen_unix_ms(kNow - 1000);
  fake.workers = {w};
  r = Run({"workers", "list"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "NAME     DEVICE  DEVICE NAME   MEMORY  ONLINE  TASK  LAST SEEN\n"
            "gpu-box  cuda:0  H100         1.0 GiB  yes        7  1s ago\n");
  r = Run({"workers", "list", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("{\"workers\":[{\"name\":\"gpu-box\""));
}

TEST_F(RunTest, ArtifactGetRefusesCorruptDownloads) {
  testing::FakeTraining& fake = server_.training();
  fake.artifact_data = "model weights, 31 bytes of them";
  fake.artifact.set_artifact_id("art-5eed-1");
  fake.artifact.set_kind("model");
  fake.artifact.set_size_bytes(31);
  fake.artifact.set_sha256(std::string(64, 'a'));  // not the data's digest
  const std::string out = dir_ + "/model.hakd";

  // A wrong digest: refused, and no file (nor temporary file) is left.
  Result r = Run({"artifact", "get", "art-5eed-1", "-o", out});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "hakdctl: artifact art-5eed-1: SHA-256 " +
                       Sha256Hex(fake.artifact_data) +
                       " of the received data differs from the expected " +
                       std::string(64, 'a') + "\n");
  EXPECT_THAT(FilesIn(dir_), ::testing::UnorderedElementsAre("token"));

  // The right digest but a size off by one either way.
  fake.artifact.set_sha256(Sha256Hex(fake.artifact_data));
  fake.artifact.set_size_bytes(30);
  r = Run({"artifact", "get", "art-5eed-1", "-o", out});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "hakdctl: artifact art-5eed-1: received more than the expected "
            "30 bytes\n");
  fake.artifact.set_size_bytes(32);
  r = Run({"artifact", "get", "art-5eed-1", "-o", out});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "hakdctl: artifact art-5eed-1: received 31 bytes, expected 32\n");
  EXPECT_THAT(FilesIn(dir_), ::testing::UnorderedElementsAre("token"));

  fake.artifact.set_size_bytes(31);
  r = Run({"artifact", "get", "art-5eed-1", "-o", out});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(ReadFile(out), fake.artifact_data);
}

TEST_F(RunTest, ArtifactGetSavesTheFile) {
  testing::FakeTraining& fake = server_.training();
  fake.artifact_data = "abc";
  fake.artifact.set_artifact_id("art-ba78-1");
  fake.artifact.set_kind("model");
  fake.artifact.set_size_bytes(3);
  fake.artifact.set_sha256(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  fake.artifact_chunk_size = 2;
  const std::string out = dir_ + "/model.hakd";
  Result r = Run({"artifact", "get", "art-ba78-1", "--output", out});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "saved art-ba78-1 (3 bytes, sha256 "
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad) "
            "to " + out + "\n");
  EXPECT_EQ(ReadFile(out), "abc");

  // Default name ./ID.hakd in the working directory.
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
  ASSERT_EQ(chdir(dir_.c_str()), 0);
  r = Run({"artifact", "get", "art-ba78-1"});
  ASSERT_EQ(chdir(cwd), 0);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, EndsWith(") to art-ba78-1.hakd\n"));
  EXPECT_EQ(ReadFile(dir_ + "/art-ba78-1.hakd"), "abc");

  ExpectFailure(Run({"artifact", "get", "art-nope-1", "-o", out}), 5,
                "no artifact 'art-nope-1'");
  ExpectFailure(Run({"artifact", "get", "../x"}), 2,
                "artifact ID '../x' is no file name; name one with -o");
}

}  // namespace
}  // namespace hakd::cli
