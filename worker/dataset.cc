#include "worker/dataset.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace hakd::worker {
namespace {

constexpr uint32_t kIdxImagesMagic = 0x00000803;
constexpr uint32_t kIdxLabelsMagic = 0x00000801;
constexpr int kCifarImageBytes = 3 * 32 * 32;
constexpr int kCifarRecordBytes = 1 + kCifarImageBytes;

uint32_t BigEndian32(absl::string_view data, size_t offset) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data() + offset);
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

absl::Status DataLoss(absl::string_view source, size_t offset,
                      absl::string_view what) {
  return absl::DataLossError(
      absl::StrCat(source, ": at byte offset ", offset, ": ", what));
}

absl::Status Gunzip(const std::string& path, const std::string& compressed,
                    std::string* out) {
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  // 16 + MAX_WBITS: gzip wrapper only.
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    return absl::InternalError("zlib inflateInit2 failed");
  }
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  zs.avail_in = static_cast<uInt>(compressed.size());
  out->clear();
  char buffer[1 << 16];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buffer);
    zs.avail_out = sizeof(buffer);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      size_t at = compressed.size() - zs.avail_in;
      std::string why = zs.msg != nullptr ? zs.msg : absl::StrCat("zlib error ", rc);
      if (rc == Z_BUF_ERROR) why = "truncated gzip stream";
      inflateEnd(&zs);
      return DataLoss(path, at, absl::StrCat("corrupt gzip data: ", why));
    }
    out->append(buffer, sizeof(buffer) - zs.avail_out);
    if (rc != Z_STREAM_END && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      return DataLoss(path, compressed.size(),
                      "truncated gzip stream (compressed data ends early)");
    }
  }
  inflateEnd(&zs);
  return absl::OkStatus();
}

bool FileExists(const std::string& path) {
  std::ifstream f(path);
  return f.good();
}

// `base` or `base.gz`, whichever exists (base first).
std::string WithOrWithoutGz(const std::string& base) {
  if (FileExists(base)) return base;
  if (FileExists(base + ".gz")) return base + ".gz";
  return base + ".gz";  // the error then names the packaged form
}

}  // namespace

absl::StatusOr<std::string> ReadMaybeGzipFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    std::string why = std::strerror(err);
    if (err == EACCES) return absl::PermissionDeniedError(absl::StrCat(path, ": ", why));
    return absl::NotFoundError(absl::StrCat(path, ": ", why));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::string raw = buffer.str();
  if (raw.size() >= 2 && static_cast<unsigned char>(raw[0]) == 0x1f &&
      static_cast<unsigned char>(raw[1]) == 0x8b) {
    std::string plain;
    if (absl::Status st = Gunzip(path, raw, &plain); !st.ok()) return st;
    return plain;
  }
  return raw;
}

absl::StatusOr<std::vector<uint8_t>> ParseIdxImages(absl::string_view data,
                                                    absl::string_view source,
                                                    int* count, int* rows,
                                                    int* cols) {
  if (data.size() < 16) return DataLoss(source, data.size(), "IDX header truncated (16 bytes needed)");
  uint32_t magic = BigEndian32(data, 0);
  if (magic != kIdxImagesMagic) {
    return DataLoss(source, 0, absl::StrCat("not an IDX image file (magic 0x", absl::Hex(magic, absl::kZeroPad8), ", want 0x00000803)"));
  }
  uint32_t n = BigEndian32(data, 4), r = BigEndian32(data, 8), c = BigEndian32(data, 12);
  if (r == 0 || c == 0 || r > 4096 || c > 4096) {
    return DataLoss(source, 8, absl::StrCat("implausible image size ", r, "x", c));
  }
  uint64_t need = 16 + uint64_t{n} * r * c;
  if (data.size() < need) {
    return DataLoss(source, data.size(), absl::StrCat("truncated: header announces ", n, " images of ", r, "x", c, " (", need, " bytes), file has ", data.size()));
  }
  *count = static_cast<int>(n);
  *rows = static_cast<int>(r);
  *cols = static_cast<int>(c);
  return std::vector<uint8_t>(data.begin() + 16, data.begin() + need);
}

absl::StatusOr<std::vector<uint8_t>> ParseIdxLabels(absl::string_view data,
                                                    absl::string_view source,
                                                    int* count) {
  if (data.size() < 8) return DataLoss(source, data.size(), "IDX header truncated (8 bytes needed)");
  uint32_t magic = BigEndian32(data, 0);
  if (magic != kIdxLabelsMagic) {
    return DataLoss(source, 0, absl::StrCat("not an IDX label file (magic 0x", absl::Hex(magic, absl::kZeroPad8), ", want 0x00000801)"));
  }
  uint32_t n = BigEndian32(data, 4);
  if (data.size() < 8 + uint64_t{n}) {
    return DataLoss(source, data.size(), absl::StrCat("truncated: header announces ", n, " labels, file has ", data.size() - 8));
  }
  std::vector<uint8_t> labels(data.begin() + 8, data.begin() + 8 + n);
  for (uint32_t i = 0; i < n; ++i) {
    if (labels[i] > 9) return DataLoss(source, 8 + i, absl::StrCat("label ", int{labels[i]}, " outside 0..9"));
  }
  *count = static_cast<int>(n);
  return labels;
}

absl::Status ParseCifarBatch(absl::string_view data, absl::string_view source,
                             Dataset* out) {
  if (data.empty()) return DataLoss(source, 0, "empty file");
  if (data.size() % kCifarRecordBytes != 0) {
    size_t whole = data.size() / kCifarRecordBytes;
    return DataLoss(source, whole * kCifarRecordBytes,
                    absl::StrCat("truncated record: file size ", data.size(),
                                 " is not a multiple of ", kCifarRecordBytes));
  }
  size_t records = data.size() / kCifarRecordBytes;
  out->images.reserve(out->images.size() + records * kCifarImageBytes);
  for (size_t i = 0; i < records; ++i) {
    size_t at = i * kCifarRecordBytes;
    uint8_t label = static_cast<uint8_t>(data[at]);
    if (label > 9) return DataLoss(source, at, absl::StrCat("label ", int{label}, " outside 0..9 (record ", i, ")"));
    out->labels.push_back(label);
    out->images.insert(out->images.end(), data.begin() + at + 1,
                       data.begin() + at + kCifarRecordBytes);
  }
  return absl::OkStatus();
}

absl::StatusOr<Dataset> LoadFashionMnist(const std::string& dir, Split split) {
  std::string prefix = dir + (split == Split::kTrain ? "/train" : "/t10k");
  std::string images_path = WithOrWithoutGz(prefix + "-images-idx3-ubyte");
  std::string labels_path = WithOrWithoutGz(prefix + "-labels-idx1-ubyte");
  absl::StatusOr<std::string> images_raw = ReadMaybeGzipFile(images_path);
  if (!images_raw.ok()) return images_raw.status();
  absl::StatusOr<std::string> labels_raw = ReadMaybeGzipFile(labels_path);
  if (!labels_raw.ok()) return labels_raw.status();
  Dataset d;
  d.name = "fashion-mnist";
  int n_images = 0, rows = 0, cols = 0, n_labels = 0;
  absl::StatusOr<std::vector<uint8_t>> images = ParseIdxImages(*images_raw, images_path, &n_images, &rows, &cols);
  if (!images.ok()) return images.status();
  absl::StatusOr<std::vector<uint8_t>> labels = ParseIdxLabels(*labels_raw, labels_path, &n_labels);
  if (!labels.ok()) return labels.status();
  if (n_images != n_labels) {
    return absl::DataLossError(absl::StrCat(images_path, " holds ", n_images, " images but ", labels_path, " holds ", n_labels, " labels"));
  }
  d.channels = 1;
  d.height = rows;
  d.width = cols;
  d.images = std::move(*images);
  d.labels = std::move(*labels);
  d.mean = {0.2860f};
  d.stddev = {0.3530f};
  return d;
}

absl::StatusOr<Dataset> LoadCifar10(const std::string& dir, Split split) {
  std::string base = dir;
  if (!FileExists(base + "/test_batch.bin") &&
      FileExists(base + "/cifar-10-batches-bin/test_batch.bin")) {
    base += "/cifar-10-batches-bin";
  }
  std::vector<std::string> files;
  if (split == Split::kTrain) {
    for (int i = 1; i <= 5; ++i) files.push_back(absl::StrCat(base, "/data_batch_", i, ".bin"));
  } else {
    files.push_back(base + "/test_batch.bin");
  }
  Dataset d;
  d.name = "cifar10";
  d.channels = 3;
  d.height = 32;
  d.width = 32;
  d.mean = {0.4914f, 0.4822f, 0.4465f};
  d.stddev = {0.2470f, 0.2435f, 0.2616f};
  for (const std::string& f : files) {
    absl::StatusOr<std::string> raw = ReadMaybeGzipFile(f);
    if (!raw.ok()) return raw.status();
    if (absl::Status st = ParseCifarBatch(*raw, f, &d); !st.ok()) return st;
  }
  return d;
}

absl::StatusOr<Dataset> LoadDataset(absl::string_view name,
                                    const std::string& root, Split split) {
  if (name == "fashion-mnist") {
    return LoadFashionMnist(root.empty() ? kDefaultFashionMnistDir : root, split);
  }
  if (name == "cifar10") {
    if (root.empty()) {
      return absl::FailedPreconditionError(
          "dataset cifar10 needs its directory (--cifar10-dir): the folder "
          "holding data_batch_1..5.bin and test_batch.bin");
    }
    return LoadCifar10(root, split);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "dataset: unknown dataset \"", name, "\" (fashion-mnist or cifar10)"));
}

Dataset FirstImages(const Dataset& dataset, int64_t limit) {
  if (limit <= 0 || limit >= dataset.size()) return dataset;
  Dataset head;
  head.name = dataset.name;
  head.channels = dataset.channels;
  head.height = dataset.height;
  head.width = dataset.width;
  head.num_classes = dataset.num_classes;
  head.mean = dataset.mean;
  head.stddev = dataset.stddev;
  head.augment = dataset.augment;
  head.labels.assign(dataset.labels.begin(), dataset.labels.begin() + limit);
  head.images.assign(dataset.images.begin(),
                     dataset.images.begin() + limit * dataset.image_bytes());
  return head;
}

}  // namespace hakd::worker
