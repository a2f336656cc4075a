// Fuzzes the CIFAR-10 binary batch reader (worker/dataset.h): records of a
// label byte and 3072 image bytes, appended to a dataset.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_util.h"
#include "worker/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using hakd::fuzz::Require;
  hakd::worker::Dataset dataset;
  dataset.channels = 3;
  dataset.height = 32;
  dataset.width = 32;
  const absl::Status status = hakd::worker::ParseCifarBatch(
      hakd::fuzz::AsText(data, size), "data_batch_1.bin", &dataset);
  if (!status.ok()) return 0;
  Require(dataset.size() >= 1, "accepted batch holds no record");
  Require(dataset.images.size() ==
              static_cast<size_t>(dataset.size() * dataset.image_bytes()),
          "image bytes disagree with the record count");
  for (uint8_t label : dataset.labels)
    Require(label <= 9, "label outside 0..9");
  return 0;
}
