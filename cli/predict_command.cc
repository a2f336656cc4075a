// latency predict and latency fit-overhead.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/predict_text.h"
#include "cli/sweep_request.h"
#include "common/network/network_json.h"
#include "common/status_macros.h"

namespace hakd::cli {
namespace {

using hakd::v1::PredictNetworkResponse;
using hakd::v1::UnitPrediction;

// Flags that only mean something for the sweep --measure-missing starts.
constexpr const char* kMeasureOnlyFlags[] = {"no-wait",
                                             "min-samples",
                                             "max-samples",
                                             "min-sample-ms",
                                             "warmup-runs",
                                             "max-seconds-per-layer",
                                             "stable-cv",
                                             "max-cv",
                                             "max-remeasure",
                                             "keep-samples",
                                             "reference-interval-s",
                                             "reference-tolerance"};

// The first missing unit as "NAME (REASON)", for one-line errors.
std::string FirstMissing(const PredictNetworkResponse& p) {
  for (const UnitPrediction& u : p.units()) {
    if (u.source() != UnitPrediction::SOURCE_MISSING) continue;
    return u.reason().empty() ? u.name()
                              : absl::StrCat(u.name(), " (", u.reason(), ")");
  }
  return "";
}

// Why an incomplete prediction stays so and what to do about it; exit 1.
absl::Status Incomplete(CommandContext& ctx, const PredictNetworkResponse& p,
                        bool measure_missing, int64_t waited_sweep) {
  const std::string units = UnitCount(p.missing_units());
  const std::string device =
      p.device_name().empty() ? *ctx.flags().String("device") : p.device_name();
  std::string message;
  if (p.measuring_sweep_id() != 0) {
    // --no-wait: the sweep runs on without us.
    message = absl::StrCat("prediction incomplete: ", units,
                           " being measured in sweep ", p.measuring_sweep_id(),
                           "; run 'hakdctl sweep watch ",
                           p.measuring_sweep_id(), "', then predict again");
  } else if (waited_sweep != 0) {
    message = absl::StrCat("prediction still incomplete after sweep ",
                           waited_sweep, ": ", units,
                           " cannot be predicted, first ", FirstMissing(p));
  } else {
    // Whether the device is online decides the advice; if even that cannot
    // be read, the general advice still holds.
    HAKD_ASSIGN_OR_RETURN(LatencyClient * client, ctx.Client());
    absl::StatusOr<hakd::v1::Device> d = client->GetDevice(device);
    if (d.ok() && !d->online()) {
      message = absl::StrCat("device ", device, " is offline; ", units,
                             " cannot be predicted; rerun with "
                             "--measure-missing when its agent is online");
    } else if (!measure_missing) {
      message = absl::StrCat(units,
                             " cannot be predicted; rerun with "
                             "--measure-missing to measure them on device ",
                             device);
    } else {
      message = absl::StrCat(units,
                             " cannot be predicted and the coordinator "
                             "started no sweep to measure them on device ",
                             device);
    }
  }
  return WithExitCode(absl::FailedPreconditionError(message), kExitFailure);
}

}  // namespace

absl::Status RunLatencyPredict(CommandContext& ctx) {
  const FlagValues& flags = ctx.flags();
  hakd::v1::PredictNetworkRequest request;
  HAKD_ASSIGN_OR_RETURN(*request.mutable_device(), ctx.RequiredFlag("device"));
  HAKD_ASSIGN_OR_RETURN(const std::string path, ctx.RequiredFlag("spec"));
  const bool measure_missing = flags.Has("measure-missing");
  if (!measure_missing) {
    for (const char* name : kMeasureOnlyFlags) {
      if (flags.Has(name)) {
        return UsageError(
            absl::StrCat("--", name, " applies only with --measure-missing"));
      }
    }
  }
  absl::StatusOr<hakd::v1::NetworkSpec> spec = ReadNetworkSpecFile(path);
  if (!spec.ok()) return WithExitCode(spec.status(), kExitUsage);
  const std::string network_name = spec->name().empty() ? path : spec->name();
  *request.mutable_network() = *std::move(spec);
  if (measure_missing) {
    request.set_measure_missing(true);
    HAKD_ASSIGN_OR_RETURN(*request.mutable_settings(),
                          MeasurementSettingsFromFlags(flags));
  }

  HAKD_ASSIGN_OR_RETURN(LatencyClient * client, ctx.Client());
  HAKD_ASSIGN_OR_RETURN(PredictNetworkResponse prediction,
                        client->PredictNetwork(request));
  const bool json = ctx.options().json;
  int64_t waited_sweep = 0;
  if (prediction.measuring_sweep_id() != 0 && !flags.Has("no-wait")) {
    waited_sweep = prediction.measuring_sweep_id();
    // Standard output holds the one JSON document; progress goes aside.
    std::ostream& progress = json ? ctx.err() : ctx.out();
    const ProgressPrinter::Mode mode = !json && ctx.out_is_terminal()
                                           ? ProgressPrinter::Mode::kTerminal
                                           : ProgressPrinter::Mode::kLines;
    progress << "device " << prediction.device_name() << ", network "
             << network_name << ": " << UnitCount(prediction.missing_units())
             << " cannot be predicted yet; measuring them in sweep "
             << waited_sweep << "\n"
             << std::flush;
    HAKD_RETURN_IF_ERROR(
        WatchSweepUntilFinished(ctx, waited_sweep, progress, mode));
    if (!json) ctx.out() << "\n";
    request.set_measure_missing(false);
    request.clear_settings();
    HAKD_ASSIGN_OR_RETURN(prediction, client->PredictNetwork(request));
  }

  if (json) {
    HAKD_RETURN_IF_ERROR(ctx.PrintJson(prediction));
  } else {
    ctx.out() << PredictionText(prediction, network_name);
  }
  if (prediction.complete()) return absl::OkStatus();
  return Incomplete(ctx, prediction, measure_missing, waited_sweep);
}

absl::Status RunLatencyFitOverhead(CommandContext& ctx) {
  hakd::v1::FitOverheadRequest request;
  HAKD_ASSIGN_OR_RETURN(*request.mutable_device(), ctx.RequiredFlag("device"));
  for (const std::string& text : ctx.flags().Strings("sweep")) {
    absl::StatusOr<int64_t> id = ParseSweepId(text);
    if (!id.ok()) {
      return UsageError(absl::StrCat("--sweep: ", id.status().message()));
    }
    request.add_sweep_ids(*id);
  }
  if (request.sweep_ids_size() == 0) return UsageError("--sweep is required");

  HAKD_ASSIGN_OR_RETURN(LatencyClient * client, ctx.Client());
  HAKD_ASSIGN_OR_RETURN(hakd::v1::OverheadModel model,
                        client->FitOverhead(request));
  if (ctx.options().json) return ctx.PrintJson(model);
  ctx.out() << OverheadModelText(model, request.device());
  return absl::OkStatus();
}

}  // namespace hakd::cli
