#include "common/network/network_analysis.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace hakd {
namespace {

using hakd::v1::Block;
using hakd::v1::BlockUnit;
using hakd::v1::CheapConv;
using hakd::v1::LayerSpec;
using hakd::v1::NetworkSpec;

absl::Status Invalid(const std::string& field, const std::string& message) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", message));
}

// Walks a spec, checking fields and appending layers as it goes. The
// running tensor is channels_ x height_ x width_.
class Walker {
 public:
  explicit Walker(const NetworkLimits& limits) : limits_(limits) {}

  absl::StatusOr<NetworkAnalysis> Run(const NetworkSpec& spec) {
    HAKD_RETURN_IF_ERROR(CheckInput(spec));
    *StartUnit("stem").mutable_stem() = spec.stem();
    HAKD_RETURN_IF_ERROR(Stem(spec.stem()));
    if (spec.stages_size() == 0) {
      return Invalid("stages", "a network needs at least one stage");
    }
    int total_blocks = 0;
    for (int s = 0; s < spec.stages_size(); ++s) {
      const auto& stage = spec.stages(s);
      const std::string field = absl::StrCat("stages[", s, "]");
      if (stage.blocks_size() == 0) {
        return Invalid(absl::StrCat(field, ".blocks"), "a stage needs blocks");
      }
      total_blocks += stage.blocks_size();
      if (total_blocks > limits_.max_blocks) {
        return Invalid(absl::StrCat(field, ".blocks"),
                       absl::StrCat("more than ", limits_.max_blocks,
                                    " blocks in the network"));
      }
      for (int b = 0; b < stage.blocks_size(); ++b) {
        const std::string name = absl::StrCat(field, ".blocks[", b, "]");
        *StartUnit(name).mutable_block() = stage.blocks(b);
        HAKD_RETURN_IF_ERROR(DoBlock(stage.blocks(b), name));
      }
      AttentionPoint point;
      point.stage = s;
      point.name = stage.name().empty() ? field : stage.name();
      point.channels = channels_;
      point.height = height_;
      point.width = width_;
      out_.attention_points.push_back(point);
    }
    out_.final_channels = channels_;
    out_.final_height = height_;
    out_.final_width = width_;
    BlockUnit& head = StartUnit("head");
    *head.mutable_head() = spec.head();
    head.set_num_classes(spec.num_classes());
    Head(spec.head(), spec.num_classes());
    return std::move(out_);
  }

  // One unit alone: its input, then the stem, block or head.
  absl::StatusOr<NetworkAnalysis> RunUnit(const BlockUnit& unit) {
    NetworkSpec input_only;
    *input_only.mutable_input() = unit.input();
    input_only.set_num_classes(unit.has_head() ? unit.num_classes() : 1);
    HAKD_RETURN_IF_ERROR(CheckInput(input_only));
    switch (unit.part_case()) {
      case BlockUnit::kStem:
        HAKD_RETURN_IF_ERROR(Stem(unit.stem()));
        break;
      case BlockUnit::kBlock:
        HAKD_RETURN_IF_ERROR(DoBlock(unit.block(), "block"));
        break;
      case BlockUnit::kHead:
        Head(unit.head(), unit.num_classes());
        break;
      default:
        return Invalid("part", "no part set (stem, block or head)");
    }
    if (!unit.has_head() && unit.num_classes() != 0) {
      return Invalid("num_classes", "must be 0 unless the unit is a head");
    }
    out_.final_channels = channels_;
    out_.final_height = height_;
    out_.final_width = width_;
    return std::move(out_);
  }

 private:
  absl::Status CheckInput(const NetworkSpec& spec) {
    const auto& in = spec.input();
    if (in.channels() < 1 || in.channels() > limits_.max_channels) {
      return Invalid("input.channels",
                     absl::StrCat(in.channels(), " is not in [1, ",
                                  limits_.max_channels, "]"));
    }
    if (in.height() < 1 || in.height() > limits_.max_spatial) {
      return Invalid("input.height", absl::StrCat(in.height(), " is not in [1, ",
                                                  limits_.max_spatial, "]"));
    }
    if (in.width() != in.height()) {
      return Invalid("input.width",
                     absl::StrCat(in.width(), " differs from input.height ",
                                  in.height(), " (inputs must be square)"));
    }
    if (spec.num_classes() < 1 || spec.num_classes() > limits_.max_classes) {
      return Invalid("num_classes",
                     absl::StrCat(spec.num_classes(), " is not in [1, ",
                                  limits_.max_classes, "]"));
    }
    channels_ = in.channels();
    height_ = in.height();
    width_ = in.width();
    return absl::OkStatus();
  }

  absl::Status Stem(const hakd::v1::Stem& stem) {
    HAKD_RETURN_IF_ERROR(CheckChannels("stem.out_channels", stem.out_channels()));
    HAKD_ASSIGN_OR_RETURN(int kernel, KernelOf("stem.kernel", stem.kernel()));
    HAKD_ASSIGN_OR_RETURN(int stride, StrideOf("stem.stride", stem.stride()));
    HAKD_RETURN_IF_ERROR(
        Conv("stem.conv", "stem", stem.out_channels(), kernel, stride, 1));
    if (stem.batchnorm_relu()) BnRelu("stem.bn", channels_);
    return absl::OkStatus();
  }

  absl::Status DoBlock(const Block& block, const std::string& field) {
    switch (block.kind_case()) {
      case Block::kResidual:
        return Residual(block.residual(), field + ".residual");
      case Block::kSeparable:
        return Separable(block.separable(), field + ".separable");
      case Block::kDense:
        return Dense(block.dense(), field + ".dense");
      case Block::kTransition:
        return TransitionBlock(block.transition(), field + ".transition");
      default:
        return Invalid(field, "no block kind set (residual, separable, "
                              "dense or transition)");
    }
  }

  absl::Status Residual(const hakd::v1::ResidualBlock& r,
                        const std::string& f) {
    HAKD_RETURN_IF_ERROR(CheckChannels(f + ".out_channels", r.out_channels()));
    HAKD_ASSIGN_OR_RETURN(int kernel, KernelOf(f + ".kernel", r.kernel()));
    HAKD_ASSIGN_OR_RETURN(int stride, StrideOf(f + ".stride", r.stride()));
    const CheapConv& cheap = r.cheap();
    HAKD_RETURN_IF_ERROR(CheckCheapFields(cheap, f + ".cheap"));
    const bool bottleneck = cheap.type() == CheapConv::TYPE_BOTTLENECK ||
                            cheap.type() == CheapConv::TYPE_BOTTLENECK_GROUPED;
    if (bottleneck && r.mid_channels() != 0) {
      return Invalid(f + ".mid_channels",
                     "must be 0 for a bottleneck block (its width is "
                     "out_channels / cheap.bottleneck)");
    }
    const int32_t mid = r.mid_channels() == 0 ? r.out_channels()
                                              : r.mid_channels();
    HAKD_RETURN_IF_ERROR(CheckChannels(f + ".mid_channels", mid));
    const int32_t in = channels_;
    const int32_t in_h = height_;
    BnRelu(f + ".bn1", in);
    if (bottleneck) {
      if (r.out_channels() % cheap.bottleneck() != 0) {
        return Invalid(f + ".cheap.bottleneck",
                       absl::StrCat(cheap.bottleneck(), " does not divide ",
                                    r.out_channels()));
      }
      const int32_t narrow = r.out_channels() / cheap.bottleneck();
      int groups = 1;
      if (cheap.type() == CheapConv::TYPE_BOTTLENECK_GROUPED) {
        groups = cheap.groups();
        if (narrow % groups != 0) {
          return Invalid(f + ".cheap.groups",
                         absl::StrCat(groups, " does not divide ", narrow));
        }
      }
      HAKD_RETURN_IF_ERROR(Conv(f + ".conv1.down", f, narrow, 1, 1, 1));
      BnRelu(f + ".conv1.bn1", narrow);
      HAKD_RETURN_IF_ERROR(
          Conv(f + ".conv1.conv", f, narrow, kernel, stride, groups));
      BnRelu(f + ".conv1.bn2", narrow);
      HAKD_RETURN_IF_ERROR(Conv(f + ".conv1.up", f, r.out_channels(), 1, 1, 1));
    } else {
      HAKD_RETURN_IF_ERROR(
          CheapKxK(cheap, f + ".conv1", f + ".cheap", mid, kernel, stride));
      BnRelu(f + ".bn2", mid);
      HAKD_RETURN_IF_ERROR(CheapKxK(cheap, f + ".conv2", f + ".cheap",
                                    r.out_channels(), kernel, 1));
    }
    if (in != r.out_channels() || stride != 1) {
      const int32_t out_c = channels_, out_h = height_, out_w = width_;
      channels_ = in;
      height_ = in_h;
      width_ = in_h;
      HAKD_RETURN_IF_ERROR(
          Conv(f + ".shortcut", f, r.out_channels(), 1, stride, 1));
      if (channels_ != out_c || height_ != out_h || width_ != out_w) {
        return Invalid(f, "shortcut and residual shapes differ");
      }
    }
    return absl::OkStatus();
  }

  // A k x k convolution channels_ -> out realised as `cheap` says (not a
  // bottleneck type).
  absl::Status CheapKxK(const CheapConv& cheap, const std::string& name,
                        const std::string& cheap_field, int32_t out,
                        int kernel, int stride) {
    switch (cheap.type()) {
      case CheapConv::TYPE_STANDARD:
        return Conv(name, name, out, kernel, stride, 1);
      case CheapConv::TYPE_GROUPED:
      case CheapConv::TYPE_DEPTHWISE_SEPARABLE: {
        const int32_t in = channels_;
        const int groups =
            cheap.type() == CheapConv::TYPE_GROUPED ? cheap.groups() : in;
        if (in % groups != 0) {
          return Invalid(cheap_field + ".groups",
                         absl::StrCat(groups, " does not divide ", in,
                                      " (input channels of ", name, ")"));
        }
        HAKD_RETURN_IF_ERROR(
            Conv(name + ".grouped", name, in, kernel, stride, groups));
        BnRelu(name + ".bn", in);
        return Conv(name + ".pointwise", name, out, 1, 1, 1);
      }
      default:
        return Invalid(cheap_field + ".type", "unknown cheap convolution type");
    }
  }

  absl::Status CheckCheapFields(const CheapConv& cheap, const std::string& f) {
    const bool grouped = cheap.type() == CheapConv::TYPE_GROUPED ||
                         cheap.type() == CheapConv::TYPE_BOTTLENECK_GROUPED;
    const bool bottleneck = cheap.type() == CheapConv::TYPE_BOTTLENECK ||
                            cheap.type() == CheapConv::TYPE_BOTTLENECK_GROUPED;
    if (!CheapConv::Type_IsValid(cheap.type())) {
      return Invalid(f + ".type", absl::StrCat("unknown type ", cheap.type()));
    }
    if (grouped ? cheap.groups() < 1 : cheap.groups() != 0) {
      return Invalid(f + ".groups",
                     grouped ? absl::StrCat(cheap.groups(), " must be >= 1")
                             : absl::StrCat(cheap.groups(),
                                            " must be 0 for this type"));
    }
    if (bottleneck ? cheap.bottleneck() < 1 : cheap.bottleneck() != 0) {
      return Invalid(f + ".bottleneck",
                     bottleneck ? absl::StrCat(cheap.bottleneck(),
                                               " must be >= 1")
                                : absl::StrCat(cheap.bottleneck(),
                                               " must be 0 for this type"));
    }
    return absl::OkStatus();
  }

  absl::Status Separable(const hakd::v1::SeparableBlock& s,
                         const std::string& f) {
    HAKD_RETURN_IF_ERROR(CheckChannels(f + ".out_channels", s.out_channels()));
    HAKD_ASSIGN_OR_RETURN(int kernel, KernelOf(f + ".kernel", s.kernel()));
    HAKD_ASSIGN_OR_RETURN(int stride, StrideOf(f + ".stride", s.stride()));
    HAKD_RETURN_IF_ERROR(
        Conv(f + ".depthwise", f, channels_, kernel, stride, channels_));
    BnRelu(f + ".bn1", channels_);
    HAKD_RETURN_IF_ERROR(Conv(f + ".pointwise", f, s.out_channels(), 1, 1, 1));
    BnRelu(f + ".bn2", channels_);
    return absl::OkStatus();
  }

  absl::Status Dense(const hakd::v1::DenseLayer& d, const std::string& f) {
    HAKD_RETURN_IF_ERROR(CheckChannels(f + ".growth", d.growth()));
    if (d.bottleneck_channels() < 0) {
      return Invalid(f + ".bottleneck_channels",
                     absl::StrCat(d.bottleneck_channels(), " is negative"));
    }
    const int32_t narrow = d.bottleneck_channels() == 0
                               ? 4 * d.growth()
                               : d.bottleneck_channels();
    HAKD_RETURN_IF_ERROR(CheckChannels(f + ".bottleneck_channels", narrow));
    HAKD_RETURN_IF_ERROR(CheckCheapFields(d.cheap(), f + ".cheap"));
    if (d.cheap().type() == CheapConv::TYPE_BOTTLENECK ||
        d.cheap().type() == CheapConv::TYPE_BOTTLENECK_GROUPED) {
      return Invalid(f + ".cheap.type",
                     "a dense layer already has a bottleneck; use "
                     "TYPE_STANDARD, TYPE_GROUPED or TYPE_DEPTHWISE_SEPARABLE");
    }
    const int32_t in = channels_;
    if (int64_t{in} + d.growth() > limits_.max_channels) {
      return Invalid(f + ".growth",
                     absl::StrCat("output width ", int64_t{in} + d.growth(),
                                  " exceeds ", limits_.max_channels));
    }
    BnRelu(f + ".bn1", in);
    HAKD_RETURN_IF_ERROR(Conv(f + ".conv1", f, narrow, 1, 1, 1));
    BnRelu(f + ".bn2", narrow);
    HAKD_RETURN_IF_ERROR(
        CheapKxK(d.cheap(), f + ".conv2", f + ".cheap", d.growth(), 3, 1));
    channels_ = in + d.growth();
    return absl::OkStatus();
  }

  absl::Status TransitionBlock(const hakd::v1::Transition& t,
                               const std::string& f) {
    HAKD_RETURN_IF_ERROR(CheckChannels(f + ".out_channels", t.out_channels()));
    BnRelu(f + ".bn", channels_);
    HAKD_RETURN_IF_ERROR(Conv(f + ".conv", f, t.out_channels(), 1, 1, 1));
    if (height_ < 2) {
      return Invalid(f, absl::StrCat("input extent ", height_,
                                     " is too small for a 2x2 pool"));
    }
    LayerSpec pool = Base(hakd::v1::LAYER_KIND_AVG_POOL, channels_, channels_);
    pool.set_kernel(2);
    pool.set_stride(2);
    Add(f + ".pool", pool, 0, 0);
    height_ /= 2;
    width_ /= 2;
    return absl::OkStatus();
  }

  absl::Status CheckChannels(const std::string& field, int64_t c) {
    if (c < 1 || c > limits_.max_channels) {
      return Invalid(field, absl::StrCat(c, " is not in [1, ",
                                         limits_.max_channels, "]"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<int> KernelOf(const std::string& field, int32_t kernel) {
    if (kernel == 0) return 3;
    if (kernel < 1 || kernel > limits_.max_kernel || kernel % 2 == 0) {
      return Invalid(field, absl::StrCat(kernel, " is not an odd number in [1, ",
                                         limits_.max_kernel, "]"));
    }
    return kernel;
  }

  absl::StatusOr<int> StrideOf(const std::string& field, int32_t stride) {
    if (stride == 0) return 1;
    if (stride < 1 || stride > 8) {
      return Invalid(field, absl::StrCat(stride, " is not in [1, 8]"));
    }
    return stride;
  }

  // Appends a unit entering with the running tensor's shape.
  BlockUnit& StartUnit(const std::string& name) {
    NetworkUnit& u = out_.units.emplace_back();
    u.name = name;
    u.unit.mutable_input()->set_channels(channels_);
    u.unit.mutable_input()->set_height(height_);
    u.unit.mutable_input()->set_width(width_);
    return u.unit;
  }

  // Optional BN-ReLU, global average pooling, linear with bias.
  void Head(const hakd::v1::Head& head, int32_t num_classes) {
    if (head.batchnorm_relu()) BnRelu("head.bn", channels_);
    LayerSpec pool = Base(hakd::v1::LAYER_KIND_AVG_POOL, channels_, channels_);
    pool.set_kernel(height_);
    pool.set_stride(height_);
    Add("head.pool", pool, 0, 0);
    LayerSpec fc;
    fc.set_kind(hakd::v1::LAYER_KIND_LINEAR);
    fc.set_batch(1);
    fc.set_in_channels(channels_);
    fc.set_out_channels(num_classes);
    const int64_t fc_params = (int64_t{channels_} + 1) * num_classes;
    Add("head.fc", fc, fc_params, fc_params);
    channels_ = num_classes;
    height_ = 1;
    width_ = 1;
  }

  LayerSpec Base(hakd::v1::LayerKind kind, int32_t in, int32_t out) const {
    LayerSpec l;
    l.set_kind(kind);
    l.set_batch(1);
    l.set_in_channels(in);
    l.set_out_channels(out);
    l.set_height(height_);
    l.set_width(width_);
    return l;
  }

  void Add(const std::string& name, const LayerSpec& layer, int64_t params,
           int64_t macs) {
    out_.layers.push_back(NetworkLayer{name, layer, params, macs});
    out_.total_params += params;
    out_.total_macs += macs;
  }

  void BnRelu(const std::string& name, int32_t c) {
    Add(name, Base(hakd::v1::LAYER_KIND_BATCHNORM_RELU, c, c), 2 * int64_t{c},
        int64_t{c} * height_ * width_);
  }

  // k x k convolution (padding k/2, no bias) from channels_ to `out`;
  // `field` names the block in errors.
  absl::Status Conv(const std::string& name, const std::string& field,
                    int32_t out, int kernel, int stride, int groups) {
    const int32_t in = channels_;
    if (in % groups != 0 || out % groups != 0) {
      return Invalid(field, absl::StrCat(name, ": groups ", groups,
                                         " must divide ", in, " and ", out));
    }
    LayerSpec l = Base(hakd::v1::LAYER_KIND_CONV2D, in, out);
    l.set_kernel(kernel);
    l.set_stride(stride);
    l.set_padding(kernel / 2);
    l.set_groups(groups);
    const int32_t out_h = (height_ + 2 * (kernel / 2) - kernel) / stride + 1;
    if (out_h < 1) {
      return Invalid(field, absl::StrCat(name, ": input extent ", height_,
                                         " is too small"));
    }
    const int64_t weights = int64_t{out} * (in / groups) * kernel * kernel;
    const int64_t pixels = int64_t{out_h} * out_h;
    if (weights > (limits_.max_macs - out_.total_macs) / pixels) {
      return Invalid(field, absl::StrCat(name, ": the network exceeds ",
                                         limits_.max_macs,
                                         " multiply-accumulates"));
    }
    Add(name, l, weights, weights * pixels);
    channels_ = out;
    height_ = out_h;
    width_ = out_h;
    return absl::OkStatus();
  }

  const NetworkLimits limits_;
  NetworkAnalysis out_;
  int32_t channels_ = 0;
  int32_t height_ = 0;
  int32_t width_ = 0;
};

}  // namespace

absl::StatusOr<NetworkAnalysis> AnalyzeNetwork(const NetworkSpec& spec,
                                               const NetworkLimits& limits) {
  return Walker(limits).Run(spec);
}

absl::StatusOr<NetworkAnalysis> AnalyzeUnit(const BlockUnit& unit,
                                            const NetworkLimits& limits) {
  return Walker(limits).RunUnit(unit);
}

absl::Status ValidateNetworkSpec(const NetworkSpec& spec,
                                 const NetworkLimits& limits) {
  return AnalyzeNetwork(spec, limits).status();
}

}  // namespace hakd
