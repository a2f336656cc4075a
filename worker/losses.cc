#include "worker/losses.h"

#include <torch/nn/functional/loss.h>
#include <torch/nn/functional/normalization.h>

#include <stdexcept>

namespace hakd::worker {

namespace F = torch::nn::functional;

torch::Tensor CrossEntropyLoss(const torch::Tensor& logits,
                               const torch::Tensor& labels) {
  return F::cross_entropy(logits, labels);
}

torch::Tensor KnowledgeDistillationLoss(const torch::Tensor& student_logits,
                                        const torch::Tensor& teacher_logits,
                                        const torch::Tensor& labels,
                                        double temperature, double alpha) {
  const double t = temperature;
  torch::Tensor log_p_student = torch::log_softmax(student_logits / t, 1);
  torch::Tensor p_teacher = torch::softmax(teacher_logits / t, 1);
  // KL(p_t || p_s) = sum p_t (log p_t - log p_s), averaged over the batch;
  // xlogy keeps 0 * log 0 at 0.
  torch::Tensor kl =
      (torch::xlogy(p_teacher, p_teacher) - p_teacher * log_p_student).sum() /
      student_logits.size(0);
  return kl * (alpha * t * t) +
         CrossEntropyLoss(student_logits, labels) * (1.0 - alpha);
}

torch::Tensor AttentionMap(const torch::Tensor& features) {
  torch::Tensor a = features.pow(2).mean(1).flatten(1);
  return F::normalize(a, F::NormalizeFuncOptions().p(2).dim(1));
}

torch::Tensor AttentionTransferLoss(
    const std::vector<torch::Tensor>& student_features,
    const std::vector<torch::Tensor>& teacher_features, double beta) {
  if (student_features.size() != teacher_features.size()) {
    throw std::invalid_argument("attention transfer: student and teacher have different numbers of points");
  }
  torch::Tensor total;
  for (size_t i = 0; i < student_features.size(); ++i) {
    torch::Tensor d = AttentionMap(student_features[i]) - AttentionMap(teacher_features[i]);
    torch::Tensor term = d.pow(2).mean();
    total = total.defined() ? total + term : term;
  }
  if (!total.defined()) return torch::zeros({});
  return total * (beta / 2.0);
}

}  // namespace hakd::worker
