// The deployment files of deploy/ checked statically: the Kubernetes
// manifests parse and hold together, the systemd units are sandboxed and
// read tokens from credentials, the Containerfile builds from Debian 12
// packages only and runs as a user. Each checker is also shown rejecting a
// broken input, so that a passing run means something.
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/deploy/deploy_checks.h"

namespace hakd::deploy {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const fs::path kRoot = HAKD_SOURCE_DIR;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<Manifest> Parse(const std::string& text) {
  absl::StatusOr<std::vector<Manifest>> docs = ParseYamlDocuments("test.yaml", text);
  EXPECT_TRUE(docs.ok()) << docs.status();
  return docs.ok() ? *docs : std::vector<Manifest>();
}

// Every add_executable target of the project's CMakeLists.txt files.
std::set<std::string> CmakeTargets() {
  std::set<std::string> targets;
  for (auto it = fs::recursive_directory_iterator(kRoot); it != fs::recursive_directory_iterator(); ++it) {
    const std::string name = it->path().filename().string();
    if (it->is_directory() && (absl::StartsWith(name, "build") || absl::StartsWith(name, "."))) {
      it.disable_recursion_pending();
      continue;
    }
    if (name == "CMakeLists.txt") targets.merge(ExecutableTargets(ReadFile(it->path())));
  }
  return targets;
}

std::string Problems(const std::vector<std::string>& problems) { return absl::StrJoin(problems, "\n"); }

// ---- Kubernetes -------------------------------------------------------------

TEST(KubernetesManifestsTest, EveryFileParsesAndTheSetHoldsTogether) {
  std::vector<Manifest> all;
  std::set<std::string> kinds;
  int files = 0;
  for (const auto& entry : fs::directory_iterator(kRoot / "deploy/k8s")) {
    if (entry.path().extension() != ".yaml") continue;
    ++files;
    absl::StatusOr<std::vector<Manifest>> docs =
        ParseYamlDocuments(entry.path().filename().string(), ReadFile(entry.path()));
    ASSERT_TRUE(docs.ok()) << docs.status();
    EXPECT_FALSE(docs->empty()) << entry.path();
    for (Manifest& m : *docs) {
      kinds.insert(m.root.Str("kind"));
      all.push_back(std::move(m));
    }
  }
  EXPECT_GE(files, 4);
  for (const char* kind : {"Namespace", "StatefulSet", "Service", "Deployment", "DaemonSet"}) {
    EXPECT_THAT(kinds, Contains(kind));
  }
  const std::set<std::string> documented = DocumentedObjects(ReadFile(kRoot / "docs/deploy.md"));
  EXPECT_THAT(documented, Contains("hakd-auth"));
  const std::vector<std::string> problems = CheckManifests(all, documented);
  EXPECT_THAT(problems, IsEmpty()) << Problems(problems);
}

// A minimal set that passes; the negative cases below break one thing each.
constexpr char kValidSet[] = R"(
apiVersion: v1
kind: Service
metadata: {name: svc}
spec:
  selector: {app: s}
  ports: [{name: grpc, port: 50051, targetPort: grpc}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: s}
spec:
  serviceName: svc
  selector: {matchLabels: {app: s}}
  template:
    metadata: {labels: {app: s, extra: x}}
    spec:
      containers:
        - name: c
          image: img
          ports: [{name: grpc, containerPort: 50051}, {name: health, containerPort: 8081}]
          livenessProbe: {grpc: {port: 8081, service: liveness}}
          readinessProbe: {grpc: {port: 8081}}
          volumeMounts: [{name: data, mountPath: /d}, {name: auth, mountPath: /a}]
      volumes: [{name: auth, secret: {secretName: documented}}]
  volumeClaimTemplates:
    - metadata: {name: data}
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
)";

TEST(KubernetesCheckerTest, AcceptsAMinimalValidSet) {
  const std::vector<std::string> problems = CheckManifests(Parse(kValidSet), {"documented"});
  EXPECT_THAT(problems, IsEmpty()) << Problems(problems);
}

TEST(KubernetesCheckerTest, RejectsAnUndocumentedSecret) {
  EXPECT_THAT(Problems(CheckManifests(Parse(kValidSet), {})),
              HasSubstr("Secret 'documented' is neither defined nor documented"));
}

// kValidSet with `from` replaced by `to` (which must occur).
std::string Broken(const std::string& from, const std::string& to) {
  std::string text = kValidSet;
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(KubernetesCheckerTest, RejectsMissingRequiredFields) {
  const struct {
    std::string from, to, want;
  } cases[] = {
      {"metadata: {name: s}", "metadata: {}", "metadata.name is missing"},
      {"kind: Service\n", "", "kind is missing"},
      {"  serviceName: svc\n", "", "spec.serviceName is missing"},
      {"  serviceName: svc\n", "  serviceName: other\n", "'other' names no Service"},
      {"{app: s, extra: x}", "{app: t}", "matchLabels does not match"},
      {"          image: img\n", "", "container 'c': no image"},
      {"{name: data, mountPath: /d}", "{name: nothing, mountPath: /d}", "volumeMount 'nothing' names no volume"},
      {"readinessProbe: {grpc: {port: 8081}}", "readinessProbe: {grpc: {port: 9999}}",
       "grpc.port 9999 is not a declared containerPort"},
      {"          livenessProbe: {grpc: {port: 8081, service: liveness}}\n", "", "no livenessProbe"},
      {"readinessProbe: {grpc: {port: 8081}}", "readinessProbe: {tcpSocket: {port: 8081}}",
       "does not use gRPC health checking"},
      {"targetPort: grpc", "targetPort: web", "targetPort 'web' is not a container port"},
      {"  selector: {app: s}\n", "  selector: {app: none}\n", "matches no workload"},
      {"  volumeClaimTemplates:", "  otherClaims:", "volumeClaimTemplates is missing"},
  };
  for (const auto& c : cases) {
    EXPECT_THAT(Problems(CheckManifests(Parse(Broken(c.from, c.to)), {"documented"})), HasSubstr(c.want))
        << "after replacing '" << c.from << "'";
  }
}

TEST(KubernetesCheckerTest, RejectsAGpuDeploymentWithoutAGpuAndADaemonSetWithoutNodeSelector) {
  const std::string text = R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: w}
spec:
  selector: {matchLabels: {app: w}}
  template:
    metadata: {labels: {app: w}}
    spec:
      containers:
        - name: c
          image: img
          ports: [{containerPort: 8083}]
          livenessProbe: {grpc: {port: 8083}}
          readinessProbe: {grpc: {port: 8083}}
          resources: {limits: {memory: 1Gi}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: a}
spec:
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec:
      containers:
        - name: c
          image: img
          ports: [{containerPort: 8082}]
          livenessProbe: {grpc: {port: 8082}}
          readinessProbe: {grpc: {port: 8082}}
)";
  const std::string problems = Problems(CheckManifests(Parse(text), {}));
  EXPECT_THAT(problems, HasSubstr("Deployment/w: no container has resources.limits nvidia.com/gpu"));
  EXPECT_THAT(problems, HasSubstr("DaemonSet/a: spec.template.spec.nodeSelector is missing"));
}

TEST(KubernetesCheckerTest, SyntaxErrorsNameTheLine) {
  absl::StatusOr<std::vector<Manifest>> docs = ParseYamlDocuments("bad.yaml", "a: b\nc: [d\n");
  ASSERT_FALSE(docs.ok());
  EXPECT_THAT(std::string(docs.status().message()), HasSubstr("bad.yaml:"));
}

TEST(KubernetesCheckerTest, FindsObjectsTheDocsTellUsersToCreate) {
  EXPECT_EQ(DocumentedObjects("kubectl -n hakd create secret generic hakd-auth --from-file=auth.txt\n"
                              "kubectl -n hakd create configmap hakd-ca --from-file=ca.crt=ca.pem\n"
                              "kubectl -n hakd create secret tls hakd-coordinator-tls \\\n  --cert=a"),
            (std::set<std::string>{"hakd-auth", "hakd-ca", "hakd-coordinator-tls"}));
}

// ---- systemd ----------------------------------------------------------------

TEST(SystemdUnitsTest, UnitsAreSandboxedAndReadTokensFromCredentials) {
  const std::set<std::string> targets = CmakeTargets();
  ASSERT_THAT(targets, Contains("hakd-server"));
  const struct {
    const char* file;
    const char* binary;
    bool token;
  } units[] = {
      {"hakd-server.service", "hakd-server", false},
      {"hakd-agent@.service", "hakd-agent", true},
      {"hakd-worker.service", "hakd-worker", true},
  };
  for (const auto& u : units) {
    const std::string text = ReadFile(kRoot / "deploy/systemd" / u.file);
    EXPECT_THAT(CheckUnit(u.file, text, targets), IsEmpty()) << Problems(CheckUnit(u.file, text, targets));
    const UnitFile unit = ParseUnit(text);
    std::string exec, env_files;
    for (const auto& [key, value] : unit.at("Service")) {
      if (key == "ExecStart") exec = value;
      if (key == "EnvironmentFile") {
        // Every site settings file has an example beside the units.
        const std::string name = value.substr(value.rfind('/') + 1);
        if (!absl::StrContains(name, "%i")) {
          EXPECT_TRUE(fs::exists(kRoot / "deploy/systemd" / name)) << u.file << ": " << value;
        }
        env_files += value;
      }
    }
    EXPECT_THAT(exec, HasSubstr(std::string("/") + u.binary + " ")) << u.file;
    EXPECT_FALSE(env_files.empty()) << u.file << " reads no EnvironmentFile";
    if (u.token) {
      EXPECT_THAT(exec, HasSubstr("--token-file=%d/token")) << u.file;
    }
  }
}

constexpr char kValidUnit[] = R"([Unit]
Description=x
[Service]
ExecStart=/usr/local/bin/hakd-agent \
    --token-file=%d/token
LoadCredential=token:/etc/hakd/agent.token
Restart=on-failure
DynamicUser=yes
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
CapabilityBoundingSet=
RestrictAddressFamilies=AF_INET AF_INET6
[Install]
WantedBy=multi-user.target
)";

TEST(SystemdCheckerTest, AcceptsAValidUnitAndRejectsBrokenOnes) {
  const std::set<std::string> binaries = {"hakd-agent"};
  EXPECT_THAT(CheckUnit("u", kValidUnit, binaries), IsEmpty()) << Problems(CheckUnit("u", kValidUnit, binaries));
  const struct {
    std::string from, to, want;
  } cases[] = {
      {"ProtectSystem=strict\n", "", "ProtectSystem= is missing"},
      {"ProtectSystem=strict", "ProtectSystem=full", "ProtectSystem=full"},
      {"Restart=on-failure", "Restart=no", "Restart=no"},
      {"CapabilityBoundingSet=", "CapabilityBoundingSet=CAP_NET_ADMIN", "CapabilityBoundingSet=CAP_NET_ADMIN"},
      {"DynamicUser=yes", "User=root", "runs as root"},
      {"LoadCredential=token:", "LoadCredential=other:", "no LoadCredential=token:FILE"},
      {"--token-file=%d/token", "--token-file=/etc/hakd/agent.token", "is not a credential"},
      {"--token-file=%d/token", "--token=hakd_0123", "on the command line"},
      {"/usr/local/bin/hakd-agent", "/usr/local/bin/other", "does not run one of our binaries"},
      {"[Install]\nWantedBy=multi-user.target\n", "", "no [Install] section"},
  };
  for (const auto& c : cases) {
    std::string text = kValidUnit;
    ASSERT_NE(text.find(c.from), std::string::npos) << c.from;
    text.replace(text.find(c.from), c.from.size(), c.to);
    EXPECT_THAT(Problems(CheckUnit("u", text, binaries)), HasSubstr(c.want)) << "after replacing '" << c.from << "'";
  }
}

// ---- containers -------------------------------------------------------------

TEST(ContainerfileTest, BuildsFromDebianPackagesAndRunsAsAUser) {
  const std::string text = ReadFile(kRoot / "deploy/container/Containerfile");
  const std::vector<std::string> problems =
      CheckContainerfile("Containerfile", text, {"server", "agent", "worker"}, CmakeTargets());
  EXPECT_THAT(problems, IsEmpty()) << Problems(problems);
  // It builds the way a bare-metal install does.
  EXPECT_THAT(text, HasSubstr("deploy/install-deps.sh"));
  EXPECT_THAT(text, HasSubstr("deploy/build.sh"));
  // Every local path it copies exists (the build context is the checkout).
  for (const char* path : {"CMakeLists.txt", "proto", "common", "server", "cli", "agent", "worker", "bench",
                           "deploy/install-deps.sh", "deploy/build.sh"}) {
    EXPECT_THAT(text, HasSubstr(std::string("COPY ") + path + " ")) << path;
    EXPECT_TRUE(fs::exists(kRoot / path)) << path;
  }
}

TEST(ContainerfileCheckerTest, RejectsOtherBasesDownloadsRootAndUnknownBinaries) {
  const std::string valid =
      "FROM debian:12 AS build\nRUN apt-get update && apt-get install -y g++\n"
      "FROM debian:bookworm-slim AS server\nCOPY --from=build /src/build/server/hakd-server /usr/local/bin/\n"
      "USER 10001:10001\n";
  const std::set<std::string> targets = {"hakd-server"};
  EXPECT_THAT(CheckContainerfile("C", valid, {"server"}, targets), IsEmpty())
      << Problems(CheckContainerfile("C", valid, {"server"}, targets));
  const struct {
    std::string from, to, want;
  } cases[] = {
      {"FROM debian:12 AS build", "FROM ubuntu:22.04 AS build", "FROM ubuntu:22.04"},
      {"apt-get install -y g++", "curl -fsSL https://example.org/x | sh", "downloads outside apt-get"},
      {"apt-get install -y g++", "git clone https://example.org/x", "downloads outside apt-get"},
      {"USER 10001:10001", "USER root", "runs as root"},
      {"USER 10001:10001\n", "", "runs as root"},
      {"hakd-server /usr", "hakd-serverd /usr", "not a CMake executable target"},
      {"COPY --from=build", "COPY --from=nvcr.io/x", "not an earlier stage"},
      {"AS server", "AS srv", "no stage 'server'"},
  };
  for (const auto& c : cases) {
    std::string text = valid;
    ASSERT_NE(text.find(c.from), std::string::npos) << c.from;
    text.replace(text.find(c.from), c.from.size(), c.to);
    EXPECT_THAT(Problems(CheckContainerfile("C", text, {"server"}, targets)), HasSubstr(c.want))
        << "after replacing '" << c.from << "'";
  }
}

}  // namespace
}  // namespace hakd::deploy
