// Data-parallel distillation throughput: the distillation step of
// bench/kd_bench.cc (teacher WRN-16-4, student WRN-16-1, Hinton KD +
// attention transfer, global batch 128, real Fashion-MNIST) run by one
// worker process and by groups of worker processes joined the way
// hakd-worker joins them (worker/data_parallel.h: TCPStore rendezvous, Gloo
// all-reduce of the gradients every step, loopback).
//
// The parent only spawns and collects: every configuration is a fresh set
// of processes running this binary with --rank, each timing
// --steps steps after --warmup-steps. The group's images/s is rank 0's
// (global images over its wall time; every member waits for the slowest at
// each all-reduce).
//
//   hakd-bench-kd-scale [--configs 1x2,2x1,1x1] [--steps 20]
//
// A config WxT is W worker processes with T LibTorch threads each.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/flag_names.h"
#include "common/free_port.h"
#include "common/network/network_builders.h"
#include "common/torch/network_module.h"
#include "common/torch/torch_runtime.h"
#include "worker/data_parallel.h"
#include "worker/training_job.h"

ABSL_FLAG(std::string, configs, "1x2,2x1,1x1",
          "comma-separated WORKERSxTHREADS configurations to time");
ABSL_FLAG(int32_t, steps, 20, "timed steps per configuration");
ABSL_FLAG(int32_t, warmup_steps, 3, "untimed steps first");
ABSL_FLAG(int32_t, batch_size, 128, "global batch (split over the workers)");
ABSL_FLAG(std::string, fashion_mnist_dir, "", "default: the Debian package's directory");
// Set by the parent for the processes it spawns.
ABSL_FLAG(int32_t, rank, -1, "internal: this process's rank");
ABSL_FLAG(int32_t, world_size, 1, "internal: processes in the group");
ABSL_FLAG(int32_t, threads, 1, "internal: LibTorch threads of this process");
ABSL_FLAG(int32_t, port, 0, "internal: rank 0's TCPStore port");
ABSL_FLAG(std::string, out, "", "internal: where a process writes its result");

namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "kd_scale_bench: %s\n", what.c_str());
  std::exit(1);
}

hakd::v1::NetworkSpec Wrn(int depth, int width) {
  absl::StatusOr<hakd::v1::NetworkSpec> spec =
      hakd::WideResNet(depth, width, hakd::FashionMnistInput(), 10);
  if (!spec.ok()) Die(spec.status().ToString());
  return *spec;
}

// One member: times the distillation step and writes "images_per_s loss".
int Member() {
  const int rank = absl::GetFlag(FLAGS_rank);
  const int world = absl::GetFlag(FLAGS_world_size);
  if (absl::Status st = hakd::ConfigureThreads(absl::GetFlag(FLAGS_threads), 1); !st.ok()) {
    Die(st.ToString());
  }
  hakd::worker::DatasetCache cache(absl::GetFlag(FLAGS_fashion_mnist_dir), "");
  absl::StatusOr<const hakd::worker::Dataset*> train =
      cache.Get("fashion-mnist", hakd::worker::Split::kTrain);
  if (!train.ok()) Die(train.status().ToString());
  std::unique_ptr<hakd::worker::DataParallelGroup> group;
  if (world > 1) {
    hakd::worker::GroupOptions o;
    o.rank = rank;
    o.world_size = world;
    o.master_host = "127.0.0.1";
    o.master_port = absl::GetFlag(FLAGS_port);
    o.prefix = "kd-scale";
    auto connected = hakd::worker::DataParallelGroup::Connect(o);
    if (!connected.ok()) Die(connected.status().ToString());
    group = std::move(*connected);
  }
  // Every member builds the same networks (seeded); rank 0's weights are
  // broadcast anyway, as in hakd-worker.
  hakd::worker::SeedTorch(1);
  auto teacher = hakd::BuildNetworkModule(Wrn(16, 4));
  auto student = hakd::BuildNetworkModule(Wrn(16, 1));
  if (!teacher.ok()) Die(teacher.status().ToString());
  if (!student.ok()) Die(student.status().ToString());
  hakd::worker::TrainerConfig config;
  config.batch_size = absl::GetFlag(FLAGS_batch_size);
  config.loader_threads = 1;
  config.epochs = 1;
  config.group = group.get();
  auto trainer = hakd::worker::Trainer::Create(student->get(), teacher->get(), *train, *train, config);
  if (!trainer.ok()) Die(trainer.status().ToString());
  double ips = 0;
  absl::StatusOr<double> loss = (*trainer)->TrainSteps(absl::GetFlag(FLAGS_warmup_steps), &ips);
  if (!loss.ok()) Die(loss.status().ToString());
  loss = (*trainer)->TrainSteps(absl::GetFlag(FLAGS_steps), &ips);
  if (!loss.ok()) Die(loss.status().ToString());
  std::ofstream(absl::GetFlag(FLAGS_out)) << ips << " " << *loss << "\n";
  return 0;
}

struct Result {
  int workers = 0;
  int threads = 0;
  double images_per_s = 0;
  double loss = 0;
  double seconds = 0;
};

Result RunConfig(const std::string& self, int workers, int threads, const std::string& dir) {
  const int port = hakd::PickFreeTcpPort(/*loopback_only=*/true);
  if (port == 0) Die("no free port");
  const absl::Time start = absl::Now();
  std::vector<pid_t> pids;
  for (int rank = 0; rank < workers; ++rank) {
    std::vector<std::string> args = {
        self,
        absl::StrCat("--rank=", rank),
        absl::StrCat("--world_size=", workers),
        absl::StrCat("--threads=", threads),
        absl::StrCat("--port=", port),
        absl::StrCat("--steps=", absl::GetFlag(FLAGS_steps)),
        absl::StrCat("--warmup_steps=", absl::GetFlag(FLAGS_warmup_steps)),
        absl::StrCat("--batch_size=", absl::GetFlag(FLAGS_batch_size)),
        absl::StrCat("--fashion_mnist_dir=", absl::GetFlag(FLAGS_fashion_mnist_dir)),
        absl::StrCat("--out=", dir, "/rank", rank)};
    const pid_t pid = fork();
    if (pid < 0) Die("fork failed");
    if (pid == 0) {
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(self.c_str(), argv.data());
      _exit(127);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      Die(absl::StrCat(workers, "x", threads, ": a member failed (status ", status, ")"));
    }
  }
  Result r;
  r.workers = workers;
  r.threads = threads;
  r.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::ifstream in(dir + "/rank0");
  if (!(in >> r.images_per_s >> r.loss)) Die("rank 0 wrote no result");
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  hakd::AbslFlagArgs args(argc, argv);
  absl::ParseCommandLine(args.argc(), args.argv());
  if (absl::GetFlag(FLAGS_rank) >= 0) return Member();

  char self[4096] = {0};
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) Die("cannot find /proc/self/exe");
  char dir_template[] = "/tmp/hakd-kd-scale.XXXXXX";
  const char* dir = mkdtemp(dir_template);
  if (dir == nullptr) Die("mkdtemp failed");

  std::vector<Result> results;
  for (absl::string_view config : absl::StrSplit(absl::GetFlag(FLAGS_configs), ',')) {
    std::vector<std::string> parts = absl::StrSplit(config, 'x');
    int workers = 0, threads = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &workers) ||
        !absl::SimpleAtoi(parts[1], &threads) || workers < 1 || threads < 1) {
      Die(absl::StrCat("--configs: '", config, "' is not WORKERSxTHREADS"));
    }
    std::fprintf(stderr, "kd_scale_bench: %d worker(s) x %d thread(s)...\n", workers, threads);
    results.push_back(RunConfig(self, workers, threads, dir));
  }
  std::printf("method: distillation step WRN-16-4 -> WRN-16-1 (KD + attention transfer), global batch %d, "
              "Fashion-MNIST, %d warm-up + %d timed steps; each worker a process, groups over Gloo on loopback\n",
              absl::GetFlag(FLAGS_batch_size), absl::GetFlag(FLAGS_warmup_steps), absl::GetFlag(FLAGS_steps));
  std::printf("machine: %u cores\n", std::thread::hardware_concurrency());
  std::printf("%-8s %-8s %14s %12s %10s\n", "workers", "threads", "images/s", "last loss", "wall s");
  for (const Result& r : results) {
    std::printf("%-8d %-8d %14.1f %12.4f %10.1f\n", r.workers, r.threads, r.images_per_s, r.loss, r.seconds);
  }
  for (const Result& r : results) {
    std::printf("images_per_s_%dx%d: %.1f\n", r.workers, r.threads, r.images_per_s);
  }
  std::string cleanup = absl::StrCat("rm -rf ", dir);
  if (std::system(cleanup.c_str()) != 0) return 1;
  return 0;
}
