// Datasets from their standard files: IDX (plain and gzip), CIFAR-10 binary
// batches, and the errors for damaged content (DATA_LOSS naming the source
// and the byte offset).
#include "worker/dataset.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace hakd::worker {
namespace {

using ::testing::HasSubstr;

void PutBe32(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>((v >> 24) & 0xff));
  out->push_back(static_cast<char>((v >> 16) & 0xff));
  out->push_back(static_cast<char>((v >> 8) & 0xff));
  out->push_back(static_cast<char>(v & 0xff));
}

std::string IdxImages(uint32_t n, uint32_t rows, uint32_t cols,
                      const std::vector<uint8_t>& pixels) {
  std::string s;
  PutBe32(&s, 0x00000803);
  PutBe32(&s, n);
  PutBe32(&s, rows);
  PutBe32(&s, cols);
  s.append(pixels.begin(), pixels.end());
  return s;
}

std::string IdxLabels(const std::vector<uint8_t>& labels) {
  std::string s;
  PutBe32(&s, 0x00000801);
  PutBe32(&s, static_cast<uint32_t>(labels.size()));
  s.append(labels.begin(), labels.end());
  return s;
}

std::vector<uint8_t> Iota(size_t n, int start = 0) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>((start + i) & 0xff);
  return v;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "/hakd_dataset_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    char* p = ::mkdtemp(buf.data());
    EXPECT_NE(p, nullptr);
    path_ = p != nullptr ? p : "/tmp";
  }
  ~TempDir() {
    for (const std::string& f : files_) ::unlink(f.c_str());
    ::rmdir(path_.c_str());
  }
  // Writes `content` to dir/name and returns the path.
  std::string Write(const std::string& name, const std::string& content) {
    std::string path = path_ + "/" + name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    EXPECT_TRUE(out.good()) << path;
    files_.insert(path);
    return path;
  }
  // Writes `content` gzip-compressed with zlib's gz* API.
  std::string WriteGz(const std::string& name, const std::string& content) {
    std::string path = path_ + "/" + name;
    gzFile gz = gzopen(path.c_str(), "wb");
    EXPECT_NE(gz, nullptr);
    if (gz != nullptr) {
      EXPECT_EQ(gzwrite(gz, content.data(), static_cast<unsigned>(content.size())),
                static_cast<int>(content.size()));
      EXPECT_EQ(gzclose(gz), Z_OK);
    }
    files_.insert(path);
    return path;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::set<std::string> files_;
};

std::string ReadRaw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// ---- IDX images --------------------------------------------------------------

TEST(IdxImagesTest, ParsesGoodContent) {
  std::vector<uint8_t> pixels = Iota(3 * 2 * 4, 7);
  int count = 0, rows = 0, cols = 0;
  auto images = ParseIdxImages(IdxImages(3, 2, 4, pixels), "imgs", &count, &rows, &cols);
  ASSERT_TRUE(images.ok()) << images.status();
  EXPECT_EQ(count, 3);
  EXPECT_EQ(rows, 2);
  EXPECT_EQ(cols, 4);
  EXPECT_EQ(*images, pixels);
}

TEST(IdxImagesTest, ExtraTrailingBytesAreIgnored) {
  std::vector<uint8_t> pixels = Iota(2 * 2 * 2);
  std::string data = IdxImages(2, 2, 2, pixels) + "xyz";
  int count = 0, rows = 0, cols = 0;
  auto images = ParseIdxImages(data, "imgs", &count, &rows, &cols);
  ASSERT_TRUE(images.ok()) << images.status();
  EXPECT_EQ(*images, pixels);
}

TEST(IdxImagesTest, ShortHeaderIsDataLoss) {
  std::string data = IdxImages(1, 2, 2, Iota(4)).substr(0, 10);
  int count = 0, rows = 0, cols = 0;
  auto images = ParseIdxImages(data, "short-images", &count, &rows, &cols);
  ASSERT_FALSE(images.ok());
  EXPECT_EQ(images.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(images.status().message()), HasSubstr("short-images"));
  EXPECT_THAT(std::string(images.status().message()), HasSubstr("offset 10"));
}

TEST(IdxImagesTest, WrongMagicIsDataLoss) {
  // A label file handed to the image parser.
  int count = 0, rows = 0, cols = 0;
  std::string data = IdxLabels(std::vector<uint8_t>(20, 1));
  auto images = ParseIdxImages(data, "labels-not-images", &count, &rows, &cols);
  ASSERT_FALSE(images.ok());
  EXPECT_EQ(images.status().code(), absl::StatusCode::kDataLoss);
  const std::string msg(images.status().message());
  EXPECT_THAT(msg, HasSubstr("labels-not-images"));
  EXPECT_THAT(msg, HasSubstr("offset 0"));
  EXPECT_THAT(msg, HasSubstr("00000801"));
}

TEST(IdxImagesTest, TruncatedDataIsDataLossNamingSourceAndOffset) {
  std::string data = IdxImages(3, 2, 2, Iota(3 * 4));
  data.resize(data.size() - 5);  // 16 + 7 bytes left
  int count = -1, rows = -1, cols = -1;
  auto images = ParseIdxImages(data, "cut.idx", &count, &rows, &cols);
  ASSERT_FALSE(images.ok());
  EXPECT_EQ(images.status().code(), absl::StatusCode::kDataLoss);
  const std::string msg(images.status().message());
  EXPECT_THAT(msg, HasSubstr("cut.idx"));
  EXPECT_THAT(msg, HasSubstr("offset 23"));
  EXPECT_EQ(count, -1) << "outputs untouched on error";
}

TEST(IdxImagesTest, ImplausibleSizeIsDataLoss) {
  int count = 0, rows = 0, cols = 0;
  auto images = ParseIdxImages(IdxImages(1, 0, 5, {}), "zero-rows", &count, &rows, &cols);
  ASSERT_FALSE(images.ok());
  EXPECT_EQ(images.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(images.status().message()), HasSubstr("zero-rows"));
}

// ---- IDX labels ----------------------------------------------------------------

TEST(IdxLabelsTest, ParsesGoodContent) {
  std::vector<uint8_t> labels = {0, 9, 3, 3, 1};
  int count = 0;
  auto parsed = ParseIdxLabels(IdxLabels(labels), "labels", &count);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(count, 5);
  EXPECT_EQ(*parsed, labels);
}

TEST(IdxLabelsTest, ShortHeaderIsDataLoss) {
  int count = 0;
  auto parsed = ParseIdxLabels(IdxLabels({1, 2}).substr(0, 5), "lbl", &count);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("lbl"));
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("offset 5"));
}

TEST(IdxLabelsTest, WrongMagicIsDataLoss) {
  int count = 0;
  auto parsed = ParseIdxLabels(IdxImages(1, 1, 1, {5}), "images-not-labels", &count);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss);
  const std::string msg(parsed.status().message());
  EXPECT_THAT(msg, HasSubstr("images-not-labels"));
  EXPECT_THAT(msg, HasSubstr("offset 0"));
  EXPECT_THAT(msg, HasSubstr("00000803"));
}

TEST(IdxLabelsTest, TruncatedDataIsDataLoss) {
  std::string data = IdxLabels({1, 2, 3, 4});
  data.resize(10);
  int count = 0;
  auto parsed = ParseIdxLabels(data, "cut-labels", &count);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss);
  const std::string msg(parsed.status().message());
  EXPECT_THAT(msg, HasSubstr("cut-labels"));
  EXPECT_THAT(msg, HasSubstr("offset 10"));
}

TEST(IdxLabelsTest, LabelAboveNineIsDataLossAtItsOffset) {
  int count = 0;
  auto parsed = ParseIdxLabels(IdxLabels({0, 9, 10, 2}), "bad-label", &count);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss);
  const std::string msg(parsed.status().message());
  EXPECT_THAT(msg, HasSubstr("bad-label"));
  EXPECT_THAT(msg, HasSubstr("offset 10"));  // 8-byte header + index 2
  EXPECT_THAT(msg, HasSubstr("label 10"));
}

// ---- gzip ----------------------------------------------------------------------

TEST(ReadMaybeGzipFileTest, PlainAndGzipGiveTheSameContent) {
  TempDir dir;
  std::string content;
  // Large and repetitive enough to span several inflate buffers (64 KiB).
  for (int i = 0; i < 300000; ++i) content.push_back(static_cast<char>((i * 31) % 251));
  std::string plain = dir.Write("plain.bin", content);
  std::string gz = dir.WriteGz("packed.bin.gz", content);
  ASSERT_NE(ReadRaw(gz), content) << "the test file must really be compressed";

  auto a = ReadMaybeGzipFile(plain);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a, content);
  auto b = ReadMaybeGzipFile(gz);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->size(), content.size());
  EXPECT_EQ(*b, content);
}

TEST(ReadMaybeGzipFileTest, TruncatedGzipIsDataLossNamingTheFile) {
  TempDir dir;
  std::string content;
  for (int i = 0; i < 100000; ++i) content.push_back(static_cast<char>((i * 7919) % 256));
  std::string gz = dir.WriteGz("whole.gz", content);
  std::string raw = ReadRaw(gz);
  ASSERT_GT(raw.size(), 100u);
  for (size_t keep : {raw.size() / 2, raw.size() - 4, size_t{12}}) {
    SCOPED_TRACE(keep);
    std::string cut = dir.Write("cut.gz", raw.substr(0, keep));
    auto r = ReadMaybeGzipFile(cut);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(cut));
  }
}

TEST(ReadMaybeGzipFileTest, CorruptGzipIsDataLoss) {
  TempDir dir;
  std::string content(50000, 'a');
  for (size_t i = 0; i < content.size(); i += 3) content[i] = static_cast<char>(i % 200);
  std::string raw = ReadRaw(dir.WriteGz("whole.gz", content));
  for (size_t i = 20; i < raw.size() - 8; i += 7) raw[i] = static_cast<char>(raw[i] ^ 0x5a);
  std::string bad = dir.Write("bad.gz", raw);
  auto r = ReadMaybeGzipFile(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr(bad));
}

TEST(ReadMaybeGzipFileTest, MissingFileIsNotFoundNamingIt) {
  TempDir dir;
  std::string missing = dir.path() + "/nothing-here";
  auto r = ReadMaybeGzipFile(missing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr(missing));
}

// ---- CIFAR-10 --------------------------------------------------------------------

constexpr int kCifarImage = 3072;

std::string CifarRecord(uint8_t label, int seed) {
  std::string r(1, static_cast<char>(label));
  for (int i = 0; i < kCifarImage; ++i) r.push_back(static_cast<char>((seed + i) % 256));
  return r;
}

TEST(CifarBatchTest, ParsesTwoRecordsAndAppends) {
  Dataset d;
  d.images = {42};  // appended after what is there
  std::string data = CifarRecord(3, 0) + CifarRecord(9, 100);
  ASSERT_TRUE(ParseCifarBatch(data, "batch", &d).ok());
  ASSERT_EQ(d.labels, (std::vector<uint8_t>{3, 9}));
  ASSERT_EQ(d.images.size(), 1u + 2 * kCifarImage);
  EXPECT_EQ(d.images[0], 42);
  EXPECT_EQ(d.images[1], 0);
  EXPECT_EQ(d.images[1 + kCifarImage - 1], (kCifarImage - 1) % 256);
  EXPECT_EQ(d.images[1 + kCifarImage], 100);
  EXPECT_EQ(d.images[1 + 2 * kCifarImage - 1], (100 + kCifarImage - 1) % 256);
}

TEST(CifarBatchTest, SizeNotAMultipleOfTheRecordIsDataLossAtTheCutRecord) {
  Dataset d;
  std::string data = CifarRecord(1, 0) + CifarRecord(2, 0).substr(0, 100);
  absl::Status st = ParseCifarBatch(data, "short_batch.bin", &d);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(st.message()), HasSubstr("short_batch.bin"));
  EXPECT_THAT(std::string(st.message()), HasSubstr("offset 3073"));
}

TEST(CifarBatchTest, LabelTenIsDataLossAtItsRecord) {
  Dataset d;
  std::string data = CifarRecord(1, 0) + CifarRecord(10, 0);
  absl::Status st = ParseCifarBatch(data, "label_batch.bin", &d);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(st.message()), HasSubstr("label_batch.bin"));
  EXPECT_THAT(std::string(st.message()), HasSubstr("offset 3073"));
  EXPECT_THAT(std::string(st.message()), HasSubstr("label 10"));
}

TEST(CifarBatchTest, EmptyIsDataLoss) {
  Dataset d;
  absl::Status st = ParseCifarBatch("", "empty.bin", &d);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(st.message()), HasSubstr("empty.bin"));
}

// ---- Fashion-MNIST from files ------------------------------------------------------

struct SmallSplit {
  std::string images;
  std::string labels;
  std::vector<uint8_t> pixels;
  std::vector<uint8_t> label_values;
};

SmallSplit MakeSplit(int n, int seed) {
  SmallSplit s;
  s.pixels = Iota(static_cast<size_t>(n) * 28 * 28, seed);
  for (int i = 0; i < n; ++i) s.label_values.push_back(static_cast<uint8_t>((i + seed) % 10));
  s.images = IdxImages(n, 28, 28, s.pixels);
  s.labels = IdxLabels(s.label_values);
  return s;
}

void ExpectSplit(const absl::StatusOr<Dataset>& d, const SmallSplit& want) {
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->name, "fashion-mnist");
  EXPECT_EQ(d->channels, 1);
  EXPECT_EQ(d->height, 28);
  EXPECT_EQ(d->width, 28);
  EXPECT_EQ(d->size(), static_cast<int64_t>(want.label_values.size()));
  EXPECT_EQ(d->image_bytes(), 28 * 28);
  EXPECT_EQ(d->images, want.pixels);
  EXPECT_EQ(d->labels, want.label_values);
  ASSERT_EQ(d->mean.size(), 1u);
  ASSERT_EQ(d->stddev.size(), 1u);
}

TEST(LoadFashionMnistTest, ReadsPlainFiles) {
  TempDir dir;
  SmallSplit train = MakeSplit(5, 1), test = MakeSplit(3, 50);
  dir.Write("train-images-idx3-ubyte", train.images);
  dir.Write("train-labels-idx1-ubyte", train.labels);
  dir.Write("t10k-images-idx3-ubyte", test.images);
  dir.Write("t10k-labels-idx1-ubyte", test.labels);
  ExpectSplit(LoadFashionMnist(dir.path(), Split::kTrain), train);
  ExpectSplit(LoadFashionMnist(dir.path(), Split::kTest), test);
  // The same through LoadDataset with a root.
  ExpectSplit(LoadDataset("fashion-mnist", dir.path(), Split::kTest), test);
}

TEST(LoadFashionMnistTest, ReadsGzipFiles) {
  TempDir dir;
  SmallSplit train = MakeSplit(4, 9), test = MakeSplit(2, 77);
  dir.WriteGz("train-images-idx3-ubyte.gz", train.images);
  dir.WriteGz("train-labels-idx1-ubyte.gz", train.labels);
  dir.WriteGz("t10k-images-idx3-ubyte.gz", test.images);
  // Mixed: a plain label file next to gzipped images.
  dir.Write("t10k-labels-idx1-ubyte", test.labels);
  ExpectSplit(LoadFashionMnist(dir.path(), Split::kTrain), train);
  ExpectSplit(LoadFashionMnist(dir.path(), Split::kTest), test);
}

TEST(LoadFashionMnistTest, MismatchedCountsAreDataLoss) {
  TempDir dir;
  SmallSplit train = MakeSplit(4, 0);
  dir.Write("train-images-idx3-ubyte", train.images);
  dir.Write("train-labels-idx1-ubyte", IdxLabels({1, 2, 3}));
  auto d = LoadFashionMnist(dir.path(), Split::kTrain);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kDataLoss);
  const std::string msg(d.status().message());
  EXPECT_THAT(msg, HasSubstr("train-images-idx3-ubyte"));
  EXPECT_THAT(msg, HasSubstr("train-labels-idx1-ubyte"));
  EXPECT_THAT(msg, HasSubstr("4"));
  EXPECT_THAT(msg, HasSubstr("3"));
}

TEST(LoadFashionMnistTest, MissingFilesAreNotFound) {
  TempDir dir;
  auto d = LoadFashionMnist(dir.path(), Split::kTest);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(d.status().message()), HasSubstr("t10k-images-idx3-ubyte"));
}

TEST(LoadFashionMnistTest, DamagedFileErrorNamesIt) {
  TempDir dir;
  SmallSplit train = MakeSplit(4, 0);
  dir.Write("train-images-idx3-ubyte", train.images.substr(0, 100));
  dir.Write("train-labels-idx1-ubyte", train.labels);
  auto d = LoadFashionMnist(dir.path(), Split::kTrain);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(d.status().message()), HasSubstr("train-images-idx3-ubyte"));
  EXPECT_THAT(std::string(d.status().message()), HasSubstr("offset 100"));
}

TEST(LoadDatasetTest, UnknownNameIsInvalidArgument) {
  auto d = LoadDataset("imagenet", "/nonexistent", Split::kTrain);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(d.status().message()), HasSubstr("imagenet"));
}

TEST(LoadDatasetTest, Cifar10NeedsADirectory) {
  auto d = LoadDataset("cifar10", "", Split::kTrain);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(LoadDatasetTest, Cifar10FromBatchFilesInTheParentLayout) {
  TempDir dir;
  std::string sub = dir.path() + "/cifar-10-batches-bin";
  ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
  dir.Write("cifar-10-batches-bin/test_batch.bin", CifarRecord(4, 1) + CifarRecord(7, 2));
  auto d = LoadDataset("cifar10", dir.path(), Split::kTest);
  ::rmdir(sub.c_str());  // fails while the file is there; cleaned below
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->name, "cifar10");
  EXPECT_EQ(d->channels, 3);
  EXPECT_EQ(d->height, 32);
  EXPECT_EQ(d->labels, (std::vector<uint8_t>{4, 7}));
  EXPECT_EQ(d->images.size(), 2u * kCifarImage);
  ::unlink((sub + "/test_batch.bin").c_str());
  ::rmdir(sub.c_str());
}

TEST(FirstImagesTest, KeepsTheFirstImages) {
  Dataset d;
  d.channels = 1;
  d.height = 2;
  d.width = 2;
  d.images = Iota(5 * 4);
  d.labels = {0, 1, 2, 3, 4};
  d.mean = {0.5f};
  d.stddev = {0.25f};
  EXPECT_EQ(FirstImages(d, 0).size(), 5);
  EXPECT_EQ(FirstImages(d, 9).size(), 5);
  Dataset head = FirstImages(d, 2);
  EXPECT_EQ(head.labels, (std::vector<uint8_t>{0, 1}));
  EXPECT_EQ(head.images, Iota(2 * 4));
  EXPECT_EQ(head.height, 2);
  EXPECT_EQ(head.mean, d.mean);
  EXPECT_EQ(d.size(), 5);  // the source is untouched
}

// ---- the real data set, when the Debian package is installed ------------------------

TEST(FashionMnistPackageTest, LoadsTheFullSplits) {
  struct stat st;
  if (::stat(kDefaultFashionMnistDir, &st) != 0) {
    GTEST_SKIP() << kDefaultFashionMnistDir << " is not installed";
  }
  for (auto [split, n] : {std::pair{Split::kTrain, 60000}, std::pair{Split::kTest, 10000}}) {
    auto d = LoadDataset("fashion-mnist", "", split);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(d->size(), n);
    EXPECT_EQ(d->channels, 1);
    EXPECT_EQ(d->height, 28);
    EXPECT_EQ(d->width, 28);
    EXPECT_EQ(d->images.size(), static_cast<size_t>(n) * 28 * 28);
    std::vector<int> per_class(10, 0);
    for (uint8_t l : d->labels) {
      ASSERT_LE(l, 9);
      ++per_class[l];
    }
    // Fashion-MNIST is balanced: every class has a tenth of each split.
    for (int c = 0; c < 10; ++c) EXPECT_EQ(per_class[c], n / 10) << "class " << c;
  }
}

}  // namespace
}  // namespace hakd::worker
