// Helper constructors of hakd.v1.NetworkSpec for the standard families, at
// any input size (CifarInput, FashionMnistInput). The specs are explicit
// (every block listed with its widths) and can be edited afterwards, e.g. to
// give one block another width or a cheap convolution.
#ifndef HAKD_COMMON_NETWORK_NETWORK_BUILDERS_H_
#define HAKD_COMMON_NETWORK_NETWORK_BUILDERS_H_

#include "absl/status/statusor.h"
#include "hakd/v1/network.pb.h"

namespace hakd {

// CIFAR-10/100 samples: 3x32x32.
hakd::v1::InputShape CifarInput();

// Fashion-MNIST samples: 1x28x28.
hakd::v1::InputShape FashionMnistInput();

// Zagoruyko's WRN-depth-width_multiplier: 3x3 stem to 16 channels, three
// stages ("group1".."group3") of n = (depth-4)/6 pre-activation basic blocks
// of widths 16k, 32k, 64k and strides 1, 2, 2, then BN-ReLU, global average
// pool and a linear layer. width_multiplier 1 gives the pre-activation
// ResNet-depth of He et al. INVALID_ARGUMENT unless depth >= 10,
// (depth-4) % 6 == 0 and width_multiplier >= 1.
absl::StatusOr<hakd::v1::NetworkSpec> WideResNet(
    int depth, int width_multiplier, const hakd::v1::InputShape& input,
    int num_classes);

// MobileNet v1 for small inputs (the common CIFAR variant): 3x3 stem of
// stride 1 to 32a channels with BN-ReLU, then 13 depthwise-separable blocks
// of widths 64, 128, 128, 256, 256, 512 x 6, 1024, 1024 times a (truncated,
// at least 1), stride 2 at the first block of widths 128, 256, 512 and 1024;
// stages end at each change of resolution. INVALID_ARGUMENT unless
// 0 < width_multiplier <= 8.
absl::StatusOr<hakd::v1::NetworkSpec> MobileNetV1(
    double width_multiplier, const hakd::v1::InputShape& input,
    int num_classes);

// DenseNet-BC-depth-growth (Huang et al.): 3x3 stem to 2*growth channels,
// three stages of n = (depth-4)/6 bottleneck dense layers (1x1 to
// 4*growth, 3x3 to growth); stages 2 and 3 start with a transition that
// halves the channels (floor) and the extent; then BN-ReLU, global average
// pool and a linear layer. INVALID_ARGUMENT unless depth >= 10,
// (depth-4) % 6 == 0 and growth >= 1.
absl::StatusOr<hakd::v1::NetworkSpec> DenseNetBC(
    int depth, int growth, const hakd::v1::InputShape& input, int num_classes);

// The spec with `cheap` on every residual block (and, for GROUPED and
// DEPTHWISE_SEPARABLE, every dense layer). Validate the result: divisibility
// depends on the widths.
hakd::v1::NetworkSpec WithCheapBlocks(hakd::v1::NetworkSpec spec,
                                      const hakd::v1::CheapConv& cheap);

}  // namespace hakd

#endif  // HAKD_COMMON_NETWORK_NETWORK_BUILDERS_H_
