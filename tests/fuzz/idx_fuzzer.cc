// Fuzzes the IDX readers of Fashion-MNIST (worker/dataset.h): the first
// byte picks image file, label file, or a file read through
// ReadMaybeGzipFile (gzip or plain) and then parsed as images and labels;
// the rest is the file.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "tests/fuzz/fuzz_util.h"
#include "worker/dataset.h"

namespace {

using hakd::fuzz::Require;

void CheckImages(absl::string_view file) {
  int count = -1, rows = -1, cols = -1;
  absl::StatusOr<std::vector<uint8_t>> images =
      hakd::worker::ParseIdxImages(file, "images", &count, &rows, &cols);
  if (!images.ok()) return;
  Require(count >= 0 && rows >= 1 && cols >= 1, "bad IDX image header out");
  Require(images->size() == static_cast<size_t>(count) * rows * cols,
          "IDX image bytes disagree with the header");
}

void CheckLabels(absl::string_view file) {
  int count = -1;
  absl::StatusOr<std::vector<uint8_t>> labels =
      hakd::worker::ParseIdxLabels(file, "labels", &count);
  if (!labels.ok()) return;
  Require(count >= 0 && labels->size() == static_cast<size_t>(count),
          "IDX label count disagrees with the header");
  for (uint8_t label : *labels) Require(label <= 9, "label outside 0..9");
}

// The path of an in-memory file holding `bytes`, for the file readers.
std::string InMemoryFile(absl::string_view bytes) {
  static const int fd = memfd_create("idx-fuzz", 0);
  Require(fd >= 0, "memfd_create failed");
  Require(ftruncate(fd, 0) == 0, "ftruncate failed");
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = pwrite(fd, bytes.data() + done, bytes.size() - done,
                             static_cast<off_t>(done));
    Require(n > 0, "pwrite failed");
    done += static_cast<size_t>(n);
  }
  return absl::StrCat("/proc/self/fd/", fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const absl::string_view file = hakd::fuzz::AsText(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      CheckImages(file);
      break;
    case 1:
      CheckLabels(file);
      break;
    default: {
      absl::StatusOr<std::string> plain =
          hakd::worker::ReadMaybeGzipFile(InMemoryFile(file));
      if (!plain.ok()) return 0;
      CheckImages(*plain);
      CheckLabels(*plain);
      break;
    }
  }
  return 0;
}
