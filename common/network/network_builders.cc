#include "common/network/network_builders.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"

namespace hakd {
namespace {

using hakd::v1::NetworkSpec;

absl::Status CheckDepth(int depth, absl::string_view family) {
  if (depth < 10 || (depth - 4) % 6 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        family, " depth ", depth, " must be at least 10 with (depth-4) % 6 == 0"));
  }
  return absl::OkStatus();
}

void SetCommon(NetworkSpec& spec, const hakd::v1::InputShape& input,
               int num_classes) {
  *spec.mutable_input() = input;
  spec.set_num_classes(num_classes);
}

}  // namespace

hakd::v1::InputShape CifarInput() {
  hakd::v1::InputShape in;
  in.set_channels(3);
  in.set_height(32);
  in.set_width(32);
  return in;
}

hakd::v1::InputShape FashionMnistInput() {
  hakd::v1::InputShape in;
  in.set_channels(1);
  in.set_height(28);
  in.set_width(28);
  return in;
}

absl::StatusOr<NetworkSpec> WideResNet(int depth, int width_multiplier,
                                       const hakd::v1::InputShape& input,
                                       int num_classes) {
  if (absl::Status s = CheckDepth(depth, "WRN"); !s.ok()) return s;
  if (width_multiplier < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("WRN width multiplier ", width_multiplier, " must be >= 1"));
  }
  const int n = (depth - 4) / 6;
  NetworkSpec spec;
  spec.set_name(absl::StrCat("WRN-", depth, "-", width_multiplier));
  SetCommon(spec, input, num_classes);
  spec.mutable_stem()->set_out_channels(16);
  spec.mutable_stem()->set_kernel(3);
  spec.mutable_stem()->set_stride(1);
  const int widths[3] = {16 * width_multiplier, 32 * width_multiplier,
                         64 * width_multiplier};
  const int strides[3] = {1, 2, 2};
  for (int g = 0; g < 3; ++g) {
    auto* stage = spec.add_stages();
    stage->set_name(absl::StrCat("group", g + 1));
    for (int b = 0; b < n; ++b) {
      auto* r = stage->add_blocks()->mutable_residual();
      r->set_out_channels(widths[g]);
      r->set_stride(b == 0 ? strides[g] : 1);
    }
  }
  spec.mutable_head()->set_batchnorm_relu(true);
  return spec;
}

absl::StatusOr<NetworkSpec> MobileNetV1(double width_multiplier,
                                        const hakd::v1::InputShape& input,
                                        int num_classes) {
  if (!(width_multiplier > 0 && width_multiplier <= 8)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "MobileNet width multiplier ", width_multiplier, " is not in (0, 8]"));
  }
  auto scaled = [&](int c) {
    return std::max(1, static_cast<int>(c * width_multiplier));
  };
  struct Layer {
    int width;
    int stride;
  };
  // One vector per stage (one resolution each).
  const std::vector<std::vector<Layer>> stages = {
      {{64, 1}},
      {{128, 2}, {128, 1}},
      {{256, 2}, {256, 1}},
      {{512, 2}, {512, 1}, {512, 1}, {512, 1}, {512, 1}, {512, 1}},
      {{1024, 2}, {1024, 1}}};
  NetworkSpec spec;
  spec.set_name(absl::StrCat("MobileNetV1-", width_multiplier));
  SetCommon(spec, input, num_classes);
  spec.mutable_stem()->set_out_channels(scaled(32));
  spec.mutable_stem()->set_kernel(3);
  spec.mutable_stem()->set_stride(1);
  spec.mutable_stem()->set_batchnorm_relu(true);
  for (size_t s = 0; s < stages.size(); ++s) {
    auto* stage = spec.add_stages();
    stage->set_name(absl::StrCat("stage", s + 1));
    for (const Layer& l : stages[s]) {
      auto* b = stage->add_blocks()->mutable_separable();
      b->set_out_channels(scaled(l.width));
      b->set_stride(l.stride);
      b->set_kernel(3);
    }
  }
  return spec;
}

absl::StatusOr<NetworkSpec> DenseNetBC(int depth, int growth,
                                       const hakd::v1::InputShape& input,
                                       int num_classes) {
  if (absl::Status s = CheckDepth(depth, "DenseNet-BC"); !s.ok()) return s;
  if (growth < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("DenseNet-BC growth ", growth, " must be >= 1"));
  }
  const int n = (depth - 4) / 6;
  NetworkSpec spec;
  spec.set_name(absl::StrCat("DenseNet-BC-", depth, "-", growth));
  SetCommon(spec, input, num_classes);
  int channels = 2 * growth;
  spec.mutable_stem()->set_out_channels(channels);
  spec.mutable_stem()->set_kernel(3);
  spec.mutable_stem()->set_stride(1);
  for (int s = 0; s < 3; ++s) {
    auto* stage = spec.add_stages();
    stage->set_name(absl::StrCat("dense", s + 1));
    if (s > 0) {
      channels /= 2;  // compression 0.5
      stage->add_blocks()->mutable_transition()->set_out_channels(channels);
    }
    for (int l = 0; l < n; ++l) {
      auto* d = stage->add_blocks()->mutable_dense();
      d->set_growth(growth);
      d->set_bottleneck_channels(4 * growth);
      channels += growth;
    }
  }
  spec.mutable_head()->set_batchnorm_relu(true);
  return spec;
}

NetworkSpec WithCheapBlocks(NetworkSpec spec, const hakd::v1::CheapConv& cheap) {
  const bool dense_ok = cheap.type() == hakd::v1::CheapConv::TYPE_STANDARD ||
                        cheap.type() == hakd::v1::CheapConv::TYPE_GROUPED ||
                        cheap.type() ==
                            hakd::v1::CheapConv::TYPE_DEPTHWISE_SEPARABLE;
  for (auto& stage : *spec.mutable_stages()) {
    for (auto& block : *stage.mutable_blocks()) {
      if (block.has_residual()) {
        *block.mutable_residual()->mutable_cheap() = cheap;
      } else if (block.has_dense() && dense_ok) {
        *block.mutable_dense()->mutable_cheap() = cheap;
      }
    }
  }
  return spec;
}

}  // namespace hakd
