#include "worker/magnitude_pruning.h"

#include <torch/torch.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "common/torch/torch_network_module.h"

namespace hakd::worker {
namespace {

std::vector<torch::Tensor> PrunableWeights(const TorchNetwork& network) {
  std::vector<torch::Tensor> weights;
  for (const torch::Tensor& p : network.module()->parameters()) {
    if (p.dim() >= 2) weights.push_back(p);
  }
  return weights;
}

absl::Status Internal(const std::exception& e, absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::string(e.what()).substr(0, 1000)));
}

}  // namespace

int64_t PrunableWeightCount(const TorchNetwork& network) {
  int64_t count = 0;
  for (const torch::Tensor& w : PrunableWeights(network)) count += w.numel();
  return count;
}

absl::Status KeepLargestWeights(TorchNetwork* network, int64_t keep) {
  const int64_t total = PrunableWeightCount(*network);
  if (keep < 0 || keep > total) {
    return absl::InvalidArgumentError(absl::StrCat(
        "keep_weights: ", keep, " is not in [0, ", total,
        "] (the network's convolution and linear weights)"));
  }
  try {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> weights = PrunableWeights(*network);
    std::vector<torch::Tensor> flat;
    for (const torch::Tensor& w : weights) flat.push_back(w.detach().abs().flatten());
    torch::Tensor all = torch::cat(flat);
    // Indices of the kept weights: a mask by index, not by a threshold, so
    // that ties at the threshold cannot keep more than `keep`.
    torch::Tensor mask = torch::zeros_like(all);
    if (keep > 0) {
      torch::Tensor kept = std::get<1>(all.topk(keep, /*dim=*/0, /*largest=*/true, /*sorted=*/false));
      mask.index_fill_(0, kept, 1);
    }
    int64_t at = 0;
    for (torch::Tensor& w : weights) {
      const int64_t n = w.numel();
      w.mul_(mask.narrow(0, at, n).view(w.sizes()));
      at += n;
    }
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return Internal(e, "magnitude pruning");
  }
}

absl::StatusOr<NonzeroCount> CountNonzero(const TorchNetwork& network) {
  try {
    NonzeroCount count;
    for (const torch::Tensor& p : network.module()->parameters()) {
      const int64_t nonzero = p.detach().ne(0).sum().item<int64_t>();
      count.parameters += nonzero;
      if (p.dim() >= 2) count.prunable += nonzero;
    }
    return count;
  } catch (const std::exception& e) {
    return Internal(e, "counting nonzero parameters");
  }
}

}  // namespace hakd::worker
