#include "tests/fault/sim_worker.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/grpc_client.h"
#include "common/sha256.h"
#include "hakd/v1/training.grpc.pb.h"
#include "tests/fault/sim_util.h"

namespace hakd::sim {

// One worker's calls; a class so that each step reads as one method.
class SimWorkerRun {
 public:
  explicit SimWorkerRun(SimWorker* w)
      : w_(w),
        o_(w->options_),
        stub_(hakd::v1::WorkerService::NewStub(grpc::CreateChannel(
            o_.server, grpc::InsecureChannelCredentials()))) {}

  void Loop() {
    bool registered = false;
    while (!w_->stop_) {
      grpc::Status st;
      if (!registered) {
        grpc::ClientContext ctx;
        Prepare(&ctx);
        hakd::v1::RegisterWorkerRequest req;
        req.set_name(o_.name);
        req.mutable_capabilities()->set_device("cpu");
        req.mutable_capabilities()->set_device_name("hakd-sim");
        req.mutable_capabilities()->set_cpu_threads(1);
        hakd::v1::RegisterWorkerResponse resp;
        st = stub_->RegisterWorker(&ctx, req, &resp);
        if (!st.ok()) {
          Failed("RegisterWorker", st);
          Sleep(o_.poll_ms);
          continue;
        }
        registered = true;
      }
      grpc::ClientContext ctx;
      Prepare(&ctx);
      hakd::v1::LeaseTaskRequest req;
      req.set_worker(o_.name);
      hakd::v1::LeaseTaskResponse resp;
      st = stub_->LeaseTask(&ctx, req, &resp);
      if (!st.ok()) {
        if (st.error_code() == grpc::StatusCode::NOT_FOUND) {
          registered = false;
        } else {
          Failed("LeaseTask", st);
        }
        Sleep(o_.poll_ms);
        continue;
      }
      if (!resp.leased()) {
        Sleep(o_.poll_ms);
        continue;
      }
      RunTask(resp.lease_id(), resp.task());
    }
  }

 private:
  void Prepare(grpc::ClientContext* ctx) {
    AddBearerToken(ctx, o_.token);
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::seconds(30));
  }

  void Sleep(int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }

  void Failed(const std::string& what, const grpc::Status& st) {
    absl::MutexLock lock(&w_->mu_);
    ++w_->stats_.rpc_errors;
    const std::string line = absl::StrCat(what, ": code ", st.error_code(),
                                          ": ", st.error_message());
    if (w_->stats_.errors.size() < 5) w_->stats_.errors.push_back(line);
    if (o_.events) Event(o_.name, "rpc-error", line);
  }

  // False when the task must be abandoned (lease lost, cancelled, error).
  bool Report(const std::string& lease_id,
              const hakd::v1::TrainingProgress& progress,
              const hakd::v1::EpochMetrics* finished) {
    grpc::ClientContext ctx;
    Prepare(&ctx);
    hakd::v1::ReportProgressRequest req;
    req.set_lease_id(lease_id);
    *req.mutable_progress() = progress;
    if (finished != nullptr) *req.mutable_finished_epoch() = *finished;
    hakd::v1::ReportProgressResponse resp;
    const grpc::Status st = stub_->ReportProgress(&ctx, req, &resp);
    if (st.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
      absl::MutexLock lock(&w_->mu_);
      ++w_->stats_.leases_lost;
      return false;
    }
    if (!st.ok()) Failed("ReportProgress", st);
    return st.ok() && !resp.cancelled();
  }

  // Uploads `size` bytes as `kind`; the artifact id, or "" on failure.
  std::string Upload(const std::string& lease_id, const std::string& kind,
                     const std::string& seed) {
    std::string bytes;
    while (static_cast<int>(bytes.size()) < o_.artifact_bytes) {
      bytes += Sha256Hex(absl::StrCat(seed, bytes.size()));
    }
    bytes.resize(o_.artifact_bytes);
    grpc::ClientContext ctx;
    Prepare(&ctx);
    hakd::v1::ArtifactInfo info;
    auto writer = stub_->UploadArtifact(&ctx, &info);
    hakd::v1::ArtifactChunk header;
    header.mutable_header()->set_lease_id(lease_id);
    header.mutable_header()->set_kind(kind);
    header.mutable_header()->set_size_bytes(static_cast<int64_t>(bytes.size()));
    header.mutable_header()->set_sha256(Sha256Hex(bytes));
    hakd::v1::ArtifactChunk data;
    data.set_data(bytes);
    if (writer->Write(header)) writer->Write(data);
    writer->WritesDone();
    const grpc::Status st = writer->Finish();
    if (!st.ok()) {
      Failed(absl::StrCat("UploadArtifact(", kind, ")"), st);
      return "";
    }
    absl::MutexLock lock(&w_->mu_);
    ++w_->stats_.uploads;
    return info.artifact_id();
  }

  void RunTask(const std::string& lease_id,
               const hakd::v1::TrainingTask& task) {
    const int epochs = task.spec().schedule().epochs() > 0
                           ? task.spec().schedule().epochs()
                           : 10;
    const std::string tag = absl::StrCat("task-", task.task_id());
    if (o_.events)
      Event(o_.name, "leased", absl::StrCat(tag, " epochs=", epochs));
    for (int epoch = task.history_size() + 1; epoch <= epochs; ++epoch) {
      hakd::v1::TrainingProgress progress;
      progress.set_epoch(epoch);
      progress.set_epochs(epochs);
      progress.set_steps_per_epoch(10);
      progress.set_phase("train");
      const double start = MonoMs();
      for (int step = 1; MonoMs() - start < o_.epoch_ms; ++step) {
        if (w_->stop_) return;
        Sleep(std::min(500, std::max(1, o_.epoch_ms)));
        progress.set_step(std::min(step, 10));
        progress.set_loss(1.0 / epoch);
        if (!Report(lease_id, progress, nullptr)) return;
      }
      hakd::v1::EpochMetrics metrics;
      metrics.set_epoch(epoch);
      metrics.set_train_loss(1.0 / epoch);
      metrics.set_train_accuracy(0.5);
      metrics.set_test_loss(1.1 / epoch);
      metrics.set_test_accuracy(0.5);
      metrics.set_images_per_second(1000);
      metrics.set_seconds((MonoMs() - start) / 1000);
      metrics.set_learning_rate(0.1);
      if (!Report(lease_id, progress, &metrics)) return;
      if (Upload(lease_id, "checkpoint", absl::StrCat(tag, "-ckpt-", epoch))
              .empty())
        return;
      absl::MutexLock lock(&w_->mu_);
      ++w_->stats_.epochs;
    }
    const std::string model =
        Upload(lease_id, "model", absl::StrCat(tag, "-model"));
    if (model.empty()) return;
    grpc::ClientContext ctx;
    Prepare(&ctx);
    hakd::v1::CompleteTaskRequest req;
    req.set_lease_id(lease_id);
    req.set_model_artifact_id(model);
    hakd::v1::CompleteTaskResponse resp;
    const grpc::Status st = stub_->CompleteTask(&ctx, req, &resp);
    if (!st.ok()) {
      Failed("CompleteTask", st);
      return;
    }
    absl::MutexLock lock(&w_->mu_);
    ++w_->stats_.tasks_completed;
    if (o_.events)
      Event(o_.name, "completed", absl::StrCat(tag, " model=", model));
  }

  SimWorker* w_;
  const SimWorkerOptions& o_;
  std::unique_ptr<hakd::v1::WorkerService::Stub> stub_;
};

SimWorker::SimWorker(SimWorkerOptions options) : options_(std::move(options)) {}

void SimWorker::Run() {
  SimWorkerRun run(this);
  run.Loop();
}

SimWorkerStats SimWorker::Stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

}  // namespace hakd::sim
