#include "common/torch/model_artifact.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/torch/network_module.h"

namespace hakd {

absl::StatusOr<std::string> EncodeModelArtifact(const hakd::v1::NetworkSpec& spec,
                                                const TorchNetwork& network) {
  absl::StatusOr<std::string> weights = network.SerializeWeights();
  if (!weights.ok()) return weights.status();
  ArtifactContents contents;
  contents.kind = ArtifactKind::kModel;
  contents.spec = spec;
  contents.payload = std::move(*weights);
  return EncodeArtifact(contents);
}

absl::StatusOr<LoadedModel> DecodeModelArtifact(const std::string& bytes,
                                                const std::string& source,
                                                const std::string& device) {
  absl::StatusOr<ArtifactContents> contents = DecodeArtifact(bytes, source);
  if (!contents.ok()) return contents.status();
  if (contents->kind != ArtifactKind::kModel) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": a checkpoint, not a model"));
  }
  NetworkModuleOptions options;
  options.device = device;
  absl::StatusOr<std::unique_ptr<TorchNetwork>> network = BuildNetworkModule(contents->spec, options);
  if (!network.ok()) {
    return absl::Status(network.status().code(), absl::StrCat(source, ": ", network.status().message()));
  }
  if (absl::Status st = (*network)->LoadWeights(contents->payload); !st.ok()) {
    return absl::DataLossError(absl::StrCat(source, ": ", st.message()));
  }
  LoadedModel model;
  model.spec = std::move(contents->spec);
  model.network = std::move(*network);
  return model;
}

absl::StatusOr<LoadedModel> LoadModelArtifact(const std::string& path,
                                              const std::string& device) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return DecodeModelArtifact(buffer.str(), path, device);
}

}  // namespace hakd
