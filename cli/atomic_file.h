// Writes an output file so that it appears whole or not at all: data goes to
// a hidden temporary file in the same directory (same file system, so the
// final rename is atomic) and is renamed over the target only on Commit. A
// failed or interrupted export therefore never leaves half a file behind.
#ifndef HAKD_CLI_ATOMIC_FILE_H_
#define HAKD_CLI_ATOMIC_FILE_H_

#include <fstream>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace hakd::cli {

// One file being written.
class AtomicFile {
 public:
  // Creates the temporary file next to `path`. Errors name `path`.
  static absl::StatusOr<std::unique_ptr<AtomicFile>> Create(
      const std::string& path);

  // Removes the temporary file unless Commit succeeded.
  ~AtomicFile();

  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Where the content goes.
  std::ostream& stream() { return stream_; }

  // Flushes the data to disk, renames the temporary file to the target and
  // flushes the directory (so that the rename, too, survives a crash).
  absl::Status Commit();

  // The target path.
  const std::string& path() const { return path_; }

 private:
  AtomicFile(std::string path, std::string temp_path, int fd);

  std::string path_;
  std::string temp_path_;
  int fd_;  // kept open for fsync
  std::ofstream stream_;
  bool committed_ = false;
};

}  // namespace hakd::cli

#endif  // HAKD_CLI_ATOMIC_FILE_H_
