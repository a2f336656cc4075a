// Renderings of training tasks and workers, and the watch printer.
#include "cli/training_text.h"

#include <algorithm>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hakd::cli {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kNow = 1'700'000'000'000;

hakd::v1::EpochMetrics Epoch(int e, double test_acc) {
  hakd::v1::EpochMetrics m;
  m.set_epoch(e);
  m.set_train_loss(1.0 / e);
  m.set_train_accuracy(0.5 + 0.1 * e);
  m.set_test_loss(1.2 / e);
  m.set_test_accuracy(test_acc);
  m.set_images_per_second(1234.4);
  m.set_seconds(61.25);
  m.set_learning_rate(0.05);
  return m;
}

hakd::v1::TrainingTask RunningTeacher() {
  hakd::v1::TrainingTask t;
  t.set_task_id(7);
  t.mutable_spec()->set_name("resnet-teacher");
  t.mutable_spec()->set_dataset("cifar10");
  t.mutable_spec()->mutable_network()->set_name("resnet20");
  t.mutable_spec()->mutable_schedule()->set_epochs(10);
  t.set_state(hakd::v1::TASK_RUNNING);
  t.set_attempts(1);
  t.set_max_attempts(3);
  t.set_worker("gpu-box");
  hakd::v1::TrainingProgress* p = t.mutable_progress();
  p->set_epoch(3);
  p->set_epochs(10);
  p->set_step(120);
  p->set_steps_per_epoch(400);
  p->set_loss(0.43216);
  p->set_train_accuracy(0.852);
  p->set_images_per_second(1234.4);
  p->set_phase("train");
  *t.add_history() = Epoch(1, 0.6);
  *t.add_history() = Epoch(2, 0.7123);
  t.set_created_unix_ms(kNow - 300'000);
  t.set_started_unix_ms(kNow - 240'000);
  return t;
}

hakd::v1::TrainingTask QueuedStudent() {
  hakd::v1::TrainingTask t;
  t.set_task_id(12);
  t.mutable_spec()->set_dataset("fashion-mnist");
  t.mutable_spec()->mutable_network()->set_name("tiny");
  t.mutable_spec()->mutable_distillation()->set_teacher_artifact_id(
      "art-ab12-3");
  t.set_state(hakd::v1::TASK_QUEUED);
  t.set_max_attempts(3);
  t.set_created_unix_ms(kNow - 5'000);
  return t;
}

TEST(TrainingTextTest, TasksTable) {
  hakd::v1::ListTrainingTasksResponse tasks;
  *tasks.add_tasks() = QueuedStudent();
  *tasks.add_tasks() = RunningTeacher();
  hakd::v1::TrainingTask done = RunningTeacher();
  done.set_task_id(3);
  done.set_state(hakd::v1::TASK_SUCCEEDED);
  done.mutable_spec()->set_name("");
  for (int e = 3; e <= 10; ++e) *done.add_history() = Epoch(e, 0.9);
  done.set_created_unix_ms(kNow - 3 * 3600'000);
  *tasks.add_tasks() = done;
  EXPECT_EQ(TasksTable(tasks, kNow),
            "ID  NAME            KIND     DATASET        STATE      EPOCH  "
            "TEST ACC  WORKER   ATTEMPTS  AGE\n"
            "12  tiny            student  fashion-mnist  queued      0/10  "
            "       -  -             0/3  5s ago\n"
            " 7  resnet-teacher  teacher  cifar10        running     3/10  "
            "  71.23%  gpu-box       1/3  5m ago\n"
            " 3  resnet20        teacher  cifar10        succeeded  10/10  "
            "  90.00%  gpu-box       1/3  3h ago\n");
}

TEST(TrainingTextTest, KindStateAndEpochs) {
  EXPECT_EQ(TaskKind(RunningTeacher()), "teacher");
  EXPECT_EQ(TaskKind(QueuedStudent()), "student");
  EXPECT_EQ(TaskStateName(hakd::v1::TASK_CANCELLED), "cancelled");
  EXPECT_EQ(TaskStateName(hakd::v1::TASK_STATE_UNSPECIFIED), "unknown");
  EXPECT_EQ(TaskEpochs(QueuedStudent()), 10);  // the default
  EXPECT_EQ(TaskEpochText(RunningTeacher()), "3/10");
  EXPECT_FALSE(IsTaskFinished(RunningTeacher()));
}

TEST(TrainingTextTest, ProgressLines) {
  EXPECT_EQ(FormatTrainingProgressLine(RunningTeacher(), 10),
            "[##........] epoch 3/10 step 120/400  loss 0.4322  acc 85.2%  "
            "1234 img/s  test acc 71.23% (epoch 2)  on gpu-box");
  EXPECT_EQ(FormatTrainingProgressLine(QueuedStudent(), 10),
            "[..........] queued");
  hakd::v1::TrainingTask failed = RunningTeacher();
  failed.set_state(hakd::v1::TASK_FAILED);
  EXPECT_EQ(FormatTrainingProgressLine(failed, 10),
            "[##........] failed 2/10 epochs  test acc 71.23% (epoch 2)");
}

TEST(TrainingTextTest, FinalLines) {
  hakd::v1::TrainingTask t = RunningTeacher();
  t.set_state(hakd::v1::TASK_SUCCEEDED);
  *t.add_history() = Epoch(3, 0.70);
  t.set_model_artifact_id("art-ffee-9");
  t.set_finished_unix_ms(t.started_unix_ms() + 183'000);
  EXPECT_EQ(FormatTrainingFinal(t, kNow),
            "task 7 succeeded after 3 of 10 epochs in 3m03s\n"
            "  final test accuracy: 70.00%\n"
            "  best test accuracy:  71.23% (epoch 2)\n"
            "  model artifact:      art-ffee-9\n");
  t.set_state(hakd::v1::TASK_FAILED);
  t.set_model_artifact_id("");
  t.clear_history();
  t.set_error("CUDA out of memory");
  EXPECT_EQ(FormatTrainingFinal(t, kNow),
            "task 7 failed after 0 of 10 epochs in 3m03s\n"
            "  error: CUDA out of memory\n");
}

TEST(TrainingTextTest, DetailsWithHistory) {
  const std::string d = TaskDetails(RunningTeacher(), kNow);
  EXPECT_THAT(d, HasSubstr("kind:                teacher\n"));
  EXPECT_THAT(d, HasSubstr("best test acc:       71.23% (epoch 2)\n"));
  EXPECT_THAT(d, HasSubstr("elapsed:             4m00s\n"));
  EXPECT_THAT(d, HasSubstr(
                     "EPOCH  TRAIN LOSS  TRAIN ACC  TEST LOSS  TEST ACC  "
                     "IMG/S  SECONDS    LR\n"
                     "    1      1.0000     60.00%     1.2000    60.00%   "
                     "1234     61.2  0.05\n"));
  EXPECT_THAT(TaskDetails(QueuedStudent(), kNow),
              HasSubstr("kind:                student of art-ab12-3\n"));
}

TEST(TrainingTextTest, WorkersTable) {
  hakd::v1::ListWorkersResponse workers;
  hakd::v1::WorkerInfo* w = workers.add_workers();
  w->set_name("gpu-box");
  w->mutable_capabilities()->set_device("cuda:0");
  w->mutable_capabilities()->set_device_name("NVIDIA H100");
  w->mutable_capabilities()->set_memory_bytes(80LL << 30);
  w->set_online(true);
  w->set_current_task_id(7);
  w->set_last_seen_unix_ms(kNow - 2'000);
  w = workers.add_workers();
  w->set_name("laptop");
  w->mutable_capabilities()->set_device("cpu");
  w->set_last_seen_unix_ms(kNow - 7200'000);
  EXPECT_EQ(WorkersTable(workers, kNow),
            "NAME     DEVICE  DEVICE NAME    MEMORY  ONLINE  TASK  LAST SEEN\n"
            "gpu-box  cuda:0  NVIDIA H100  80.0 GiB  yes        7  2s ago\n"
            "laptop   cpu     -                   -  no         -  2h ago\n");
}

TEST(TrainingTextTest, PrinterLinesOnlyOnNews) {
  std::ostringstream out;
  TrainingProgressPrinter printer(out, ProgressPrinter::Mode::kLines, 10,
                                  10.0);
  hakd::v1::TrainingTask t = RunningTeacher();
  ASSERT_TRUE(printer.Update(t, kNow).ok());
  t.mutable_progress()->set_step(121);  // not news, not due
  ASSERT_TRUE(printer.Update(t, kNow + 1000).ok());
  t.mutable_progress()->set_step(122);  // due
  ASSERT_TRUE(printer.Update(t, kNow + 11'000).ok());
  t.mutable_progress()->set_epoch(4);  // news
  t.mutable_progress()->set_step(1);
  ASSERT_TRUE(printer.Update(t, kNow + 12'000).ok());
  const std::string printed = out.str();
  EXPECT_EQ(std::count(printed.begin(), printed.end(), '\n'), 3) << printed;
}

}  // namespace
}  // namespace hakd::cli
