#include "common/flag_names.h"

#include <string>

#include "gtest/gtest.h"

namespace hakd {
namespace {

TEST(AbslFlagArgsTest, RewritesFlagNamesOnly) {
  std::string a0 = "prog", a1 = "--auth-file=a-b.txt", a2 = "--db", a3 = "x-y.db",
              a4 = "--", a5 = "--keep-me";
  char* argv[] = {a0.data(), a1.data(), a2.data(), a3.data(), a4.data(), a5.data()};
  AbslFlagArgs args(6, argv);
  ASSERT_EQ(args.argc(), 6);
  EXPECT_STREQ(args.argv()[1], "--auth_file=a-b.txt");
  EXPECT_STREQ(args.argv()[2], "--db");
  EXPECT_STREQ(args.argv()[3], "x-y.db");
  EXPECT_STREQ(args.argv()[5], "--keep-me");
  EXPECT_EQ(args.argv()[6], nullptr);
}

}  // namespace
}  // namespace hakd
