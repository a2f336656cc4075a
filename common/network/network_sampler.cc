#include "common/network/network_sampler.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/network/network_analysis.h"
#include "common/network/network_builders.h"

namespace hakd {
namespace {

using hakd::v1::CheapConv;
using hakd::v1::NetworkSpec;

double Uniform(std::mt19937_64& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}

int Pick(std::mt19937_64& rng, int n) {
  return std::uniform_int_distribution<int>(0, n - 1)(rng);
}

// Rounds to a positive multiple of m.
int RoundTo(double value, int m) {
  return std::max(m, static_cast<int>(std::lround(value / m)) * m);
}

// A random cheap convolution for a residual stage, with its name.
CheapConv RandomCheap(std::mt19937_64& rng, std::string* label) {
  CheapConv c;
  switch (Pick(rng, 6)) {
    case 0:
    case 1:
      *label = "std";
      break;
    case 2:
      c.set_type(CheapConv::TYPE_GROUPED);
      c.set_groups(Pick(rng, 2) ? 4 : 2);
      *label = absl::StrCat("G", c.groups());
      break;
    case 3:
      c.set_type(CheapConv::TYPE_BOTTLENECK);
      c.set_bottleneck(2);
      *label = "B2";
      break;
    case 4:
      c.set_type(CheapConv::TYPE_BOTTLENECK_GROUPED);
      c.set_bottleneck(2);
      c.set_groups(Pick(rng, 2) ? 4 : 2);
      *label = absl::StrCat("BG2,", c.groups());
      break;
    default:
      c.set_type(CheapConv::TYPE_DEPTHWISE_SEPARABLE);
      *label = "DS";
      break;
  }
  return c;
}

absl::StatusOr<NetworkSpec> SampleWrn(const hakd::v1::InputShape& input,
                                      std::mt19937_64& rng) {
  static constexpr int kDepths[] = {10, 16, 22, 28, 40};
  static constexpr int kWidths[] = {1, 2, 4};
  int depth = kDepths[Pick(rng, 5)];
  const int k = kWidths[Pick(rng, 3)];
  if (k == 4 && depth > 16)
    depth = 16;  // WRN-16-4 is the widest published here
  absl::StatusOr<NetworkSpec> base = WideResNet(depth, k, input, 10);
  if (!base.ok()) return base.status();
  NetworkSpec spec = *base;
  const bool teacher = Pick(rng, 6) == 0;
  std::string label;
  for (int s = 0; s < spec.stages_size(); ++s) {
    auto* stage = spec.mutable_stages(s);
    const int base_width = stage->blocks(0).residual().out_channels();
    const double factor = teacher ? 1.0 : Uniform(rng, 0.3, 1.0);
    std::string cheap_label = "std";
    const CheapConv cheap =
        teacher ? CheapConv() : RandomCheap(rng, &cheap_label);
    // Multiples of 8 keep every group and bottleneck count dividing.
    const bool needs_multiple = cheap.type() != CheapConv::TYPE_STANDARD;
    const int width =
        needs_multiple
            ? RoundTo(base_width * factor, 8)
            : std::max(4, static_cast<int>(std::lround(base_width * factor)));
    for (auto& block : *stage->mutable_blocks()) {
      auto* r = block.mutable_residual();
      r->set_out_channels(width);
      *r->mutable_cheap() = cheap;
      // Now and then a standard block has its own inner width, as pruned
      // networks do.
      if (!teacher && !needs_multiple && Pick(rng, 4) == 0) {
        r->set_mid_channels(std::max(
            4, static_cast<int>(std::lround(width * Uniform(rng, 0.4, 1.0)))));
      }
    }
    absl::StrAppendFormat(&label, "%s%s x%.2f %s", s ? ", " : "", stage->name(),
                          factor, cheap_label);
  }
  spec.set_name(absl::StrCat("WRN-", depth, "-", k,
                             teacher ? " teacher" : " student", " (", label,
                             ")"));
  return spec;
}

absl::StatusOr<NetworkSpec> SampleMobileNet(const hakd::v1::InputShape& input,
                                            std::mt19937_64& rng) {
  const double alpha = Uniform(rng, 0.25, 1.0);
  absl::StatusOr<NetworkSpec> base = MobileNetV1(alpha, input, 10);
  if (!base.ok()) return base.status();
  NetworkSpec spec = *base;
  for (auto& stage : *spec.mutable_stages()) {
    for (auto& block : *stage.mutable_blocks()) {
      auto* s = block.mutable_separable();
      s->set_out_channels(std::max(
          4, static_cast<int>(
                 std::lround(s->out_channels() * Uniform(rng, 0.8, 1.2)))));
    }
  }
  spec.set_name(absl::StrFormat("MobileNet-v1 x%.2f student", alpha));
  return spec;
}

absl::StatusOr<NetworkSpec> SampleDenseNet(const hakd::v1::InputShape& input,
                                           std::mt19937_64& rng) {
  static constexpr int kDepths[] = {40, 52, 64, 76, 100};
  const int depth = kDepths[Pick(rng, 5)];
  const int growth = depth == 100 ? 6 + Pick(rng, 7) : 6 + Pick(rng, 13);
  absl::StatusOr<NetworkSpec> base = DenseNetBC(depth, growth, input, 10);
  if (!base.ok()) return base.status();
  NetworkSpec spec = *base;
  std::string cheap_label = "std";
  CheapConv cheap;
  switch (Pick(rng, 4)) {
    case 0:
      cheap.set_type(CheapConv::TYPE_GROUPED);
      cheap.set_groups(Pick(rng, 2) ? 4 : 2);
      cheap_label = absl::StrCat("G", cheap.groups());
      break;
    case 1:
      cheap.set_type(CheapConv::TYPE_DEPTHWISE_SEPARABLE);
      cheap_label = "DS";
      break;
    default:
      break;
  }
  for (auto& stage : *spec.mutable_stages()) {
    for (auto& block : *stage.mutable_blocks()) {
      if (block.has_dense()) *block.mutable_dense()->mutable_cheap() = cheap;
    }
  }
  spec.set_name(
      absl::StrCat("DenseNet-BC-", depth, "-", growth, " (", cheap_label, ")"));
  return spec;
}

}  // namespace

absl::StatusOr<NetworkSpec> SampleNetwork(const SampleRequest& request,
                                          std::mt19937_64& rng) {
  const hakd::v1::InputShape input =
      request.fashion_mnist ? FashionMnistInput() : CifarInput();
  for (int attempt = 0; attempt < 100; ++attempt) {
    absl::StatusOr<NetworkSpec> spec;
    switch (request.family) {
      case SampledFamily::kWideResNet:
        spec = SampleWrn(input, rng);
        break;
      case SampledFamily::kMobileNet:
        spec = SampleMobileNet(input, rng);
        break;
      case SampledFamily::kDenseNet:
        spec = SampleDenseNet(input, rng);
        break;
    }
    if (!spec.ok()) return spec.status();
    if (ValidateNetworkSpec(*spec).ok()) {
      if (request.fashion_mnist) spec->set_name(spec->name() + " 28x28");
      return spec;
    }
  }
  return absl::InternalError("no valid network drawn in 100 tries");
}

}  // namespace hakd
