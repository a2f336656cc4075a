// latency summary.
#include <string>

#include "cli/commands.h"
#include "cli/summary_text.h"
#include "common/status_macros.h"

namespace hakd::cli {

absl::Status RunLatencySummary(CommandContext& ctx) {
  HAKD_ASSIGN_OR_RETURN(const std::string name, ctx.RequiredFlag("device"));
  HAKD_ASSIGN_OR_RETURN(LatencyClient * client, ctx.Client());
  HAKD_ASSIGN_OR_RETURN(hakd::v1::Device device, client->GetDevice(name));
  hakd::v1::GetStaircasesRequest request;
  // The resolved id (names never look like numbers), so both calls surely
  // talk about the same device.
  request.set_device(std::to_string(device.id()));
  HAKD_ASSIGN_OR_RETURN(hakd::v1::GetStaircasesResponse staircases,
                        client->GetStaircases(request));
  if (ctx.options().json) {
    HAKD_ASSIGN_OR_RETURN(const std::string json,
                          SummaryJson(device, staircases));
    ctx.out() << json << "\n";
    return absl::OkStatus();
  }
  ctx.out() << SummaryText(device, staircases);
  return absl::OkStatus();
}

}  // namespace hakd::cli
