// CSV export rows: header, RFC 4180 quoting, exact numbers.
#include "cli/csv.h"

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace hakd::cli {
namespace {

// A strict RFC 4180 reader of one record (without its line end), so the test
// checks what a real CSV reader would see rather than the writer's own idea.
std::vector<std::string> ReadRecord(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      EXPECT_TRUE(fields.back().empty()) << "quote inside an unquoted field";
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  EXPECT_FALSE(quoted) << "unterminated quote";
  return fields;
}

hakd::v1::Measurement Sample() {
  hakd::v1::Measurement m;
  m.set_id(17);
  m.set_device_id(3);
  hakd::v1::LayerSpec* l = m.mutable_layer();
  l->set_kind(hakd::v1::LAYER_KIND_CONV2D);
  l->set_batch(1);
  l->set_in_channels(32);
  l->set_out_channels(64);
  l->set_height(28);
  l->set_width(28);
  l->set_kernel(3);
  l->set_stride(1);
  l->set_padding(1);
  l->set_groups(1);
  m.set_backend("cpu");
  m.set_threads(4);
  m.set_median_us(123.456789);
  m.set_p10_us(0.1);
  m.set_p90_us(200);
  m.set_mean_us(130.5);
  m.set_stddev_us(1e-7);
  m.set_samples(15);
  m.set_runs_per_sample(8);
  m.set_measured_unix_ms(1700000000123);
  m.set_received_unix_ms(1700000000456);
  m.set_run_id("sweep-5, \"try 2\"\nsecond line");
  m.set_sweep_id(5);
  m.set_item_index(99);
  m.set_cv(0.25);
  m.set_unstable(true);
  m.set_attempts(3);
  m.set_interop_threads(1);
  m.mutable_state()->set_frequency_governor("performance");
  m.mutable_state()->set_frequency_khz(2400000);
  m.mutable_state()->set_temperature_c(61.5);
  m.mutable_state()->set_load_average_1m(0.75);
  return m;
}

TEST(CsvTest, QuotesOnlyWhenNeeded) {
  EXPECT_EQ(CsvField("plain"), "plain");
  EXPECT_EQ(CsvField(""), "");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(CsvField("cr\r"), "\"cr\r\"");
}

TEST(CsvTest, HeaderNamesEveryColumnInOrder) {
  const std::string header = MeasurementCsvHeader();
  ASSERT_EQ(header.back(), '\n');
  const std::vector<std::string> names =
      absl::StrSplit(header.substr(0, header.size() - 1), ',');
  const std::vector<std::string> expected = {"id",
                                             "device_id",
                                             "kind",
                                             "batch",
                                             "in_channels",
                                             "out_channels",
                                             "height",
                                             "width",
                                             "kernel",
                                             "stride",
                                             "padding",
                                             "groups",
                                             "dtype",
                                             "backend",
                                             "threads",
                                             "median_us",
                                             "p10_us",
                                             "p90_us",
                                             "mean_us",
                                             "stddev_us",
                                             "samples",
                                             "runs_per_sample",
                                             "measured_unix_ms",
                                             "received_unix_ms",
                                             "run_id",
                                             "sweep_id",
                                             "item_index",
                                             "cv",
                                             "unstable",
                                             "attempts",
                                             "interop_threads",
                                             "governor",
                                             "frequency_khz",
                                             "temperature_c",
                                             "load_1m",
                                             "emulated"};
  EXPECT_EQ(names, expected);
}

TEST(CsvTest, RowReadsBackFieldByField) {
  const std::string row = MeasurementCsvRow(Sample(), /*emulated=*/true);
  ASSERT_EQ(row.back(), '\n');
  const std::vector<std::string> f = ReadRecord(row.substr(0, row.size() - 1));
  ASSERT_EQ(f.size(), 36u);
  EXPECT_EQ(f[0], "17");
  EXPECT_EQ(f[1], "3");
  EXPECT_EQ(f[2], "conv2d");
  EXPECT_EQ(f[4], "32");
  EXPECT_EQ(f[5], "64");
  EXPECT_EQ(f[11], "1");
  EXPECT_EQ(f[12], "float32");  // UNSPECIFIED reads as float32
  EXPECT_EQ(f[13], "cpu");
  EXPECT_EQ(f[15], "123.456789");
  EXPECT_EQ(f[16], "0.1");
  EXPECT_EQ(f[17], "200");
  EXPECT_EQ(f[19], "1e-07");
  EXPECT_EQ(f[22], "1700000000123");
  EXPECT_EQ(f[24], "sweep-5, \"try 2\"\nsecond line");
  EXPECT_EQ(f[25], "5");
  EXPECT_EQ(f[26], "99");
  EXPECT_EQ(f[27], "0.25");
  EXPECT_EQ(f[28], "1");
  EXPECT_EQ(f[29], "3");
  EXPECT_EQ(f[31], "performance");
  EXPECT_EQ(f[32], "2400000");
  EXPECT_EQ(f[33], "61.5");
  EXPECT_EQ(f[34], "0.75");
  EXPECT_EQ(f[35], "1");
  const std::string real = MeasurementCsvRow(Sample(), /*emulated=*/false);
  EXPECT_EQ(real, absl::StrCat(row.substr(0, row.size() - 2), "0\n"));
}

TEST(CsvTest, ShortestDoubleRoundTrips) {
  for (double v :
       {0.0, 1.0, 0.1, 123.456789, 1.0 / 3.0, 6.02214076e23, 5e-324}) {
    double back = -1;
    ASSERT_TRUE(absl::SimpleAtod(ShortestDouble(v), &back))
        << ShortestDouble(v);
    EXPECT_EQ(back, v) << ShortestDouble(v);
  }
  EXPECT_EQ(ShortestDouble(2.5), "2.5");
}

TEST(CsvTest, DTypeNames) {
  EXPECT_EQ(DTypeName(hakd::v1::DTYPE_FLOAT16), "float16");
  EXPECT_EQ(DTypeName(hakd::v1::DTYPE_BFLOAT16), "bfloat16");
  EXPECT_EQ(DTypeName(hakd::v1::DTYPE_UNSPECIFIED), "float32");
}

}  // namespace
}  // namespace hakd::cli
