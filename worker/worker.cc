#include "worker/worker.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>

#include <grpcpp/client_context.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/grpc_client.h"
#include "common/log.h"
#include "common/sha256.h"
#include "common/status_grpc.h"
#include "common/torch/torch_runtime.h"

namespace hakd::worker {
namespace {

namespace v1 = hakd::v1;
constexpr size_t kChunkBytes = 1 << 20;
constexpr int kCallDeadlineMs = 30000;
constexpr int kTransferDeadlineMs = 600000;

template <typename... Args>
void Logf(const absl::FormatSpec<Args...>& format, const Args&... args) {
  hakd::LogLine("hakd-worker", absl::StrFormat(format, args...));
}

std::string DefaultName() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) return "worker";
  std::string name;
  for (char c : std::string(host)) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    name.push_back(ok ? c : '-');
  }
  if (name.empty() || !((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z'))) name = "w" + name;
  return name.substr(0, 56) + "-worker";
}

std::string CpuName() {
  FILE* f = std::fopen("/proc/cpuinfo", "r");
  if (f == nullptr) return "cpu";
  char line[512];
  std::string name = "cpu";
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    std::string s(line);
    if (s.rfind("model name", 0) == 0 || s.rfind("Hardware", 0) == 0) {
      size_t colon = s.find(':');
      if (colon != std::string::npos) {
        name = s.substr(colon + 1);
        name.erase(0, name.find_first_not_of(" \t"));
        name.erase(name.find_last_not_of(" \t\n") + 1);
        break;
      }
    }
  }
  std::fclose(f);
  return name;
}

bool IsFatal(const absl::Status& st) {
  return st.code() == absl::StatusCode::kUnauthenticated ||
         st.code() == absl::StatusCode::kPermissionDenied ||
         st.code() == absl::StatusCode::kInvalidArgument;
}

}  // namespace

// A held lease and what the heartbeat thread shares with the trainer.
struct Worker::Lease {
  std::string id;
  int64_t task_id = 0;
  int lease_ms = 30000;
  std::mutex mu;
  v1::TrainingProgress progress;  // guarded by mu
  bool cancelled = false;         // guarded by mu
  bool lost = false;              // guarded by mu
  std::string lost_reason;        // guarded by mu
};

Worker::Worker(WorkerOptions options, std::string token, std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      token_(std::move(token)),
      channel_(std::move(channel)),
      stub_(v1::WorkerService::NewStub(channel_)),
      datasets_(options_.fashion_mnist_dir, options_.cifar10_dir) {}

absl::StatusOr<std::unique_ptr<Worker>> Worker::Create(const WorkerOptions& given) {
  WorkerOptions options = given;
  if (absl::Status st = ValidateWorkerOptions(options); !st.ok()) return st;
  if (options.name.empty()) options.name = DefaultName();
  if (absl::Status st = CheckDevice(options.device); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--device: ", st.message()));
  }
  // With a client certificate the token is optional.
  absl::StatusOr<std::string> token = std::string();
  if (!options.token_file.empty() || options.tls_cert_file.empty()) {
    token = ReadTokenFile(options.token_file);
    if (!token.ok()) return token.status();
  }
  ClientOptions co;
  co.server = options.server;
  co.tls_ca_file = options.tls_ca_file;
  co.tls_cert_file = options.tls_cert_file;
  co.tls_key_file = options.tls_key_file;
  co.allow_insecure = options.allow_insecure;
  co.max_receive_message_bytes = 8 << 20;
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = CreateClientChannel(co);
  if (!channel.ok()) return channel.status();
  if (absl::Status st = ConfigureThreads(options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency()), 1); !st.ok()) return st;
  return std::unique_ptr<Worker>(new Worker(std::move(options), std::move(*token), std::move(*channel)));
}

void Worker::Stop() {
  if (!stop_.exchange(true)) stopped_.Notify();
}

bool Worker::Sleep(int ms) {
  return !stopped_.WaitForNotificationWithTimeout(absl::Milliseconds(ms));
}

void Worker::Context(grpc::ClientContext* context, int deadline_ms) const {
  AddBearerToken(context, token_);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(deadline_ms));
}

absl::Status Worker::Register() {
  v1::RegisterWorkerRequest request;
  request.set_name(options_.name);
  v1::WorkerCapabilities* caps = request.mutable_capabilities();
  caps->set_device(options_.device);
  caps->set_cpu_threads(static_cast<int>(std::thread::hardware_concurrency()));
  caps->set_torch_version(LibTorchVersion());
  absl::StatusOr<AcceleratorInfo> info = GetAcceleratorInfo(options_.device);
  if (info.ok() && !info->name.empty()) {
    caps->set_device_name(info->name);
    caps->set_memory_bytes(info->memory_bytes);
  } else {
    caps->set_device_name(CpuName());
    caps->set_memory_bytes(static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE));
  }
  grpc::ClientContext context;
  Context(&context, kCallDeadlineMs);
  v1::RegisterWorkerResponse response;
  absl::Status st = FromGrpcStatus(stub_->RegisterWorker(&context, request, &response));
  if (st.ok()) {
    Logf("registered as %s (%s, %s) with %s", options_.name, options_.device, caps->device_name(), options_.server);
  }
  return st;
}

absl::Status Worker::Run() {
  int backoff = 500;
  bool registered = false;
  int tasks = 0;
  while (!stop_) {
    if (!registered) {
      absl::Status st = Register();
      if (!st.ok()) {
        if (IsFatal(st)) return st;
        Logf("coordinator unreachable (%s); retrying in %d ms", st.ToString(), backoff);
        if (!Sleep(backoff)) break;
        backoff = std::min(backoff * 2, options_.max_backoff_ms);
        continue;
      }
      registered = true;
      connected_ = true;
      backoff = 500;
    }
    absl::StatusOr<bool> ran = RunOneTask();
    if (!ran.ok()) {
      if (IsFatal(ran.status()) && ran.status().code() != absl::StatusCode::kInvalidArgument) return ran.status();
      Logf("%s; retrying in %d ms", ran.status().ToString(), backoff);
      registered = ran.status().code() != absl::StatusCode::kUnavailable &&
                   ran.status().code() != absl::StatusCode::kNotFound;
      connected_ = registered;
      if (!Sleep(backoff)) break;
      backoff = std::min(backoff * 2, options_.max_backoff_ms);
      continue;
    }
    backoff = 500;
    if (*ran) {
      ++tasks;
      if (options_.max_tasks > 0 && tasks >= options_.max_tasks) break;
    } else if (!Sleep(options_.poll_ms)) {
      break;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Worker::Download(const Lease& lease, const std::string& artifact_id) {
  v1::DownloadArtifactRequest request;
  request.set_lease_id(lease.id);
  request.set_artifact_id(artifact_id);
  grpc::ClientContext context;
  Context(&context, kTransferDeadlineMs);
  std::unique_ptr<grpc::ClientReader<v1::ArtifactChunk>> reader = stub_->DownloadArtifact(&context, request);
  v1::ArtifactChunk chunk;
  v1::ArtifactInfo info;
  bool have_header = false;
  std::string bytes;
  Sha256 digest;
  while (reader->Read(&chunk)) {
    if (chunk.has_header()) {
      info = chunk.header().info();
      have_header = true;
      bytes.reserve(std::max<int64_t>(0, info.size_bytes()));
    } else {
      digest.Update(chunk.data());
      bytes += chunk.data();
    }
  }
  absl::Status st = FromGrpcStatus(reader->Finish());
  if (!st.ok()) return absl::Status(st.code(), absl::StrCat("downloading ", artifact_id, ": ", st.message()));
  if (!have_header) return absl::DataLossError(absl::StrCat("downloading ", artifact_id, ": no header"));
  std::string got = digest.FinishHex();
  if (static_cast<int64_t>(bytes.size()) != info.size_bytes() || got != info.sha256()) {
    return absl::DataLossError(absl::StrCat("downloading ", artifact_id, ": got ", bytes.size(), " bytes sha256 ", got, ", expected ", info.size_bytes(), " bytes sha256 ", info.sha256()));
  }
  return bytes;
}

absl::StatusOr<v1::ArtifactInfo> Worker::Upload(const Lease& lease, const std::string& kind,
                                                const std::string& bytes) {
  grpc::ClientContext context;
  Context(&context, kTransferDeadlineMs);
  v1::ArtifactInfo info;
  std::unique_ptr<grpc::ClientWriter<v1::ArtifactChunk>> writer = stub_->UploadArtifact(&context, &info);
  v1::ArtifactChunk header;
  header.mutable_header()->set_lease_id(lease.id);
  header.mutable_header()->set_kind(kind);
  header.mutable_header()->set_size_bytes(static_cast<int64_t>(bytes.size()));
  header.mutable_header()->set_sha256(Sha256Hex(bytes));
  bool ok = writer->Write(header);
  for (size_t at = 0; ok && at < bytes.size(); at += kChunkBytes) {
    v1::ArtifactChunk chunk;
    chunk.set_data(bytes.substr(at, kChunkBytes));
    ok = writer->Write(chunk);
  }
  writer->WritesDone();
  absl::Status st = FromGrpcStatus(writer->Finish());
  if (!st.ok()) return absl::Status(st.code(), absl::StrCat("uploading the ", kind, ": ", st.message()));
  return info;
}

absl::Status Worker::Complete(Lease& lease, const v1::TrainingTask& task, const JobResult& result) {
  v1::CompleteTaskRequest req;
  req.set_lease_id(lease.id);
  v1::ArtifactInfo model;
  if (!result.model_artifact.empty()) {  // a SALIENCY task makes no model
    {
      std::lock_guard<std::mutex> lock(lease.mu);
      lease.progress.set_phase("upload");
    }
    absl::StatusOr<v1::ArtifactInfo> info = Upload(lease, "model", result.model_artifact);
    if (!info.ok()) return info.status();
    model = *info;
    req.set_model_artifact_id(model.artifact_id());
  }
  for (const v1::BlockSaliency& s : result.saliency) *req.add_saliency() = s;
  if (result.result_network) *req.mutable_result_network() = *result.result_network;
  req.set_nonzero_params(result.nonzero_params);
  grpc::ClientContext context;
  Context(&context, kCallDeadlineMs);
  v1::CompleteTaskResponse resp;
  absl::Status st = FromGrpcStatus(stub_->CompleteTask(&context, req, &resp));
  if (!st.ok()) return st;
  switch (task.spec().kind()) {
    case v1::TASK_KIND_SALIENCY:
      Logf("task %d done: saliency of %d blocks", task.task_id(), static_cast<int>(result.saliency.size()));
      break;
    case v1::TASK_KIND_FISHER_PRUNE:
      Logf("task %d done: %d channels removed, pruned model %s (%d bytes)", task.task_id(), result.channels_removed,
           model.artifact_id(), model.size_bytes());
      break;
    default:
      Logf("task %d done: model %s (%d bytes), final test accuracy %.4f%s", task.task_id(), model.artifact_id(),
           model.size_bytes(), result.epochs.empty() ? 0.0 : result.epochs.back().test_accuracy,
           result.nonzero_params > 0 ? absl::StrCat(", ", result.nonzero_params, " nonzero parameters") : "");
      break;
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> Worker::RunOneTask() {
  v1::LeaseTaskRequest request;
  request.set_worker(options_.name);
  if (const int port = OfferedGroupPort(); port > 0) {
    request.set_group_host(options_.group_host);
    request.set_group_port(port);
  }
  v1::LeaseTaskResponse response;
  {
    grpc::ClientContext context;
    Context(&context, kCallDeadlineMs);
    absl::Status st = FromGrpcStatus(stub_->LeaseTask(&context, request, &response));
    if (!st.ok()) return st;
  }
  if (!response.leased()) return false;
  const v1::TrainingTask& task = response.task();
  Lease lease;
  lease.id = response.lease_id();
  lease.task_id = task.task_id();
  lease.lease_ms = response.lease_ms() > 0 ? response.lease_ms() : 30000;
  // A data-parallel task: wait for the whole group first (the task is not
  // RUNNING before, and nothing uploads checkpoints while a group forms).
  v1::GroupAssignment assignment;
  if (response.has_group()) {
    Logf("task %d: joined its data-parallel group as rank %d of %d (%d joined)", task.task_id(),
         response.group().rank(), response.group().world_size(), response.group().joined());
    absl::StatusOr<v1::GroupAssignment> ready =
        WaitForGroup(lease.id, task.task_id(), response.group(), lease.lease_ms);
    if (!ready.ok()) {
      Logf("task %d: leaving the group: %s", task.task_id(), ready.status().ToString());
      return ready.status().code() == absl::StatusCode::kUnavailable ? ready.status()
                                                                      : absl::StatusOr<bool>(true);
    }
    assignment = *ready;
  }
  const bool rank0 = !response.has_group() || assignment.rank() == 0;
  Logf("leased task %d (%s, %s, attempt %d)%s%s", task.task_id(), task.spec().name(),
       v1::TaskKind_Name(task.spec().kind()), response.has_group() ? assignment.attempt() : task.attempts(),
       task.checkpoint_artifact_id().empty() ? "" : absl::StrCat(", resuming from ", task.checkpoint_artifact_id()),
       response.has_group() ? absl::StrCat(", rank ", assignment.rank(), " of ", assignment.world_size(),
                                           " through ", assignment.master_host(), ":", assignment.master_port())
                            : "");

  // Keeps the lease alive and carries progress while the trainer works.
  absl::Notification task_done;
  auto report = [&](const v1::EpochMetrics* epoch) {
    v1::ReportProgressRequest req;
    req.set_lease_id(lease.id);
    {
      std::lock_guard<std::mutex> lock(lease.mu);
      *req.mutable_progress() = lease.progress;
    }
    if (epoch != nullptr) *req.mutable_finished_epoch() = *epoch;
    grpc::ClientContext context;
    Context(&context, std::max(1000, lease.lease_ms / 2));
    v1::ReportProgressResponse resp;
    absl::Status st = FromGrpcStatus(stub_->ReportProgress(&context, req, &resp));
    std::lock_guard<std::mutex> lock(lease.mu);
    if (st.ok() && resp.cancelled()) lease.cancelled = true;
    if (st.code() == absl::StatusCode::kFailedPrecondition || st.code() == absl::StatusCode::kNotFound) {
      lease.lost = true;
      lease.lost_reason = std::string(st.message());
    }
    return st;
  };
  std::thread heartbeat([&] {
    const int period = std::max(100, lease.lease_ms / 4);
    while (!task_done.WaitForNotificationWithTimeout(absl::Milliseconds(period))) {
      absl::Status st = report(nullptr);
      if (!st.ok()) Logf("progress report failed: %s", st.ToString());
    }
  });

  std::unique_ptr<DataParallelGroup> group;
  absl::Status outcome;
  if (response.has_group()) {
    absl::StatusOr<std::unique_ptr<DataParallelGroup>> connected = ConnectGroup(task.task_id(), assignment);
    if (connected.ok()) {
      group = std::move(*connected);
    } else {
      outcome = connected.status();
    }
  }

  JobContext job;
  job.group = group.get();
  job.device = options_.device;
  job.loader_threads = options_.loader_threads;
  job.datasets = &datasets_;
  job.fetch_artifact = [&](const std::string& id) { return Download(lease, id); };
  job.on_resume = [&](int next_epoch) { Logf("task %d: resumed after epoch %d", task.task_id(), next_epoch); };
  job.on_step = [&](const StepProgress& p) {
    std::lock_guard<std::mutex> lock(lease.mu);
    v1::TrainingProgress& out = lease.progress;
    out.set_epoch(p.epoch);
    out.set_epochs(p.epochs);
    out.set_step(p.step);
    out.set_steps_per_epoch(p.steps);
    out.set_loss(p.loss);
    out.set_train_accuracy(p.accuracy);
    out.set_images_per_second(p.images_per_second);
    out.set_phase(p.phase);
    return !stop_ && !lease.cancelled && !lease.lost;
  };
  job.on_epoch = [&](const EpochResult& r, const std::string& checkpoint) -> absl::Status {
    // Rank 0 speaks for a group: metrics and checkpoints come from it.
    if (!rank0) return absl::OkStatus();
    // The epoch's metrics first, then its checkpoint. Dying between the two
    // only makes the next worker train that epoch again (its history row is
    // replaced); the other order would lose the epoch's metrics for good
    // when the worker dies after the checkpoint is committed.
    v1::EpochMetrics m;
    m.set_epoch(r.epoch);
    m.set_train_loss(r.train_loss);
    m.set_train_accuracy(r.train_accuracy);
    m.set_test_loss(r.test_loss);
    m.set_test_accuracy(r.test_accuracy);
    m.set_images_per_second(r.images_per_second);
    m.set_seconds(r.seconds);
    m.set_learning_rate(r.learning_rate);
    {
      std::lock_guard<std::mutex> lock(lease.mu);
      lease.progress.set_phase("upload");
    }
    if (absl::Status st = report(&m); !st.ok()) return st;
    absl::StatusOr<v1::ArtifactInfo> info = Upload(lease, "checkpoint", checkpoint);
    if (!info.ok()) return info.status();
    Logf("task %d epoch %d: loss %.4f train acc %.4f test acc %.4f, %.1f images/s (loader waited %.2f s), checkpoint %s",
         task.task_id(), r.epoch, r.train_loss, r.train_accuracy, r.test_accuracy, r.images_per_second,
         r.loader_wait_seconds, info->artifact_id());
    return absl::OkStatus();
  };

  if (outcome.ok()) {
    absl::StatusOr<JobResult> result = RunTrainingJob(task, job);
    outcome = result.status();
    if (result.ok() && rank0) outcome = Complete(lease, task, *result);
    if (result.ok() && group != nullptr) {
      // The other members keep their leases until rank 0 has completed
      // the task, so that the group is not broken up while it uploads.
      try {
        group->Barrier();
      } catch (const GroupError& e) {
        if (outcome.ok() && !rank0) Logf("task %d: final barrier: %s", task.task_id(), e.what());
      }
    }
  }
  // Closing the group's connections tells members still in a collective.
  group.reset();
  task_done.Notify();
  heartbeat.join();

  bool lost, cancelled;
  std::string lost_reason;
  {
    std::lock_guard<std::mutex> lock(lease.mu);
    lost = lease.lost;
    cancelled = lease.cancelled;
    lost_reason = lease.lost_reason;
  }
  if (outcome.ok()) return true;
  if (lost) {
    Logf("task %d: lease lost (%s); dropping it", task.task_id(), lost_reason);
    return true;
  }
  if (cancelled) {
    Logf("task %d cancelled by the coordinator", task.task_id());
    return true;
  }
  const bool retryable = stop_ || IsRetryable(outcome);
  std::string error = stop_ ? "worker stopped (SIGTERM); handed back" : outcome.ToString();
  Logf("task %d failed: %s (%s)", task.task_id(), error, retryable ? "will be retried" : "not retryable");
  v1::FailTaskRequest req;
  req.set_lease_id(lease.id);
  req.set_error(error.substr(0, 4000));
  req.set_retryable(retryable);
  grpc::ClientContext context;
  Context(&context, kCallDeadlineMs);
  v1::FailTaskResponse resp;
  absl::Status st = FromGrpcStatus(stub_->FailTask(&context, req, &resp));
  if (!st.ok()) Logf("reporting the failure: %s", st.ToString());
  return true;
}

}  // namespace hakd::worker
