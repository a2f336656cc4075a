#include "agent/device_facts.h"

#include "gtest/gtest.h"

namespace hakd::agent {
namespace {

TEST(DeviceFactsTest, ReadsThisMachine) {
  CallerFacts caller;
  caller.threads = 3;
  caller.interop_threads = 2;
  caller.libtorch_version = "1.13.0";
  caller.compute_device = "cpu";
  const hakd::v1::DeviceFacts f = CollectDeviceFacts(caller);
  EXPECT_FALSE(f.arch().empty());
  EXPECT_FALSE(f.kernel().empty());
  EXPECT_FALSE(f.hostname().empty());
  EXPECT_GE(f.cpu_cores(), 1);
  EXPECT_GT(f.memory_bytes(), 0);
  EXPECT_EQ(f.threads(), 3);
  EXPECT_EQ(f.interop_threads(), 2);
  EXPECT_EQ(f.libtorch_version(), "1.13.0");
  EXPECT_EQ(f.compute_device(), "cpu");
  EXPECT_EQ(f.agent_version(), "0.1.0");
  EXPECT_TRUE(f.accelerator().empty());
  // The coordinator refuses longer strings.
  for (const std::string* s : {&f.hostname(), &f.cpu_model(), &f.os(),
                               &f.kernel(), &f.frequency_governor()}) {
    EXPECT_LE(s->size(), 256u);
  }
}

TEST(DeviceFactsTest, CpuModelFromX86AndArmCpuinfo) {
  EXPECT_EQ(CpuModelFromCpuinfo("processor\t: 0\nvendor_id\t: GenuineIntel\n"
                                "model name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n"
                                "processor\t: 1\nmodel name\t: other\n"),
            "Intel(R) Xeon(R) CPU @ 2.20GHz");
  EXPECT_EQ(CpuModelFromCpuinfo("processor\t: 0\nBogoMIPS\t: 38.40\n\n"
                                "Hardware\t: BCM2835\nRevision\t: c03111\n"
                                "Model\t\t: Raspberry Pi 4 Model B Rev 1.1\n"),
            "BCM2835");
  EXPECT_EQ(CpuModelFromCpuinfo("processor\t: 0\n"
                                "Model\t\t: Raspberry Pi 5 Model B Rev 1.0\n"),
            "Raspberry Pi 5 Model B Rev 1.0");
  EXPECT_EQ(CpuModelFromCpuinfo("processor\t: 0\nCPU part\t: 0xd08\n"), "");
}

TEST(DeviceFactsTest, PrettyNameFromOsRelease) {
  EXPECT_EQ(
      PrettyNameFromOsRelease("NAME=\"Debian GNU/Linux\"\n"
                              "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
                              "VERSION_ID=\"12\"\n"),
      "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(PrettyNameFromOsRelease("PRETTY_NAME=Alpine\n"), "Alpine");
  EXPECT_EQ(PrettyNameFromOsRelease("NAME=x\n"), "");
}

}  // namespace
}  // namespace hakd::agent

namespace hakd::agent {
namespace {

TEST(BlasLibraryTest, FindsTheMappedBlas) {
  const char* maps =
      "7f00-7f01 r-xp 00000000 08:01 1 /usr/lib/x86_64-linux-gnu/libgomp.so.1\n"
      "7f02-7f03 r-xp 00000000 08:01 2 /usr/lib/x86_64-linux-gnu/blas/libblas.so.3\n"
      "7f04-7f05 rw-p 00000000 00:00 0 [heap]\n";
  EXPECT_EQ(BlasLibraryFromMaps(maps), "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3");
  EXPECT_EQ(BlasLibraryFromMaps(
                "1-2 r-xp 0 0:0 3 /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3\n"),
            "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3");
  EXPECT_EQ(BlasLibraryFromMaps("1-2 r-xp 0 0:0 1 /usr/lib/libc.so.6\n"), "");
}

}  // namespace
}  // namespace hakd::agent

#include <sys/stat.h>

#include <fstream>

#include "agent/device_state.h"

namespace hakd::agent {
namespace {

void Put(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST(DeviceStateTest, ReadsGovernorFrequencyHottestZoneAndLoad) {
  char tmpl[] = "/tmp/hakd-state-XXXXXX";
  const std::string root = mkdtemp(tmpl);
  DeviceStatePaths paths;
  paths.cpufreq_dir = root + "/cpufreq";
  paths.thermal_dir = root + "/thermal";
  paths.loadavg = root + "/loadavg";
  mkdir(paths.cpufreq_dir.c_str(), 0755);
  mkdir(paths.thermal_dir.c_str(), 0755);
  mkdir((paths.thermal_dir + "/thermal_zone0").c_str(), 0755);
  mkdir((paths.thermal_dir + "/thermal_zone1").c_str(), 0755);
  mkdir((paths.thermal_dir + "/cooling_device0").c_str(), 0755);
  Put(paths.cpufreq_dir + "/scaling_governor", "ondemand\n");
  Put(paths.cpufreq_dir + "/scaling_cur_freq", "1500000\n");
  Put(paths.thermal_dir + "/thermal_zone0/temp", "48000\n");
  Put(paths.thermal_dir + "/thermal_zone1/temp", "63500\n");
  Put(paths.thermal_dir + "/cooling_device0/temp", "99000\n");  // not a zone
  Put(paths.loadavg, "0.42 0.30 0.20 1/123 4567\n");
  hakd::v1::DeviceState s = ReadDeviceState(paths);
  EXPECT_EQ(s.frequency_governor(), "ondemand");
  EXPECT_EQ(s.frequency_khz(), 1500000);
  EXPECT_DOUBLE_EQ(s.temperature_c(), 63.5);
  EXPECT_DOUBLE_EQ(s.load_average_1m(), 0.42);

  DeviceStatePaths missing;
  missing.cpufreq_dir = root + "/nope";
  missing.thermal_dir = root + "/nope";
  missing.loadavg = root + "/nope";
  s = ReadDeviceState(missing);
  EXPECT_EQ(s.frequency_governor(), "");
  EXPECT_EQ(s.frequency_khz(), 0);
  EXPECT_EQ(s.temperature_c(), 0);
}


// What qemu-aarch64-static on an x86 host shows an aarch64 program: uname
// says aarch64, /proc/cpuinfo is the host's.
constexpr char kX86Cpuinfo[] =
    "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\n"
    "model name\t: AMD EPYC 7B13\nflags\t\t: fpu vme de pse sse sse2 avx2\n";
constexpr char kArmCpuinfo[] =
    "processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32\n"
    "CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\n"
    "CPU part\t: 0xd08\n";

TEST(DetectEmulationTest, ArmMachineWithX86CpuinfoIsEmulated) {
  const EmulationVerdict v =
      DetectEmulation("aarch64", kX86Cpuinfo, "hakd-agent\n");
  EXPECT_TRUE(v.emulated);
  EXPECT_EQ(v.evidence,
            "uname machine aarch64 but /proc/cpuinfo describes an x86 CPU "
            "(vendor_id AuthenticAMD)");
}

TEST(DetectEmulationTest, QemuProcessNameIsEmulated) {
  // qemu started explicitly, with a newer qemu that fakes /proc/cpuinfo.
  const EmulationVerdict v =
      DetectEmulation("aarch64", kArmCpuinfo, "qemu-aarch64-st\n");
  EXPECT_TRUE(v.emulated);
  EXPECT_EQ(v.evidence, "process name qemu-aarch64-st");
  // Both signals: both reasons.
  const EmulationVerdict both =
      DetectEmulation("aarch64", kX86Cpuinfo, "qemu-aarch64-st");
  EXPECT_TRUE(both.emulated);
  EXPECT_EQ(both.evidence,
            "uname machine aarch64 but /proc/cpuinfo describes an x86 CPU "
            "(vendor_id AuthenticAMD); process name qemu-aarch64-st");
}

TEST(DetectEmulationTest, X86FieldsWithoutVendorId) {
  const EmulationVerdict v = DetectEmulation(
      "aarch64", "processor\t: 0\ncpu family\t: 6\nflags\t\t: fpu sse\n",
      "hakd-agent");
  EXPECT_TRUE(v.emulated);
  EXPECT_EQ(v.evidence,
            "uname machine aarch64 but /proc/cpuinfo describes an x86 CPU "
            "(cpu family and flags fields)");
}

TEST(DetectEmulationTest, NativeMachinesAreNot) {
  for (const EmulationVerdict& v :
       {DetectEmulation("aarch64", kArmCpuinfo, "hakd-agent\n"),
        DetectEmulation("armv7l", kArmCpuinfo, "hakd-agent"),
        DetectEmulation("x86_64", kX86Cpuinfo, "hakd-agent\n"),
        DetectEmulation("i686", kX86Cpuinfo, "agent_unit_test")}) {
    EXPECT_FALSE(v.emulated);
    EXPECT_EQ(v.evidence, "");
  }
}

TEST(DetectEmulationTest, UnknownOrMissingTextsAreNotEvidence) {
  // Old arm boards have neither "CPU implementer" nor x86 fields; unreadable
  // files and unknown machines prove nothing either.
  EXPECT_FALSE(
      DetectEmulation("armv6l", "Processor\t: ARMv6\nHardware\t: BCM2835\n",
                      "hakd-agent")
          .emulated);
  EXPECT_FALSE(DetectEmulation("aarch64", "", "").emulated);
  EXPECT_FALSE(DetectEmulation("", kX86Cpuinfo, "").emulated);
  EXPECT_FALSE(DetectEmulation("s390x", kX86Cpuinfo, "").emulated);
  // x86 machine, arm cpuinfo: an x86 program emulated on an arm board.
  const EmulationVerdict v = DetectEmulation("x86_64", kArmCpuinfo, "");
  EXPECT_TRUE(v.emulated);
  EXPECT_EQ(v.evidence,
            "uname machine x86_64 but /proc/cpuinfo describes an arm CPU "
            "(CPU implementer 0x41)");
}

TEST(DetectEmulationTest, CollectedFactsCarryTheVerdict) {
  // Natively (the usual case) not emulated and no evidence; under qemu both.
  const hakd::v1::DeviceFacts f = CollectDeviceFacts(CallerFacts());
  EXPECT_EQ(f.emulated(), !f.emulation_evidence().empty());
}

}  // namespace
}  // namespace hakd::agent
