// Receiving an artifact (`artifact get`): the header chunk says what the
// file must be (size and SHA-256); the data chunks are hashed as they arrive
// and the result is refused unless both match.
#ifndef HAKD_CLI_ARTIFACT_DOWNLOAD_H_
#define HAKD_CLI_ARTIFACT_DOWNLOAD_H_

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/sha256.h"
#include "hakd/v1/training.pb.h"

namespace hakd::cli {

// Hashing is hakd::Sha256 (common/sha256.h).

// OK when `size` bytes with digest `sha256_hex` are the file `info`
// describes (the digest compared case-insensitively); else DATA_LOSS naming
// the artifact and what differs.
absl::Status CheckArtifact(const hakd::v1::ArtifactInfo& info, int64_t size,
                           absl::string_view sha256_hex);

// CheckArtifact of a whole payload held in memory.
absl::Status VerifyArtifactPayload(const hakd::v1::ArtifactInfo& info,
                                   absl::string_view payload);

// Consumes the chunks of one GetArtifact stream, writing data to `out`.
class ArtifactReceiver {
 public:
  // `artifact_id` is what was asked for (named in errors); `out` must
  // outlive the receiver.
  ArtifactReceiver(std::string artifact_id, std::ostream& out);

  // One chunk: the header first, then data. Errors (DATA_LOSS): data before
  // the header, a second header, more data than the header announced, a
  // failed write.
  absl::Status Add(const hakd::v1::ArtifactChunk& chunk);

  // After the last chunk: CheckArtifact of what arrived.
  absl::Status Finish();

  // What the header announced (size and digest filled from the header's
  // own fields when its info lacks them).
  const hakd::v1::ArtifactInfo& info() const { return info_; }
  // Data bytes received so far.
  int64_t bytes() const { return bytes_; }
  // The digest of what arrived; set by Finish.
  const std::string& sha256() const { return sha256_; }

 private:
  std::string artifact_id_;
  std::ostream& out_;
  Sha256 hash_;
  bool have_header_ = false;
  hakd::v1::ArtifactInfo info_;
  int64_t bytes_ = 0;
  std::string sha256_;
};

}  // namespace hakd::cli

#endif  // HAKD_CLI_ARTIFACT_DOWNLOAD_H_
