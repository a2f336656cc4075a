#include "cli/sweep_request.h"

#include "absl/strings/str_cat.h"
#include "cli/errors.h"
#include "cli/family_spec.h"

namespace hakd::cli {

absl::StatusOr<hakd::v1::StartSweepRequest> SweepRequestFromFlags(
    const FlagValues& flags) {
  hakd::v1::StartSweepRequest request;
  std::optional<std::string> device = flags.String("device");
  if (!device.has_value()) return UsageError("--device is required");
  request.set_device(*device);

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
  if (specs.empty() && request.preset().empty()) request.set_preset("default");

  if (auto v = flags.Int("chunk-size")) request.set_chunk_size(*v);
  hakd::v1::MeasurementSettings* settings = request.mutable_settings();
  if (auto v = flags.Int("warmup-runs")) settings->set_warmup_runs(*v);
  if (auto v = flags.Number("min-sample-ms")) settings->set_min_sample_ms(*v);
  if (auto v = flags.Int("min-samples")) settings->set_min_samples(*v);
  if (auto v = flags.Int("max-samples")) settings->set_max_samples(*v);
  if (auto v = flags.Number("max-seconds-per-layer")) {
    settings->set_max_seconds_per_layer(*v);
  }
  if (auto v = flags.Number("stable-cv")) settings->set_stable_cv(*v);
  if (flags.Has("keep-samples")) settings->set_keep_samples(true);
  if (auto v = flags.Number("max-cv")) settings->set_max_cv(*v);
  // 0 in the message means "agent default", so an explicit 0 travels as -1.
  if (auto v = flags.Int("max-remeasure")) {
    settings->set_max_remeasure(*v == 0 ? -1 : *v);
  }
  if (flags.Has("min-samples") && flags.Has("max-samples") &&
      settings->min_samples() > settings->max_samples()) {
    return UsageError(absl::StrCat("--min-samples ", settings->min_samples(),
                                   " exceeds --max-samples ",
                                   settings->max_samples()));
  }
  return request;
}

}  // namespace hakd::cli
