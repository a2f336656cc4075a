#include "worker/trainer.h"

#include <ATen/autocast_mode.h>
#include <torch/optim/sgd.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/torch/torch_network_module.h"
#include "worker/batch_loader.h"
#include "worker/data_parallel.h"
#include "worker/losses.h"

namespace hakd::worker {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

absl::Status FromException(const std::exception& e, absl::string_view what) {
  std::string msg = e.what();
  if (dynamic_cast<const GroupError*>(&e) != nullptr) {
    // Another group can finish the task: retryable.
    return absl::UnavailableError(absl::StrCat(what, ": ", msg.substr(0, 2000)));
  }
  if (msg.find("out of memory") != std::string::npos) {
    return absl::ResourceExhaustedError(absl::StrCat(what, ": ", msg));
  }
  return absl::InternalError(absl::StrCat(what, ": ", msg.substr(0, 2000)));
}

// Gives every 4-D parameter and buffer of `module` the memory format
// `format`, keeping its autograd identity (optimisers hold the same tensors).
void SetMemoryFormat(torch::nn::Module& module, at::MemoryFormat format) {
  torch::NoGradGuard no_grad;
  for (torch::Tensor& p : module.parameters()) {
    if (p.dim() == 4) p.set_data(p.data().contiguous(format));
  }
  for (torch::Tensor& b : module.buffers()) {
    if (b.dim() == 4) b.set_data(b.data().contiguous(format));
  }
}

}  // namespace

double LearningRateAt(const TrainerConfig& c, int epoch, int64_t step,
                      int64_t steps_per_epoch) {
  const double t = epoch + static_cast<double>(step) / std::max<int64_t>(1, steps_per_epoch);
  if (c.warmup_epochs > 0 && t < c.warmup_epochs) {
    return c.learning_rate * (0.1 + 0.9 * t / c.warmup_epochs);
  }
  switch (c.schedule) {
    case LrSchedule::kConstant:
      return c.learning_rate;
    case LrSchedule::kStep: {
      double lr = c.learning_rate;
      for (int m : c.milestones) {
        if (epoch + 1 > m) lr *= c.gamma;  // epoch m+1 onwards (1-based)
      }
      return lr;
    }
    case LrSchedule::kCosine: {
      const double span = std::max(1e-9, static_cast<double>(c.epochs - c.warmup_epochs));
      const double p = std::min(1.0, (t - c.warmup_epochs) / span);
      return c.learning_rate * 0.5 * (1.0 + std::cos(M_PI * p));
    }
  }
  return c.learning_rate;
}

void SeedTorch(uint64_t seed) { torch::manual_seed(seed); }

class Trainer::Impl {
 public:
  Impl(TorchNetwork* student, TorchNetwork* teacher, const Dataset* train,
       const Dataset* test, const TrainerConfig& config)
      : student_(student->module()),
        teacher_(teacher != nullptr ? teacher->module() : nullptr),
        train_(train),
        test_(test),
        config_(config),
        device_(student->device()),
        group_(config.group),
        optimizer_(student_->parameters(),
                   torch::optim::SGDOptions(config.learning_rate)
                       .momentum(config.momentum)
                       .nesterov(config.nesterov && config.momentum > 0)
                       .weight_decay(config.weight_decay)) {
    // On CPU, LibTorch's oneDNN convolutions are faster on channels-last
    // (NHWC) tensors: measured on the 2-core EPYC, teacher WRN-16-4 forward
    // -10%, student WRN-16-1 forward+backward -30% at batch 128. Same math.
    channels_last_ = device_.is_cpu();
    if (channels_last_) {
      SetMemoryFormat(*student_, at::MemoryFormat::ChannelsLast);
      if (teacher_ != nullptr) SetMemoryFormat(*teacher_, at::MemoryFormat::ChannelsLast);
    }
  }

  // Back to the default layout, so that artifacts hold plain tensors.
  void RestoreLayout() {
    if (!channels_last_) return;
    SetMemoryFormat(*student_, at::MemoryFormat::Contiguous);
    if (teacher_ != nullptr) SetMemoryFormat(*teacher_, at::MemoryFormat::Contiguous);
  }

  int64_t StepsPerEpoch() const {
    int64_t full = (train_->size() + config_.batch_size - 1) / config_.batch_size;
    return config_.steps_per_epoch > 0 ? std::min(full, config_.steps_per_epoch) : full;
  }

  void SetLr(double lr) {
    for (auto& group : optimizer_.param_groups()) {
      static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
    }
  }

  torch::Tensor ToDevice(Batch& b, const Dataset& d) {
    torch::Tensor x = torch::from_blob(b.images.data(), {b.size, d.channels, d.height, d.width}, torch::kFloat32);
    x = x.to(device_);
    return channels_last_ ? x.contiguous(at::MemoryFormat::ChannelsLast) : x;
  }

  // Rank 0's parameters and buffers (or only buffers) to every member.
  void SyncFromRankZero(bool parameters) {
    if (group_ == nullptr) return;
    std::vector<torch::Tensor> tensors;
    if (parameters) {
      for (const torch::Tensor& p : student_->parameters()) tensors.push_back(p);
    }
    for (const torch::Tensor& b : student_->buffers()) tensors.push_back(b);
    group_->Broadcast(tensors, 0);
  }

  // Averages the gradients over the group's global batch (each member's
  // mean-loss gradient weighted by its share of the batch) and turns
  // *loss and *correct into the group's.
  void ReduceGradients(const Batch& batch, double* loss, int64_t* correct) {
    torch::NoGradGuard no_grad;
    const double share = batch.global_size > 0
                             ? static_cast<double>(batch.size) / batch.global_size
                             : 0.0;
    std::vector<torch::Tensor> tensors;
    for (torch::Tensor& p : student_->parameters()) {
      if (!p.requires_grad()) continue;
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      p.grad().mul_(share);
      tensors.push_back(p.grad());
    }
    // Float32 like the gradients, so that one collective carries all.
    torch::Tensor stats = torch::tensor(
        {static_cast<float>(*loss * batch.size), static_cast<float>(*correct)},
        torch::TensorOptions().dtype(torch::kFloat32).device(device_));
    tensors.push_back(stats);
    group_->AllReduceSum(tensors);
    *loss = stats[0].item<double>() / std::max(1, batch.global_size);
    *correct = static_cast<int64_t>(std::llround(stats[1].item<double>()));
  }

  // One step; returns (loss, correct), the group's under data parallelism.
  std::pair<double, int64_t> Step(Batch& batch) {
    optimizer_.zero_grad();
    double loss_value = 0;
    int64_t correct = 0;
    // Under data parallelism a member may hold no image of a small last
    // batch; it still joins the gradient all-reduce (with zeros).
    if (batch.size > 0) {
      torch::Tensor x = ToDevice(batch, *train_);
      torch::Tensor y = torch::from_blob(batch.labels.data(), {batch.size}, torch::kInt64).to(device_);
      const bool autocast = config_.mixed_precision && device_.is_cuda();
      if (autocast) {
        at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
        at::autocast::set_enabled(true);
      }
      NetworkModuleOutput out = student_->forward(x);
      torch::Tensor loss;
      if (teacher_ != nullptr) {
        NetworkModuleOutput t;
        {
          torch::NoGradGuard no_grad;
          t = teacher_->forward(x);
        }
        loss = KnowledgeDistillationLoss(out.logits.to(torch::kFloat32), t.logits.to(torch::kFloat32), y,
                                         config_.temperature, config_.alpha);
        if (config_.beta >= 0) {
          std::vector<torch::Tensor> sf, tf;
          for (auto& f : out.features) sf.push_back(f.to(torch::kFloat32));
          for (auto& f : t.features) tf.push_back(f.to(torch::kFloat32));
          loss = loss + AttentionTransferLoss(sf, tf, config_.beta);
        }
      } else {
        loss = CrossEntropyLoss(out.logits.to(torch::kFloat32), y);
      }
      if (autocast) {
        at::autocast::set_enabled(false);
        at::autocast::clear_cache();
      }
      loss.backward();
      correct = out.logits.argmax(1).eq(y).sum().item<int64_t>();
      loss_value = loss.item<double>();
    }
    if (group_ != nullptr) ReduceGradients(batch, &loss_value, &correct);
    optimizer_.step();
    if (!masks_.empty()) {
      torch::NoGradGuard no_grad;
      for (auto& [weight, mask] : masks_) weight.mul_(mask);
    }
    return {loss_value, correct};
  }

  // Images a step trained on: the group's under data parallelism.
  int Counted(const Batch& batch) const {
    return group_ != nullptr ? batch.global_size : batch.size;
  }

  LoaderOptions ShardedLoader(LoaderOptions lo) const {
    if (group_ != nullptr) {
      lo.shard_index = group_->rank();
      lo.shard_count = group_->world_size();
    }
    return lo;
  }

  absl::StatusOr<EpochResult> Evaluate() {
    try {
      // Every member evaluates rank 0's BatchNorm statistics on its shard.
      SyncFromRankZero(/*parameters=*/false);
      student_->eval();
      torch::NoGradGuard no_grad;
      LoaderOptions lo;
      lo.batch_size = config_.eval_batch_size;
      lo.train = false;
      lo.threads = config_.loader_threads;
      BatchLoader loader(*test_, ShardedLoader(lo));
      Batch b;
      double loss_sum = 0;
      int64_t correct = 0, seen = 0;
      while (loader.Next(&b)) {
        if (b.size == 0) continue;
        torch::Tensor x = ToDevice(b, *test_);
        torch::Tensor y = torch::from_blob(b.labels.data(), {b.size}, torch::kInt64).to(device_);
        torch::Tensor logits = student_->forward(x).logits.to(torch::kFloat32);
        loss_sum += torch::nn::functional::cross_entropy(
                        logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                        .item<double>();
        correct += logits.argmax(1).eq(y).sum().item<int64_t>();
        seen += b.size;
      }
      if (group_ != nullptr) {
        torch::Tensor sums = torch::tensor(
            {loss_sum, static_cast<double>(correct), static_cast<double>(seen)},
            torch::TensorOptions().dtype(torch::kFloat64).device(device_));
        group_->AllReduceSum({sums});
        sums = sums.cpu();
        loss_sum = sums[0].item<double>();
        correct = static_cast<int64_t>(std::llround(sums[1].item<double>()));
        seen = static_cast<int64_t>(std::llround(sums[2].item<double>()));
      }
      EpochResult r;
      r.test_loss = seen > 0 ? loss_sum / seen : 0;
      r.test_accuracy = seen > 0 ? static_cast<double>(correct) / seen : 0;
      return r;
    } catch (const std::exception& e) {
      return FromException(e, "evaluation");
    }
  }

  absl::StatusOr<std::string> Checkpoint(int epochs_done) {
    try {
      torch::serialize::OutputArchive archive;
      torch::serialize::OutputArchive model, optim;
      student_->save(model);
      optimizer_.save(optim);
      archive.write("model", model);
      archive.write("optimizer", optim);
      archive.write("epochs_done", torch::tensor({static_cast<int64_t>(epochs_done)}));
      archive.write("seed", torch::tensor({static_cast<int64_t>(config_.seed)}));
      archive.write("rng", at::detail::getDefaultCPUGenerator().get_state());
      std::ostringstream out;
      archive.save_to(out);
      return out.str();
    } catch (const std::exception& e) {
      return FromException(e, "checkpoint");
    }
  }

  absl::Status Resume(const std::string& bytes) {
    try {
      std::istringstream in(bytes);
      torch::serialize::InputArchive archive;
      archive.load_from(in, device_);
      torch::serialize::InputArchive model, optim;
      archive.read("model", model);
      archive.read("optimizer", optim);
      student_->load(model);
      optimizer_.load(optim);
      torch::Tensor done, seed, rng;
      archive.read("epochs_done", done);
      archive.read("seed", seed);
      archive.read("rng", rng);
      if (static_cast<uint64_t>(seed.item<int64_t>()) != config_.seed) {
        return absl::FailedPreconditionError(absl::StrCat(
            "checkpoint was made with seed ", seed.item<int64_t>(), ", this run has ", config_.seed));
      }
      at::Generator generator = at::detail::getDefaultCPUGenerator();
      generator.set_state(rng.to(torch::kCPU));
      next_epoch_ = static_cast<int>(done.item<int64_t>());
      if (next_epoch_ < 0 || next_epoch_ > config_.epochs) {
        return absl::DataLossError(absl::StrCat("checkpoint: epochs_done ", next_epoch_, " outside 0..", config_.epochs));
      }
      return absl::OkStatus();
    } catch (const std::exception& e) {
      return absl::DataLossError(absl::StrCat("checkpoint cannot be read: ", std::string(e.what()).substr(0, 500)));
    }
  }

  // The mask of keep_zero_weights, from the weights as they are now.
  void BuildMasks() {
    masks_.clear();
    if (!config_.keep_zero_weights) return;
    for (torch::Tensor& p : student_->parameters()) {
      if (p.dim() >= 2) masks_.emplace_back(p, p.detach().ne(0).to(p.scalar_type()));
    }
  }

  absl::StatusOr<std::vector<EpochResult>> Run(const TrainerCallbacks& cb) {
    std::vector<EpochResult> results;
    try {
      BuildMasks();
    } catch (const std::exception& e) {
      return FromException(e, "building the weight masks");
    }
    const int64_t steps = StepsPerEpoch();
    if (teacher_ != nullptr) teacher_->eval();
    try {
      // Members start from rank 0's weights (initial, or its checkpoint's).
      SyncFromRankZero(/*parameters=*/true);
    } catch (const std::exception& e) {
      return FromException(e, "broadcasting the initial weights");
    }
    for (int epoch = next_epoch_; epoch < config_.epochs; ++epoch) {
      const Clock::time_point epoch_start = Clock::now();
      EpochResult r;
      r.epoch = epoch + 1;
      try {
        student_->train();
        LoaderOptions lo;
        lo.batch_size = config_.batch_size;
        lo.seed = config_.seed;
        lo.epoch = epoch;
        lo.threads = config_.loader_threads;
        lo.max_batches = steps;
        BatchLoader loader(*train_, ShardedLoader(lo));
        Batch batch;
        double loss_sum = 0;
        int64_t correct = 0, seen = 0, step = 0;
        const Clock::time_point train_start = Clock::now();
        while (loader.Next(&batch)) {
          const double lr = LearningRateAt(config_, epoch, step, steps);
          SetLr(lr);
          r.learning_rate = lr;
          auto [loss, ok] = Step(batch);
          if (!std::isfinite(loss)) {
            return absl::InternalError(absl::StrCat("loss became ", loss, " at epoch ", epoch + 1, " step ", step + 1, " (learning rate ", lr, " too high?)"));
          }
          ++step;
          loss_sum += loss * Counted(batch);
          correct += ok;
          seen += Counted(batch);
          if (cb.on_step) {
            StepProgress p;
            p.epoch = epoch + 1;
            p.epochs = config_.epochs;
            p.step = step;
            p.steps = steps;
            p.loss = loss_sum / seen;
            p.accuracy = static_cast<double>(correct) / seen;
            p.images_per_second = seen / std::max(1e-9, Seconds(train_start));
            if (!cb.on_step(p)) return absl::CancelledError("training cancelled");
          }
        }
        r.images_per_second = seen / std::max(1e-9, Seconds(train_start));
        r.train_loss = seen > 0 ? loss_sum / seen : 0;
        r.train_accuracy = seen > 0 ? static_cast<double>(correct) / seen : 0;
        r.loader_wait_seconds = loader.wait_seconds();
      } catch (const std::exception& e) {
        return FromException(e, absl::StrCat("training epoch ", epoch + 1));
      }
      absl::StatusOr<EpochResult> eval = Evaluate();
      if (!eval.ok()) return eval.status();
      r.test_loss = eval->test_loss;
      r.test_accuracy = eval->test_accuracy;
      r.seconds = Seconds(epoch_start);
      next_epoch_ = epoch + 1;
      // Every member holds the same weights; rank 0 keeps the checkpoint.
      absl::StatusOr<std::string> checkpoint = std::string();
      if (group_ == nullptr || group_->rank() == 0) checkpoint = Checkpoint(next_epoch_);
      if (!checkpoint.ok()) return checkpoint.status();
      if (cb.on_epoch) {
        if (absl::Status st = cb.on_epoch(r, *checkpoint); !st.ok()) return st;
      }
      results.push_back(r);
    }
    return results;
  }

 public:
  absl::StatusOr<std::vector<EpochResult>> RunAndRestore(const TrainerCallbacks& cb) {
    absl::StatusOr<std::vector<EpochResult>> r = Run(cb);
    try {
      RestoreLayout();
    } catch (const std::exception& e) {
      return FromException(e, "restoring the tensor layout");
    }
    return r;
  }

  absl::StatusOr<double> TrainSteps(int64_t steps, double* images_per_second) {
    try {
      BuildMasks();
      student_->train();
      if (teacher_ != nullptr) teacher_->eval();
      LoaderOptions lo;
      lo.batch_size = config_.batch_size;
      lo.seed = config_.seed;
      lo.threads = config_.loader_threads;
      lo.max_batches = steps;
      SyncFromRankZero(/*parameters=*/true);
      BatchLoader loader(*train_, ShardedLoader(lo));
      Batch batch;
      double loss = 0;
      int64_t seen = 0;
      const Clock::time_point start = Clock::now();
      while (loader.Next(&batch)) {
        loss = Step(batch).first;
        seen += Counted(batch);
      }
      if (images_per_second != nullptr) *images_per_second = seen / std::max(1e-9, Seconds(start));
      return loss;
    } catch (const std::exception& e) {
      return FromException(e, "training steps");
    }
  }

  int next_epoch_ = 0;

 private:
  bool channels_last_ = false;
  // keep_zero_weights: (weight, 0/1 mask) pairs, built when a run starts.
  std::vector<std::pair<torch::Tensor, torch::Tensor>> masks_;
  std::shared_ptr<NetworkModuleImpl> student_;
  std::shared_ptr<NetworkModuleImpl> teacher_;
  const Dataset* train_;
  const Dataset* test_;
  TrainerConfig config_;
  torch::Device device_;
  DataParallelGroup* group_;  // not owned; null: one worker
  torch::optim::SGD optimizer_;
};

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::Create(
    TorchNetwork* student, TorchNetwork* teacher, const Dataset* train,
    const Dataset* test, const TrainerConfig& config) {
  if (student == nullptr || train == nullptr || test == nullptr) {
    return absl::InvalidArgumentError("trainer: student and datasets are required");
  }
  if (train->size() == 0 || test->size() == 0) {
    return absl::InvalidArgumentError("trainer: empty training or test split");
  }
  if (config.epochs < 1 || config.batch_size < 1) {
    return absl::InvalidArgumentError("trainer: epochs and batch_size must be >= 1");
  }
  if (teacher != nullptr && teacher->device() != student->device()) {
    return absl::InvalidArgumentError(absl::StrCat("trainer: teacher on ", teacher->device(), ", student on ", student->device()));
  }
  try {
    return std::unique_ptr<Trainer>(new Trainer(std::make_unique<Impl>(student, teacher, train, test, config)));
  } catch (const std::exception& e) {
    return FromException(e, "trainer");
  }
}

Trainer::Trainer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Trainer::~Trainer() = default;
absl::Status Trainer::Resume(const std::string& checkpoint) { return impl_->Resume(checkpoint); }
int Trainer::next_epoch() const { return impl_->next_epoch_; }
absl::StatusOr<std::vector<EpochResult>> Trainer::Run(const TrainerCallbacks& callbacks) {
  return impl_->RunAndRestore(callbacks);
}
absl::StatusOr<EpochResult> Trainer::Evaluate() { return impl_->Evaluate(); }
absl::StatusOr<double> Trainer::TrainSteps(int64_t steps, double* images_per_second) {
  return impl_->TrainSteps(steps, images_per_second);
}

}  // namespace hakd::worker
