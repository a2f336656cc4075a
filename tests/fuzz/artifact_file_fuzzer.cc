// Fuzzes the artifact file reader (DecodeArtifact, common/artifact_file.h).
// The SHA-256 at the end would stop the fuzzer at the checksum, so when the
// first byte is odd the rest is the file without its digest and the target
// appends the right one, reaching the header and specification parsing;
// when even, the rest is the file as is. A decoded artifact must encode and
// decode again to the same contents.
#include <google/protobuf/util/message_differencer.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/artifact_file.h"
#include "common/sha256.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using hakd::fuzz::Require;
  if (size == 0) return 0;
  std::string file(hakd::fuzz::AsText(data + 1, size - 1));
  if (data[0] % 2 == 1) {
    hakd::Sha256 digest;
    digest.Update(file);
    file += digest.FinishRaw();
  }
  absl::StatusOr<hakd::ArtifactContents> contents =
      hakd::DecodeArtifact(file, "fuzz.hakd");
  if (!contents.ok()) return 0;
  absl::StatusOr<hakd::ArtifactContents> again =
      hakd::DecodeArtifact(hakd::EncodeArtifact(*contents), "again.hakd");
  Require(again.ok(), "an encoded artifact does not decode");
  Require(again->kind == contents->kind && again->payload == contents->payload,
          "artifact round trip changed kind or payload");
  Require(google::protobuf::util::MessageDifferencer::Equals(again->spec,
                                                             contents->spec),
          "artifact round trip changed the spec");
  return 0;
}
