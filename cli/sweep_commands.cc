// sweep start / list / show / cancel.
#include "cli/commands.h"
#include "cli/sweep_request.h"
#include "cli/sweep_text.h"
#include "common/status_macros.h"

namespace hakd::cli {

absl::Status RunSweepStart(CommandContext& ctx) {
  HAKD_ASSIGN_OR_RETURN(hakd::v1::StartSweepRequest request,
                        SweepRequestFromFlags(ctx.flags()));
  HAKD_ASSIGN_OR_RETURN(LatencyClient * client, ctx.Client());
  HAKD_ASSIGN_OR_RETURN(hakd::v1::Sweep sweep, client->StartSweep(request));
  if (ctx.options().json) {
    HAKD_RETURN_IF_ERROR(ctx.PrintJson(sweep));
  } else {
    ctx.out() << "sweep " << sweep.id() << " started on device "
              << sweep.device_name() << ": " << sweep.total()
              << (request.units_size() > 0 ? " units\n" : " layers\n");
  }
  if (!ctx.flags().Has("watch")) return absl::OkStatus();
  ctx.out() << std::flush;
  return WatchSweepUntilFinished(ctx, sweep.id());
}

absl::Status RunSweepList(CommandContext& ctx) {
  HAKD_ASSIGN_OR_RETURN(LatencyClient * client, ctx.Client());
  HAKD_ASSIGN_OR_RETURN(
      hakd::v1::ListSweepsResponse sweeps,
      client->ListSweeps(ctx.flags().String("device").value_or("")));
  if (ctx.options().json) return ctx.PrintJson(sweeps);
  if (sweeps.sweeps_size() == 0) {
    ctx.out() << "no sweeps\n";
    return absl::OkStatus();
  }
  ctx.out() << SweepsTable(sweeps);
  return absl::OkStatus();
}

absl::Status RunSweepShow(CommandContext& ctx) {
  HAKD_ASSIGN_OR_RETURN(int64_t id, ParseSweepId(ctx.arguments()[0]));
  HAKD_ASSIGN_OR_RETURN(LatencyClient * client, ctx.Client());
  HAKD_ASSIGN_OR_RETURN(hakd::v1::Sweep sweep, client->GetSweep(id));
  if (ctx.options().json) return ctx.PrintJson(sweep);
  ctx.out() << SweepDetails(sweep, ctx.NowUnixMs());
  return absl::OkStatus();
}

absl::Status RunSweepCancel(CommandContext& ctx) {
  HAKD_ASSIGN_OR_RETURN(int64_t id, ParseSweepId(ctx.arguments()[0]));
  HAKD_ASSIGN_OR_RETURN(LatencyClient * client, ctx.Client());
  HAKD_ASSIGN_OR_RETURN(hakd::v1::Sweep sweep, client->CancelSweep(id));
  if (ctx.options().json) return ctx.PrintJson(sweep);
  ctx.out() << "sweep " << sweep.id() << " is " << SweepStateName(sweep.state())
            << ": " << sweep.measured() << " of " << sweep.total()
            << " measured, " << sweep.failed() << " failed\n";
  return absl::OkStatus();
}

}  // namespace hakd::cli
