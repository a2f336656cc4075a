#include "tests/worker/tiny_fixtures.h"

#include <cstdint>
#include <random>

namespace hakd::worker {

PlainNetwork TinyNetwork() {
  PlainNetwork n;
  n.in_channels = 1;
  n.height = 8;
  n.width = 8;
  n.num_classes = 3;
  n.stem_out_channels = 4;
  PlainBlock a;
  a.out_channels = 4;
  a.mid_channels = 4;
  PlainBlock b;
  b.out_channels = 8;
  b.mid_channels = 6;
  b.stride = 2;
  n.stages = {{a}, {b}};
  n.head_batchnorm_relu = true;
  return n;
}

Dataset RandomData(int n) {
  Dataset d;
  d.name = "synthetic";
  d.channels = 1;
  d.height = 8;
  d.width = 8;
  d.mean = {0.5f};
  d.stddev = {0.25f};
  d.augment = false;
  std::mt19937 rng(7);
  for (int i = 0; i < n; ++i) {
    d.labels.push_back(static_cast<uint8_t>(rng() % 3));
    for (int p = 0; p < 64; ++p) {
      d.images.push_back(static_cast<uint8_t>(rng() % 256));
    }
  }
  return d;
}

}  // namespace hakd::worker
