// Helpers shared by the libFuzzer targets in this folder.
#ifndef HAKD_TESTS_FUZZ_FUZZ_UTIL_H_
#define HAKD_TESTS_FUZZ_FUZZ_UTIL_H_

#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/string_view.h"

namespace hakd::fuzz {

// The fuzz input as text.
inline absl::string_view AsText(const uint8_t* data, size_t size) {
  return absl::string_view(reinterpret_cast<const char*>(data), size);
}

// Parses protobuf binary into `message`; false when it does not parse, as
// the gRPC server would refuse such a request before any handler ran.
template <typename Message>
bool ParseProto(const uint8_t* data, size_t size, Message* message) {
  // protobuf logs every string that is not UTF-8; that is noise here.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  return message->ParseFromArray(data, static_cast<int>(size));
}

// Aborts (a crash libFuzzer reports) when an invariant of a parser fails.
inline void Require(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  std::abort();
}

}  // namespace hakd::fuzz

#endif  // HAKD_TESTS_FUZZ_FUZZ_UTIL_H_
