// The artifact file: a network specification plus an opaque payload
// (LibTorch-serialised weights for a model; model, optimiser and progress
// for a checkpoint), sealed with a SHA-256 so that a damaged or truncated
// file is refused instead of loaded. Layout (integers little-endian):
//
//   "HAKDART1"            8 bytes magic
//   version               uint32, 1
//   kind                  uint32, 1 model | 2 checkpoint
//   spec_length           uint64, then hakd.v1.NetworkSpec (protobuf binary)
//   payload_length        uint64, then the payload
//   sha256                32 bytes over everything before it
#ifndef HAKD_COMMON_ARTIFACT_FILE_H_
#define HAKD_COMMON_ARTIFACT_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hakd/v1/network.pb.h"

namespace hakd {

enum class ArtifactKind { kModel = 1, kCheckpoint = 2 };

// "model" or "checkpoint".
absl::string_view ArtifactKindName(ArtifactKind kind);

struct ArtifactContents {
  ArtifactKind kind = ArtifactKind::kModel;
  hakd::v1::NetworkSpec spec;
  std::string payload;
};

// The file's bytes.
std::string EncodeArtifact(const ArtifactContents& contents);

// Parses and verifies bytes; DATA_LOSS naming `source` and the offset for a
// bad magic, truncation or checksum mismatch.
absl::StatusOr<ArtifactContents> DecodeArtifact(absl::string_view bytes,
                                                absl::string_view source);

// Writes atomically (temporary file, fsync, rename).
absl::Status WriteArtifactFile(const std::string& path,
                               const ArtifactContents& contents);

// Reads and verifies a file.
absl::StatusOr<ArtifactContents> ReadArtifactFile(const std::string& path);

}  // namespace hakd

#endif  // HAKD_COMMON_ARTIFACT_FILE_H_
