// latency query.
#include <string>

#include "cli/commands.h"
#include "cli/device_text.h"
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
  // Measurements carry only the device id; the device's facts say whether
  // its agent runs under an emulator, which every row must show.
  HAKD_ASSIGN_OR_RETURN(const hakd::v1::Device device,
                        client->GetDevice(request.device()));
  const EmulatedDeviceIds emulated = EmulatedIdsOf(device);
  ctx.err() << EmulationNote(device);
  if (ctx.options().json) {
    HAKD_ASSIGN_OR_RETURN(const std::string json,
                          MeasurementsJson(response, emulated));
    ctx.out() << json << "\n";
    return absl::OkStatus();
  }
  ctx.out() << MeasurementsText(response, emulated);
  return absl::OkStatus();
}

}  // namespace hakd::cli
