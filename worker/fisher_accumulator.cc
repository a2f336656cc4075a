#include "worker/fisher_accumulator.h"

#include <torch/torch.h>

namespace hakd::worker {

FisherAccumulator::FisherAccumulator(std::shared_ptr<NetworkModuleImpl> module)
    : module_(std::move(module)) {
  blocks_ = module_->CaptureBlockMids(&mids_);
}

FisherAccumulator::~FisherAccumulator() { module_->CaptureBlockMids(nullptr); }

void FisherAccumulator::RetainGrads() {
  for (torch::Tensor& m : mids_) m.retain_grad();
}

void FisherAccumulator::Accumulate(double loss_scale) {
  if (mids_.size() != blocks_.size() || mids_.empty()) return;
  if (sums_.empty()) sums_.resize(blocks_.size());
  for (size_t i = 0; i < mids_.size(); ++i) {
    // [n, C]: each example's sum over positions of a * g.
    torch::Tensor per_example =
        (mids_[i].detach() * mids_[i].grad()).sum({2, 3}).to(torch::kFloat64) * loss_scale;
    torch::Tensor term = per_example.pow(2).sum(0).cpu();
    sums_[i] = sums_[i].defined() ? sums_[i] + term : term;
  }
  examples_ += mids_[0].size(0);
  mids_.clear();
}

std::vector<BlockSaliency> FisherAccumulator::Saliency() const {
  std::vector<BlockSaliency> result;
  for (size_t i = 0; i < blocks_.size(); ++i) {
    BlockSaliency s;
    s.stage = blocks_[i].first;
    s.block = blocks_[i].second;
    if (i < sums_.size() && sums_[i].defined() && examples_ > 0) {
      torch::Tensor delta = (sums_[i] / (2.0 * examples_)).contiguous();
      s.channels.assign(delta.data_ptr<double>(), delta.data_ptr<double>() + delta.numel());
    }
    result.push_back(std::move(s));
  }
  return result;
}

void FisherAccumulator::Reset() {
  sums_.clear();
  mids_.clear();
  examples_ = 0;
}

}  // namespace hakd::worker
