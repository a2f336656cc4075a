// Image classification datasets read from their standard files: Fashion-MNIST
// (IDX, gzip or not) and CIFAR-10 (binary batches). Torch-free: images stay
// 8-bit in memory and become float tensors batch by batch (batch_loader.h).
#ifndef HAKD_WORKER_DATASET_H_
#define HAKD_WORKER_DATASET_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hakd::worker {

// Where Debian's dataset-fashion-mnist package puts the files.
inline constexpr char kDefaultFashionMnistDir[] =
    "/usr/share/datasets/fashion-mnist";

enum class Split { kTrain, kTest };

// A split of a dataset: `size` images of channels x height x width bytes in
// CHW order, one after another, and their labels.
struct Dataset {
  std::string name;  // "fashion-mnist" or "cifar10"
  int channels = 0;
  int height = 0;
  int width = 0;
  int num_classes = 10;
  std::vector<uint8_t> images;
  std::vector<uint8_t> labels;
  // Per-channel normalisation (after scaling bytes to [0, 1]); the usual
  // published statistics of each training set.
  std::vector<float> mean;
  std::vector<float> stddev;
  // Random crop (padding 4) and horizontal flip while training.
  bool augment = true;

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  int64_t image_bytes() const {
    return static_cast<int64_t>(channels) * height * width;
  }
};

// Reads a whole file, gunzipping it when it starts with the gzip magic.
// Errors name the file: NOT_FOUND, PERMISSION_DENIED, DATA_LOSS for a
// corrupt or truncated gzip stream.
absl::StatusOr<std::string> ReadMaybeGzipFile(const std::string& path);

// Parses IDX image (magic 0x00000803) or label (0x00000801) content. Errors
// (DATA_LOSS) name `source` and the byte offset of what is wrong.
absl::StatusOr<std::vector<uint8_t>> ParseIdxImages(absl::string_view data,
                                                    absl::string_view source,
                                                    int* count, int* rows,
                                                    int* cols);
absl::StatusOr<std::vector<uint8_t>> ParseIdxLabels(absl::string_view data,
                                                    absl::string_view source,
                                                    int* count);

// Parses CIFAR-10 binary batch content (records of 1 label byte + 3072 image
// bytes) and appends to `out`. Errors (DATA_LOSS) name `source` and offset.
absl::Status ParseCifarBatch(absl::string_view data, absl::string_view source,
                             Dataset* out);

// Fashion-MNIST from `dir` ({train,t10k}-{images-idx3,labels-idx1}-ubyte,
// each with or without .gz).
absl::StatusOr<Dataset> LoadFashionMnist(const std::string& dir, Split split);

// CIFAR-10 from `dir` (data_batch_1..5.bin or test_batch.bin); `dir` may
// also be the parent holding cifar-10-batches-bin/.
absl::StatusOr<Dataset> LoadCifar10(const std::string& dir, Split split);

// By name: "fashion-mnist" reads `root` or, when empty, the Debian package's
// directory; "cifar10" needs `root`. INVALID_ARGUMENT for another name.
absl::StatusOr<Dataset> LoadDataset(absl::string_view name,
                                    const std::string& root, Split split);

// A copy of the first `limit` images (0: all), copying only those.
Dataset FirstImages(const Dataset& dataset, int64_t limit);

}  // namespace hakd::worker

#endif  // HAKD_WORKER_DATASET_H_
