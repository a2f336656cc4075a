// The protobuf half of BuildNetworkModule: validation and conversion to
// plain values. The LibTorch half is torch_network.cc, which must not see
// protobuf headers.
#include "common/torch/network_module.h"

#include "common/network/network_analysis.h"
#include "common/status_macros.h"

namespace hakd {
namespace {

using hakd::v1::CheapConv;

int OrDefault(int value, int default_value) {
  return value == 0 ? default_value : value;
}

void SetCheap(const CheapConv& cheap, PlainBlock& b) {
  switch (cheap.type()) {
    case CheapConv::TYPE_GROUPED:
      b.cheap = PlainBlock::Cheap::kGrouped;
      break;
    case CheapConv::TYPE_BOTTLENECK:
      b.cheap = PlainBlock::Cheap::kBottleneck;
      break;
    case CheapConv::TYPE_BOTTLENECK_GROUPED:
      b.cheap = PlainBlock::Cheap::kBottleneckGrouped;
      break;
    case CheapConv::TYPE_DEPTHWISE_SEPARABLE:
      b.cheap = PlainBlock::Cheap::kDepthwiseSeparable;
      break;
    default:
      b.cheap = PlainBlock::Cheap::kStandard;
      break;
  }
  b.groups = cheap.groups();
  b.bottleneck = cheap.bottleneck();
}

}  // namespace

PlainBlock ToPlainBlock(const hakd::v1::Block& block) {
  PlainBlock b;
  if (block.has_residual()) {
    const auto& r = block.residual();
    b.kind = PlainBlock::Kind::kResidual;
    b.out_channels = r.out_channels();
    b.mid_channels = OrDefault(r.mid_channels(), r.out_channels());
    b.stride = OrDefault(r.stride(), 1);
    b.kernel = OrDefault(r.kernel(), 3);
    SetCheap(r.cheap(), b);
  } else if (block.has_separable()) {
    const auto& s = block.separable();
    b.kind = PlainBlock::Kind::kSeparable;
    b.out_channels = s.out_channels();
    b.stride = OrDefault(s.stride(), 1);
    b.kernel = OrDefault(s.kernel(), 3);
  } else if (block.has_dense()) {
    const auto& d = block.dense();
    b.kind = PlainBlock::Kind::kDense;
    b.growth = d.growth();
    b.bottleneck_channels = OrDefault(d.bottleneck_channels(), 4 * d.growth());
    SetCheap(d.cheap(), b);
  } else {
    b.kind = PlainBlock::Kind::kTransition;
    b.out_channels = block.transition().out_channels();
  }
  return b;
}

absl::StatusOr<PlainNetwork> ToPlainNetwork(const hakd::v1::NetworkSpec& spec) {
  HAKD_RETURN_IF_ERROR(ValidateNetworkSpec(spec));
  PlainNetwork n;
  n.in_channels = spec.input().channels();
  n.height = spec.input().height();
  n.width = spec.input().width();
  n.num_classes = spec.num_classes();
  n.stem_out_channels = spec.stem().out_channels();
  n.stem_kernel = OrDefault(spec.stem().kernel(), 3);
  n.stem_stride = OrDefault(spec.stem().stride(), 1);
  n.stem_batchnorm_relu = spec.stem().batchnorm_relu();
  for (const auto& stage : spec.stages()) {
    std::vector<PlainBlock> blocks;
    for (const auto& block : stage.blocks()) {
      blocks.push_back(ToPlainBlock(block));
    }
    n.stages.push_back(std::move(blocks));
  }
  n.head_batchnorm_relu = spec.head().batchnorm_relu();
  return n;
}

absl::StatusOr<std::unique_ptr<TorchNetwork>> BuildNetworkModule(
    const hakd::v1::NetworkSpec& spec, const NetworkModuleOptions& options) {
  HAKD_ASSIGN_OR_RETURN(PlainNetwork plain, ToPlainNetwork(spec));
  return TorchNetwork::Create(plain, options.device);
}

int64_t NetworkModuleParameterCount(const TorchNetwork& network) {
  return network.ParameterCount();
}

}  // namespace hakd
