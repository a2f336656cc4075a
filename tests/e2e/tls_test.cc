// End-to-end: TLS between hakdctl/hakd-agent and hakd-server, and the rule
// that plaintext is accepted only on loopback.
#include <signal.h>

#include <cstdlib>
#include <fstream>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/e2e/farm.h"

namespace hakd::testing {
namespace {

TEST(TlsTest, PlaintextOnANonLoopbackAddressIsRefusedUnlessAllowed) {
  Farm farm;
  CommandResult r = RunCommand({HAKD_SERVER_BIN, "--listen", "0.0.0.0:0", "--db",
                                farm.db_path(), "--auth-file", farm.dir() + "/auth.txt"},
                               farm.dir() + "/open", 20000);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not loopback"), std::string::npos) << r.err;
  // The client side refuses to send a token in clear to a remote address.
  CommandResult c = RunCommand({HAKD_CTL_BIN, "--server", "192.0.2.1:50051", "--token-file",
                                farm.TokenFile("admin"), "devices", "list"},
                               farm.dir() + "/remote", 20000);
  EXPECT_EQ(c.exit_code, 2) << c.err;
  EXPECT_NE(c.err.find("--tls-ca"), std::string::npos) << c.err;
}

TEST(TlsTest, CliAndAgentTalkToTheCoordinatorOverTls) {
  if (std::system("command -v openssl >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "openssl command not installed";
  }
  Farm farm;
  const std::string key = farm.dir() + "/server.key", cert = farm.dir() + "/server.pem";
  const std::string make_cert =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost "
      "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " + key +
      " -out " + cert + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(make_cert.c_str()), 0);
  ASSERT_TRUE(farm.StartServer(0, {"--tls-cert", cert, "--tls-key", key}))
      << farm.server().Stderr();
  ASSERT_TRUE(farm.StartAgent("tls-board", {"--tls-ca", cert}));
  auto list = [&] {
    return RunCommand({HAKD_CTL_BIN, "--server", farm.address(), "--tls-ca", cert,
                       "--token-file", farm.TokenFile("reader"), "devices", "list"},
                      farm.dir() + "/list", 20000);
  };
  EXPECT_TRUE(Farm::WaitFor([&] { return list().out.find("online") != std::string::npos; },
                            30000))
      << farm.agent().Stderr() << list().err;
  // Without the CA the handshake fails: the coordinator is unreachable.
  CommandResult plain = farm.Ctl({"devices", "list"}, "reader");
  EXPECT_EQ(plain.exit_code, 3) << plain.err;
  farm.agent().Signal(SIGTERM);
  EXPECT_EQ(farm.agent().Wait(20000), 0);
}

// Mutual TLS: an agent known only by its client certificate (no token)
// registers as the device its certificate's auth line binds; a certificate
// the auth file does not name, or one from another CA, gets nothing in.
TEST(TlsTest, AgentAuthenticatesWithAClientCertificate) {
  if (std::system("command -v openssl >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "openssl command not installed";
  }
  Farm farm;
  const std::string ca = farm.dir() + "/ca", other = farm.dir() + "/other-ca";
  ASSERT_EQ(std::system(("bash " HAKD_MAKE_TEST_CA " " + ca +
                         " board-cert stranger >/dev/null").c_str()),
            0);
  ASSERT_EQ(std::system(("bash " HAKD_MAKE_TEST_CA " " + other +
                         " board-cert >/dev/null").c_str()),
            0);
  std::ofstream(farm.dir() + "/auth.txt", std::ios::app)
      << "agent cert:board-cert device=cert-board\n";
  ASSERT_TRUE(farm.StartServer(0, {"--tls-cert", ca + "/server.pem", "--tls-key",
                                   ca + "/server.key", "--tls-client-ca", ca + "/ca.pem"}))
      << farm.server().Stderr();
  auto cert_args = [&](const std::string& dir, const std::string& cn) {
    return std::vector<std::string>{"--token-file", "", "--tls-ca", ca + "/ca.pem",
                                    "--tls-cert", dir + "/" + cn + ".pem",
                                    "--tls-key", dir + "/" + cn + ".key"};
  };
  auto devices = [&] {
    return RunCommand({HAKD_CTL_BIN, "--server", farm.address(), "--tls-ca", ca + "/ca.pem",
                       "--token-file", farm.TokenFile("reader"), "devices", "list"},
                      farm.dir() + "/list", 20000);
  };
  // The auth line binds the certificate to "cert-board": another name is refused.
  ASSERT_TRUE(farm.StartAgent("not-cert-board", cert_args(ca, "board-cert")));
  EXPECT_TRUE(Farm::WaitFor(
      [&] { return farm.agent().Stderr().find("PERMISSION_DENIED") != std::string::npos ||
                   farm.agent().Stderr().find("bound to device") != std::string::npos; },
      20000))
      << farm.agent().Stderr();
  farm.agent().Signal(SIGKILL);
  farm.agent().Wait(10000);
  ASSERT_TRUE(farm.StartAgent("cert-board", cert_args(ca, "board-cert")));
  EXPECT_TRUE(Farm::WaitFor(
      [&] { return devices().out.find("cert-board") != std::string::npos; }, 30000))
      << farm.agent().Stderr() << devices().err;
  farm.agent().Signal(SIGTERM);
  EXPECT_EQ(farm.agent().Wait(20000), 0);
  // A certificate signed by the CA but absent from the auth file.
  ASSERT_TRUE(farm.StartAgent("stranger", cert_args(ca, "stranger")));
  EXPECT_TRUE(Farm::WaitFor(
      [&] { return farm.agent().Stderr().find("UNAUTHENTICATED") != std::string::npos ||
                   farm.agent().Stderr().find("no 'cert:' line") != std::string::npos; },
      20000))
      << farm.agent().Stderr();
  farm.agent().Signal(SIGKILL);
  farm.agent().Wait(10000);
  // Same name, other CA: the handshake fails, nothing registers.
  ASSERT_TRUE(farm.StartAgent("other-ca-board", cert_args(other, "board-cert")));
  absl::SleepFor(absl::Seconds(3));
  farm.agent().Signal(SIGKILL);
  farm.agent().Wait(10000);
  EXPECT_EQ(farm.SqlInt("SELECT count(*) FROM devices WHERE name IN "
                        "('not-cert-board', 'stranger', 'other-ca-board')"),
            0);
}

}  // namespace
}  // namespace hakd::testing
