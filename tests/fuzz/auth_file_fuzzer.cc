// Fuzzes the coordinator's auth file (AuthTable::Parse: "ROLE TOKEN" lines,
// '#' comments). An accepted table holds at least one token.
#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "server/auth.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<hakd::AuthTable> table =
      hakd::AuthTable::Parse(hakd::fuzz::AsText(data, size), "auth.txt");
  if (!table.ok()) return 0;
  hakd::fuzz::Require(table->size() >= 1, "accepted table holds no token");
  (void)table->RoleOf(hakd::fuzz::AsText(data, size));
  return 0;
}
