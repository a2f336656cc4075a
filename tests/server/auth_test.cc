#include "server/auth.h"

#include "common/auth_token.h"
#include "common/sha256.h"
#include "gtest/gtest.h"

namespace hakd {
namespace {

constexpr char kAdminToken[] = "admin-token-0123456789";
constexpr char kReaderToken[] = "reader-token-0123456789";
constexpr char kAgentToken[] = "agent-token-01234567890";

std::string Digest(absl::string_view token) {
  return "sha256:" + Sha256Hex(token);
}

std::string File() {
  return "# farm tokens\n"
         "admin  " + Digest(kAdminToken) + "\n"
         "reader " + Digest(kReaderToken) + "   # dashboards\n"
         "\n"
         "agent\t" + Digest(kAgentToken) + " name=board-7 device=pi4-7\n"
         "worker cert:gpu-worker-1\n";
}

TEST(AuthTableTest, ParsesRolesCommentsAndBlankLines) {
  auto t = AuthTable::Parse(File(), "auth.txt");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->size(), 4u);
  EXPECT_EQ(t->RoleOf(kAdminToken), Role::kAdmin);
  EXPECT_EQ(t->RoleOf(kReaderToken), Role::kReader);
  EXPECT_EQ(t->RoleOf(kAgentToken), Role::kAgent);
  EXPECT_FALSE(t->RoleOf("agent-token-0123456789").has_value());
  EXPECT_FALSE(t->RoleOf("").has_value());
  // The digest itself is not a token.
  EXPECT_FALSE(t->RoleOf(Digest(kAdminToken)).has_value());
  EXPECT_FALSE(t->RoleOf(Sha256Hex(kAdminToken)).has_value());
}

TEST(AuthTableTest, IdentitiesAndDeviceBinding) {
  auto t = AuthTable::Parse(File(), "auth.txt");
  ASSERT_TRUE(t.ok()) << t.status();
  std::optional<Principal> agent = t->FindToken(kAgentToken);
  ASSERT_TRUE(agent.has_value());
  EXPECT_EQ(agent->identity, "board-7");
  EXPECT_EQ(agent->device, "pi4-7");
  std::optional<Principal> admin = t->FindToken(kAdminToken);
  ASSERT_TRUE(admin.has_value());
  // Default identity: the digest's first 12 hex digits.
  EXPECT_EQ(admin->identity, "token-" + Sha256Hex(kAdminToken).substr(0, 12));
  EXPECT_TRUE(admin->device.empty());
  std::optional<Principal> cert = t->FindCertificate("gpu-worker-1");
  ASSERT_TRUE(cert.has_value());
  EXPECT_EQ(cert->role, Role::kWorker);
  EXPECT_EQ(cert->identity, "gpu-worker-1");
  EXPECT_FALSE(t->FindCertificate("gpu-worker-2").has_value());
  // A token equal to a certificate name does not log in as it.
  EXPECT_FALSE(t->FindToken("gpu-worker-1").has_value());
}

TEST(AuthTableTest, ClearTokensAreRefused) {
  auto t = AuthTable::Parse("admin admin-token-0123456789\n", "a.txt");
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("a.txt:1"), std::string::npos);
  EXPECT_NE(t.status().message().find("not stored in clear"), std::string::npos);
  EXPECT_NE(t.status().message().find("hakdctl admin token create"), std::string::npos);
}

TEST(AuthTableTest, ErrorsNameFileAndLine) {
  const std::string good = "admin " + Digest(kAdminToken) + "\n";
  auto t = AuthTable::Parse(good + "root " + Digest("x-0123456789abcdef") + "\n", "a.txt");
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("a.txt:2"), std::string::npos);
  EXPECT_NE(t.status().message().find("root"), std::string::npos);
  auto message = [](const std::string& text) {
    return std::string(AuthTable::Parse(text, "a").status().message());
  };
  EXPECT_NE(message("admin sha256:abc\n").find("64 lowercase hex"), std::string::npos);
  EXPECT_NE(message("admin sha256:" + std::string(64, 'G') + "\n").find("64 lowercase hex"),
            std::string::npos);
  EXPECT_NE(message("admin\n").find("ROLE"), std::string::npos);
  EXPECT_NE(message(good + "reader " + Digest(kAdminToken) + "\n").find("twice"),
            std::string::npos);
  EXPECT_NE(message(good + "reader " + Digest(kReaderToken) + " name=" +
                    "token-" + Sha256Hex(kAdminToken).substr(0, 12) + "\n")
                .find("identity"),
            std::string::npos);
  EXPECT_NE(message("reader " + Digest(kReaderToken) + " device=pi\n").find("agents only"),
            std::string::npos);
  EXPECT_NE(message("agent " + Digest(kAgentToken) + " colour=red\n").find("unknown option"),
            std::string::npos);
  EXPECT_NE(message("agent " + Digest(kAgentToken) + " device=a/b\n").find("device="),
            std::string::npos);
  EXPECT_NE(message("worker cert:\n").find("common name"), std::string::npos);
  EXPECT_FALSE(AuthTable::Parse("# nothing\n", "a").ok());
  EXPECT_EQ(AuthTable::Load("/nonexistent/auth").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(AuthTokenTest, NewTokensAreLongUniqueAndMatchTheirLine) {
  absl::StatusOr<std::string> a = NewAuthToken();
  absl::StatusOr<std::string> b = NewAuthToken();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(a->size(), 5u + 64u);
  const std::string line = AuthFileLine("agent", *a, "pi-1", "pi4-1");
  EXPECT_EQ(line.find(*a), std::string::npos) << "the line must not hold the token";
  auto t = AuthTable::Parse(line + "\n", "line");
  ASSERT_TRUE(t.ok()) << t.status();
  std::optional<Principal> p = t->FindToken(*a);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->identity, "pi-1");
  EXPECT_EQ(p->device, "pi4-1");
  EXPECT_FALSE(t->FindToken(*b).has_value());
}

TEST(RoleAllowsTest, Matrix) {
  EXPECT_TRUE(RoleAllows(Role::kAgent, Permission::kConnectAgent));
  EXPECT_FALSE(RoleAllows(Role::kAgent, Permission::kRead));
  EXPECT_FALSE(RoleAllows(Role::kAgent, Permission::kControl));
  EXPECT_FALSE(RoleAllows(Role::kReader, Permission::kConnectAgent));
  EXPECT_TRUE(RoleAllows(Role::kReader, Permission::kRead));
  EXPECT_FALSE(RoleAllows(Role::kReader, Permission::kControl));
  EXPECT_TRUE(RoleAllows(Role::kAdmin, Permission::kConnectAgent));
  EXPECT_TRUE(RoleAllows(Role::kAdmin, Permission::kRead));
  EXPECT_TRUE(RoleAllows(Role::kAdmin, Permission::kControl));
  EXPECT_TRUE(RoleAllows(Role::kAdmin, Permission::kAdmin));
  EXPECT_FALSE(RoleAllows(Role::kReader, Permission::kAdmin));
  EXPECT_FALSE(RoleAllows(Role::kAgent, Permission::kAdmin));
  EXPECT_FALSE(RoleAllows(Role::kWorker, Permission::kAdmin));
}

TEST(AuthTableTest, ParsesWorkerRole) {
  auto t = AuthTable::Parse("worker " + Digest("worker-token-0123456789") + "\n", "auth.txt");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->RoleOf("worker-token-0123456789"), Role::kWorker);
  EXPECT_EQ(RoleName(Role::kWorker), "worker");
  auto bad = AuthTable::Parse("workers " + Digest("worker-token-0123456789") + "\n", "auth.txt");
  EXPECT_NE(bad.status().message().find("worker"), std::string::npos);
}

TEST(RoleAllowsTest, WorkerMayOnlyWork) {
  EXPECT_TRUE(RoleAllows(Role::kWorker, Permission::kWorker));
  EXPECT_FALSE(RoleAllows(Role::kWorker, Permission::kRead));
  EXPECT_FALSE(RoleAllows(Role::kWorker, Permission::kControl));
  EXPECT_FALSE(RoleAllows(Role::kWorker, Permission::kConnectAgent));
  EXPECT_FALSE(RoleAllows(Role::kAgent, Permission::kWorker));
  EXPECT_FALSE(RoleAllows(Role::kReader, Permission::kWorker));
  EXPECT_TRUE(RoleAllows(Role::kAdmin, Permission::kWorker));
}

}  // namespace
}  // namespace hakd
