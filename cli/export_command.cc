// latency export: streams every measurement of a device into CSV or a JSON
// array, page by page, never holding the whole export in memory.
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "cli/atomic_file.h"
#include "cli/commands.h"
#include "cli/csv.h"
#include "cli/device_text.h"
#include "cli/errors.h"
#include "cli/json_output.h"
#include "common/status_macros.h"

namespace hakd::cli {

absl::Status RunLatencyExport(CommandContext& ctx) {
  hakd::v1::ExportMeasurementsRequest request;
  HAKD_ASSIGN_OR_RETURN(*request.mutable_device(), ctx.RequiredFlag("device"));
  HAKD_ASSIGN_OR_RETURN(const std::string format, ctx.RequiredFlag("format"));
  const bool csv = format == "csv";
  if (!csv && format != "json") {
    return UsageError(
        absl::StrCat("--format: expected csv or json, got '", format, "'"));
  }
  if (ctx.flags().Has("units")) {
    if (csv) {
      return UsageError(
          "--units: unit results nest their network; use --format json");
    }
    request.set_units(true);
  }
  const std::optional<std::string> output = ctx.flags().String("output");
  HAKD_ASSIGN_OR_RETURN(LatencyClient * client, ctx.Client());
  // Measurements carry only the device id: the device is looked up once,
  // here, to mark every row of an emulated agent.
  HAKD_ASSIGN_OR_RETURN(const hakd::v1::Device device,
                        client->GetDevice(request.device()));
  const EmulatedDeviceIds emulated = EmulatedIdsOf(device);

  // Destroying an uncommitted AtomicFile removes its temporary file, so every
  // early return below leaves nothing behind.
  std::unique_ptr<AtomicFile> file;
  if (output.has_value()) {
    HAKD_ASSIGN_OR_RETURN(file, AtomicFile::Create(*output));
  }
  std::ostream& os = file != nullptr ? file->stream() : ctx.out();
  const std::string where = output.value_or("standard output");
  const absl::Status write_failed =
      absl::DataLossError(absl::StrCat("cannot write ", where));
  JsonArrayWriter json(os);
  int64_t count = 0;
  if (csv) os << MeasurementCsvHeader();

  HAKD_RETURN_IF_ERROR(client->ExportMeasurements(
      request,
      [&](const hakd::v1::MeasurementPage& page) -> absl::StatusOr<bool> {
        for (const hakd::v1::Measurement& m : page.measurements()) {
          const bool row_emulated = emulated.count(m.device_id()) > 0;
          if (csv) {
            os << MeasurementCsvRow(m, row_emulated);
          } else {
            HAKD_ASSIGN_OR_RETURN(std::string row, ToJson(m));
            json.AddJson(WithBoolMember(std::move(row), "emulated",
                                        row_emulated));
          }
          ++count;
        }
        if (!os) return write_failed;
        return true;
      }));
  if (!csv) json.Close();
  os.flush();
  if (!os) return write_failed;
  if (file != nullptr) HAKD_RETURN_IF_ERROR(file->Commit());
  ctx.err() << EmulationNote(device);
  ctx.err() << "exported " << count << " measurements to " << where << "\n";
  return absl::OkStatus();
}

}  // namespace hakd::cli
