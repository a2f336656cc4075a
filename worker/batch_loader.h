// Turns a Dataset into normalised float batches, augmenting in background
// threads so that the trainer never waits on data. Deterministic: the order
// of an epoch and every augmentation depend only on (seed, epoch, batch
// index), never on thread timing, so a resumed run sees the same batches.
#ifndef HAKD_WORKER_BATCH_LOADER_H_
#define HAKD_WORKER_BATCH_LOADER_H_

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "worker/dataset.h"

namespace hakd::worker {

struct LoaderOptions {
  // Images per batch. Default 128.
  int batch_size = 128;
  // Shuffle and augment (training); off: dataset order, no augmentation.
  // Default true.
  bool train = true;
  // Seed of the shuffling and augmentation. Default 1.
  uint64_t seed = 1;
  // Epoch number (0-based); each epoch has its own order. Default 0.
  int epoch = 0;
  // Background threads preparing batches. Default 2.
  int threads = 2;
  // Batches prepared ahead per thread. Default 2.
  int prefetch = 2;
  // Stop after this many batches (0: the whole split). Default 0.
  int64_t max_batches = 0;
  // Data-parallel sharding: every batch is the same global batch as
  // without sharding (same order, same augmentation), of which this loader
  // yields the contiguous part shard_index of shard_count (sizes differ by
  // at most one image). Defaults 0 and 1: the whole batch.
  int shard_index = 0;
  int shard_count = 1;
};

// One batch: batch x C x H x W normalised floats and their labels.
struct Batch {
  int64_t index = 0;
  int size = 0;          // images in this (shard of the) batch
  int global_size = 0;   // images in the whole batch, over every shard
  std::vector<float> images;
  std::vector<int64_t> labels;
};

// Iterates over one epoch. Not thread-safe: one consumer calls Next.
class BatchLoader {
 public:
  // `dataset` must outlive the loader.
  BatchLoader(const Dataset& dataset, const LoaderOptions& options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // Batches in this epoch.
  int64_t num_batches() const { return num_batches_; }

  // Moves the next batch into *batch; false at the end of the epoch.
  bool Next(Batch* batch);

  // Seconds Next spent waiting for a batch that was not ready yet: the
  // measure of whether loading limits training.
  double wait_seconds() const { return wait_seconds_; }

 private:
  void Produce(int thread_index);
  void Fill(int64_t index, Batch* batch) const;

  const Dataset& dataset_;
  const LoaderOptions options_;
  std::vector<int64_t> order_;
  int64_t num_batches_ = 0;
  int64_t next_ = 0;
  double wait_seconds_ = 0;

  std::mutex mu_;
  std::condition_variable ready_;      // a batch was stored
  std::condition_variable consumed_;   // the consumer took one
  std::map<int64_t, Batch> done_;      // guarded by mu_
  bool stopping_ = false;              // guarded by mu_
  std::vector<std::thread> threads_;
};

// Normalises and (when `augment`) randomly crops with 4-pixel zero padding
// and flips image `src` (C x H x W bytes) into `dst` (C x H x W floats).
// Exposed for tests.
void PrepareImage(const Dataset& dataset, const uint8_t* src, bool augment,
                  int dx, int dy, bool flip, float* dst);

}  // namespace hakd::worker

#endif  // HAKD_WORKER_BATCH_LOADER_H_
