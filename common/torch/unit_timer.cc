// The protobuf half of TimeUnit: validation and conversion to plain values
// (torch_network.cc, which must not see protobuf headers, does the timing).
#include "common/torch/unit_timer.h"

#include "absl/strings/str_cat.h"
#include "common/network/network_analysis.h"
#include "common/network/unit_key.h"
#include "common/status_macros.h"
#include "common/torch/network_module.h"

namespace hakd {

absl::StatusOr<LayerTiming> TimeUnit(const hakd::v1::UnitSpec& unit,
                                     const TimingOptions& options) {
  HAKD_RETURN_IF_ERROR(ValidateUnitSpec(unit, "unit"));
  HAKD_RETURN_IF_ERROR(ValidateTimingOptions(options));
  if (unit.has_network()) {
    HAKD_ASSIGN_OR_RETURN(PlainNetwork n, ToPlainNetwork(unit.network()));
    return TimeTorchNetwork(n, NetworkPart::kWhole, options);
  }
  const hakd::v1::BlockUnit u = NormalizeBlockUnit(unit.block());
  PlainNetwork n;
  n.in_channels = u.input().channels();
  n.height = u.input().height();
  n.width = u.input().width();
  NetworkPart part = NetworkPart::kFirstBlock;
  if (u.has_stem()) {
    part = NetworkPart::kStem;
    n.stem_out_channels = u.stem().out_channels();
    n.stem_kernel = u.stem().kernel();
    n.stem_stride = u.stem().stride();
    n.stem_batchnorm_relu = u.stem().batchnorm_relu();
  } else if (u.has_head()) {
    part = NetworkPart::kHead;
    n.head_batchnorm_relu = u.head().batchnorm_relu();
    n.num_classes = u.num_classes();
  } else {
    n.stages.push_back({ToPlainBlock(u.block())});
  }
  return TimeTorchNetwork(n, part, options);
}

}  // namespace hakd
