// latency staircase.
#include <memory>

#include "absl/strings/str_cat.h"
#include "cli/atomic_file.h"
#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/layer_filter.h"
#include "cli/staircase_text.h"
#include "cli/svg_plot.h"
#include "common/status_macros.h"

namespace hakd::cli {
namespace {

absl::Status WriteSvg(const std::string& path,
                      const hakd::v1::GetStaircasesResponse& response) {
  HAKD_ASSIGN_OR_RETURN(std::unique_ptr<AtomicFile> file,
                        AtomicFile::Create(path));
  file->stream() << RenderStaircaseSvg(response.staircases());
  return file->Commit();
}

}  // namespace

absl::Status RunLatencyStaircase(CommandContext& ctx) {
  hakd::v1::GetStaircasesRequest request;
  HAKD_ASSIGN_OR_RETURN(*request.mutable_device(), ctx.RequiredFlag("device"));
  HAKD_ASSIGN_OR_RETURN(*request.mutable_filter(),
                        LayerFilterFromFlags(ctx.flags()));
  if (std::optional<double> ratio = ctx.flags().Number("min-ratio")) {
    // A ratio of 1 or less would call every rise of latency a step.
    if (*ratio <= 1.0) {
      return UsageError(
          absl::StrCat("--min-ratio: must be above 1, got ", *ratio));
    }
    request.set_min_step_ratio(*ratio);
  }

  HAKD_ASSIGN_OR_RETURN(LatencyClient * client, ctx.Client());
  HAKD_ASSIGN_OR_RETURN(hakd::v1::GetStaircasesResponse response,
                        client->GetStaircases(request));
  if (std::optional<std::string> svg = ctx.flags().String("svg")) {
    HAKD_RETURN_IF_ERROR(WriteSvg(*svg, response));
    ctx.err() << "plotted " << response.staircases_size() << " staircases to "
              << *svg << "\n";
  }
  if (ctx.options().json) return ctx.PrintJson(response);
  if (response.staircases_size() == 0) {
    ctx.out() << "no staircases match\n";
    return absl::OkStatus();
  }
  bool first = true;
  for (const hakd::v1::Staircase& s : response.staircases()) {
    if (!first) ctx.out() << "\n";
    first = false;
    ctx.out() << FormatStaircase(s);
  }
  return absl::OkStatus();
}

}  // namespace hakd::cli
