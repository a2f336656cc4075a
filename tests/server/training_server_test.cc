// The training queue over gRPC: HakdServer with an auth file, a worker, a
// reader and an admin, each through its own token.
#include <fstream>
#include <memory>
#include <string>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/synchronization/notification.h"
#include "common/auth_token.h"
#include "common/grpc_client.h"
#include "common/network/network_builders.h"
#include "gtest/gtest.h"
#include "hakd/v1/training.grpc.pb.h"
#include "server/artifact_store.h"
#include "server/server.h"
#include "tests/server/test_util.h"

namespace hakd {
namespace {

constexpr char kAdmin[] = "admin-token-0123456789";
constexpr char kReader[] = "reader-token-0123456789";
constexpr char kWorker[] = "worker-token-0123456789";
constexpr char kOtherWorker[] = "other-worker-token-0123456789";

class TrainingServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = hakd::testing::MakeTempDir();
    std::ofstream(dir_ + "/auth.txt")
        << AuthFileLine("admin", kAdmin, "", "") << "\n"
        << AuthFileLine("reader", kReader, "", "") << "\n"
        << AuthFileLine("worker", kWorker, "w-one", "") << "\n"
        << AuthFileLine("worker", kOtherWorker, "w-two", "") << "\n";
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.db_path = dir_ + "/hakd.db";
    options.auth_file = dir_ + "/auth.txt";
    options.synchronous_full = false;
    options.lease_ms = 1000;
    auto server = HakdServer::BuildAndStart(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    EXPECT_EQ(ArtifactDirOf(options), dir_ + "/artifacts");
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                       grpc::InsecureChannelCredentials());
    training_ = hakd::v1::TrainingService::NewStub(channel);
    worker_ = hakd::v1::WorkerService::NewStub(channel);
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(absl::Milliseconds(100));
    server_.reset();
  }

  std::unique_ptr<grpc::ClientContext> As(const char* token) {
    auto context = std::make_unique<grpc::ClientContext>();
    AddBearerToken(context.get(), token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return context;
  }

  static hakd::v1::SubmitTrainingRequest Request() {
    hakd::v1::SubmitTrainingRequest r;
    r.mutable_spec()->set_name("teacher");
    r.mutable_spec()->set_dataset("cifar10");
    *r.mutable_spec()->mutable_network() = WideResNet(16, 1, CifarInput(), 10).value();
    r.mutable_spec()->mutable_schedule()->set_epochs(2);
    return r;
  }

  std::string dir_;
  std::unique_ptr<HakdServer> server_;
  std::unique_ptr<hakd::v1::TrainingService::Stub> training_;
  std::unique_ptr<hakd::v1::WorkerService::Stub> worker_;
};

TEST_F(TrainingServerTest, RolesAreEnforced) {
  hakd::v1::TrainingTask task;
  EXPECT_EQ(training_->SubmitTraining(As(kReader).get(), Request(), &task).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(training_->SubmitTraining(As(kWorker).get(), Request(), &task).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  hakd::v1::ListTrainingTasksResponse list;
  EXPECT_EQ(training_->ListTrainingTasks(As(kWorker).get(), {}, &list).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(training_->ListTrainingTasks(As(kReader).get(), {}, &list).ok());
  hakd::v1::RegisterWorkerRequest reg;
  reg.set_name("w1");
  reg.mutable_capabilities()->set_device("cpu");
  hakd::v1::RegisterWorkerResponse reg_response;
  EXPECT_EQ(worker_->RegisterWorker(As(kReader).get(), reg, &reg_response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(worker_->RegisterWorker(As(kAdmin).get(), reg, &reg_response).ok());
  EXPECT_TRUE(worker_->RegisterWorker(As(kWorker).get(), reg, &reg_response).ok());
  EXPECT_EQ(reg_response.lease_ms(), 1000);
  hakd::v1::ListWorkersResponse workers;
  EXPECT_EQ(training_->ListWorkers(As(kWorker).get(), {}, &workers).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(training_->ListWorkers(As(kReader).get(), {}, &workers).ok());
  ASSERT_EQ(workers.workers_size(), 1);
  EXPECT_TRUE(workers.workers(0).online());
}

TEST_F(TrainingServerTest, BadRequestsNameTheField) {
  hakd::v1::SubmitTrainingRequest r = Request();
  r.mutable_spec()->mutable_schedule()->set_batch_size(5000);
  hakd::v1::TrainingTask task;
  grpc::Status st = training_->SubmitTraining(As(kAdmin).get(), r, &task);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message().find("spec.schedule.batch_size"), 0u) << st.error_message();
  r = Request();
  r.mutable_spec()->mutable_distillation()->set_teacher_artifact_id("art-000000000000-1");
  st = training_->SubmitTraining(As(kAdmin).get(), r, &task);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  hakd::v1::LeaseTaskRequest lease;
  lease.set_worker("9bad");
  hakd::v1::LeaseTaskResponse lease_response;
  st = worker_->LeaseTask(As(kWorker).get(), lease, &lease_response);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message().find("worker:"), 0u) << st.error_message();
  lease.set_worker("unknown");
  st = worker_->LeaseTask(As(kWorker).get(), lease, &lease_response);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  hakd::v1::ReportProgressRequest progress;
  progress.set_lease_id("nope");
  hakd::v1::ReportProgressResponse progress_response;
  st = worker_->ReportProgress(As(kWorker).get(), progress, &progress_response);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message().find("lease_id:"), 0u) << st.error_message();
  hakd::v1::GetTrainingTaskRequest get;
  st = training_->GetTrainingTask(As(kReader).get(), get, &task);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  get.set_task_id(42);
  st = training_->GetTrainingTask(As(kReader).get(), get, &task);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  hakd::v1::ListTrainingTasksRequest list;
  list.set_limit(-1);
  hakd::v1::ListTrainingTasksResponse list_response;
  st = training_->ListTrainingTasks(As(kReader).get(), list, &list_response);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message().find("limit:"), 0u);
}

// A worker token acts only for the leases it took: another worker's token
// is refused on every lease call, and the holder still succeeds.
TEST_F(TrainingServerTest, LeaseCallsAreBoundToTheLeasingIdentity) {
  hakd::v1::TrainingTask submitted;
  ASSERT_TRUE(training_->SubmitTraining(As(kAdmin).get(), Request(), &submitted).ok());
  hakd::v1::RegisterWorkerRequest reg;
  reg.set_name("w1");
  reg.mutable_capabilities()->set_device("cpu");
  hakd::v1::RegisterWorkerResponse reg_response;
  ASSERT_TRUE(worker_->RegisterWorker(As(kWorker).get(), reg, &reg_response).ok());
  hakd::v1::LeaseTaskRequest lease;
  lease.set_worker("w1");
  hakd::v1::LeaseTaskResponse leased;
  ASSERT_TRUE(worker_->LeaseTask(As(kWorker).get(), lease, &leased).ok());
  ASSERT_TRUE(leased.leased());

  hakd::v1::ReportProgressRequest progress;
  progress.set_lease_id(leased.lease_id());
  progress.mutable_progress()->set_epoch(1);
  progress.mutable_progress()->set_phase("train");
  hakd::v1::ReportProgressResponse progress_response;
  grpc::Status st =
      worker_->ReportProgress(As(kOtherWorker).get(), progress, &progress_response);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(st.error_message().find("w-two"), std::string::npos) << st.error_message();
  hakd::v1::FailTaskRequest fail;
  fail.set_lease_id(leased.lease_id());
  fail.set_error("sabotage");
  hakd::v1::FailTaskResponse fail_response;
  EXPECT_EQ(worker_->FailTask(As(kOtherWorker).get(), fail, &fail_response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  hakd::v1::CompleteTaskRequest complete;
  complete.set_lease_id(leased.lease_id());
  hakd::v1::CompleteTaskResponse complete_response;
  EXPECT_EQ(worker_->CompleteTask(As(kOtherWorker).get(), complete, &complete_response)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  {
    auto context = As(kOtherWorker);
    hakd::v1::ArtifactInfo info;
    auto writer = worker_->UploadArtifact(context.get(), &info);
    hakd::v1::ArtifactChunk chunk;
    chunk.mutable_header()->set_lease_id(leased.lease_id());
    chunk.mutable_header()->set_kind("model");
    chunk.mutable_header()->set_size_bytes(4);
    chunk.mutable_header()->set_sha256(std::string(64, '0'));
    writer->Write(chunk);
    writer->WritesDone();
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  // The holder's own calls still work, and the task is still running.
  EXPECT_TRUE(worker_->ReportProgress(As(kWorker).get(), progress, &progress_response).ok());
  hakd::v1::GetTrainingTaskRequest get;
  get.set_task_id(submitted.task_id());
  hakd::v1::TrainingTask now;
  ASSERT_TRUE(training_->GetTrainingTask(As(kReader).get(), get, &now).ok());
  EXPECT_EQ(now.state(), hakd::v1::TASK_RUNNING);
}

TEST_F(TrainingServerTest, WorkerTrainsUploadsAndCompletes) {
  hakd::v1::TrainingTask submitted;
  ASSERT_TRUE(training_->SubmitTraining(As(kAdmin).get(), Request(), &submitted).ok());
  EXPECT_EQ(submitted.state(), hakd::v1::TASK_QUEUED);

  // A reader watches from the start, on its own thread.
  std::vector<hakd::v1::TaskState> seen;
  hakd::v1::TrainingTask last;
  grpc::Status watch_status;
  absl::Notification first_seen;
  std::thread watcher([&] {
    hakd::v1::GetTrainingTaskRequest get;
    get.set_task_id(submitted.task_id());
    auto context = As(kReader);
    auto reader = training_->WatchTrainingTask(context.get(), get);
    hakd::v1::TrainingTask t;
    while (reader->Read(&t)) {
      seen.push_back(t.state());
      last = t;
      if (!first_seen.HasBeenNotified()) first_seen.Notify();
    }
    watch_status = reader->Finish();
    if (!first_seen.HasBeenNotified()) first_seen.Notify();
  });
  ASSERT_TRUE(first_seen.WaitForNotificationWithTimeout(absl::Seconds(20)));

  hakd::v1::RegisterWorkerRequest reg;
  reg.set_name("w1");
  reg.mutable_capabilities()->set_device("cuda:0");
  hakd::v1::RegisterWorkerResponse reg_response;
  ASSERT_TRUE(worker_->RegisterWorker(As(kWorker).get(), reg, &reg_response).ok());
  hakd::v1::LeaseTaskRequest lease;
  lease.set_worker("w1");
  hakd::v1::LeaseTaskResponse leased;
  ASSERT_TRUE(worker_->LeaseTask(As(kWorker).get(), lease, &leased).ok());
  ASSERT_TRUE(leased.leased());
  ASSERT_TRUE(leased.has_task());
  EXPECT_EQ(leased.task().task_id(), submitted.task_id());
  EXPECT_EQ(leased.lease_ms(), 1000);

  hakd::v1::ReportProgressRequest progress;
  progress.set_lease_id(leased.lease_id());
  progress.mutable_progress()->set_epoch(1);
  progress.mutable_progress()->set_phase("train");
  progress.mutable_finished_epoch()->set_epoch(1);
  progress.mutable_finished_epoch()->set_test_accuracy(0.5);
  hakd::v1::ReportProgressResponse progress_response;
  ASSERT_TRUE(worker_->ReportProgress(As(kWorker).get(), progress, &progress_response).ok());
  EXPECT_FALSE(progress_response.cancelled());

  // Upload a model of 1.5 MiB in 256 KiB chunks.
  std::string model(3 << 19, '\0');
  for (size_t i = 0; i < model.size(); ++i) model[i] = static_cast<char>(i * 7 + i / 3);
  hakd::v1::ArtifactInfo info;
  {
    auto context = As(kWorker);
    auto writer = worker_->UploadArtifact(context.get(), &info);
    hakd::v1::ArtifactChunk chunk;
    chunk.mutable_header()->set_lease_id(leased.lease_id());
    chunk.mutable_header()->set_kind("model");
    chunk.mutable_header()->set_size_bytes(static_cast<int64_t>(model.size()));
    chunk.mutable_header()->set_sha256(Sha256Hex(model));
    ASSERT_TRUE(writer->Write(chunk));
    for (size_t off = 0; off < model.size(); off += 1 << 18) {
      chunk.set_data(model.substr(off, 1 << 18));
      ASSERT_TRUE(writer->Write(chunk));
    }
    writer->WritesDone();
    grpc::Status st = writer->Finish();
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  EXPECT_EQ(info.kind(), "model");
  EXPECT_EQ(info.task_id(), submitted.task_id());
  EXPECT_EQ(info.sha256(), Sha256Hex(model));

  // A corrupt upload is refused with DATA_LOSS.
  {
    hakd::v1::ArtifactInfo bad_info;
    auto context = As(kWorker);
    auto writer = worker_->UploadArtifact(context.get(), &bad_info);
    hakd::v1::ArtifactChunk chunk;
    chunk.mutable_header()->set_lease_id(leased.lease_id());
    chunk.mutable_header()->set_kind("checkpoint");
    chunk.mutable_header()->set_size_bytes(4);
    chunk.mutable_header()->set_sha256(Sha256Hex("abcd"));
    ASSERT_TRUE(writer->Write(chunk));
    chunk.set_data("abce");
    writer->Write(chunk);
    writer->WritesDone();
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::DATA_LOSS);
  }

  // The worker may download its model back.
  {
    hakd::v1::DownloadArtifactRequest download;
    download.set_lease_id(leased.lease_id());
    download.set_artifact_id(info.artifact_id());
    auto context = As(kWorker);
    auto reader = worker_->DownloadArtifact(context.get(), download);
    hakd::v1::ArtifactChunk chunk;
    std::string got;
    ASSERT_TRUE(reader->Read(&chunk));
    EXPECT_EQ(chunk.header().info().artifact_id(), info.artifact_id());
    while (reader->Read(&chunk)) got += chunk.data();
    ASSERT_TRUE(reader->Finish().ok());
    EXPECT_TRUE(got == model);
  }

  hakd::v1::CompleteTaskRequest complete;
  complete.set_lease_id(leased.lease_id());
  complete.set_model_artifact_id(info.artifact_id());
  hakd::v1::CompleteTaskResponse complete_response;
  ASSERT_TRUE(worker_->CompleteTask(As(kWorker).get(), complete, &complete_response).ok());

  watcher.join();
  EXPECT_TRUE(watch_status.ok()) << watch_status.error_message();
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front(), hakd::v1::TASK_QUEUED);
  EXPECT_EQ(seen.back(), hakd::v1::TASK_SUCCEEDED);
  EXPECT_EQ(last.model_artifact_id(), info.artifact_id());
  ASSERT_EQ(last.history_size(), 1);
  EXPECT_DOUBLE_EQ(last.history(0).test_accuracy(), 0.5);

  // A reader fetches the model; the file lies beside the database.
  hakd::v1::GetArtifactRequest get;
  get.set_artifact_id(info.artifact_id());
  auto context = As(kReader);
  auto reader = training_->GetArtifact(context.get(), get);
  hakd::v1::ArtifactChunk chunk;
  std::string got;
  int chunks = 0;
  while (reader->Read(&chunk)) {
    if (chunk.has_data()) got += chunk.data();
    ++chunks;
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(chunks, 3);  // header, 1 MiB, 0.5 MiB
  EXPECT_TRUE(got == model);
  std::ifstream file(absl::StrCat(dir_, "/artifacts/task-", submitted.task_id(), "/",
                                  info.artifact_id()),
                     std::ios::binary);
  EXPECT_TRUE(file.good());
}

TEST_F(TrainingServerTest, CancelReachesTheWorkerAndLostLeasesAreReaped) {
  hakd::v1::SubmitTrainingRequest r = Request();
  r.set_max_attempts(1);
  hakd::v1::TrainingTask first;
  hakd::v1::TrainingTask second;
  ASSERT_TRUE(training_->SubmitTraining(As(kAdmin).get(), r, &first).ok());
  ASSERT_TRUE(training_->SubmitTraining(As(kAdmin).get(), r, &second).ok());
  hakd::v1::RegisterWorkerRequest reg;
  reg.set_name("w1");
  reg.mutable_capabilities()->set_device("cpu");
  hakd::v1::RegisterWorkerResponse reg_response;
  ASSERT_TRUE(worker_->RegisterWorker(As(kWorker).get(), reg, &reg_response).ok());
  hakd::v1::LeaseTaskRequest lease;
  lease.set_worker("w1");
  hakd::v1::LeaseTaskResponse a;
  hakd::v1::LeaseTaskResponse b;
  ASSERT_TRUE(worker_->LeaseTask(As(kWorker).get(), lease, &a).ok());
  ASSERT_TRUE(worker_->LeaseTask(As(kWorker).get(), lease, &b).ok());
  ASSERT_TRUE(a.leased() && b.leased());

  hakd::v1::GetTrainingTaskRequest cancel;
  cancel.set_task_id(a.task().task_id());
  hakd::v1::TrainingTask cancelled;
  EXPECT_EQ(training_->CancelTrainingTask(As(kReader).get(), cancel, &cancelled)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(training_->CancelTrainingTask(As(kAdmin).get(), cancel, &cancelled).ok());
  EXPECT_EQ(cancelled.state(), hakd::v1::TASK_CANCELLED);
  hakd::v1::ReportProgressRequest progress;
  progress.set_lease_id(a.lease_id());
  hakd::v1::ReportProgressResponse progress_response;
  ASSERT_TRUE(worker_->ReportProgress(As(kWorker).get(), progress, &progress_response).ok());
  EXPECT_TRUE(progress_response.cancelled());

  // b's lease (1 s) is never renewed: the server's reaper fails it (one
  // attempt allowed) within about two seconds.
  hakd::v1::GetTrainingTaskRequest get;
  get.set_task_id(b.task().task_id());
  hakd::v1::TrainingTask t;
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(training_->GetTrainingTask(As(kReader).get(), get, &t).ok());
    if (t.state() != hakd::v1::TASK_RUNNING) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(t.state(), hakd::v1::TASK_FAILED);
  EXPECT_NE(t.error().find("gave up after 1 attempts: lease of worker w1 expired"),
            std::string::npos) << t.error();
  progress.set_lease_id(b.lease_id());
  grpc::Status st = worker_->ReportProgress(As(kWorker).get(), progress, &progress_response);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

}  // namespace
}  // namespace hakd
