#include "cli/global_options.h"

#include <cstdlib>

namespace hakd::cli {
namespace {

// An empty variable counts as unset: "HAKD_SERVER= hakdctl ..." is a common
// way to switch a variable off.
std::optional<std::string> NonEmpty(const EnvLookup& env, const char* name) {
  std::optional<std::string> v = env(name);
  if (v.has_value() && v->empty()) return std::nullopt;
  return v;
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

GlobalOptions ResolveGlobalOptions(const FlagValues& flags,
                                   const EnvLookup& env) {
  GlobalOptions o;
  if (auto v = flags.String("server")) {
    o.client.server = *v;
  } else if (auto e = NonEmpty(env, "HAKD_SERVER")) {
    o.client.server = *e;
  }
  if (auto v = flags.String("token-file")) {
    o.token_file = *v;
  } else if (auto e = NonEmpty(env, "HAKD_TOKEN_FILE")) {
    o.token_file = *e;
  }
  o.client.tls_ca_file = flags.String("tls-ca").value_or("");
  o.client.tls_server_name = flags.String("tls-server-name").value_or("");
  o.client.allow_insecure = flags.Has("allow-insecure");
  o.json = flags.Has("json");
  o.timeout_seconds = flags.Number("timeout").value_or(30.0);
  o.help = flags.Has("help");
  return o;
}

}  // namespace hakd::cli
