#include "worker/fisher_saliency.h"

#include <torch/nn/functional/loss.h>
#include <torch/torch.h>

#include "absl/strings/str_cat.h"
#include "worker/batch_loader.h"
#include "worker/fisher_accumulator.h"

namespace hakd::worker {

absl::StatusOr<std::vector<BlockSaliency>> ComputeFisherSaliency(
    TorchNetwork* network, const Dataset& data, const SaliencyOptions& options) {
  if (data.size() == 0) return absl::InvalidArgumentError("saliency: empty dataset");
  if (options.batch_size < 1) return absl::InvalidArgumentError("saliency: batch_size must be >= 1");
  std::shared_ptr<NetworkModuleImpl> module = network->module();
  const bool was_training = module->is_training();
  try {
    FisherAccumulator fisher(module);
    if (fisher.blocks().empty()) {
      return absl::InvalidArgumentError("saliency: the network has no residual block");
    }
    module->eval();
    const torch::Device device(network->device());
    LoaderOptions lo;
    lo.batch_size = options.batch_size;
    lo.train = false;
    lo.threads = options.loader_threads;
    const int64_t total = options.examples > 0 ? std::min(options.examples, data.size()) : data.size();
    lo.max_batches = (total + options.batch_size - 1) / options.batch_size;
    BatchLoader loader(data, lo);
    Batch batch;
    int64_t seen = 0;
    while (seen < total && loader.Next(&batch)) {
      const int n = static_cast<int>(std::min<int64_t>(batch.size, total - seen));
      torch::Tensor x = torch::from_blob(batch.images.data(), {batch.size, data.channels, data.height, data.width},
                                         torch::kFloat32).narrow(0, 0, n).to(device);
      torch::Tensor y = torch::from_blob(batch.labels.data(), {batch.size}, torch::kInt64).narrow(0, 0, n).to(device);
      fisher.BeforeForward();
      NetworkModuleOutput out = module->forward(x);
      fisher.RetainGrads();
      // Summed, so that each example's gradient is that of its own loss.
      torch::Tensor loss = torch::nn::functional::cross_entropy(
          out.logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
      module->zero_grad();
      loss.backward();
      fisher.Accumulate(1.0);
      seen += n;
      if (options.on_batch && !options.on_batch(seen, total)) {
        module->zero_grad();
        module->train(was_training);
        return absl::CancelledError("saliency cancelled");
      }
    }
    module->zero_grad();
    module->train(was_training);
    return fisher.Saliency();
  } catch (const std::exception& e) {
    module->train(was_training);
    return absl::InternalError(absl::StrCat("saliency: ", std::string(e.what()).substr(0, 1000)));
  }
}

}  // namespace hakd::worker
