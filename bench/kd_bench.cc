// Distillation benchmarks on real Fashion-MNIST with the trainer hakd-worker
// runs (worker/trainer.h, through worker/training_job.h where whole tasks
// are trained).
//
//   --mode throughput: images/s of the distillation step (teacher WRN-16-4,
//     student WRN-16-1, batch 128, Hinton KD + attention transfer at the
//     three group ends), after warm-up steps. bench/kd_pytorch.py times the
//     same step in PyTorch; bench/run.sh kd-throughput prints the ratio.
//   --mode accuracy: trains a teacher, the student alone and the student
//     distilled from the teacher with one identical schedule, and prints the
//     three test accuracies.
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/flag_names.h"
#include "common/network/network_analysis.h"
#include "common/network/network_builders.h"
#include "common/torch/network_module.h"
#include "common/torch/torch_runtime.h"
#include "worker/batch_loader.h"
#include "worker/training_job.h"

ABSL_FLAG(std::string, mode, "throughput", "throughput or accuracy");
ABSL_FLAG(int32_t, threads, 2, "LibTorch intra-op threads");
ABSL_FLAG(int32_t, loader_threads, 1, "batch-preparing threads");
ABSL_FLAG(int32_t, warmup_steps, 3, "throughput: untimed steps first");
ABSL_FLAG(int32_t, steps, 20, "throughput: timed steps");
ABSL_FLAG(int32_t, batch_size, 128, "images per step");
ABSL_FLAG(int32_t, teacher_width, 4, "throughput: WRN-16-k teacher");
ABSL_FLAG(int32_t, student_width, 1, "throughput: WRN-16-k student");
ABSL_FLAG(std::string, teacher, "wrn-16-2", "accuracy: teacher wrn-D-K");
ABSL_FLAG(std::string, student, "wrn-16-1", "accuracy: student wrn-D-K");
ABSL_FLAG(int32_t, epochs, 5, "accuracy: epochs of each student");
ABSL_FLAG(int32_t, teacher_epochs, 10, "accuracy: teacher epochs (0: --epochs)");
ABSL_FLAG(int32_t, train_limit, 0, "accuracy: first N training images (0: all 60000)");
ABSL_FLAG(double, lr, 0.1, "accuracy: initial learning rate (cosine schedule)");
ABSL_FLAG(std::string, fashion_mnist_dir, "", "default: the Debian package's directory");

namespace {

using hakd::worker::Dataset;

[[noreturn]] void Die(const absl::Status& st) {
  std::fprintf(stderr, "kd_bench: %s\n", st.ToString().c_str());
  std::exit(1);
}

hakd::v1::NetworkSpec Wrn(int depth, int width) {
  absl::StatusOr<hakd::v1::NetworkSpec> spec = hakd::WideResNet(depth, width, hakd::FashionMnistInput(), 10);
  if (!spec.ok()) Die(spec.status());
  return *spec;
}

hakd::v1::NetworkSpec ParseWrn(const std::string& name) {
  int depth = 0, width = 0;
  if (std::sscanf(name.c_str(), "wrn-%d-%d", &depth, &width) != 2) {
    Die(absl::InvalidArgumentError("network must be wrn-DEPTH-WIDTH: " + name));
  }
  return Wrn(depth, width);
}

int Throughput(hakd::worker::DatasetCache& cache) {
  absl::StatusOr<const Dataset*> train = cache.Get("fashion-mnist", hakd::worker::Split::kTrain);
  if (!train.ok()) Die(train.status());
  hakd::worker::SeedTorch(1);
  auto teacher = hakd::BuildNetworkModule(Wrn(16, absl::GetFlag(FLAGS_teacher_width)));
  auto student = hakd::BuildNetworkModule(Wrn(16, absl::GetFlag(FLAGS_student_width)));
  if (!teacher.ok()) Die(teacher.status());
  if (!student.ok()) Die(student.status());
  hakd::worker::TrainerConfig config;
  config.batch_size = absl::GetFlag(FLAGS_batch_size);
  config.loader_threads = absl::GetFlag(FLAGS_loader_threads);
  config.epochs = 1;
  auto trainer = hakd::worker::Trainer::Create(student->get(), teacher->get(), *train, *train, config);
  if (!trainer.ok()) Die(trainer.status());
  double ips = 0;
  absl::StatusOr<double> loss = (*trainer)->TrainSteps(absl::GetFlag(FLAGS_warmup_steps), &ips);
  if (!loss.ok()) Die(loss.status());
  loss = (*trainer)->TrainSteps(absl::GetFlag(FLAGS_steps), &ips);
  if (!loss.ok()) Die(loss.status());
  std::printf("teacher_params: %lld\nstudent_params: %lld\n",
              static_cast<long long>((*teacher)->ParameterCount()),
              static_cast<long long>((*student)->ParameterCount()));
  // The loader alone, same threads and augmentation: what it could feed.
  hakd::worker::LoaderOptions lo;
  lo.batch_size = config.batch_size;
  lo.threads = config.loader_threads;
  lo.max_batches = 100;
  const absl::Time loader_start = absl::Now();
  int64_t loaded = 0;
  {
    hakd::worker::BatchLoader loader(**train, lo);
    hakd::worker::Batch batch;
    while (loader.Next(&batch)) loaded += batch.size;
  }
  const double loader_ips = loaded / absl::ToDoubleSeconds(absl::Now() - loader_start);
  std::printf("last_loss: %.4f\nloader_images_per_s: %.0f (%d thread(s), crop+flip+normalise)\n",
              *loss, loader_ips, config.loader_threads);
  std::printf("kd_images_per_s_cpp: %.1f\n", ips);
  return 0;
}

// Trains one task the way hakd-worker does; returns the model artifact.
hakd::worker::JobResult Train(hakd::worker::DatasetCache& cache, const std::string& label,
                              const hakd::v1::NetworkSpec& network, int epochs,
                              const std::string* teacher_artifact) {
  hakd::v1::TrainingTask task;
  task.set_task_id(1);
  hakd::v1::TrainingSpec* spec = task.mutable_spec();
  spec->set_name(label);
  *spec->mutable_network() = network;
  spec->set_dataset("fashion-mnist");
  spec->mutable_schedule()->set_epochs(epochs);
  spec->mutable_schedule()->set_learning_rate(absl::GetFlag(FLAGS_lr));
  spec->mutable_schedule()->set_train_limit(absl::GetFlag(FLAGS_train_limit));
  if (teacher_artifact != nullptr) spec->mutable_distillation()->set_teacher_artifact_id("teacher");
  hakd::worker::JobContext context;
  context.loader_threads = absl::GetFlag(FLAGS_loader_threads);
  context.datasets = &cache;
  context.fetch_artifact = [&](const std::string&) -> absl::StatusOr<std::string> {
    return *teacher_artifact;
  };
  const absl::Time start = absl::Now();
  context.on_epoch = [&](const hakd::worker::EpochResult& r, const std::string&) {
    std::fprintf(stderr, "%s epoch %d: train loss %.4f acc %.4f, test acc %.4f, %.0f images/s, loader wait %.2f s, %.0f s\n",
                 label.c_str(), r.epoch, r.train_loss, r.train_accuracy, r.test_accuracy,
                 r.images_per_second, r.loader_wait_seconds, absl::ToDoubleSeconds(absl::Now() - start));
    return absl::OkStatus();
  };
  absl::StatusOr<hakd::worker::JobResult> result = hakd::worker::RunTrainingJob(task, context);
  if (!result.ok()) Die(result.status());
  return std::move(*result);
}

int Accuracy(hakd::worker::DatasetCache& cache) {
  const int epochs = absl::GetFlag(FLAGS_epochs);
  const int teacher_epochs = absl::GetFlag(FLAGS_teacher_epochs) > 0 ? absl::GetFlag(FLAGS_teacher_epochs) : epochs;
  hakd::v1::NetworkSpec teacher = ParseWrn(absl::GetFlag(FLAGS_teacher));
  hakd::v1::NetworkSpec student = ParseWrn(absl::GetFlag(FLAGS_student));
  hakd::worker::JobResult t = Train(cache, "teacher", teacher, teacher_epochs, nullptr);
  hakd::worker::JobResult alone = Train(cache, "student-alone", student, epochs, nullptr);
  hakd::worker::JobResult kd = Train(cache, "student-kd", student, epochs, &t.model_artifact);
  std::printf("schedule: SGD nesterov 0.9, lr %.3g cosine, wd 5e-4, batch 128, crop+flip; teacher %d epochs, students %d epochs, %d training images\n",
              absl::GetFlag(FLAGS_lr), teacher_epochs, epochs,
              absl::GetFlag(FLAGS_train_limit) > 0 ? absl::GetFlag(FLAGS_train_limit) : 60000);
  std::printf("teacher: %s (%lld params)\nstudent: %s (%lld params)\n", absl::GetFlag(FLAGS_teacher).c_str(),
              static_cast<long long>(hakd::AnalyzeNetwork(teacher)->total_params), absl::GetFlag(FLAGS_student).c_str(),
              static_cast<long long>(hakd::AnalyzeNetwork(student)->total_params));
  std::printf("teacher_acc: %.4f\nstudent_alone_acc: %.4f\nstudent_kd_acc: %.4f\n",
              t.epochs.back().test_accuracy, alone.epochs.back().test_accuracy,
              kd.epochs.back().test_accuracy);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  hakd::AbslFlagArgs args(argc, argv);
  absl::ParseCommandLine(args.argc(), args.argv());
  if (absl::Status st = hakd::ConfigureThreads(absl::GetFlag(FLAGS_threads), 1); !st.ok()) Die(st);
  hakd::worker::DatasetCache cache(absl::GetFlag(FLAGS_fashion_mnist_dir), "");
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode == "throughput") return Throughput(cache);
  if (mode == "accuracy") return Accuracy(cache);
  Die(absl::InvalidArgumentError("--mode: throughput or accuracy"));
}
