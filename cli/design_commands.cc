// design submit / watch / report / list / cancel: the DesignService side of
// hakdctl.
#include <memory>

#include "absl/strings/str_cat.h"
#include "cli/atomic_file.h"
#include "cli/commands.h"
#include "cli/design_plot.h"
#include "cli/design_report.h"
#include "cli/design_request.h"
#include "cli/design_text.h"
#include "cli/errors.h"
#include "common/status_macros.h"

namespace hakd::cli {
namespace {

std::string TeacherPhrase(const hakd::v1::DesignSpec& spec) {
  if (!spec.teacher_artifact_id().empty()) {
    return absl::StrCat("teacher ", spec.teacher_artifact_id());
  }
  return absl::StrCat("teacher ",
                      spec.teacher_network().name().empty()
                          ? "network"
                          : spec.teacher_network().name(),
                      " (trained first)");
}

absl::Status WritePlot(const std::string& path,
                       const hakd::v1::DesignJob& job) {
  HAKD_ASSIGN_OR_RETURN(std::unique_ptr<AtomicFile> file,
                        AtomicFile::Create(path));
  file->stream() << RenderDesignSvg(job);
  return file->Commit();
}

}  // namespace

absl::Status RunDesignSubmit(CommandContext& ctx) {
  HAKD_ASSIGN_OR_RETURN(hakd::v1::SubmitDesignRequest request,
                        DesignRequestFromFlags(ctx.flags()));
  HAKD_ASSIGN_OR_RETURN(LatencyClient * client, ctx.Client());
  HAKD_ASSIGN_OR_RETURN(hakd::v1::DesignJob job, client->SubmitDesign(request));
  if (ctx.options().json) {
    HAKD_RETURN_IF_ERROR(ctx.PrintJson(job));
  } else {
    // The request's spec, not the answer's: it is what the user typed.
    const hakd::v1::DesignSpec& spec = request.spec();
    ctx.out() << "design job " << job.job_id() << " "
              << DesignStateName(job.state()) << ": " << TeacherPhrase(spec)
              << " on " << spec.dataset() << ", budgets " << FormatBudgets(spec)
              << "\n";
  }
  if (!ctx.flags().Has("watch")) return absl::OkStatus();
  ctx.out() << std::flush;
  return WatchDesignUntilFinished(ctx, job.job_id());
}

absl::Status WatchDesignUntilFinished(CommandContext& ctx, int64_t job_id) {
  const DesignProgressPrinter::Mode mode =
      ctx.options().json      ? DesignProgressPrinter::Mode::kJson
      : ctx.out_is_terminal() ? DesignProgressPrinter::Mode::kTerminal
                              : DesignProgressPrinter::Mode::kLines;
  HAKD_ASSIGN_OR_RETURN(LatencyClient * client, ctx.Client());
  DesignProgressPrinter printer(ctx.out(), mode);
  hakd::v1::DesignJob last;
  bool seen = false;
  const absl::Status watched = client->WatchDesign(
      job_id, [&](const hakd::v1::DesignJob& job) -> absl::StatusOr<bool> {
        last = job;
        seen = true;
        HAKD_RETURN_IF_ERROR(printer.Update(job, ctx.NowUnixMs()));
        return !IsDesignFinished(job);  // the server ends the stream too
      });
  if (!watched.ok() || !seen || !IsDesignFinished(last)) {
    printer.Abort();
    if (!watched.ok()) return watched;
    return absl::UnavailableError(
        absl::StrCat("the coordinator ended the watch of design job ", job_id,
                     " before the job finished; run 'hakdctl design watch ",
                     job_id, "' again"));
  }
  printer.Finish(last, ctx.NowUnixMs());
  switch (last.state()) {
    case hakd::v1::DESIGN_SUCCEEDED:
      return absl::OkStatus();
    case hakd::v1::DESIGN_CANCELLED:
      return WithExitCode(absl::CancelledError(absl::StrCat(
                              "design job ", job_id, " was cancelled")),
                          kExitFailure);
    default:
      return WithExitCode(
          absl::AbortedError(absl::StrCat(
              "design job ", job_id, " failed in stage ",
              DesignStageName(last.stage()),
              last.error().empty() ? "" : absl::StrCat(": ", last.error()))),
          kExitFailure);
  }
}

absl::Status RunDesignWatch(CommandContext& ctx) {
  HAKD_ASSIGN_OR_RETURN(int64_t id, ParseDesignId(ctx.arguments()[0]));
  return WatchDesignUntilFinished(ctx, id);
}

absl::Status RunDesignReport(CommandContext& ctx) {
  HAKD_ASSIGN_OR_RETURN(int64_t id, ParseDesignId(ctx.arguments()[0]));
  HAKD_ASSIGN_OR_RETURN(LatencyClient * client, ctx.Client());
  HAKD_ASSIGN_OR_RETURN(hakd::v1::DesignJob job, client->GetDesign(id));
  if (std::optional<std::string> plot = ctx.flags().String("plot")) {
    HAKD_RETURN_IF_ERROR(WritePlot(*plot, job));
    // Standard error, so that --json output stays one document.
    ctx.err() << "plotted design job " << id << " to " << *plot << "\n";
  }
  if (ctx.options().json) return ctx.PrintJson(job);
  ctx.out() << DesignReport(job, ctx.NowUnixMs());
  return absl::OkStatus();
}

absl::Status RunDesignList(CommandContext& ctx) {
  HAKD_ASSIGN_OR_RETURN(LatencyClient * client, ctx.Client());
  HAKD_ASSIGN_OR_RETURN(
      hakd::v1::ListDesignsResponse jobs,
      client->ListDesigns(ctx.flags().Int("limit").value_or(0)));
  if (ctx.options().json) return ctx.PrintJson(jobs);
  if (jobs.jobs_size() == 0) {
    ctx.out() << "no design jobs\n";
    return absl::OkStatus();
  }
  ctx.out() << DesignsTable(jobs, ctx.NowUnixMs());
  return absl::OkStatus();
}

absl::Status RunDesignCancel(CommandContext& ctx) {
  HAKD_ASSIGN_OR_RETURN(int64_t id, ParseDesignId(ctx.arguments()[0]));
  HAKD_ASSIGN_OR_RETURN(LatencyClient * client, ctx.Client());
  HAKD_ASSIGN_OR_RETURN(hakd::v1::DesignJob job, client->CancelDesign(id));
  if (ctx.options().json) return ctx.PrintJson(job);
  ctx.out() << "design job " << job.job_id() << " is "
            << DesignStateName(job.state()) << " (stage "
            << DesignStageName(job.stage()) << ")\n";
  return absl::OkStatus();
}

}  // namespace hakd::cli
