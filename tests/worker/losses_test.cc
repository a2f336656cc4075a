// The training losses against values worked out independently in plain C++
// double arithmetic (no torch) on small fixed tensors.
#include "worker/losses.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace hakd::worker {
namespace {

using Rows = std::vector<std::vector<double>>;

// ---- reference implementations (plain doubles) -------------------------------

std::vector<double> RefSoftmax(const std::vector<double>& x, double t) {
  double m = *std::max_element(x.begin(), x.end()) / t;
  std::vector<double> e(x.size());
  double sum = 0;
  for (size_t i = 0; i < x.size(); ++i) sum += e[i] = std::exp(x[i] / t - m);
  for (double& v : e) v /= sum;
  return e;
}

double RefCrossEntropy(const Rows& logits, const std::vector<int64_t>& labels) {
  double total = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    total += -std::log(RefSoftmax(logits[i], 1.0)[labels[i]]);
  }
  return total / logits.size();
}

double RefKd(const Rows& s, const Rows& t, const std::vector<int64_t>& labels,
             double temperature, double alpha) {
  double kl = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    std::vector<double> ps = RefSoftmax(s[i], temperature);
    std::vector<double> pt = RefSoftmax(t[i], temperature);
    for (size_t j = 0; j < ps.size(); ++j) kl += pt[j] * std::log(pt[j] / ps[j]);
  }
  kl /= s.size();
  return alpha * temperature * temperature * kl +
         (1 - alpha) * RefCrossEntropy(s, labels);
}

struct Feat {
  int n, c, h, w;
  std::vector<double> v;  // NCHW
  double at(int b, int ch, int y, int x) const {
    return v[((static_cast<size_t>(b) * c + ch) * h + y) * w + x];
  }
};

// A deterministic feature map with some negative values.
Feat MakeFeat(int n, int c, int h, int w, double phase) {
  Feat f{n, c, h, w, {}};
  for (int i = 0; i < n * c * h * w; ++i) {
    f.v.push_back(std::sin(1.37 * i + phase) * (1.0 + 0.25 * (i % 3)) + 0.1 * phase);
  }
  return f;
}

Rows RefAttention(const Feat& f) {
  Rows out(f.n, std::vector<double>(f.h * f.w));
  for (int b = 0; b < f.n; ++b) {
    double norm2 = 0;
    for (int y = 0; y < f.h; ++y) {
      for (int x = 0; x < f.w; ++x) {
        double s = 0;
        for (int ch = 0; ch < f.c; ++ch) s += f.at(b, ch, y, x) * f.at(b, ch, y, x);
        out[b][y * f.w + x] = s / f.c;
        norm2 += (s / f.c) * (s / f.c);
      }
    }
    for (double& v : out[b]) v /= std::sqrt(norm2);
  }
  return out;
}

double RefAt(const std::vector<Feat>& s, const std::vector<Feat>& t, double beta) {
  double total = 0;
  for (size_t p = 0; p < s.size(); ++p) {
    Rows as = RefAttention(s[p]), at = RefAttention(t[p]);
    double sum = 0;
    int count = 0;
    for (size_t b = 0; b < as.size(); ++b) {
      for (size_t k = 0; k < as[b].size(); ++k) {
        sum += (as[b][k] - at[b][k]) * (as[b][k] - at[b][k]);
        ++count;
      }
    }
    total += sum / count;
  }
  return beta / 2 * total;
}

// ---- tensors from the same values -------------------------------------------------

torch::Tensor ToTensor(const Rows& rows, torch::Dtype dtype) {
  std::vector<double> flat;
  for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  return torch::tensor(flat, torch::kFloat64)
      .reshape({static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())})
      .to(dtype);
}

torch::Tensor ToTensor(const Feat& f, torch::Dtype dtype) {
  return torch::tensor(f.v, torch::kFloat64).reshape({f.n, f.c, f.h, f.w}).to(dtype);
}

std::vector<torch::Tensor> ToTensors(const std::vector<Feat>& fs, torch::Dtype dtype) {
  std::vector<torch::Tensor> out;
  for (const Feat& f : fs) out.push_back(ToTensor(f, dtype));
  return out;
}

torch::Tensor Labels(const std::vector<int64_t>& labels) {
  return torch::tensor(labels, torch::kInt64);
}

double Value(const torch::Tensor& t) {
  EXPECT_EQ(t.dim(), 0) << "a loss is a scalar";
  return t.to(torch::kFloat64).item<double>();
}

// |got - want| <= 1e-5 * |want| (and an absolute floor for values near 0).
void ExpectRel(double got, double want, double floor = 1e-9) {
  EXPECT_NEAR(got, want, std::max(floor, 1e-5 * std::fabs(want)))
      << "got " << got << ", want " << want;
}

const Rows kStudent = {{1.0, 2.0, 0.5}, {-1.0, 0.3, 2.2}};
const Rows kTeacher = {{0.2, 3.0, -1.0}, {1.5, -0.5, 0.7}};
const std::vector<int64_t> kLabels = {1, 2};

class LossesTest : public ::testing::TestWithParam<torch::Dtype> {};

TEST_P(LossesTest, CrossEntropy) {
  const double want = RefCrossEntropy(kStudent, kLabels);
  ExpectRel(Value(CrossEntropyLoss(ToTensor(kStudent, GetParam()), Labels(kLabels))), want);
  // Another labelling, to catch a loss that ignores the labels.
  const std::vector<int64_t> other = {0, 0};
  const double want_other = RefCrossEntropy(kStudent, other);
  EXPECT_GT(std::fabs(want_other - want), 0.1);
  ExpectRel(Value(CrossEntropyLoss(ToTensor(kStudent, GetParam()), Labels(other))), want_other);
}

TEST_P(LossesTest, KnowledgeDistillationForSeveralTemperaturesAndAlphas) {
  torch::Tensor s = ToTensor(kStudent, GetParam());
  torch::Tensor t = ToTensor(kTeacher, GetParam());
  for (double temperature : {1.0, 2.0, 4.0, 8.0}) {
    for (double alpha : {0.0, 0.3, 0.9, 1.0}) {
      SCOPED_TRACE(testing::Message() << "T " << temperature << " alpha " << alpha);
      const double want = RefKd(kStudent, kTeacher, kLabels, temperature, alpha);
      ExpectRel(Value(KnowledgeDistillationLoss(s, t, Labels(kLabels), temperature, alpha)), want);
    }
  }
}

TEST_P(LossesTest, KnowledgeDistillationWithAlphaZeroIsCrossEntropy) {
  torch::Tensor s = ToTensor(kStudent, GetParam());
  torch::Tensor t = ToTensor(kTeacher, GetParam());
  ExpectRel(Value(KnowledgeDistillationLoss(s, t, Labels(kLabels), 4.0, 0.0)),
            Value(CrossEntropyLoss(s, Labels(kLabels))));
}

TEST_P(LossesTest, KnowledgeDistillationOfTheTeacherItselfIsOnlyCrossEntropy) {
  torch::Tensor t = ToTensor(kTeacher, GetParam());
  // KL(p || p) = 0: what is left is (1 - alpha) CE.
  ExpectRel(Value(KnowledgeDistillationLoss(t, t, Labels(kLabels), 3.0, 0.75)),
            0.25 * RefCrossEntropy(kTeacher, kLabels), 1e-6);
}

TEST_P(LossesTest, AttentionMapMatchesReference) {
  Feat f = MakeFeat(2, 3, 2, 2, 0.4);
  torch::Tensor a = AttentionMap(ToTensor(f, GetParam()));
  ASSERT_EQ(a.sizes().vec(), (std::vector<int64_t>{2, 4}));
  Rows want = RefAttention(f);
  torch::Tensor got = a.to(torch::kFloat64).contiguous();
  for (int b = 0; b < 2; ++b) {
    for (int k = 0; k < 4; ++k) ExpectRel(got[b][k].item<double>(), want[b][k]);
  }
  // Per-sample unit L2 norm.
  for (int b = 0; b < 2; ++b) ExpectRel(got[b].norm().item<double>(), 1.0);
}

TEST_P(LossesTest, AttentionTransferWithDifferentChannelCounts) {
  // Point 0: student 2 channels, teacher 3, both 2x2; point 1: 1 vs 4
  // channels at 1x3.
  std::vector<Feat> s = {MakeFeat(2, 2, 2, 2, 0.1), MakeFeat(2, 1, 1, 3, 0.9)};
  std::vector<Feat> t = {MakeFeat(2, 3, 2, 2, 2.3), MakeFeat(2, 4, 1, 3, -0.6)};
  for (double beta : {1.0, 1000.0}) {
    const double want = RefAt(s, t, beta);
    ASSERT_GT(want, 0);
    ExpectRel(Value(AttentionTransferLoss(ToTensors(s, GetParam()), ToTensors(t, GetParam()), beta)),
              want);
  }
  // One point alone.
  ExpectRel(Value(AttentionTransferLoss({ToTensor(s[0], GetParam())}, {ToTensor(t[0], GetParam())}, 10.0)),
            RefAt({s[0]}, {t[0]}, 10.0));
}

TEST_P(LossesTest, AttentionTransferOfIdenticalFeaturesIsZero) {
  std::vector<Feat> f = {MakeFeat(2, 2, 2, 2, 0.5), MakeFeat(2, 3, 2, 2, 1.5)};
  EXPECT_NEAR(Value(AttentionTransferLoss(ToTensors(f, GetParam()), ToTensors(f, GetParam()), 1000.0)),
              0.0, 1e-9);
  // Scaling a feature map does not change its (normalised) attention map.
  Feat scaled = f[0];
  for (double& v : scaled.v) v *= 3.0;
  EXPECT_NEAR(Value(AttentionTransferLoss({ToTensor(scaled, GetParam())}, {ToTensor(f[0], GetParam())}, 1000.0)),
              0.0, 1e-7);
}

TEST_P(LossesTest, AttentionTransferScalesLinearlyWithBeta) {
  auto s = ToTensors({MakeFeat(2, 2, 2, 2, 0.1)}, GetParam());
  auto t = ToTensors({MakeFeat(2, 3, 2, 2, 2.3)}, GetParam());
  const double one = Value(AttentionTransferLoss(s, t, 1.0));
  ASSERT_GT(one, 0);
  ExpectRel(Value(AttentionTransferLoss(s, t, 250.0)), 250.0 * one);
  ExpectRel(Value(AttentionTransferLoss(s, t, 1000.0)), 1000.0 * one);
  EXPECT_EQ(Value(AttentionTransferLoss(s, t, 0.0)), 0.0);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, LossesTest,
                         ::testing::Values(torch::kFloat32, torch::kFloat64),
                         [](const ::testing::TestParamInfo<torch::Dtype>& info) {
                           return info.param == torch::kFloat32 ? std::string("Float32")
                                                                : std::string("Float64");
                         });

TEST(AttentionTransferTest, NoPointsIsZeroAndMismatchedCountsThrow) {
  EXPECT_EQ(Value(AttentionTransferLoss({}, {}, 1000.0)), 0.0);
  std::vector<torch::Tensor> one = {torch::ones({2, 2, 2, 2})};
  std::vector<torch::Tensor> two = {torch::ones({2, 2, 2, 2}), torch::ones({2, 2, 1, 1})};
  EXPECT_THROW(AttentionTransferLoss(one, two, 1.0), std::invalid_argument);
}

TEST(LossGradientTest, KnowledgeDistillationGradientFlowsToTheStudentOnly) {
  torch::Tensor s = ToTensor(kStudent, torch::kFloat64).requires_grad_(true);
  torch::Tensor t = ToTensor(kTeacher, torch::kFloat64);
  torch::Tensor loss = KnowledgeDistillationLoss(s, t, Labels(kLabels), 4.0, 0.9);
  loss.backward();
  ASSERT_TRUE(s.grad().defined());
  // Softmax gradients sum to zero over the classes of each row.
  for (int i = 0; i < 2; ++i) EXPECT_NEAR(s.grad()[i].sum().item<double>(), 0.0, 1e-12);
  // Finite differences on one logit.
  const double h = 1e-6;
  Rows plus = kStudent, minus = kStudent;
  plus[0][1] += h;
  minus[0][1] -= h;
  double numeric = (RefKd(plus, kTeacher, kLabels, 4.0, 0.9) - RefKd(minus, kTeacher, kLabels, 4.0, 0.9)) / (2 * h);
  EXPECT_NEAR(s.grad()[0][1].item<double>(), numeric, 1e-6);
}

}  // namespace
}  // namespace hakd::worker
