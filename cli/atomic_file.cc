#include "cli/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"

namespace hakd::cli {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::InternalError(
      absl::StrCat("cannot ", what, " '", path, "': ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<AtomicFile>> AtomicFile::Create(
    const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "" : path.substr(0, slash + 1);
  const std::string base =
      slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write '", path, "': not a file name"));
  }
  std::string temp = absl::StrCat(dir, ".", base, ".tmp-XXXXXX");
  std::vector<char> name(temp.begin(), temp.end());
  name.push_back('\0');
  const int fd = mkstemp(name.data());
  if (fd < 0) return Errno("create a file next to", path);
  temp.assign(name.data());
  // mkstemp makes the file private (0600); an export should get the usual
  // permissions, as if created by open(2) under the process umask.
  const mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, 0666 & ~mask);
  std::unique_ptr<AtomicFile> file(new AtomicFile(path, temp, fd));
  if (!file->stream_.is_open()) return Errno("open", temp);
  return file;
}

AtomicFile::AtomicFile(std::string path, std::string temp_path, int fd)
    : path_(std::move(path)),
      temp_path_(std::move(temp_path)),
      fd_(fd),
      stream_(temp_path_, std::ios::binary | std::ios::trunc) {}

AtomicFile::~AtomicFile() {
  if (stream_.is_open()) stream_.close();
  if (fd_ >= 0) close(fd_);
  if (!committed_) unlink(temp_path_.c_str());
}

absl::Status AtomicFile::Commit() {
  stream_.flush();
  if (!stream_) return Errno("write", path_);
  stream_.close();
  if (fsync(fd_) != 0) return Errno("flush", path_);
  close(fd_);
  fd_ = -1;
  if (rename(temp_path_.c_str(), path_.c_str()) != 0)
    return Errno("write", path_);
  committed_ = true;
  // The rename itself survives a crash once the directory is on disk too.
  // Best effort: some file systems refuse to fsync a directory.
  const size_t slash = path_.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path_.substr(0, slash);
  const int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    fsync(dir_fd);
    close(dir_fd);
  }
  return absl::OkStatus();
}

}  // namespace hakd::cli
