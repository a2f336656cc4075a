// Trained models as artifact files (common/artifact_file.h): the network
// specification plus LibTorch-serialised weights. What the worker writes,
// what the agent times and what a user loads from C++:
//
//   absl::StatusOr<hakd::LoadedModel> m = hakd::LoadModelArtifact("m.hakd");
//   auto out = m->network->Forward(images, batch);
#ifndef HAKD_COMMON_TORCH_MODEL_ARTIFACT_H_
#define HAKD_COMMON_TORCH_MODEL_ARTIFACT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/artifact_file.h"
#include "common/torch/torch_network.h"
#include "hakd/v1/network.pb.h"

namespace hakd {

struct LoadedModel {
  hakd::v1::NetworkSpec spec;
  std::unique_ptr<TorchNetwork> network;  // weights loaded, on `device`
};

// The artifact bytes of `network` built from `spec`.
absl::StatusOr<std::string> EncodeModelArtifact(const hakd::v1::NetworkSpec& spec,
                                                const TorchNetwork& network);

// Builds the artifact's network on `device` ("cpu", "cuda:N") and loads its
// weights. Errors: DATA_LOSS (damaged file, weights not fitting the spec),
// INVALID_ARGUMENT (a checkpoint, or an invalid spec), as BuildNetworkModule.
absl::StatusOr<LoadedModel> DecodeModelArtifact(const std::string& bytes,
                                                const std::string& source,
                                                const std::string& device = "cpu");

// The same from a file.
absl::StatusOr<LoadedModel> LoadModelArtifact(const std::string& path,
                                              const std::string& device = "cpu");

}  // namespace hakd

#endif  // HAKD_COMMON_TORCH_MODEL_ARTIFACT_H_
