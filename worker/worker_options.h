// hakd-worker's configuration, bound from flags in main.cc.
#ifndef HAKD_WORKER_WORKER_OPTIONS_H_
#define HAKD_WORKER_WORKER_OPTIONS_H_

#include <string>

#include "absl/status/status.h"

namespace hakd::worker {

struct WorkerOptions {
  // host:port of the coordinator. Default "127.0.0.1:50051".
  std::string server = "127.0.0.1:50051";
  // File holding the bearer token (role worker). Required unless a client
  // certificate is given.
  std::string token_file;
  // PEM CA of the coordinator's certificate; empty: plaintext (loopback only
  // unless allow_insecure). Default empty.
  std::string tls_ca_file;
  // PEM client certificate and key (mutual TLS): the worker is then known by
  // the certificate's common name. Both or neither. Default empty.
  std::string tls_cert_file;
  std::string tls_key_file;
  bool allow_insecure = false;
  // Worker name; default: the host name made valid, plus "-worker".
  std::string name;
  // "cpu" or "cuda:N". Default "cpu".
  std::string device = "cpu";
  // LibTorch intra-op threads; 0: every core. Default 0.
  int threads = 0;
  // Threads preparing batches. Default 2.
  int loader_threads = 2;
  // Fashion-MNIST directory; empty (default): the Debian package's.
  std::string fashion_mnist_dir;
  // CIFAR-10 directory (data_batch_*.bin); empty: cifar10 tasks fail.
  std::string cifar10_dir;
  // Wait between LeaseTask calls when the queue is empty. Default 1000 ms.
  int poll_ms = 1000;
  // Largest wait between reconnect attempts. Default 30000 ms.
  int max_backoff_ms = 30000;
  // Exit after this many tasks (0: never). Default 0. For scripts.
  int max_tasks = 0;
  // Port of a plaintext grpc.health.v1 server on every interface (service
  // "liveness": alive; "": SERVING while Worker::connected()); 0 (default):
  // none. Used by main.cc, not by Worker.
  int health_port = 0;
  // Take part in data-parallel groups (tasks with world_size > 1). Default
  // true.
  bool data_parallel = true;
  // Where the other members of a group reach this worker; empty (default):
  // the address the coordinator sees this worker's calls come from.
  std::string group_host;
  // This worker's TCPStore port when it is a group's rank 0; 0 (default):
  // a free port picked for every lease.
  int group_port = 0;
  // Rendezvous and collective timeout of a group. Default 120000 ms.
  int group_timeout_ms = 120000;
};

// INVALID_ARGUMENT naming the option at fault.
absl::Status ValidateWorkerOptions(const WorkerOptions& options);

}  // namespace hakd::worker

#endif  // HAKD_WORKER_WORKER_OPTIONS_H_
