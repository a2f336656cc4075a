#include "tests/deploy/deploy_checks.h"

#include <yaml.h>

#include <regex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace hakd::deploy {
namespace {

YamlNode Convert(yaml_document_t* doc, yaml_node_t* node, int depth) {
  YamlNode out;
  if (node == nullptr || depth > 64) return out;
  out.line = static_cast<int>(node->start_mark.line) + 1;
  switch (node->type) {
    case YAML_SCALAR_NODE:
      out.kind = YamlNode::Kind::kScalar;
      out.scalar.assign(reinterpret_cast<const char*>(node->data.scalar.value),
                        node->data.scalar.length);
      break;
    case YAML_SEQUENCE_NODE:
      out.kind = YamlNode::Kind::kSeq;
      for (yaml_node_item_t* item = node->data.sequence.items.start;
           item < node->data.sequence.items.top; ++item) {
        out.seq.push_back(Convert(doc, yaml_document_get_node(doc, *item), depth + 1));
      }
      break;
    case YAML_MAPPING_NODE:
      out.kind = YamlNode::Kind::kMap;
      for (yaml_node_pair_t* pair = node->data.mapping.pairs.start;
           pair < node->data.mapping.pairs.top; ++pair) {
        YamlNode key = Convert(doc, yaml_document_get_node(doc, pair->key), depth + 1);
        out.map.emplace_back(key.scalar,
                             Convert(doc, yaml_document_get_node(doc, pair->value), depth + 1));
      }
      break;
    default:
      break;
  }
  return out;
}

// "file#2 StatefulSet/hakd-coordinator" for messages.
std::string Where(const Manifest& m) {
  return absl::StrCat(m.file, "#", m.index, " ", m.root.Str("kind"), "/",
                      m.root.Str("metadata.name"));
}

// The string entries of a mapping node ({} when absent).
std::map<std::string, std::string> StringMap(const YamlNode* node) {
  std::map<std::string, std::string> out;
  if (node == nullptr || node->kind != YamlNode::Kind::kMap) return out;
  for (const auto& [key, value] : node->map) out[key] = value.scalar;
  return out;
}

const std::vector<YamlNode>& Seq(const YamlNode* node) {
  static const std::vector<YamlNode> kEmpty;
  if (node == nullptr || node->kind != YamlNode::Kind::kSeq) return kEmpty;
  return node->seq;
}

bool IsSubset(const std::map<std::string, std::string>& part,
              const std::map<std::string, std::string>& whole) {
  for (const auto& [key, value] : part) {
    auto it = whole.find(key);
    if (it == whole.end() || it->second != value) return false;
  }
  return true;
}

// A pod-making object and what Services may point at.
struct Workload {
  const Manifest* manifest;
  std::string ns;
  std::map<std::string, std::string> pod_labels;
  std::set<std::string> port_names;
  std::set<std::string> port_numbers;
};

bool IsWorkload(const std::string& kind) {
  return kind == "StatefulSet" || kind == "Deployment" || kind == "DaemonSet";
}

// Every Secret and ConfigMap a pod spec names: {"Secret", name} pairs.
std::vector<std::pair<std::string, std::string>> References(const YamlNode& pod) {
  std::vector<std::pair<std::string, std::string>> refs;
  for (const YamlNode& volume : Seq(pod.Get("volumes"))) {
    if (std::string s = volume.Str("secret.secretName"); !s.empty()) refs.emplace_back("Secret", s);
    if (std::string c = volume.Str("configMap.name"); !c.empty()) refs.emplace_back("ConfigMap", c);
    for (const YamlNode& source : Seq(volume.Path("projected.sources"))) {
      if (std::string s = source.Str("secret.name"); !s.empty()) refs.emplace_back("Secret", s);
      if (std::string c = source.Str("configMap.name"); !c.empty()) refs.emplace_back("ConfigMap", c);
    }
  }
  for (const YamlNode& secret : Seq(pod.Get("imagePullSecrets"))) {
    if (std::string s = secret.Str("name"); !s.empty()) refs.emplace_back("Secret", s);
  }
  for (const char* list : {"containers", "initContainers"}) {
    for (const YamlNode& container : Seq(pod.Get(list))) {
      for (const YamlNode& env : Seq(container.Get("env"))) {
        if (std::string s = env.Str("valueFrom.secretKeyRef.name"); !s.empty()) refs.emplace_back("Secret", s);
        if (std::string c = env.Str("valueFrom.configMapKeyRef.name"); !c.empty()) refs.emplace_back("ConfigMap", c);
      }
      for (const YamlNode& from : Seq(container.Get("envFrom"))) {
        if (std::string s = from.Str("secretRef.name"); !s.empty()) refs.emplace_back("Secret", s);
        if (std::string c = from.Str("configMapRef.name"); !c.empty()) refs.emplace_back("ConfigMap", c);
      }
    }
  }
  return refs;
}

// Checks one workload's pod template and fills `w`.
void CheckWorkload(const Manifest& m, Workload* w, std::vector<std::string>* problems) {
  const std::string where = Where(m);
  const std::string kind = m.root.Str("kind");
  auto problem = [&](const std::string& text) { problems->push_back(absl::StrCat(where, ": ", text)); };

  const std::map<std::string, std::string> match = StringMap(m.root.Path("spec.selector.matchLabels"));
  w->pod_labels = StringMap(m.root.Path("spec.template.metadata.labels"));
  if (match.empty()) problem("spec.selector.matchLabels is missing or empty");
  if (!IsSubset(match, w->pod_labels)) {
    problem("spec.selector.matchLabels does not match spec.template.metadata.labels");
  }
  const YamlNode* pod = m.root.Path("spec.template.spec");
  if (pod == nullptr || pod->kind != YamlNode::Kind::kMap) {
    problem("spec.template.spec is missing");
    return;
  }
  std::set<std::string> volumes;
  for (const YamlNode& volume : Seq(pod->Get("volumes"))) volumes.insert(volume.Str("name"));
  if (kind == "StatefulSet") {
    if (m.root.Str("spec.serviceName").empty()) problem("spec.serviceName is missing");
    const std::vector<YamlNode>& claims = Seq(m.root.Path("spec.volumeClaimTemplates"));
    if (claims.empty()) problem("spec.volumeClaimTemplates is missing or empty");
    for (const YamlNode& claim : claims) {
      const std::string name = claim.Str("metadata.name");
      if (name.empty()) problem("a volumeClaimTemplate has no metadata.name");
      if (claim.Str("spec.resources.requests.storage").empty()) {
        problem(absl::StrCat("volumeClaimTemplate '", name, "' requests no storage"));
      }
      if (Seq(claim.Path("spec.accessModes")).empty()) {
        problem(absl::StrCat("volumeClaimTemplate '", name, "' has no accessModes"));
      }
      volumes.insert(name);
    }
  }
  if (kind == "DaemonSet" && StringMap(pod->Get("nodeSelector")).empty()) {
    problem("spec.template.spec.nodeSelector is missing or empty");
  }
  const std::vector<YamlNode>& containers = Seq(pod->Get("containers"));
  if (containers.empty()) problem("spec.template.spec.containers is missing or empty");
  bool gpu = false;
  for (const YamlNode& container : containers) {
    const std::string name = container.Str("name");
    auto cproblem = [&](const std::string& text) { problem(absl::StrCat("container '", name, "': ", text)); };
    if (name.empty()) problem("a container has no name");
    if (container.Str("image").empty()) cproblem("no image");
    std::set<std::string> ports;
    for (const YamlNode& port : Seq(container.Get("ports"))) {
      const std::string number = port.Str("containerPort");
      int value = 0;
      if (!absl::SimpleAtoi(number, &value) || value < 1 || value > 65535) {
        cproblem(absl::StrCat("containerPort '", number, "' is not a port number"));
      }
      ports.insert(number);
      w->port_numbers.insert(number);
      if (std::string port_name = port.Str("name"); !port_name.empty()) w->port_names.insert(port_name);
    }
    for (const YamlNode& mount : Seq(container.Get("volumeMounts"))) {
      if (volumes.count(mount.Str("name")) == 0) {
        cproblem(absl::StrCat("volumeMount '", mount.Str("name"), "' names no volume or claim template"));
      }
      if (mount.Str("mountPath").empty()) cproblem(absl::StrCat("volumeMount '", mount.Str("name"), "' has no mountPath"));
    }
    for (const char* probe : {"livenessProbe", "readinessProbe", "startupProbe"}) {
      const YamlNode* node = container.Get(probe);
      if (node == nullptr) {
        if (std::string(probe) != "startupProbe") cproblem(absl::StrCat("no ", probe));
        continue;
      }
      const std::string port = node->Str("grpc.port");
      if (port.empty()) {
        cproblem(absl::StrCat(probe, " does not use gRPC health checking (grpc.port)"));
      } else if (ports.count(port) == 0) {
        cproblem(absl::StrCat(probe, " grpc.port ", port, " is not a declared containerPort"));
      }
    }
    const std::map<std::string, std::string> limits = StringMap(container.Path("resources.limits"));
    if (auto it = limits.find("nvidia.com/gpu"); it != limits.end()) {
      int count = 0;
      if (absl::SimpleAtoi(it->second, &count) && count >= 1) gpu = true;
    }
  }
  if (kind == "Deployment" && !gpu) problem("no container has resources.limits nvidia.com/gpu >= 1");
}

}  // namespace

const YamlNode* YamlNode::Get(const std::string& key) const {
  if (kind != Kind::kMap) return nullptr;
  for (const auto& [k, v] : map) {
    if (k == key) return &v;
  }
  return nullptr;
}

const YamlNode* YamlNode::Path(const std::string& dotted) const {
  const YamlNode* node = this;
  for (absl::string_view part : absl::StrSplit(dotted, '.')) {
    node = node->Get(std::string(part));
    if (node == nullptr) return nullptr;
  }
  return node;
}

std::string YamlNode::Str(const std::string& dotted) const {
  const YamlNode* node = Path(dotted);
  return node != nullptr && node->kind == Kind::kScalar ? node->scalar : "";
}

absl::StatusOr<std::vector<Manifest>> ParseYamlDocuments(const std::string& file,
                                                         const std::string& text) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) return absl::InternalError("yaml_parser_initialize");
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()),
                               text.size());
  std::vector<Manifest> out;
  absl::Status error;
  for (int index = 0;; ++index) {
    yaml_document_t doc;
    if (!yaml_parser_load(&parser, &doc)) {
      error = absl::InvalidArgumentError(absl::StrCat(
          file, ":", parser.problem_mark.line + 1, ": ",
          parser.problem != nullptr ? parser.problem : "YAML error",
          parser.context != nullptr ? absl::StrCat(" ", parser.context) : ""));
      break;
    }
    yaml_node_t* root = yaml_document_get_root_node(&doc);
    if (root == nullptr) {  // end of the stream
      yaml_document_delete(&doc);
      break;
    }
    Manifest m;
    m.file = file;
    m.index = index;
    m.root = Convert(&doc, root, 0);
    yaml_document_delete(&doc);
    // An empty document ("---" followed by nothing) is skipped.
    if (m.root.kind == YamlNode::Kind::kScalar && m.root.scalar.empty()) continue;
    out.push_back(std::move(m));
  }
  yaml_parser_delete(&parser);
  if (!error.ok()) return error;
  return out;
}

std::vector<std::string> CheckManifests(const std::vector<Manifest>& manifests,
                                        const std::set<std::string>& user_created) {
  std::vector<std::string> problems;
  std::set<std::string> namespaces;
  std::vector<Workload> workloads;
  std::vector<const Manifest*> services;
  for (const Manifest& m : manifests) {
    if (m.root.kind != YamlNode::Kind::kMap) {
      problems.push_back(absl::StrCat(m.file, "#", m.index, ": not a mapping"));
      continue;
    }
    for (const char* field : {"apiVersion", "kind", "metadata.name"}) {
      if (m.root.Str(field).empty()) problems.push_back(absl::StrCat(Where(m), ": ", field, " is missing"));
    }
    const std::string kind = m.root.Str("kind");
    if (kind == "Namespace") namespaces.insert(m.root.Str("metadata.name"));
    if (kind == "Service") services.push_back(&m);
    if (IsWorkload(kind)) {
      Workload w;
      w.manifest = &m;
      w.ns = m.root.Str("metadata.namespace");
      CheckWorkload(m, &w, &problems);
      const YamlNode* pod = m.root.Path("spec.template.spec");
      for (const auto& [ref_kind, name] : pod != nullptr ? References(*pod) : References(YamlNode())) {
        if (user_created.count(name) == 0) {
          // Defined anywhere in the set, before or after this workload.
          bool found = false;
          for (const Manifest& other : manifests) {
            found = found || (other.root.Str("kind") == ref_kind && other.root.Str("metadata.name") == name);
          }
          if (!found) {
            problems.push_back(absl::StrCat(Where(m), ": ", ref_kind, " '", name,
                                            "' is neither defined nor documented as made by the user"));
          }
        }
      }
      workloads.push_back(std::move(w));
    }
  }
  // One namespace for all, when the set defines it.
  for (const Manifest& m : manifests) {
    const std::string kind = m.root.Str("kind");
    if (namespaces.empty() || kind == "Namespace" || m.root.kind != YamlNode::Kind::kMap) continue;
    if (namespaces.count(m.root.Str("metadata.namespace")) == 0) {
      problems.push_back(absl::StrCat(Where(m), ": metadata.namespace '", m.root.Str("metadata.namespace"),
                                      "' is not a Namespace of this set"));
    }
  }
  for (const Workload& w : workloads) {
    if (w.manifest->root.Str("kind") != "StatefulSet") continue;
    const std::string service = w.manifest->root.Str("spec.serviceName");
    bool found = false;
    for (const Manifest* s : services) {
      found = found || (s->root.Str("metadata.name") == service && s->root.Str("metadata.namespace") == w.ns);
    }
    if (!service.empty() && !found) {
      problems.push_back(absl::StrCat(Where(*w.manifest), ": spec.serviceName '", service, "' names no Service"));
    }
  }
  for (const Manifest* s : services) {
    const std::string where = Where(*s);
    const std::map<std::string, std::string> selector = StringMap(s->root.Path("spec.selector"));
    const std::vector<YamlNode>& ports = Seq(s->root.Path("spec.ports"));
    if (ports.empty()) problems.push_back(absl::StrCat(where, ": spec.ports is missing or empty"));
    if (selector.empty()) {
      problems.push_back(absl::StrCat(where, ": spec.selector is missing or empty"));
      continue;
    }
    std::vector<const Workload*> selected;
    for (const Workload& w : workloads) {
      if (w.ns == s->root.Str("metadata.namespace") && IsSubset(selector, w.pod_labels)) selected.push_back(&w);
    }
    if (selected.empty()) {
      problems.push_back(absl::StrCat(where, ": spec.selector matches no workload's pods"));
      continue;
    }
    for (const YamlNode& port : ports) {
      if (port.Str("port").empty()) problems.push_back(absl::StrCat(where, ": a port has no 'port'"));
      std::string target = port.Str("targetPort");
      if (target.empty()) target = port.Str("port");
      int number = 0;
      const bool numeric = absl::SimpleAtoi(target, &number);
      for (const Workload* w : selected) {
        if (numeric ? w->port_numbers.count(target) == 0 : w->port_names.count(target) == 0) {
          problems.push_back(absl::StrCat(where, ": targetPort '", target, "' is not a container port of ",
                                          Where(*w->manifest)));
        }
      }
    }
  }
  return problems;
}

std::set<std::string> DocumentedObjects(const std::string& text) {
  std::set<std::string> names;
  std::vector<std::string> words = absl::StrSplit(text, absl::ByAnyChar(" \t\r\n\\`\"'"), absl::SkipEmpty());
  for (size_t i = 0; i + 2 < words.size(); ++i) {
    if (words[i] != "create") continue;
    if (words[i + 1] == "secret" && i + 3 < words.size()) names.insert(words[i + 3]);
    if (words[i + 1] == "configmap") names.insert(words[i + 2]);
  }
  return names;
}

UnitFile ParseUnit(const std::string& text) {
  UnitFile unit;
  std::string section;
  std::string pending;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    std::string line(absl::StripAsciiWhitespace(raw));
    if (pending.empty() && (line.empty() || line[0] == '#' || line[0] == ';')) continue;
    if (!line.empty() && line.back() == '\\') {
      line.pop_back();
      pending += line + " ";
      continue;
    }
    line = pending + line;
    pending.clear();
    if (line.empty()) continue;
    if (line.front() == '[' && line.back() == ']') {
      section = line.substr(1, line.size() - 2);
      unit[section];
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    unit[section].emplace_back(std::string(absl::StripAsciiWhitespace(line.substr(0, eq))),
                               std::string(absl::StripAsciiWhitespace(line.substr(eq + 1))));
  }
  return unit;
}

std::vector<std::string> CheckUnit(const std::string& file, const std::string& text,
                                   const std::set<std::string>& binaries) {
  std::vector<std::string> problems;
  auto problem = [&](const std::string& t) { problems.push_back(absl::StrCat(file, ": ", t)); };
  const UnitFile unit = ParseUnit(text);
  for (const char* section : {"Unit", "Service", "Install"}) {
    if (unit.count(section) == 0) problem(absl::StrCat("no [", section, "] section"));
  }
  if (unit.count("Service") == 0) return problems;
  // The last assignment wins; "all" collects repeated keys.
  std::map<std::string, std::string> last;
  std::map<std::string, std::vector<std::string>> all;
  for (const auto& [key, value] : unit.at("Service")) {
    last[key] = value;
    all[key].push_back(value);
  }
  auto has = [&](const std::string& key) { return last.count(key) > 0; };
  const std::string exec = has("ExecStart") ? last["ExecStart"] : "";
  std::vector<std::string> argv = absl::StrSplit(exec, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  std::string program = argv.empty() ? "" : argv[0];
  program = std::string(absl::StripLeadingAsciiWhitespace(program));
  while (!program.empty() && std::string("-@+!:").find(program[0]) != std::string::npos) program.erase(0, 1);
  const std::string base = program.substr(program.rfind('/') == std::string::npos ? 0 : program.rfind('/') + 1);
  if (program.empty() || program[0] != '/' || binaries.count(base) == 0) {
    problem(absl::StrCat("ExecStart does not run one of our binaries by absolute path: '", exec, "'"));
  }
  const std::map<std::string, std::set<std::string>> required = {
      {"Restart", {"on-failure"}},
      {"NoNewPrivileges", {"yes", "true"}},
      {"ProtectSystem", {"strict"}},
      {"ProtectHome", {"yes", "true", "read-only", "tmpfs"}},
      {"PrivateTmp", {"yes", "true"}},
      {"CapabilityBoundingSet", {""}},
  };
  for (const auto& [key, allowed] : required) {
    if (!has(key)) {
      problem(absl::StrCat(key, "= is missing"));
    } else if (allowed.count(last[key]) == 0) {
      problem(absl::StrCat(key, "=", last[key], " (want ", absl::StrJoin(allowed, " or "), ")"));
    }
  }
  if (!has("RestrictAddressFamilies") || last["RestrictAddressFamilies"].empty()) {
    problem("RestrictAddressFamilies= is missing or empty");
  }
  const bool dynamic = has("DynamicUser") && (last["DynamicUser"] == "yes" || last["DynamicUser"] == "true");
  const std::string user = has("User") ? last["User"] : "";
  if (!dynamic && (user.empty() || user == "root" || user == "0")) {
    problem("runs as root: set DynamicUser=yes or a User= other than root");
  }
  if (absl::StrContains(exec, "--token=") || absl::StrContains(exec, "--token ")) {
    problem("a token is given on the command line; use --token-file with LoadCredential=");
  }
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string path;
    if (absl::StartsWith(argv[i], "--token-file=") || absl::StartsWith(argv[i], "--token_file=")) {
      path = argv[i].substr(argv[i].find('=') + 1);
    } else if ((argv[i] == "--token-file" || argv[i] == "--token_file") && i + 1 < argv.size()) {
      path = argv[i + 1];
    } else {
      continue;
    }
    std::string credential;
    if (absl::StartsWith(path, "%d/")) credential = path.substr(3);
    if (absl::StartsWith(path, "${CREDENTIALS_DIRECTORY}/")) credential = path.substr(25);
    if (credential.empty()) {
      problem(absl::StrCat("--token-file ", path, " is not a credential (%d/NAME with LoadCredential=)"));
      continue;
    }
    bool loaded = false;
    for (const std::string& value : all["LoadCredential"]) {
      loaded = loaded || absl::StartsWith(value, credential + ":");
    }
    if (!loaded) problem(absl::StrCat("no LoadCredential=", credential, ":FILE for --token-file"));
  }
  return problems;
}

std::vector<std::string> CheckContainerfile(const std::string& file, const std::string& text,
                                            const std::set<std::string>& final_stages,
                                            const std::set<std::string>& cmake_targets) {
  std::vector<std::string> problems;
  // Instructions with continuation lines joined, comments dropped.
  std::vector<std::pair<int, std::string>> instructions;
  std::string pending;
  int line_no = 0, start = 0;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++line_no;
    std::string line(absl::StripAsciiWhitespace(raw));
    if (line.empty() || line[0] == '#') continue;
    if (pending.empty()) start = line_no;
    if (line.back() == '\\') {
      line.pop_back();
      pending += line + " ";
      continue;
    }
    instructions.emplace_back(start, pending + line);
    pending.clear();
  }
  auto problem = [&](int line, const std::string& t) { problems.push_back(absl::StrCat(file, ":", line, ": ", t)); };
  static const std::regex kDebian("^(docker\\.io/(library/)?)?debian:(12|bookworm)(-slim)?(@sha256:[0-9a-f]{64})?$");
  static const std::regex kFetch("(^|[^A-Za-z0-9_-])(curl|wget|git +clone|pip3? +install|npm +install|go +(get|install)|apt-key|add-apt-repository)([^A-Za-z0-9_-]|$)");
  std::set<std::string> stages;
  std::map<std::string, std::string> user_of;  // stage -> its last USER
  std::string stage;
  for (const auto& [line, instruction] : instructions) {
    std::vector<std::string> words = absl::StrSplit(instruction, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    const std::string op = absl::AsciiStrToUpper(words[0]);
    if (op == "FROM") {
      size_t i = 1;
      while (i < words.size() && absl::StartsWith(words[i], "--")) ++i;
      const std::string image = i < words.size() ? words[i] : "";
      if (stages.count(image) == 0 && !std::regex_match(image, kDebian)) {
        problem(line, absl::StrCat("FROM ", image, ": only debian:12 (bookworm) or an earlier stage"));
      }
      stage = i + 2 < words.size() && absl::AsciiStrToUpper(words[i + 1]) == "AS" ? words[i + 2] : "";
      if (!stage.empty()) stages.insert(stage);
      // A stage starts as its base's user.
      user_of[stage] = user_of.count(image) ? user_of[image] : "";
    } else if (op == "RUN") {
      if (std::regex_search(instruction, kFetch)) problem(line, "downloads outside apt-get: " + instruction);
    } else if (op == "ADD") {
      if (absl::StrContains(instruction, "://") || absl::StrContains(instruction, "git@")) {
        problem(line, "ADD of a remote source");
      }
    } else if (op == "USER") {
      user_of[stage] = words.size() > 1 ? words[1] : "";
    } else if (op == "COPY") {
      std::string from;
      std::vector<std::string> args;
      for (size_t i = 1; i < words.size(); ++i) {
        if (absl::StartsWith(words[i], "--from=")) {
          from = words[i].substr(7);
        } else if (!absl::StartsWith(words[i], "--")) {
          args.push_back(words[i]);
        }
      }
      if (!from.empty() && stages.count(from) == 0) problem(line, "COPY --from=" + from + " is not an earlier stage");
      for (size_t i = 0; i + 1 < args.size(); ++i) {  // the last is the destination
        const std::string& src = args[i];
        if (!from.empty() && absl::StrContains(src, "/build/")) {
          const std::string base = src.substr(src.rfind('/') + 1);
          if (cmake_targets.count(base) == 0) problem(line, "copies " + src + ", not a CMake executable target");
        }
      }
    }
  }
  for (const std::string& final_stage : final_stages) {
    if (stages.count(final_stage) == 0) {
      problems.push_back(absl::StrCat(file, ": no stage '", final_stage, "'"));
      continue;
    }
    const std::string user = user_of[final_stage];
    const std::string name = user.substr(0, user.find(':'));
    if (name.empty() || name == "root" || name == "0") {
      problems.push_back(absl::StrCat(file, ": stage '", final_stage, "' runs as root (USER '", user, "')"));
    }
  }
  return problems;
}

std::set<std::string> ExecutableTargets(const std::string& cmake_text) {
  std::set<std::string> targets;
  static const std::regex kExecutable("add_executable\\(\\s*([A-Za-z0-9_.+-]+)");
  for (std::sregex_iterator it(cmake_text.begin(), cmake_text.end(), kExecutable), end; it != end; ++it) {
    targets.insert((*it)[1].str());
  }
  return targets;
}

}  // namespace hakd::deploy
