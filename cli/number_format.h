// Human renderings of quantities in tables: latencies and byte sizes, with
// just enough digits to compare rows at a glance.
#ifndef HAKD_CLI_NUMBER_FORMAT_H_
#define HAKD_CLI_NUMBER_FORMAT_H_

#include <cstdint>
#include <string>

namespace hakd::cli {

// Microseconds with three significant digits or more: "0.812", "12.3",
// "456", "12345".
std::string FormatMicros(double us);

// Milliseconds from microseconds, as FormatMicros: "0.812", "12.3".
std::string FormatMillis(double us);

// A large count with a decimal suffix: "950", "41.2K", "3.2M", "1.5G".
std::string FormatCount(int64_t n);

// Bytes in binary units: "512 B", "3.8 GiB"; "-" for 0 (unknown).
std::string FormatBytes(int64_t bytes);

}  // namespace hakd::cli

#endif  // HAKD_CLI_NUMBER_FORMAT_H_
