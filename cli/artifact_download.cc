#include "cli/artifact_download.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace hakd::cli {

absl::Status CheckArtifact(const hakd::v1::ArtifactInfo& info, int64_t size,
                           absl::string_view sha256_hex) {
  if (size != info.size_bytes()) {
    return absl::DataLossError(absl::StrCat(
        "artifact ", info.artifact_id(), ": received ", size,
        " bytes, expected ", info.size_bytes()));
  }
  if (info.sha256().empty() ||
      absl::AsciiStrToLower(sha256_hex) != absl::AsciiStrToLower(info.sha256())) {
    return absl::DataLossError(absl::StrCat(
        "artifact ", info.artifact_id(), ": SHA-256 ", sha256_hex,
        " of the received data differs from the expected ",
        info.sha256().empty() ? "(none given)" : info.sha256()));
  }
  return absl::OkStatus();
}

absl::Status VerifyArtifactPayload(const hakd::v1::ArtifactInfo& info,
                                   absl::string_view payload) {
  return CheckArtifact(info, static_cast<int64_t>(payload.size()),
                       Sha256Hex(payload));
}

ArtifactReceiver::ArtifactReceiver(std::string artifact_id, std::ostream& out)
    : artifact_id_(std::move(artifact_id)), out_(out) {
  info_.set_artifact_id(artifact_id_);
}

absl::Status ArtifactReceiver::Add(const hakd::v1::ArtifactChunk& chunk) {
  switch (chunk.payload_case()) {
    case hakd::v1::ArtifactChunk::kHeader: {
      if (have_header_) {
        return absl::DataLossError(absl::StrCat(
            "artifact ", artifact_id_, ": the coordinator sent two headers"));
      }
      have_header_ = true;
      const hakd::v1::ArtifactHeader& h = chunk.header();
      info_ = h.info();
      if (info_.artifact_id().empty()) info_.set_artifact_id(artifact_id_);
      if (info_.size_bytes() == 0) info_.set_size_bytes(h.size_bytes());
      if (info_.sha256().empty()) info_.set_sha256(h.sha256());
      if (info_.kind().empty()) info_.set_kind(h.kind());
      return absl::OkStatus();
    }
    case hakd::v1::ArtifactChunk::kData: {
      if (!have_header_) {
        return absl::DataLossError(
            absl::StrCat("artifact ", artifact_id_,
                         ": the coordinator sent data before the header"));
      }
      const std::string& data = chunk.data();
      bytes_ += static_cast<int64_t>(data.size());
      if (bytes_ > info_.size_bytes()) {
        return absl::DataLossError(absl::StrCat(
            "artifact ", artifact_id_, ": received more than the expected ",
            info_.size_bytes(), " bytes"));
      }
      hash_.Update(data);
      out_.write(data.data(), static_cast<std::streamsize>(data.size()));
      if (!out_) {
        return absl::InternalError(
            absl::StrCat("artifact ", artifact_id_, ": cannot write the file"));
      }
      return absl::OkStatus();
    }
    default:
      return absl::OkStatus();  // an empty chunk carries nothing
  }
}

absl::Status ArtifactReceiver::Finish() {
  if (!have_header_) {
    return absl::DataLossError(absl::StrCat(
        "artifact ", artifact_id_, ": the coordinator sent no header"));
  }
  sha256_ = hash_.FinishHex();
  return CheckArtifact(info_, bytes_, sha256_);
}

}  // namespace hakd::cli
