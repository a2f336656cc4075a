// devices list / devices show.
#include "cli/commands.h"
#include "cli/device_text.h"
#include "common/status_macros.h"

namespace hakd::cli {

absl::Status RunDevicesList(CommandContext& ctx) {
  HAKD_ASSIGN_OR_RETURN(LatencyClient * client, ctx.Client());
  HAKD_ASSIGN_OR_RETURN(hakd::v1::ListDevicesResponse devices,
                        client->ListDevices());
  if (ctx.options().json) return ctx.PrintJson(devices);
  if (devices.devices_size() == 0) {
    ctx.out() << "no devices yet: start an agent with this coordinator\n";
    return absl::OkStatus();
  }
  ctx.out() << DevicesTable(devices, ctx.NowUnixMs());
  return absl::OkStatus();
}

absl::Status RunDevicesShow(CommandContext& ctx) {
  HAKD_ASSIGN_OR_RETURN(LatencyClient * client, ctx.Client());
  HAKD_ASSIGN_OR_RETURN(hakd::v1::Device device,
                        client->GetDevice(ctx.arguments()[0]));
  if (ctx.options().json) return ctx.PrintJson(device);
  ctx.out() << DeviceDetails(device, ctx.NowUnixMs());
  return absl::OkStatus();
}

}  // namespace hakd::cli
