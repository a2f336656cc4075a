#include "worker/fisher_saliency.h"

#include <torch/nn/functional/loss.h>
#include <torch/torch.h>

#include "absl/strings/str_cat.h"
#include "common/torch/torch_network_module.h"
#include "worker/batch_loader.h"

namespace hakd::worker {

absl::StatusOr<std::vector<BlockSaliency>> ComputeFisherSaliency(
    TorchNetwork* network, const Dataset& data, const SaliencyOptions& options) {
  if (data.size() == 0) return absl::InvalidArgumentError("saliency: empty dataset");
  if (options.batch_size < 1) return absl::InvalidArgumentError("saliency: batch_size must be >= 1");
  std::shared_ptr<NetworkModuleImpl> module = network->module();
  std::vector<torch::Tensor> mids;
  std::vector<BlockSaliency> result;
  try {
    const bool was_training = module->is_training();
    const std::vector<std::pair<int, int>> blocks = module->CaptureBlockMids(&mids);
    if (blocks.empty()) {
      module->CaptureBlockMids(nullptr);
      return absl::InvalidArgumentError("saliency: the network has no residual block");
    }
    module->eval();
    const torch::Device device(network->device());
    LoaderOptions lo;
    lo.batch_size = options.batch_size;
    lo.train = false;
    lo.threads = options.loader_threads;
    if (options.examples > 0) {
      lo.max_batches = (options.examples + options.batch_size - 1) / options.batch_size;
    }
    BatchLoader loader(data, lo);
    std::vector<torch::Tensor> sums(blocks.size());
    int64_t seen = 0;
    Batch batch;
    while (loader.Next(&batch)) {
      int n = batch.size;
      if (options.examples > 0) n = static_cast<int>(std::min<int64_t>(n, options.examples - seen));
      if (n <= 0) break;
      torch::Tensor x = torch::from_blob(batch.images.data(), {batch.size, data.channels, data.height, data.width},
                                         torch::kFloat32).narrow(0, 0, n).to(device);
      torch::Tensor y = torch::from_blob(batch.labels.data(), {batch.size}, torch::kInt64).narrow(0, 0, n).to(device);
      mids.clear();
      NetworkModuleOutput out = module->forward(x);
      for (torch::Tensor& m : mids) m.retain_grad();
      // Summed, so that each example's gradient is that of its own loss.
      torch::Tensor loss = torch::nn::functional::cross_entropy(
          out.logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
      module->zero_grad();
      loss.backward();
      for (size_t i = 0; i < mids.size(); ++i) {
        torch::Tensor per_example = (mids[i] * mids[i].grad()).sum({2, 3});  // [n, C]
        torch::Tensor term = per_example.pow(2).sum(0).to(torch::kFloat64).cpu();
        sums[i] = sums[i].defined() ? sums[i] + term : term;
      }
      seen += n;
    }
    module->zero_grad();
    module->CaptureBlockMids(nullptr);
    module->train(was_training);
    for (size_t i = 0; i < blocks.size(); ++i) {
      BlockSaliency s;
      s.stage = blocks[i].first;
      s.block = blocks[i].second;
      torch::Tensor delta = sums[i] / (2.0 * seen);
      s.channels.assign(delta.data_ptr<double>(), delta.data_ptr<double>() + delta.numel());
      result.push_back(std::move(s));
    }
  } catch (const std::exception& e) {
    module->CaptureBlockMids(nullptr);
    return absl::InternalError(absl::StrCat("saliency: ", std::string(e.what()).substr(0, 1000)));
  }
  return result;
}

}  // namespace hakd::worker
