#include "server/auth.h"

#include "gtest/gtest.h"

namespace hakd {
namespace {

constexpr char kFile[] =
    "# farm tokens\n"
    "admin  admin-token-0123456789\n"
    "reader reader-token-0123456789   # dashboards\n"
    "\n"
    "agent\tagent-token-01234567890\n";

TEST(AuthTableTest, ParsesRolesCommentsAndBlankLines) {
  auto t = AuthTable::Parse(kFile, "auth.txt");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->size(), 3u);
  EXPECT_EQ(t->RoleOf("admin-token-0123456789"), Role::kAdmin);
  EXPECT_EQ(t->RoleOf("reader-token-0123456789"), Role::kReader);
  EXPECT_EQ(t->RoleOf("agent-token-01234567890"), Role::kAgent);
  EXPECT_FALSE(t->RoleOf("agent-token-0123456789").has_value());
  EXPECT_FALSE(t->RoleOf("").has_value());
}

TEST(AuthTableTest, ErrorsNameFileAndLine) {
  auto t = AuthTable::Parse("admin admin-token-0123456789\nroot x-0123456789abcdef\n", "a.txt");
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("a.txt:2"), std::string::npos);
  EXPECT_NE(t.status().message().find("root"), std::string::npos);
  EXPECT_NE(AuthTable::Parse("admin short\n", "a").status().message().find("shorter"),
            std::string::npos);
  EXPECT_NE(AuthTable::Parse("admin a b\n", "a").status().message().find("ROLE TOKEN"),
            std::string::npos);
  EXPECT_NE(AuthTable::Parse("admin admin-token-0123456789\nreader admin-token-0123456789\n",
                             "a").status().message().find("twice"),
            std::string::npos);
  EXPECT_FALSE(AuthTable::Parse("# nothing\n", "a").ok());
  EXPECT_EQ(AuthTable::Load("/nonexistent/auth").status().code(),
            absl::StatusCode::kNotFound);
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
}

TEST(AuthTableTest, ParsesWorkerRole) {
  auto t = AuthTable::Parse("worker worker-token-0123456789\n", "auth.txt");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->RoleOf("worker-token-0123456789"), Role::kWorker);
  EXPECT_EQ(RoleName(Role::kWorker), "worker");
  auto bad = AuthTable::Parse("workers worker-token-0123456789\n", "auth.txt");
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
