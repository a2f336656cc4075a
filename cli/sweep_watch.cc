// sweep watch, and the watching half of sweep start --watch.
#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/progress.h"
#include "common/status_macros.h"

namespace hakd::cli {

absl::Status WatchSweepUntilFinished(CommandContext& ctx, int64_t sweep_id) {
  const ProgressPrinter::Mode mode =
      ctx.options().json      ? ProgressPrinter::Mode::kJson
      : ctx.out_is_terminal() ? ProgressPrinter::Mode::kTerminal
                              : ProgressPrinter::Mode::kLines;
  return WatchSweepUntilFinished(ctx, sweep_id, ctx.out(), mode);
}

absl::Status WatchSweepUntilFinished(CommandContext& ctx, int64_t sweep_id,
                                     std::ostream& progress,
                                     ProgressPrinter::Mode mode) {
  HAKD_ASSIGN_OR_RETURN(LatencyClient * client, ctx.Client());
  ProgressPrinter printer(progress, mode);
  hakd::v1::Sweep last;
  bool seen = false;
  const absl::Status watched = client->WatchSweep(
      sweep_id, [&](const hakd::v1::Sweep& sweep) -> absl::StatusOr<bool> {
        last = sweep;
        seen = true;
        HAKD_RETURN_IF_ERROR(printer.Update(sweep, ctx.NowUnixMs()));
        return !IsFinished(sweep);  // the server ends the stream too
      });
  if (!watched.ok() || !seen || !IsFinished(last)) {
    printer.Abort();
    if (!watched.ok()) return watched;
    return absl::UnavailableError(
        absl::StrCat("the coordinator ended the watch of sweep ", sweep_id,
                     " before the sweep finished; run 'hakdctl sweep watch ",
                     sweep_id, "' again"));
  }
  printer.Finish(last, ctx.NowUnixMs());
  if (last.state() == hakd::v1::Sweep::STATE_CANCELLED) {
    return WithExitCode(absl::CancelledError(
                            absl::StrCat("sweep ", sweep_id, " was cancelled")),
                        kExitFailure);
  }
  return absl::OkStatus();
}

absl::Status RunSweepWatch(CommandContext& ctx) {
  HAKD_ASSIGN_OR_RETURN(int64_t id, ParseSweepId(ctx.arguments()[0]));
  return WatchSweepUntilFinished(ctx, id);
}

}  // namespace hakd::cli
