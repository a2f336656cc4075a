// The batch loader: normalisation and augmentation of single images, and
// epochs that are complete, deterministic (independent of the number of
// threads) and shuffled per epoch.
#include "worker/batch_loader.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace hakd::worker {
namespace {

constexpr float kMean = 0.25f;
constexpr float kStd = 0.5f;

// One 1x4x4 image with pixel (y, x) = 10 * (4y + x) + 5, distinct values.
Dataset TinyImage() {
  Dataset d;
  d.name = "tiny";
  d.channels = 1;
  d.height = 4;
  d.width = 4;
  for (int i = 0; i < 16; ++i) d.images.push_back(static_cast<uint8_t>(10 * i + 5));
  d.labels = {3};
  d.mean = {kMean};
  d.stddev = {kStd};
  return d;
}

// The normalised value of a byte, in double arithmetic.
double Norm(double byte) { return (byte / 255.0 - kMean) / kStd; }

std::vector<float> Prepare(const Dataset& d, bool augment, int dx, int dy, bool flip) {
  std::vector<float> out(d.image_bytes(), -1000.0f);
  PrepareImage(d, d.images.data(), augment, dx, dy, flip, out.data());
  return out;
}

constexpr double kTol = 1e-5;

TEST(PrepareImageTest, NoAugmentationNormalises) {
  Dataset d = TinyImage();
  std::vector<float> out = Prepare(d, false, 0, 0, true);  // shift/flip ignored
  for (int i = 0; i < 16; ++i) EXPECT_NEAR(out[i], Norm(d.images[i]), kTol) << i;
}

TEST(PrepareImageTest, CentredCropWithoutFlipIsTheImage) {
  Dataset d = TinyImage();
  std::vector<float> out = Prepare(d, true, 4, 4, false);
  for (int i = 0; i < 16; ++i) EXPECT_NEAR(out[i], Norm(d.images[i]), kTol) << i;
}

TEST(PrepareImageTest, FlipMirrorsEachRow) {
  Dataset d = TinyImage();
  std::vector<float> out = Prepare(d, true, 4, 4, true);
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) {
      EXPECT_NEAR(out[y * 4 + x], Norm(d.images[y * 4 + (3 - x)]), kTol) << y << "," << x;
    }
  }
}

TEST(PrepareImageTest, ShiftMovesPixelsAndPadsWithNormalisedZero) {
  Dataset d = TinyImage();
  const double pad = Norm(0);
  // dx = 5: output (y, x) reads source (y, x + 1); the last column is padding.
  std::vector<float> right = Prepare(d, true, 5, 4, false);
  // dy = 3: output (y, x) reads source (y - 1, x); the first row is padding.
  std::vector<float> down = Prepare(d, true, 4, 3, false);
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) {
      double want_right = x + 1 < 4 ? Norm(d.images[y * 4 + x + 1]) : pad;
      EXPECT_NEAR(right[y * 4 + x], want_right, kTol) << y << "," << x;
      double want_down = y >= 1 ? Norm(d.images[(y - 1) * 4 + x]) : pad;
      EXPECT_NEAR(down[y * 4 + x], want_down, kTol) << y << "," << x;
    }
  }
  // The extreme crop (dx = dy = 0) shifts by the whole padding: all zero.
  std::vector<float> corner = Prepare(d, true, 0, 0, false);
  for (float v : corner) EXPECT_NEAR(v, pad, kTol);
}

TEST(PrepareImageTest, FlipAppliesBeforeTheShift) {
  Dataset d = TinyImage();
  // Output (y, x) reads source (y, (3 - x) + 1): column 0 is padding.
  std::vector<float> out = Prepare(d, true, 5, 4, true);
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) {
      int sx = (3 - x) + 1;
      double want = sx < 4 ? Norm(d.images[y * 4 + sx]) : Norm(0);
      EXPECT_NEAR(out[y * 4 + x], want, kTol) << y << "," << x;
    }
  }
}

TEST(PrepareImageTest, EveryChannelUsesItsOwnStatistics) {
  Dataset d;
  d.channels = 2;
  d.height = 1;
  d.width = 2;
  d.images = {0, 255, 51, 102};
  d.labels = {0};
  d.mean = {0.5f, 0.1f};
  d.stddev = {0.25f, 2.0f};
  std::vector<float> out(4);
  PrepareImage(d, d.images.data(), false, 4, 4, false, out.data());
  EXPECT_NEAR(out[0], (0.0 - 0.5) / 0.25, kTol);
  EXPECT_NEAR(out[1], (1.0 - 0.5) / 0.25, kTol);
  EXPECT_NEAR(out[2], (0.2 - 0.1) / 2.0, kTol);
  EXPECT_NEAR(out[3], (0.4 - 0.1) / 2.0, kTol);
}

// ---- BatchLoader --------------------------------------------------------------

// `n` 1x2x2 images whose first pixel is their index mod 256 (and whose
// label is index mod 10), so a batch tells which images it holds.
Dataset Indexed(int n, bool augment = false) {
  Dataset d;
  d.name = "indexed";
  d.channels = 1;
  d.height = 2;
  d.width = 2;
  d.augment = augment;
  d.mean = {0};
  d.stddev = {1};
  for (int i = 0; i < n; ++i) {
    d.images.push_back(static_cast<uint8_t>(i % 256));
    d.images.push_back(static_cast<uint8_t>(i / 256));
    d.images.push_back(7);
    d.images.push_back(200);
    d.labels.push_back(static_cast<uint8_t>(i % 10));
  }
  return d;
}

// The index of every image of the epoch, in order (from the pixels).
std::vector<int> EpochIndices(const Dataset& d, const LoaderOptions& o,
                              std::vector<int>* batch_sizes = nullptr) {
  BatchLoader loader(d, o);
  std::vector<int> seen;
  Batch b;
  int64_t expect_index = 0;
  while (loader.Next(&b)) {
    EXPECT_EQ(b.index, expect_index++);
    EXPECT_EQ(b.images.size(), static_cast<size_t>(b.size) * 4);
    EXPECT_EQ(b.labels.size(), static_cast<size_t>(b.size));
    if (batch_sizes != nullptr) batch_sizes->push_back(b.size);
    for (int i = 0; i < b.size; ++i) {
      int lo = static_cast<int>(b.images[i * 4] * 255.0f + 0.5f);
      int hi = static_cast<int>(b.images[i * 4 + 1] * 255.0f + 0.5f);
      int index = hi * 256 + lo;
      EXPECT_EQ(b.labels[i], index % 10);
      seen.push_back(index);
    }
  }
  EXPECT_EQ(expect_index, loader.num_batches());
  EXPECT_FALSE(loader.Next(&b)) << "Next stays false after the end";
  return seen;
}

TEST(BatchLoaderTest, TrainEpochCoversEveryImageOnceShuffled) {
  Dataset d = Indexed(300);
  LoaderOptions o;
  o.batch_size = 32;
  o.threads = 3;
  o.seed = 5;
  std::vector<int> seen = EpochIndices(d, o);
  ASSERT_EQ(seen.size(), 300u);
  std::vector<int> count(300, 0);
  for (int i : seen) {
    ASSERT_GE(i, 0);
    ASSERT_LT(i, 300);
    ++count[i];
  }
  for (int i = 0; i < 300; ++i) EXPECT_EQ(count[i], 1) << "image " << i;
  int in_place = 0;
  for (int i = 0; i < 300; ++i) in_place += seen[i] == i;
  EXPECT_LT(in_place, 30) << "a training epoch is shuffled";
}

TEST(BatchLoaderTest, SameBatchesForAnyNumberOfThreads) {
  Dataset d = Indexed(200, /*augment=*/true);  // augmentation included
  for (int epoch : {0, 3}) {
    LoaderOptions o;
    o.batch_size = 16;
    o.seed = 11;
    o.epoch = epoch;
    o.threads = 1;
    o.prefetch = 1;
    std::vector<Batch> one;
    {
      BatchLoader loader(d, o);
      Batch b;
      while (loader.Next(&b)) one.push_back(b);
    }
    o.threads = 3;
    o.prefetch = 2;
    BatchLoader loader(d, o);
    Batch b;
    size_t i = 0;
    while (loader.Next(&b)) {
      ASSERT_LT(i, one.size());
      EXPECT_EQ(b.index, one[i].index);
      EXPECT_EQ(b.size, one[i].size);
      EXPECT_EQ(b.labels, one[i].labels) << "batch " << i;
      EXPECT_EQ(b.images, one[i].images) << "batch " << i;
      ++i;
    }
    EXPECT_EQ(i, one.size());
    EXPECT_EQ(one.size(), 13u);
  }
}

TEST(BatchLoaderTest, EachEpochAndSeedHasItsOwnOrder) {
  Dataset d = Indexed(100);
  LoaderOptions o;
  o.batch_size = 10;
  o.seed = 1;
  o.epoch = 0;
  std::vector<int> e0 = EpochIndices(d, o);
  EXPECT_EQ(EpochIndices(d, o), e0) << "repeatable";
  o.epoch = 1;
  std::vector<int> e1 = EpochIndices(d, o);
  EXPECT_NE(e0, e1);
  o.epoch = 0;
  o.seed = 2;
  EXPECT_NE(EpochIndices(d, o), e0);
}

TEST(BatchLoaderTest, EvalKeepsDatasetOrderWithoutAugmentation) {
  Dataset d = Indexed(70, /*augment=*/true);
  LoaderOptions o;
  o.batch_size = 16;
  o.train = false;
  o.seed = 99;
  o.epoch = 4;
  o.threads = 2;
  std::vector<int> sizes;
  std::vector<int> seen = EpochIndices(d, o, &sizes);
  ASSERT_EQ(seen.size(), 70u);
  for (int i = 0; i < 70; ++i) EXPECT_EQ(seen[i], i);
  // Unaugmented: the constant pixels keep their normalised values.
  BatchLoader loader(d, o);
  Batch b;
  ASSERT_TRUE(loader.Next(&b));
  for (int i = 0; i < b.size; ++i) {
    EXPECT_NEAR(b.images[i * 4 + 2], 7 / 255.0, 1e-6);
    EXPECT_NEAR(b.images[i * 4 + 3], 200 / 255.0, 1e-6);
  }
}

TEST(BatchLoaderTest, LastBatchIsPartial) {
  Dataset d = Indexed(70);
  LoaderOptions o;
  o.batch_size = 16;
  std::vector<int> sizes;
  EpochIndices(d, o, &sizes);
  EXPECT_EQ(sizes, (std::vector<int>{16, 16, 16, 16, 6}));
  BatchLoader loader(d, o);
  EXPECT_EQ(loader.num_batches(), 5);
}

TEST(BatchLoaderTest, MaxBatchesStopsEarly) {
  Dataset d = Indexed(70);
  LoaderOptions o;
  o.batch_size = 16;
  o.max_batches = 2;
  o.threads = 3;
  std::vector<int> sizes;
  std::vector<int> seen = EpochIndices(d, o, &sizes);
  EXPECT_EQ(sizes, (std::vector<int>{16, 16}));
  // The first batches of the full epoch.
  o.max_batches = 0;
  std::vector<int> full = EpochIndices(d, o);
  EXPECT_EQ(seen, std::vector<int>(full.begin(), full.begin() + 32));
  // More than there are: the whole epoch.
  o.max_batches = 100;
  BatchLoader loader(d, o);
  EXPECT_EQ(loader.num_batches(), 5);
}

TEST(BatchLoaderTest, DestroyingMidEpochDoesNotHang) {
  Dataset d = Indexed(1000, /*augment=*/true);
  LoaderOptions o;
  o.batch_size = 8;
  o.threads = 4;
  for (int taken = 0; taken < 4; ++taken) {
    BatchLoader loader(d, o);
    Batch b;
    for (int i = 0; i < taken; ++i) ASSERT_TRUE(loader.Next(&b));
  }  // destructor joins the producers
}

TEST(BatchLoaderTest, AugmentationStaysInsideTheOptionsSpace) {
  // Every augmented image is one of the 9 x 9 x 2 crops/flips of its source.
  Dataset d = TinyImage();
  for (int i = 0; i < 7; ++i) {  // 8 copies of the tiny image
    d.images.insert(d.images.end(), d.images.begin(), d.images.begin() + 16);
    d.labels.push_back(3);
  }
  d.augment = true;
  LoaderOptions o;
  o.batch_size = 8;
  o.seed = 3;
  BatchLoader loader(d, o);
  Batch b;
  ASSERT_TRUE(loader.Next(&b));
  ASSERT_EQ(b.size, 8);
  int distinct_from_plain = 0;
  std::vector<float> plain = Prepare(d, false, 4, 4, false);
  for (int i = 0; i < 8; ++i) {
    std::vector<float> got(b.images.begin() + i * 16, b.images.begin() + (i + 1) * 16);
    bool found = false;
    for (int dx = 0; dx <= 8 && !found; ++dx) {
      for (int dy = 0; dy <= 8 && !found; ++dy) {
        for (bool flip : {false, true}) {
          if (Prepare(d, true, dx, dy, flip) == got) found = true;
        }
      }
    }
    EXPECT_TRUE(found) << "image " << i;
    distinct_from_plain += got != plain;
  }
  EXPECT_GT(distinct_from_plain, 0) << "augmentation changes some images";
}

// Data-parallel shards: the shards of every batch, concatenated in rank
// order, are exactly the unsharded batch (same images, same augmentation),
// also for a last batch smaller than the number of shards.
TEST(BatchLoaderTest, ShardsOfABatchConcatenateToTheWholeBatch) {
  Dataset d = Indexed(67, /*augment=*/true);
  for (int shards : {2, 3, 5}) {
    LoaderOptions whole;
    whole.batch_size = 16;
    whole.seed = 9;
    whole.epoch = 2;
    BatchLoader all(d, whole);
    std::vector<std::unique_ptr<BatchLoader>> parts;
    for (int r = 0; r < shards; ++r) {
      LoaderOptions o = whole;
      o.shard_index = r;
      o.shard_count = shards;
      parts.push_back(std::make_unique<BatchLoader>(d, o));
    }
    Batch b;
    int batches = 0;
    while (all.Next(&b)) {
      ++batches;
      std::vector<float> images;
      std::vector<int64_t> labels;
      for (int r = 0; r < shards; ++r) {
        Batch part;
        ASSERT_TRUE(parts[r]->Next(&part)) << shards << " shards, rank " << r;
        EXPECT_EQ(part.global_size, b.size);
        EXPECT_LE(part.size, b.size / shards + 1);
        images.insert(images.end(), part.images.begin(), part.images.end());
        labels.insert(labels.end(), part.labels.begin(), part.labels.end());
      }
      EXPECT_EQ(images, b.images) << shards << " shards, batch " << b.index;
      EXPECT_EQ(labels, b.labels) << shards << " shards, batch " << b.index;
    }
    EXPECT_EQ(batches, 5);  // 4 x 16 + 3: the last has fewer images than 5 shards
  }
}

}  // namespace
}  // namespace hakd::worker
