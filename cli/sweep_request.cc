#include "cli/sweep_request.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/errors.h"
#include "cli/family_spec.h"
#include "common/network/network_analysis.h"
#include "common/network/network_json.h"
#include "common/network/unit_key.h"

namespace hakd::cli {
namespace {

// Longest --label the coordinator stores.
constexpr size_t kMaxLabelLength = 64;

// The flags of the two ways to say what a sweep measures.
constexpr const char* kLayerFlags[] = {"preset", "family"};
constexpr const char* kUnitFlags[] = {"network", "units-of"};

// The first of `names` given, or null.
template <size_t N>
const char* FirstGiven(const FlagValues& flags, const char* const (&names)[N]) {
  for (const char* name : names) {
    if (flags.Has(name)) return name;
  }
  return nullptr;
}

// Reads a network spec file; its problems are the command line's (exit 2).
absl::StatusOr<hakd::v1::NetworkSpec> ReadSpec(const std::string& path) {
  absl::StatusOr<hakd::v1::NetworkSpec> spec = ReadNetworkSpecFile(path);
  if (!spec.ok()) return WithExitCode(spec.status(), kExitUsage);
  return spec;
}

// Appends --network and --units-of units to `request`, each key once.
absl::Status AddUnits(const FlagValues& flags,
                      hakd::v1::StartSweepRequest& request) {
  std::set<std::string> seen;
  auto add = [&](hakd::v1::UnitSpec unit) {
    if (seen.insert(UnitKey(unit)).second) {
      *request.add_units() = std::move(unit);
    }
  };
  for (const std::string& path : flags.Strings("network")) {
    absl::StatusOr<hakd::v1::NetworkSpec> spec = ReadSpec(path);
    if (!spec.ok()) return spec.status();
    hakd::v1::UnitSpec unit;
    *unit.mutable_network() = *std::move(spec);
    add(std::move(unit));
  }
  for (const std::string& path : flags.Strings("units-of")) {
    absl::StatusOr<hakd::v1::NetworkSpec> spec = ReadSpec(path);
    if (!spec.ok()) return spec.status();
    absl::StatusOr<NetworkAnalysis> analysis = AnalyzeNetwork(*spec);
    if (!analysis.ok()) {
      return UsageError(absl::StrCat(path, ": ", analysis.status().message()));
    }
    for (const NetworkUnit& u : analysis->units) {
      hakd::v1::UnitSpec unit;
      *unit.mutable_block() = u.unit;
      add(std::move(unit));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<hakd::v1::MeasurementSettings> MeasurementSettingsFromFlags(
    const FlagValues& flags) {
  hakd::v1::MeasurementSettings settings;
  if (auto v = flags.Int("warmup-runs")) settings.set_warmup_runs(*v);
  if (auto v = flags.Number("min-sample-ms")) settings.set_min_sample_ms(*v);
  if (auto v = flags.Int("min-samples")) settings.set_min_samples(*v);
  if (auto v = flags.Int("max-samples")) settings.set_max_samples(*v);
  if (auto v = flags.Number("max-seconds-per-layer")) {
    settings.set_max_seconds_per_layer(*v);
  }
  if (auto v = flags.Number("stable-cv")) settings.set_stable_cv(*v);
  if (flags.Has("keep-samples")) settings.set_keep_samples(true);
  if (auto v = flags.Number("max-cv")) settings.set_max_cv(*v);
  // 0 means "agent default" on the wire; off travels as -1.
  if (auto v = flags.Number("reference-interval-s")) {
    settings.set_reference_interval_s(*v == 0 ? -1 : *v);
  }
  if (auto v = flags.Number("reference-tolerance")) {
    settings.set_reference_tolerance(*v);
  }
  // 0 in the message means "agent default", so an explicit 0 travels as -1.
  if (auto v = flags.Int("max-remeasure")) {
    settings.set_max_remeasure(*v == 0 ? -1 : *v);
  }
  if (flags.Has("min-samples") && flags.Has("max-samples") &&
      settings.min_samples() > settings.max_samples()) {
    return UsageError(absl::StrCat("--min-samples ", settings.min_samples(),
                                   " exceeds --max-samples ",
                                   settings.max_samples()));
  }
  return settings;
}

absl::StatusOr<hakd::v1::StartSweepRequest> SweepRequestFromFlags(
    const FlagValues& flags) {
  hakd::v1::StartSweepRequest request;
  std::optional<std::string> device = flags.String("device");
  if (!device.has_value()) return UsageError("--device is required");
  request.set_device(*device);

  // The server refuses units together with a preset or families; saying so
  // here names the flags rather than the request's fields.
  const char* layers = FirstGiven(flags, kLayerFlags);
  const char* units = FirstGiven(flags, kUnitFlags);
  if (layers != nullptr && units != nullptr) {
    return UsageError(absl::StrCat("--", units, " and --", layers,
                                   " exclude each other (time units or "
                                   "layers, not both)"));
  }

  const std::vector<std::string> specs = flags.Strings("family");
  if (std::optional<std::string> preset = flags.String("preset")) {
    if (*preset != "default" && *preset != "quick" && *preset != "smoke") {
      return UsageError(absl::StrCat("--preset: unknown preset '", *preset,
                                     "' (default, quick, smoke)"));
    }
    // The server ignores the preset when families are given; refusing the
    // mix is kinder than silently measuring something else.
    if (!specs.empty()) {
      return UsageError("--preset and --family exclude each other");
    }
    request.set_preset(*preset);
  }
  for (const std::string& spec : specs) {
    absl::StatusOr<hakd::v1::SweepFamily> family = ParseFamilySpec(spec);
    if (!family.ok()) return family.status();
    *request.add_families() = *std::move(family);
  }
  if (units != nullptr) {
    absl::Status added = AddUnits(flags, request);
    if (!added.ok()) return added;
  } else if (specs.empty() && request.preset().empty()) {
    request.set_preset("default");
  }
  if (std::optional<std::string> label = flags.String("label")) {
    if (label->size() > kMaxLabelLength) {
      return UsageError(absl::StrCat("--label: longer than ", kMaxLabelLength,
                                     " characters"));
    }
    request.set_label(*label);
  }

  if (auto v = flags.Int("chunk-size")) request.set_chunk_size(*v);
  absl::StatusOr<hakd::v1::MeasurementSettings> settings =
      MeasurementSettingsFromFlags(flags);
  if (!settings.ok()) return settings.status();
  *request.mutable_settings() = *std::move(settings);
  return request;
}

}  // namespace hakd::cli
