// Measurements as CSV (RFC 4180 quoting, '\n' line ends) for spreadsheets and
// pandas. Columns are fixed and named in a header row so that files from
// different versions stay comparable.
#ifndef HAKD_CLI_CSV_H_
#define HAKD_CLI_CSV_H_

#include <string>

#include "absl/strings/string_view.h"
#include "hakd/v1/types.pb.h"

namespace hakd::cli {

// `field` as a CSV field: unchanged, or in double quotes (inner quotes
// doubled) when it holds a comma, quote, CR or LF.
std::string CsvField(absl::string_view field);

// `value` in the shortest text that reads back to exactly the same double.
std::string ShortestDouble(double value);

// The header row, ending in '\n':
// id,device_id,kind,batch,...,temperature_c,load_1m,emulated. New columns are
// only ever appended, so readers that index columns keep working.
std::string MeasurementCsvHeader();

// One measurement as a row in header order, ending in '\n'. Kind and dtype
// are short names ("conv2d", "float32"); `emulated` (whether the device's
// agent runs under a CPU emulator, which the measurement itself does not say)
// is the last column, 1 or 0.
std::string MeasurementCsvRow(const hakd::v1::Measurement& m,
                              bool emulated);

// Short name of a dtype: "float32" (also for UNSPECIFIED, which the protocol
// reads as float32), "float16", "bfloat16".
absl::string_view DTypeName(hakd::v1::DType dtype);

}  // namespace hakd::cli

#endif  // HAKD_CLI_CSV_H_
