// Table rendering: column widths, alignment, no trailing blanks.
#include "cli/table.h"

#include "gtest/gtest.h"

namespace hakd::cli {
namespace {

TEST(TableTest, AlignsColumnsToTheWidestCell) {
  Table t({"ID", "NAME", "COUNT"});
  t.AlignRight(0);
  t.AlignRight(2);
  t.AddRow({"1", "rpi4", "12"});
  t.AddRow({"123", "x", "4567"});
  EXPECT_EQ(t.Render(),
            " ID  NAME  COUNT\n"
            "  1  rpi4     12\n"
            "123  x      4567\n");
  EXPECT_EQ(t.rows(), 2u);
}

TEST(TableTest, LastLeftColumnHasNoTrailingBlanks) {
  Table t({"A", "LONG-HEADER"});
  t.AddRow({"wide-cell", "x"});
  EXPECT_EQ(t.Render(),
            "A          LONG-HEADER\n"
            "wide-cell  x\n");
}

TEST(TableTest, ShortAndLongRowsAreFitted) {
  Table t({"A", "B"});
  t.AddRow({"only"});
  t.AddRow({"1", "2", "dropped"});
  EXPECT_EQ(t.Render(),
            "A     B\n"
            "only\n"
            "1     2\n");
}

TEST(TableTest, HeaderOnly) {
  Table t({"X", "Y"});
  EXPECT_EQ(t.Render(), "X  Y\n");
}

}  // namespace
}  // namespace hakd::cli
