// The tiny network and random data the torch-side worker tests share:
// built as a PlainNetwork so that no protobuf header meets torch's.
#ifndef HAKD_TESTS_WORKER_TINY_FIXTURES_H_
#define HAKD_TESTS_WORKER_TINY_FIXTURES_H_

#include "common/torch/torch_network_module.h"
#include "worker/dataset.h"

namespace hakd::worker {

// 1x8x8 input, 3 classes; stem 4; stage 0: a block of 4 (mid 4); stage 1:
// a block of 8 (mid 6), stride 2; BN-ReLU head.
PlainNetwork TinyNetwork();

// `n` random 1x8x8 images with labels 0..2 (fixed seed), no augmentation.
Dataset RandomData(int n);

}  // namespace hakd::worker

#endif  // HAKD_TESTS_WORKER_TINY_FIXTURES_H_
