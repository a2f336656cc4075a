// Static checks of the deployment files in deploy/: Kubernetes manifests
// (parsed with libyaml), systemd units and the Containerfile. Each check
// returns the problems it found, one line each naming the file and object;
// an empty list means the files pass.
#ifndef HAKD_TESTS_DEPLOY_DEPLOY_CHECKS_H_
#define HAKD_TESTS_DEPLOY_DEPLOY_CHECKS_H_

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace hakd::deploy {

// One YAML node: a scalar, a mapping (keys in document order) or a
// sequence. Aliases are resolved by libyaml's document loader.
struct YamlNode {
  enum class Kind { kNull, kScalar, kMap, kSeq };
  Kind kind = Kind::kNull;
  std::string scalar;
  std::vector<std::pair<std::string, YamlNode>> map;
  std::vector<YamlNode> seq;
  int line = 0;  // 1-based line of the node in its file

  // The value under `key` in a mapping, or nullptr.
  const YamlNode* Get(const std::string& key) const;
  // Follows a dotted path of mapping keys ("spec.template.metadata").
  const YamlNode* Path(const std::string& dotted) const;
  // The scalar at `dotted`, or "" when absent or not a scalar.
  std::string Str(const std::string& dotted) const;
};

// One document of a multi-document YAML file.
struct Manifest {
  std::string file;  // for messages
  int index = 0;     // 0-based document index in the file
  YamlNode root;
};

// Parses every document of `text` (empty documents skipped). INVALID_ARGUMENT
// with libyaml's message and line on a syntax error.
absl::StatusOr<std::vector<Manifest>> ParseYamlDocuments(
    const std::string& file, const std::string& text);

// Checks the manifests as one set: every object has apiVersion, kind and
// metadata.name; workloads (StatefulSet, Deployment, DaemonSet) have a
// selector matching their pod labels, an image per container, volume mounts
// naming declared volumes (or, in a StatefulSet, claim templates), and
// liveness and readiness probes using gRPC health checking on a declared
// containerPort; a StatefulSet names an existing Service and has claim
// templates; a Deployment's containers request nvidia.com/gpu; a DaemonSet
// has a nodeSelector; a Service has ports and a selector matching some
// workload, and named targetPorts exist there. Secrets and ConfigMaps
// referenced must be defined in the set or named in `user_created`.
std::vector<std::string> CheckManifests(
    const std::vector<Manifest>& manifests,
    const std::set<std::string>& user_created);

// Names of Secrets and ConfigMaps that a document tells the user to make:
// every "kubectl create secret TYPE NAME" and "kubectl create configmap
// NAME" in `text`.
std::set<std::string> DocumentedObjects(const std::string& text);

// A systemd unit file: section name to its key=value lines in order
// (continuation lines joined, comments dropped).
using UnitFile = std::map<std::string, std::vector<std::pair<std::string, std::string>>>;

// Parses a systemd unit file's text.
UnitFile ParseUnit(const std::string& text);

// Checks a unit of one of our binaries: [Unit], [Service] with ExecStart
// running one of `binaries`, Restart=on-failure, the sandboxing settings
// (NoNewPrivileges, ProtectSystem=strict, ProtectHome, PrivateTmp, an empty
// CapabilityBoundingSet, RestrictAddressFamilies, a non-root User= or
// DynamicUser=yes), and, when ExecStart passes --token-file, the token read
// from a LoadCredential= file (%d/...) rather than given inline.
std::vector<std::string> CheckUnit(const std::string& file, const std::string& text,
                                   const std::set<std::string>& binaries);

// Checks a Containerfile: every FROM is debian:12 (bookworm) or an earlier
// stage; nothing is fetched but with apt-get (no curl, wget, git clone,
// pip, ADD of a URL); each stage named in `final_stages` exists and ends
// with a USER other than root/0; every file copied from build/ is a target
// in `cmake_targets`.
std::vector<std::string> CheckContainerfile(const std::string& file, const std::string& text,
                                            const std::set<std::string>& final_stages,
                                            const std::set<std::string>& cmake_targets);

// Target names of every add_executable(NAME ...) in a CMakeLists.txt text.
std::set<std::string> ExecutableTargets(const std::string& cmake_text);

}  // namespace hakd::deploy

#endif  // HAKD_TESTS_DEPLOY_DEPLOY_CHECKS_H_
