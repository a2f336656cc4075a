// Builds PlainNetwork modules with LibTorch. Includes no protobuf header (see
// torch_network.h).
#include "common/torch/torch_network.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/pooling.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/utils.h>

#include <exception>
#include <functional>
#include <new>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/torch/torch_network_module.h"
#include "common/torch/torch_runtime.h"
#include "common/torch/torch_timer.h"

namespace hakd {
namespace {

namespace nn = torch::nn;

nn::Conv2d Conv(int in, int out, int kernel, int stride, int groups) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel)
                        .stride(stride)
                        .padding(kernel / 2)
                        .groups(groups)
                        .bias(false));
}

template <typename Seq>
void AddBnRelu(Seq& seq, int channels) {
  seq->push_back(nn::BatchNorm2d(channels));
  seq->push_back(nn::ReLU());
}

// A k x k convolution in -> out realised as `cheap` (not a bottleneck type):
// plain, or grouped k x k keeping `in`, BN-ReLU, 1x1 to out.
void AddKxK(nn::Sequential& seq, const PlainBlock& b, int in, int out,
            int kernel, int stride) {
  if (b.cheap == PlainBlock::Cheap::kStandard) {
    seq->push_back(Conv(in, out, kernel, stride, 1));
    return;
  }
  const int groups =
      b.cheap == PlainBlock::Cheap::kGrouped ? b.groups : in;  // depthwise
  seq->push_back(Conv(in, in, kernel, stride, groups));
  AddBnRelu(seq, in);
  seq->push_back(Conv(in, out, 1, 1, 1));
}

// Pre-activation residual block; the shortcut takes the pre-activated input
// where the shape changes, the raw input otherwise.
class ResidualImpl : public nn::Module {
 public:
  ResidualImpl(const PlainBlock& b, int in) {
    bn1_ = register_module("bn1", nn::BatchNorm2d(in));
    body_ = nn::Sequential();
    if (b.cheap == PlainBlock::Cheap::kBottleneck ||
        b.cheap == PlainBlock::Cheap::kBottleneckGrouped) {
      const int narrow = b.out_channels / b.bottleneck;
      const int groups =
          b.cheap == PlainBlock::Cheap::kBottleneckGrouped ? b.groups : 1;
      body_->push_back(Conv(in, narrow, 1, 1, 1));
      AddBnRelu(body_, narrow);
      mid_index_ = body_->size() - 1;  // the ReLU giving the narrow channels
      body_->push_back(Conv(narrow, narrow, b.kernel, b.stride, groups));
      AddBnRelu(body_, narrow);
      body_->push_back(Conv(narrow, b.out_channels, 1, 1, 1));
    } else {
      AddKxK(body_, b, in, b.mid_channels, b.kernel, b.stride);
      AddBnRelu(body_, b.mid_channels);
      mid_index_ = body_->size() - 1;  // the ReLU giving mid_channels
      AddKxK(body_, b, b.mid_channels, b.out_channels, b.kernel, 1);
    }
    body_ = register_module("body", body_);
    if (in != b.out_channels || b.stride != 1) {
      shortcut_ = register_module("shortcut",
                                  Conv(in, b.out_channels, 1, b.stride, 1));
    }
  }

  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor a = torch::relu(bn1_->forward(x));
    torch::Tensor out;
    if (capture_ == nullptr) {
      out = body_->forward(a);
    } else {
      // The same modules one by one, keeping the mid activation.
      out = a;
      size_t i = 0;
      for (auto& module : *body_) {
        out = module.forward(out);
        if (i++ == mid_index_) capture_->push_back(out);
      }
    }
    return out + (shortcut_ ? shortcut_->forward(a) : x);
  }

  // Where forward appends the mid activation; null: nowhere.
  void set_capture(std::vector<torch::Tensor>* capture) { capture_ = capture; }

 private:
  size_t mid_index_ = 0;
  std::vector<torch::Tensor>* capture_ = nullptr;
  nn::BatchNorm2d bn1_{nullptr};
  nn::Sequential body_{nullptr};
  nn::Conv2d shortcut_{nullptr};
};
TORCH_MODULE(Residual);

// DenseNet-BC layer: its output is concatenated to its input.
class DenseImpl : public nn::Module {
 public:
  DenseImpl(const PlainBlock& b, int in) {
    nn::Sequential body;
    AddBnRelu(body, in);
    body->push_back(Conv(in, b.bottleneck_channels, 1, 1, 1));
    AddBnRelu(body, b.bottleneck_channels);
    AddKxK(body, b, b.bottleneck_channels, b.growth, 3, 1);
    body_ = register_module("body", body);
  }

  torch::Tensor forward(const torch::Tensor& x) {
    return torch::cat({x, body_->forward(x)}, 1);
  }

 private:
  nn::Sequential body_{nullptr};
};
TORCH_MODULE(Dense);

// A Sequential with a plain forward, so that it can sit inside another.
class ChainImpl : public nn::SequentialImpl {
 public:
  using nn::SequentialImpl::SequentialImpl;
  torch::Tensor forward(torch::Tensor x) {
    return nn::SequentialImpl::forward(std::move(x));
  }
};
TORCH_MODULE(Chain);

// Appends block `b` taking `in` channels; returns its output channels.
int AddBlock(nn::Sequential& stage, const PlainBlock& b, int in) {
  switch (b.kind) {
    case PlainBlock::Kind::kResidual:
      stage->push_back(Residual(b, in));
      return b.out_channels;
    case PlainBlock::Kind::kSeparable: {
      Chain s;
      s->push_back(Conv(in, in, b.kernel, b.stride, in));
      AddBnRelu(s, in);
      s->push_back(Conv(in, b.out_channels, 1, 1, 1));
      AddBnRelu(s, b.out_channels);
      stage->push_back(s);
      return b.out_channels;
    }
    case PlainBlock::Kind::kDense:
      stage->push_back(Dense(b, in));
      return in + b.growth;
    case PlainBlock::Kind::kTransition: {
      Chain s;
      AddBnRelu(s, in);
      s->push_back(Conv(in, b.out_channels, 1, 1, 1));
      s->push_back(nn::AvgPool2d(nn::AvgPool2dOptions(2).stride(2)));
      stage->push_back(s);
      return b.out_channels;
    }
  }
  return in;
}

absl::Status FromException(const std::exception& e) {
  const std::string message = ExceptionMessage(e);
  const bool out_of_memory =
      dynamic_cast<const c10::OutOfMemoryError*>(&e) != nullptr ||
      dynamic_cast<const std::bad_alloc*>(&e) != nullptr ||
      absl::StrContains(message, "out of memory");
  return out_of_memory ? absl::ResourceExhaustedError(message)
                       : absl::InternalError(message);
}

std::vector<float> ToFloats(const torch::Tensor& t) {
  torch::Tensor c = t.to(torch::kCPU, torch::kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

}  // namespace

NetworkModuleImpl::NetworkModuleImpl(const PlainNetwork& network) {
  stem_->push_back(Conv(network.in_channels, network.stem_out_channels,
                        network.stem_kernel, network.stem_stride, 1));
  if (network.stem_batchnorm_relu) AddBnRelu(stem_, network.stem_out_channels);
  stem_ = register_module("stem", stem_);
  int channels = network.stem_out_channels;
  for (size_t s = 0; s < network.stages.size(); ++s) {
    nn::Sequential stage;
    for (const PlainBlock& b : network.stages[s]) {
      channels = AddBlock(stage, b, channels);
    }
    stages_.push_back(register_module(absl::StrCat("stage", s), stage));
  }
  if (network.head_batchnorm_relu) {
    head_bn_ = register_module("head_bn", nn::BatchNorm2d(channels));
  }
  fc_ = register_module("fc", nn::Linear(channels, network.num_classes));
}

std::vector<std::pair<int, int>> NetworkModuleImpl::CaptureBlockMids(
    std::vector<torch::Tensor>* capture) {
  std::vector<std::pair<int, int>> blocks;
  for (size_t s = 0; s < stages_.size(); ++s) {
    for (size_t b = 0; b < stages_[s]->size(); ++b) {
      auto residual = std::dynamic_pointer_cast<ResidualImpl>(stages_[s]->ptr(b));
      if (residual == nullptr) continue;
      residual->set_capture(capture);
      blocks.emplace_back(static_cast<int>(s), static_cast<int>(b));
    }
  }
  return blocks;
}

NetworkModuleOutput NetworkModuleImpl::forward(const torch::Tensor& x) {
  NetworkModuleOutput out;
  torch::Tensor h = stem_->forward(x);
  for (auto& stage : stages_) {
    h = stage->forward(h);
    out.features.push_back(h);
  }
  if (head_bn_) h = torch::relu(head_bn_->forward(h));
  h = torch::adaptive_avg_pool2d(h, {1, 1}).flatten(1);
  out.logits = fc_->forward(h);
  return out;
}

TorchNetwork::TorchNetwork(std::shared_ptr<NetworkModuleImpl> module,
                           std::string device, PlainNetwork network)
    : module_(std::move(module)),
      device_(std::move(device)),
      network_(std::move(network)) {}

TorchNetwork::~TorchNetwork() = default;

absl::StatusOr<std::unique_ptr<TorchNetwork>> TorchNetwork::Create(
    const PlainNetwork& network, const std::string& device) {
  if (absl::Status s = CheckDevice(device); !s.ok()) return s;
  try {
    auto module = std::make_shared<NetworkModuleImpl>(network);
    module->to(torch::Device(device));
    return std::unique_ptr<TorchNetwork>(
        new TorchNetwork(std::move(module), device, network));
  } catch (const std::exception& e) {
    return FromException(e);
  }
}

int64_t TorchNetwork::ParameterCount() const {
  int64_t count = 0;
  for (const auto& p : module_->parameters()) count += p.numel();
  return count;
}

absl::StatusOr<std::string> TorchNetwork::SerializeWeights() const {
  try {
    torch::serialize::OutputArchive archive;
    module_->save(archive);
    std::ostringstream out;
    archive.save_to(out);
    return out.str();
  } catch (const std::exception& e) {
    return FromException(e);
  }
}

namespace {

// Module::load replaces every tensor with the one read (Tensor::set_),
// whatever its shape, so weights of another network would load silently.
// Walks `module` as Module::load does and checks each archived tensor's
// shape and type first; the error names the first misfit.
absl::Status CheckArchiveFits(torch::nn::Module& module,
                              torch::serialize::InputArchive& archive,
                              const std::string& prefix) {
  auto check = [&](const std::string& key, const torch::Tensor& want,
                   bool is_buffer) -> absl::Status {
    torch::Tensor got;
    archive.read(key, got, is_buffer);  // throws when missing
    if (got.sizes() != want.sizes() || got.scalar_type() != want.scalar_type()) {
      std::ostringstream msg;
      msg << prefix << key << " is " << got.scalar_type() << got.sizes()
          << " in the weights, " << want.scalar_type() << want.sizes()
          << " in this network";
      return absl::DataLossError(absl::StrCat("weights do not fit this network: ", msg.str()));
    }
    return absl::OkStatus();
  };
  for (const auto& p : module.named_parameters(/*recurse=*/false)) {
    if (absl::Status st = check(p.key(), p.value(), false); !st.ok()) return st;
  }
  for (const auto& b : module.named_buffers(/*recurse=*/false)) {
    if (absl::Status st = check(b.key(), b.value(), true); !st.ok()) return st;
  }
  for (const auto& child : module.named_children()) {
    if (!child.value()->is_serializable()) continue;
    torch::serialize::InputArchive child_archive;
    archive.read(child.key(), child_archive);
    if (absl::Status st = CheckArchiveFits(*child.value(), child_archive,
                                           prefix + child.key() + ".");
        !st.ok()) {
      return st;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status TorchNetwork::LoadWeights(const std::string& bytes) {
  try {
    std::istringstream in(bytes);
    torch::serialize::InputArchive archive;
    archive.load_from(in, torch::Device(device_));
    if (absl::Status st = CheckArchiveFits(*module_, archive, ""); !st.ok()) {
      return st;
    }
    module_->load(archive);
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat(
        "weights do not fit this network: ",
        std::string(e.what()).substr(0, 500)));
  }
}

absl::StatusOr<NetworkOutputs> TorchNetwork::Forward(
    const std::vector<float>& input, int batch) {
  const int64_t expected = int64_t{batch} * network_.in_channels *
                           network_.height * network_.width;
  if (batch < 1 || static_cast<int64_t>(input.size()) != expected) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input has ", input.size(), " floats; batch ", batch, " of ",
        network_.in_channels, "x", network_.height, "x", network_.width,
        " needs ", expected));
  }
  try {
    torch::NoGradGuard no_grad;
    const bool was_training = module_->is_training();
    module_->eval();
    torch::Tensor x =
        torch::from_blob(const_cast<float*>(input.data()),
                         {batch, network_.in_channels, network_.height,
                          network_.width},
                         torch::kFloat32)
            .to(torch::Device(device_));
    NetworkModuleOutput out = module_->forward(x);
    module_->train(was_training);
    NetworkOutputs result;
    result.logits_shape = out.logits.sizes().vec();
    result.logits = ToFloats(out.logits);
    for (const torch::Tensor& f : out.features) {
      result.feature_shapes.push_back(f.sizes().vec());
      result.features.push_back(ToFloats(f));
    }
    return result;
  } catch (const std::exception& e) {
    return FromException(e);
  }
}

absl::StatusOr<LayerTiming> TimeTorchNetwork(const PlainNetwork& n,
                                             NetworkPart part,
                                             const TimingOptions& options) {
  absl::StatusOr<ComputeDevice> parsed = ParseComputeDevice(options.device);
  if (!parsed.ok()) return parsed.status();
  if (absl::Status st = CheckDevice(options.device); !st.ok()) return st;
  std::function<void()> forward;
  try {
    const at::Device device =
        parsed->cuda
            ? at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(parsed->index))
            : at::Device(at::kCPU);
    torch::Tensor x =
        torch::randn({1, n.in_channels, n.height, n.width}).to(device);
    switch (part) {
      case NetworkPart::kWhole: {
        auto module = std::make_shared<NetworkModuleImpl>(n);
        module->to(device);
        module->eval();
        forward = [module, x]() { module->forward(x); };
        break;
      }
      case NetworkPart::kStem: {
        Chain stem;
        stem->push_back(Conv(n.in_channels, n.stem_out_channels, n.stem_kernel,
                             n.stem_stride, 1));
        if (n.stem_batchnorm_relu) AddBnRelu(stem, n.stem_out_channels);
        stem->to(device);
        stem->eval();
        forward = [stem, x]() mutable { stem->forward(x); };
        break;
      }
      case NetworkPart::kFirstBlock: {
        if (n.stages.empty() || n.stages[0].empty()) {
          return absl::InvalidArgumentError("network has no block to time");
        }
        nn::Sequential block;
        AddBlock(block, n.stages[0][0], n.in_channels);
        block->to(device);
        block->eval();
        forward = [block, x]() mutable { block->forward(x); };
        break;
      }
      case NetworkPart::kHead: {
        nn::BatchNorm2d bn{nullptr};
        if (n.head_batchnorm_relu) {
          bn = nn::BatchNorm2d(n.in_channels);
          bn->to(device);
          bn->eval();
        }
        nn::Linear fc(n.in_channels, n.num_classes);
        fc->to(device);
        fc->eval();
        forward = [bn, fc, x]() mutable {
          torch::Tensor h = bn ? torch::relu(bn->forward(x)) : x;
          h = torch::adaptive_avg_pool2d(h, {1, 1}).flatten(1);
          fc->forward(h);
        };
        break;
      }
    }
  } catch (const std::exception& e) {
    return FromException(e);
  }
  return TimeTorchWorkload(forward, options);
}

absl::StatusOr<LayerTiming> TimeBuiltNetwork(const TorchNetwork& network,
                                             const TimingOptions& given) {
  TimingOptions options = given;
  options.device = network.device();
  const PlainNetwork& n = network.plain();
  std::function<void()> forward;
  try {
    std::shared_ptr<NetworkModuleImpl> module = network.module();
    module->eval();
    torch::Tensor x = torch::randn({1, n.in_channels, n.height, n.width})
                          .to(torch::Device(network.device()));
    forward = [module, x]() {
      torch::NoGradGuard no_grad;
      module->forward(x);
    };
  } catch (const std::exception& e) {
    return FromException(e);
  }
  return TimeTorchWorkload(forward, options);
}

}  // namespace hakd
