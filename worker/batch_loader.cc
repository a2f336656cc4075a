#include "worker/batch_loader.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>

namespace hakd::worker {
namespace {

constexpr int kPad = 4;

uint64_t Mix(uint64_t a, uint64_t b) {
  // splitmix64 of a combination: independent streams per (seed, epoch, batch).
  uint64_t z = a * 0x9E3779B97F4A7C15ULL + b + 0x632BE59BD9B4E019ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

void PrepareImage(const Dataset& d, const uint8_t* src, bool augment, int dx,
                  int dy, bool flip, float* dst) {
  const int h = d.height, w = d.width;
  for (int c = 0; c < d.channels; ++c) {
    const float scale = 1.0f / (255.0f * d.stddev[c]);
    const float shift = -d.mean[c] / d.stddev[c];
    const uint8_t* plane = src + static_cast<int64_t>(c) * h * w;
    float* out = dst + static_cast<int64_t>(c) * h * w;
    if (!augment) {
      for (int i = 0; i < h * w; ++i) out[i] = plane[i] * scale + shift;
      continue;
    }
    // Output pixel (y, x) reads padded pixel (y + dy, x + dx), i.e. source
    // (y + dy - pad, x' + dx - pad) with x' flipped when asked; outside the
    // image it is the zero padding (normalised like a black pixel).
    for (int y = 0; y < h; ++y) {
      const int sy = y + dy - kPad;
      for (int x = 0; x < w; ++x) {
        const int fx = flip ? (w - 1 - x) : x;
        const int sx = fx + dx - kPad;
        float v = shift;
        if (sy >= 0 && sy < h && sx >= 0 && sx < w) {
          v = plane[sy * w + sx] * scale + shift;
        }
        out[y * w + x] = v;
      }
    }
  }
}

BatchLoader::BatchLoader(const Dataset& dataset, const LoaderOptions& options)
    : dataset_(dataset), options_(options) {
  order_.resize(dataset.size());
  std::iota(order_.begin(), order_.end(), 0);
  if (options.train) {
    std::mt19937_64 rng(Mix(options.seed, static_cast<uint64_t>(options.epoch)));
    std::shuffle(order_.begin(), order_.end(), rng);
  }
  const int bs = std::max(1, options.batch_size);
  num_batches_ = (dataset.size() + bs - 1) / bs;
  if (options.max_batches > 0) num_batches_ = std::min(num_batches_, options.max_batches);
  const int threads = std::max(1, options.threads);
  for (int t = 0; t < threads; ++t) threads_.emplace_back([this, t] { Produce(t); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  consumed_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void BatchLoader::Fill(int64_t index, Batch* batch) const {
  const int bs = std::max(1, options_.batch_size);
  const int64_t begin = index * bs;
  const int64_t end = std::min<int64_t>(begin + bs, dataset_.size());
  const int64_t global = end - begin;
  const int shards = std::max(1, options_.shard_count);
  const int shard = std::clamp(options_.shard_index, 0, shards - 1);
  const int64_t lo = begin + global * shard / shards;
  const int64_t hi = begin + global * (shard + 1) / shards;
  const int64_t image = dataset_.image_bytes();
  batch->index = index;
  batch->size = static_cast<int>(hi - lo);
  batch->global_size = static_cast<int>(global);
  batch->images.resize(batch->size * image);
  batch->labels.resize(batch->size);
  std::mt19937_64 rng(Mix(Mix(options_.seed, options_.epoch + 1), index));
  std::uniform_int_distribution<int> shift(0, 2 * kPad);
  std::bernoulli_distribution flip(0.5);
  const bool augment = options_.train && dataset_.augment;
  // Every image of the global batch draws its augmentation, so that a
  // shard's images are augmented exactly as without sharding.
  for (int64_t i = begin; i < end; ++i) {
    const int64_t src = order_[i];
    int dx = kPad, dy = kPad;
    bool f = false;
    if (augment) {
      dx = shift(rng);
      dy = shift(rng);
      f = flip(rng);
    }
    if (i < lo || i >= hi) continue;
    PrepareImage(dataset_, dataset_.images.data() + src * image, augment, dx, dy,
                 f, batch->images.data() + (i - lo) * image);
    batch->labels[i - lo] = dataset_.labels[src];
  }
}

void BatchLoader::Produce(int thread_index) {
  const int threads = std::max(1, options_.threads);
  const int64_t window = static_cast<int64_t>(threads) * std::max(1, options_.prefetch);
  for (int64_t index = thread_index; index < num_batches_; index += threads) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      consumed_.wait(lock, [&] { return stopping_ || index < next_ + window; });
      if (stopping_) return;
    }
    Batch batch;
    Fill(index, &batch);
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_.emplace(index, std::move(batch));
    }
    ready_.notify_all();
  }
}

bool BatchLoader::Next(Batch* batch) {
  if (next_ >= num_batches_) return false;
  std::unique_lock<std::mutex> lock(mu_);
  auto it = done_.find(next_);
  if (it == done_.end()) {
    auto start = std::chrono::steady_clock::now();
    ready_.wait(lock, [&] { return done_.count(next_) > 0; });
    wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    it = done_.find(next_);
  }
  *batch = std::move(it->second);
  done_.erase(it);
  ++next_;
  lock.unlock();
  consumed_.notify_all();
  return true;
}

}  // namespace hakd::worker
