// latency query.
#include "cli/commands.h"
#include "cli/layer_filter.h"
#include "cli/measurement_text.h"
#include "common/status_macros.h"

namespace hakd::cli {

absl::Status RunLatencyQuery(CommandContext& ctx) {
  hakd::v1::QueryMeasurementsRequest request;
  HAKD_ASSIGN_OR_RETURN(*request.mutable_device(), ctx.RequiredFlag("device"));
  HAKD_ASSIGN_OR_RETURN(*request.mutable_filter(),
                        LayerFilterFromFlags(ctx.flags()));
  request.set_limit(ctx.flags().Int("limit").value_or(0));  // 0: server default
  request.set_latest_only(ctx.flags().Has("latest"));

  HAKD_ASSIGN_OR_RETURN(LatencyClient * client, ctx.Client());
  HAKD_ASSIGN_OR_RETURN(hakd::v1::QueryMeasurementsResponse response,
                        client->QueryMeasurements(request));
  if (ctx.options().json) return ctx.PrintJson(response);
  ctx.out() << MeasurementsText(response);
  return absl::OkStatus();
}

}  // namespace hakd::cli
