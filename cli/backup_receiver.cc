#include "cli/backup_receiver.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace hakd::cli {

absl::Status BackupReceiver::Add(const hakd::v1::BackupChunk& chunk) {
  switch (chunk.payload_case()) {
    case hakd::v1::BackupChunk::kInfo:
      if (has_info_) {
        return absl::DataLossError(
            "backup: the coordinator sent a second description of the "
            "snapshot");
      }
      has_info_ = true;
      info_ = chunk.info();
      return absl::OkStatus();
    case hakd::v1::BackupChunk::kData: {
      if (!has_info_) {
        return absl::DataLossError(
            "backup: the coordinator sent data before describing the snapshot");
      }
      const std::string& data = chunk.data();
      bytes_ += static_cast<int64_t>(data.size());
      if (bytes_ > info_.size_bytes()) {
        return absl::DataLossError(
            absl::StrCat("backup: received more than the announced ",
                         info_.size_bytes(), " bytes"));
      }
      hash_.Update(data);
      out_.write(data.data(), static_cast<std::streamsize>(data.size()));
      if (!out_) return absl::InternalError("backup: cannot write the file");
      return absl::OkStatus();
    }
    default:
      return absl::OkStatus();  // an empty chunk carries nothing
  }
}

absl::Status BackupReceiver::Finish() {
  if (!has_info_) {
    return absl::DataLossError(
        "backup: the coordinator sent no description of the snapshot");
  }
  if (bytes_ != info_.size_bytes()) {
    return absl::DataLossError(absl::StrCat(
        "backup: received ", bytes_, " bytes, expected ", info_.size_bytes()));
  }
  const std::string digest = hash_.FinishHex();
  if (digest != absl::AsciiStrToLower(info_.sha256())) {
    return absl::DataLossError(
        absl::StrCat("backup: SHA-256 ", digest,
                     " of the received data differs from the "
                     "announced ",
                     info_.sha256().empty() ? "(none given)" : info_.sha256()));
  }
  return absl::OkStatus();
}

}  // namespace hakd::cli
