#include "cli/grammar.h"

namespace hakd::cli {
namespace {

using T = FlagType;

std::vector<FlagSpec> GlobalFlags() {
  return {
      {"server", T::kString, false, "ADDR",
       "coordinator host:port (env HAKD_SERVER; default 127.0.0.1:50051)"},
      {"token-file", T::kString, false, "PATH",
       "file holding the bearer token (env HAKD_TOKEN_FILE); required"},
      {"tls-ca", T::kString, false, "PEM",
       "CA certificate of the coordinator; turns TLS on"},
      {"tls-server-name", T::kString, false, "NAME",
       "name expected in the coordinator's certificate"},
      {"allow-insecure", T::kBool, false, "",
       "allow plaintext to a non-loopback server (token sent in clear)"},
      {"json", T::kBool, false, "", "machine-readable JSON output"},
      {"timeout", T::kPositiveNumber, false, "SECONDS",
       "deadline of each single request (default 30)"},
      {"help", T::kBool, false, "", "show usage (also -h)"},
  };
}

std::vector<FlagSpec> CommandFlags() {
  return {
      {"device", T::kString, false, "D", "device id or name"},
      {"preset", T::kString, false, "NAME",
       "sweep preset: default, quick or smoke (default: default)"},
      {"family", T::kString, true, "SPEC",
       "layer family to sweep, repeatable (see SPEC below)"},
      {"chunk-size", T::kPositiveInt, false, "N",
       "layers per task sent to the agent (default 32)"},
      {"min-samples", T::kPositiveInt, false, "N",
       "fewest timed samples per layer (agent default 15)"},
      {"max-samples", T::kPositiveInt, false, "N",
       "most timed samples per layer (agent default 200)"},
      {"min-sample-ms", T::kPositiveNumber, false, "X",
       "shortest duration of one sample (agent default 1.0)"},
      {"warmup-runs", T::kCount, false, "N",
       "untimed runs before sampling (agent default 3)"},
      {"max-seconds-per-layer", T::kPositiveNumber, false, "X",
       "sampling time limit per layer (agent default 2.0)"},
      {"stable-cv", T::kPositiveNumber, false, "X",
       "stop sampling once stddev/mean is at most X (agent default 0.05)"},
      {"max-cv", T::kPositiveNumber, false, "X",
       "stability gate: re-measure a result with stddev/mean above X "
       "(agent default 0.10)"},
      {"keep-samples", T::kBool, false, "",
       "store every timed sample with each result"},
      {"max-remeasure", T::kCount, false, "N",
       "re-measurements before a result is stored as unstable "
       "(agent default 2)"},
      {"reference-interval-s", T::kNumber, false, "X",
       "throttling detector: time the reference kernel at least every X s; "
       "0 turns it off (agent default 2)"},
      {"reference-tolerance", T::kPositiveNumber, false, "X",
       "flag results while the reference kernel is more than X slower than "
       "its best (agent default 0.10)"},
      {"watch", T::kBool, false, "", "follow the sweep after starting it"},
      {"kind", T::kString, false, "K",
       "layer kind: conv2d, linear, maxpool, avgpool, bnrelu"},
      {"in", T::kPositiveInt, false, "C", "input channels"},
      {"out", T::kPositiveInt, false, "C", "output channels"},
      {"channels", T::kPositiveInt, false, "C", "input and output channels"},
      {"res", T::kPositiveInt, false, "N", "input height and width"},
      {"height", T::kPositiveInt, false, "H", "input height"},
      {"width", T::kPositiveInt, false, "W", "input width"},
      {"kernel", T::kPositiveInt, false, "K", "kernel size"},
      {"stride", T::kPositiveInt, false, "S", "stride"},
      {"padding", T::kCount, false, "P", "padding"},
      {"groups", T::kPositiveInt, false, "G", "convolution groups"},
      {"depthwise", T::kBool, false, "", "only depthwise convolutions"},
      {"not-depthwise", T::kBool, false, "", "no depthwise convolutions"},
      {"batch", T::kPositiveInt, false, "B", "batch size"},
      {"dtype", T::kString, false, "T", "float32, float16 or bfloat16"},
      {"limit", T::kPositiveInt, false, "N",
       "most measurements returned (server default 1000)"},
      {"latest", T::kBool, false, "", "only the newest measurement per layer"},
      {"units", T::kBool, false, "",
       "export unit results (blocks, whole networks) instead of layers; JSON only"},
      {"format", T::kString, false, "F", "export format: csv or json"},
      {"output", T::kString, false, "FILE",
       "write to FILE (atomically) instead of standard output"},
      {"min-ratio", T::kPositiveNumber, false, "R",
       "smallest latency jump counted as a step (server default 1.15)"},
      {"svg", T::kString, false, "FILE", "also plot the staircases to FILE"},
      {"network", T::kString, true, "FILE",
       "time FILE's whole network end to end, repeatable"},
      {"units-of", T::kString, true, "FILE",
       "time every unit (stem, each block, head) of FILE's network, "
       "repeatable"},
      {"label", T::kString, false, "TEXT",
       "shown as the sweep's preset (at most 64 characters)"},
      {"spec", T::kString, false, "FILE", "network spec JSON to predict"},
      {"measure-missing", T::kBool, false, "",
       "start a sweep of the units that cannot be predicted, wait for it and "
       "predict again"},
      {"no-wait", T::kBool, false, "",
       "with --measure-missing: start the sweep but do not wait for it"},
      {"sweep", T::kString, true, "ID",
       "sweep of whole networks to fit on, repeatable"},
  };
}

// Flags of the layer filter, shared by query and staircase.
std::vector<std::string> WithFilterFlags(std::vector<std::string> flags) {
  for (const char* f : {"kind", "in", "out", "channels", "res", "height",
                        "width", "kernel", "stride", "padding", "groups",
                        "depthwise", "not-depthwise", "batch", "dtype"}) {
    flags.push_back(f);
  }
  return flags;
}

std::vector<CommandSpec> Commands() {
  return {
      {{"help"},
       {"[COMMAND...]"},
       true,
       {},
       "show usage of every command or of one",
       {}},
      {{"devices", "list"},
       {},
       false,
       {},
       "list the devices the coordinator knows",
       {}},
      {{"devices", "show"},
       {"D"},
       false,
       {},
       "show every fact of one device",
       {}},
      {{"sweep", "start"},
       {},
       false,
       {"device", "preset", "family", "chunk-size", "min-samples",
        "max-samples", "min-sample-ms", "warmup-runs", "max-seconds-per-layer",
        "stable-cv", "max-cv", "max-remeasure", "keep-samples",
        "reference-interval-s", "reference-tolerance", "watch",
        "network", "units-of", "label"},
       "start measuring a preset, --family SPECs or network units on a device",
       {"device"}},
      {{"sweep", "watch"},
       {"ID"},
       false,
       {},
       "follow a sweep until it ends",
       {}},
      {{"sweep", "list"},
       {},
       false,
       {"device"},
       "list sweeps, of one device with --device",
       {}},
      {{"sweep", "show"}, {"ID"}, false, {}, "show one sweep", {}},
      {{"sweep", "cancel"}, {"ID"}, false, {}, "cancel a sweep", {}},
      {{"latency", "query"},
       {},
       false,
       WithFilterFlags({"device", "limit", "latest"}),
       "list a device's measurements that match the layer flags",
       {"device"}},
      {{"latency", "export"},
       {},
       false,
       {"device", "format", "output", "units"},
       "write every measurement of a device as CSV or a JSON array",
       {"device", "format"}},
      {{"latency", "staircase"},
       {},
       false,
       WithFilterFlags({"device", "min-ratio", "svg"}),
       "latency steps along channel count, optionally as SVG",
       {"device"}},
      {{"latency", "summary"},
       {},
       false,
       {"device"},
       "device facts, measurement count and every family's steps",
       {"device"}},
      {{"latency", "predict"},
       {},
       false,
       {"device", "spec", "measure-missing", "no-wait", "min-samples",
        "max-samples", "min-sample-ms", "warmup-runs", "max-seconds-per-layer",
        "stable-cv", "max-cv", "max-remeasure", "keep-samples",
        "reference-interval-s", "reference-tolerance"},
       "predict a network's latency on a device from its units' measurements",
       {"device", "spec"}},
      {{"latency", "fit-overhead"},
       {},
       false,
       {"device", "sweep"},
       "fit a device's overhead from sweeps of whole networks",
       {"device", "sweep"}},
  };
}

}  // namespace

const Grammar& HakdctlGrammar() {
  static const Grammar* const grammar =
      new Grammar{GlobalFlags(), CommandFlags(), Commands()};
  return *grammar;
}

}  // namespace hakd::cli
