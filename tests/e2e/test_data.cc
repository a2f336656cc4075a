#include "tests/e2e/test_data.h"

#include <fstream>
#include <random>
#include <regex>

namespace hakd::testing {
namespace {

void PutBe32(std::string* out, uint32_t v) {
  for (int shift : {24, 16, 8, 0}) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

}  // namespace

void WriteIdx(const std::string& dir, const std::string& prefix, int n,
              uint32_t seed) {
  std::mt19937 rng(seed);
  std::string images, labels;
  PutBe32(&images, 0x00000803);
  PutBe32(&images, n);
  PutBe32(&images, 28);
  PutBe32(&images, 28);
  PutBe32(&labels, 0x00000801);
  PutBe32(&labels, n);
  for (int i = 0; i < n; ++i) {
    int label = static_cast<int>(rng() % 10);
    labels.push_back(static_cast<char>(label));
    for (int y = 0; y < 28; ++y) {
      for (int x = 0; x < 28; ++x) {
        int v = static_cast<int>(rng() % 60);
        if (y >= 2 + 2 * label && y < 4 + 2 * label) v += 180;
        images.push_back(static_cast<char>(v));
      }
    }
  }
  std::ofstream(dir + "/" + prefix + "-images-idx3-ubyte", std::ios::binary)
      << images;
  std::ofstream(dir + "/" + prefix + "-labels-idx1-ubyte", std::ios::binary)
      << labels;
}

std::string JsonField(const std::string& json, const std::string& key) {
  std::smatch m;
  std::regex re("\"" + key + "\"\\s*:\\s*\"?([^\",}]*)\"?");
  if (std::regex_search(json, m, re)) return m[1];
  return "";
}

std::string TinyNetworkJson(const std::string& name) {
  return R"({
  "name": ")" + name + R"(",
  "input": {"channels": 1, "height": 28, "width": 28},
  "num_classes": 10,
  "stem": {"out_channels": 8},
  "stages": [
    {"name": "group1", "blocks": [{"residual": {"out_channels": 8}}]},
    {"name": "group2", "blocks": [{"residual": {"out_channels": 16, "stride": 2}}]}
  ],
  "head": {"batchnorm_relu": true}
})";
}

}  // namespace hakd::testing
