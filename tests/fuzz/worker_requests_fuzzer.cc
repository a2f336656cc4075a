// Fuzzes the validation behind WorkerService's calls
// (server/worker_service.cc, server/artifact_store.cc): the first byte
// picks the request, the rest is its protobuf.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "hakd/v1/training.pb.h"
#include "server/training_validation.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/proto_mutator.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

using hakd::fuzz::ParseProto;

void RegisterWorker(const uint8_t* data, size_t size) {
  hakd::v1::RegisterWorkerRequest r;
  if (!ParseProto(data, size, &r)) return;
  (void)hakd::ValidateWorkerName(r.name(), "name");
  (void)hakd::ValidateWorkerCapabilities(r.capabilities(), "capabilities");
}

void ReportProgress(const uint8_t* data, size_t size) {
  hakd::v1::ReportProgressRequest r;
  if (!ParseProto(data, size, &r)) return;
  (void)hakd::ValidateLeaseId(r.lease_id(), "lease_id");
  (void)hakd::ValidateProgress(r.progress(), "progress");
  (void)hakd::ValidateEpochMetrics(r.finished_epoch(), "finished_epoch");
}

void ArtifactRequests(const uint8_t* data, size_t size) {
  hakd::v1::DownloadArtifactRequest r;
  if (!ParseProto(data, size, &r)) return;
  (void)hakd::ValidateLeaseId(r.lease_id(), "lease_id");
  (void)hakd::ValidateArtifactId(r.artifact_id(), "artifact_id");
}

void UploadHeader(const uint8_t* data, size_t size) {
  hakd::v1::ArtifactChunk chunk;
  if (!ParseProto(data, size, &chunk)) return;
  (void)hakd::ValidateLeaseId(chunk.header().lease_id(), "header.lease_id");
  (void)hakd::ValidateSha256Hex(chunk.header().sha256(), "header.sha256");
}

void CompleteTask(const uint8_t* data, size_t size) {
  hakd::v1::CompleteTaskRequest r;
  if (!ParseProto(data, size, &r)) return;
  (void)hakd::ValidateLeaseId(r.lease_id(), "lease_id");
  (void)hakd::ValidateArtifactId(r.model_artifact_id(), "model_artifact_id");
}

// The request type a selector byte picks, for the mutator.
std::unique_ptr<google::protobuf::Message> RequestOf(uint8_t selector) {
  switch (selector % 5) {
    case 0:
      return std::make_unique<hakd::v1::RegisterWorkerRequest>();
    case 1:
      return std::make_unique<hakd::v1::ReportProgressRequest>();
    case 2:
      return std::make_unique<hakd::v1::DownloadArtifactRequest>();
    case 3:
      return std::make_unique<hakd::v1::ArtifactChunk>();
    default:
      return std::make_unique<hakd::v1::CompleteTaskRequest>();
  }
}

}  // namespace

// Keeps the selector byte and mutates the request after it.
extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size,
                                          size_t max_size, unsigned seed) {
  if (size == 0 || max_size < 2) return LLVMFuzzerMutate(data, size, max_size);
  std::unique_ptr<google::protobuf::Message> request = RequestOf(data[0]);
  return 1 + hakd::fuzz::MutateProtoInput(request.get(), data + 1, size - 1,
                                          max_size - 1, seed);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  switch (data[0] % 5) {
    case 0:
      RegisterWorker(data + 1, size - 1);
      break;
    case 1:
      ReportProgress(data + 1, size - 1);
      break;
    case 2:
      ArtifactRequests(data + 1, size - 1);
      break;
    case 3:
      UploadHeader(data + 1, size - 1);
      break;
    default:
      CompleteTask(data + 1, size - 1);
      break;
  }
  return 0;
}
