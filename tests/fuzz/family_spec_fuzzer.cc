// Fuzzes hakdctl's --family syntax (cli/family_spec.h), e.g.
// "conv2d:k=3:c=8-256/8:res=32,16". An accepted family has a known kind and
// a channel range that runs forwards.
#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "cli/family_spec.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using hakd::fuzz::Require;
  absl::StatusOr<hakd::v1::SweepFamily> family =
      hakd::cli::ParseFamilySpec(hakd::fuzz::AsText(data, size));
  if (!family.ok()) return 0;
  Require(family->kind() != hakd::v1::LAYER_KIND_UNSPECIFIED,
          "accepted family has no kind");
  Require(family->channels().start() >= 1 &&
              family->channels().stop() >= family->channels().start() &&
              family->channels().step() >= 1,
          "accepted family has a bad channel range");
  return 0;
}
