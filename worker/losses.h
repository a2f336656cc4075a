// The training losses: cross-entropy, Hinton knowledge distillation and
// attention transfer (Zagoruyko & Komodakis 2017, as Moonshine uses it).
// Torch header: only torch code includes it.
#ifndef HAKD_WORKER_LOSSES_H_
#define HAKD_WORKER_LOSSES_H_

#include <torch/types.h>

#include <vector>

namespace hakd::worker {

// Mean cross-entropy of `logits` [batch, classes] against class `labels`.
torch::Tensor CrossEntropyLoss(const torch::Tensor& logits,
                               const torch::Tensor& labels);

// Hinton KD: alpha * T^2 * KL(softmax(teacher/T) || softmax(student/T))
// (batch mean) + (1 - alpha) * CE(student, labels).
torch::Tensor KnowledgeDistillationLoss(const torch::Tensor& student_logits,
                                        const torch::Tensor& teacher_logits,
                                        const torch::Tensor& labels,
                                        double temperature, double alpha);

// The attention map of a feature map [batch, C, H, W]: the channel mean of
// the squared activations, flattened to [batch, H*W] and L2-normalised per
// sample.
torch::Tensor AttentionMap(const torch::Tensor& features);

// beta/2 * sum over points of mean((a_s - a_t)^2). Student and teacher
// points must pair up with equal spatial sizes (channels may differ).
torch::Tensor AttentionTransferLoss(
    const std::vector<torch::Tensor>& student_features,
    const std::vector<torch::Tensor>& teacher_features, double beta);

}  // namespace hakd::worker

#endif  // HAKD_WORKER_LOSSES_H_
