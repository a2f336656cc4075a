#include "cli/design_text.h"

#include <iterator>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/json_output.h"
#include "cli/number_format.h"
#include "cli/table.h"
#include "cli/time_format.h"
#include "cli/training_text.h"

namespace hakd::cli {

using hakd::v1::DesignJob;
using hakd::v1::StageStatus;

namespace {

// Columns a string takes on a terminal: UTF-8 continuation bytes take none
// (the marks are single-column characters).
size_t DisplayWidth(absl::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::string PadRight(absl::string_view s, size_t width) {
  const size_t w = DisplayWidth(s);
  return absl::StrCat(s, std::string(w < width ? width - w : 0, ' '));
}

std::string StageMark(hakd::v1::StageState state) {
  switch (state) {
    case hakd::v1::STAGE_DONE:
      return "\u2713";  // check mark
    case hakd::v1::STAGE_RUNNING:
      return "\u2026";  // ellipsis
    case hakd::v1::STAGE_WAITING:
      return "waiting";
    case hakd::v1::STAGE_FAILED:
      return "failed";
    case hakd::v1::STAGE_SKIPPED:
      return "skipped";
    default:
      return "pending";
  }
}

bool IsStageEnded(hakd::v1::StageState state) {
  return state == hakd::v1::STAGE_DONE || state == hakd::v1::STAGE_FAILED ||
         state == hakd::v1::STAGE_SKIPPED;
}

const hakd::v1::Candidate* FindRecommended(const DesignJob& job) {
  for (const hakd::v1::Candidate& c : job.candidates()) {
    if (c.recommended() ||
        (!job.recommended().empty() && c.name() == job.recommended())) {
      return &c;
    }
  }
  return nullptr;
}

}  // namespace

std::string DesignStateName(hakd::v1::DesignState state) {
  switch (state) {
    case hakd::v1::DESIGN_RUNNING:
      return "running";
    case hakd::v1::DESIGN_SUCCEEDED:
      return "succeeded";
    case hakd::v1::DESIGN_FAILED:
      return "failed";
    case hakd::v1::DESIGN_CANCELLED:
      return "cancelled";
    default:
      return "unknown";
  }
}

std::string DesignStageName(hakd::v1::DesignStage stage) {
  static constexpr const char* kNames[] = {
      "unknown", "teacher",      "saliency",     "coverage",
      "design",  "distillation", "verification", "report"};
  const int i = static_cast<int>(stage);
  return i > 0 && i < static_cast<int>(std::size(kNames)) ? kNames[i]
                                                          : "unknown";
}

std::string CandidateRoleName(hakd::v1::CandidateRole role) {
  static constexpr const char* kNames[] = {"unknown", "teacher", "hakd",
                                           "uniform", "fisher",  "magnitude"};
  const int i = static_cast<int>(role);
  return i > 0 && i < static_cast<int>(std::size(kNames)) ? kNames[i]
                                                          : "unknown";
}

bool IsDesignFinished(const DesignJob& job) {
  return job.state() == hakd::v1::DESIGN_SUCCEEDED ||
         job.state() == hakd::v1::DESIGN_FAILED ||
         job.state() == hakd::v1::DESIGN_CANCELLED;
}

std::string FormatBudgetMs(double ms) { return absl::StrFormat("%g", ms); }

std::string FormatBudgets(const hakd::v1::DesignSpec& spec) {
  return absl::StrJoin(spec.budgets(), ", ",
                       [](std::string* out, const hakd::v1::DeviceBudget& b) {
                         absl::StrAppend(out, b.device(), "=",
                                         FormatBudgetMs(b.budget_ms()), "ms");
                       });
}

std::string FormatStageLine(const StageStatus& stage) {
  std::string line = absl::StrCat(PadRight(StageMark(stage.state()), 7), " ",
                                  PadRight(DesignStageName(stage.stage()), 12));
  if (stage.total() > 0) {
    absl::StrAppend(&line, " ", stage.done(), "/", stage.total());
  }
  if (!stage.message().empty()) absl::StrAppend(&line, "  ", stage.message());
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

const StageStatus* CurrentStage(const DesignJob& job) {
  if (IsDesignFinished(job)) return nullptr;
  const StageStatus* first_active = nullptr;
  for (const StageStatus& s : job.stages()) {
    if (IsStageEnded(s.state())) continue;
    if (s.stage() == job.stage()) return &s;
    if (first_active == nullptr && (s.state() == hakd::v1::STAGE_RUNNING ||
                                    s.state() == hakd::v1::STAGE_WAITING)) {
      first_active = &s;
    }
  }
  return first_active;
}

std::string StageSummary(const DesignJob& job) {
  if (job.stage() == hakd::v1::DESIGN_STAGE_UNSPECIFIED) return "-";
  std::string out = DesignStageName(job.stage());
  for (const StageStatus& s : job.stages()) {
    if (s.stage() != job.stage()) continue;
    if (s.state() == hakd::v1::STAGE_RUNNING && s.total() > 0) {
      absl::StrAppend(&out, " ", s.done(), "/", s.total());
    }
    if (s.state() == hakd::v1::STAGE_WAITING) {
      absl::StrAppend(&out, " (waiting)");
    }
  }
  return out;
}

const hakd::v1::DeviceLatency* FindLatency(const hakd::v1::Candidate& candidate,
                                           const hakd::v1::DesignSpec& spec,
                                           int device_index) {
  if (device_index < 0 || device_index >= spec.budgets_size()) return nullptr;
  const std::string& device = spec.budgets(device_index).device();
  for (const hakd::v1::DeviceLatency& l : candidate.latency()) {
    if (l.device() == device) return &l;
  }
  if (device_index < candidate.latency_size()) {
    return &candidate.latency(device_index);
  }
  return nullptr;
}

std::string DesignsTable(const hakd::v1::ListDesignsResponse& jobs,
                         int64_t now_unix_ms) {
  Table table(
      {"ID", "NAME", "STATE", "STAGE", "BUDGETS", "CREATED", "RECOMMENDED"});
  table.AlignRight(0);
  for (const DesignJob& j : jobs.jobs()) {
    table.AddRow({absl::StrCat(j.job_id()),
                  j.spec().name().empty() ? "-" : j.spec().name(),
                  DesignStateName(j.state()), StageSummary(j),
                  FormatBudgets(j.spec()),
                  FormatAgo(j.created_unix_ms(), now_unix_ms),
                  j.recommended().empty() ? "-" : j.recommended()});
  }
  return table.Render();
}

double DesignElapsedSeconds(const DesignJob& job, int64_t now_unix_ms) {
  const int64_t end =
      job.finished_unix_ms() != 0 ? job.finished_unix_ms() : now_unix_ms;
  if (job.created_unix_ms() == 0 || end < job.created_unix_ms()) return 0;
  return (end - job.created_unix_ms()) / 1000.0;
}

std::string RecommendedSummary(const DesignJob& job) {
  const hakd::v1::Candidate* c = FindRecommended(job);
  if (c == nullptr) return job.recommended();
  std::vector<std::string> parts;
  if (c->test_accuracy() > 0) {
    parts.push_back(
        absl::StrCat(FormatAccuracy(c->test_accuracy()), " test accuracy"));
  }
  for (const hakd::v1::DeviceLatency& l : c->latency()) {
    const bool measured = l.measured_ms() > 0;
    parts.push_back(absl::StrCat(
        l.device(), " ",
        FormatMicros(measured ? l.measured_ms() : l.predicted_ms()), " ms",
        measured ? "" : " predicted", " of ", FormatBudgetMs(l.budget_ms()),
        " ms"));
  }
  if (parts.empty()) return c->name();
  return absl::StrCat(c->name(), " (", absl::StrJoin(parts, "; "), ")");
}

std::string FormatDesignFinal(const DesignJob& job, int64_t now_unix_ms) {
  const std::string elapsed =
      FormatDuration(DesignElapsedSeconds(job, now_unix_ms));
  std::string out = absl::StrCat("design job ", job.job_id(), " ",
                                 DesignStateName(job.state()));
  if (job.state() == hakd::v1::DESIGN_SUCCEEDED) {
    absl::StrAppend(&out, " in ", elapsed, "\n");
    const std::string recommended = RecommendedSummary(job);
    absl::StrAppend(&out, "  recommended: ",
                    recommended.empty() ? "none" : recommended, "\n");
  } else {
    absl::StrAppend(&out, " after ", elapsed, " in stage ",
                    DesignStageName(job.stage()), "\n");
    if (!job.error().empty()) {
      absl::StrAppend(&out, "  error: ", job.error(), "\n");
    }
  }
  absl::StrAppend(&out, "  report: hakdctl design report ", job.job_id(), "\n");
  return out;
}

absl::Status DesignProgressPrinter::Update(const DesignJob& job,
                                           int64_t now_unix_ms) {
  if (display_.mode() == Mode::kJson) {
    return display_.Show([&] { return ToJson(job); }, "", true, now_unix_ms);
  }
  for (const StageStatus& s : job.stages()) {
    if (!IsStageEnded(s.state()) || !ended_.insert(s.stage()).second) continue;
    // A line of its own that later updates do not overwrite.
    absl::Status shown =
        display_.Show(nullptr, FormatStageLine(s), true, now_unix_ms);
    if (!shown.ok()) return shown;
    display_.Abort();
  }
  const StageStatus* current = CurrentStage(job);
  if (current == nullptr) return absl::OkStatus();
  const bool news =
      current->stage() != last_stage_ || current->state() != last_stage_state_;
  last_stage_ = current->stage();
  last_stage_state_ = current->state();
  return display_.Show(nullptr, FormatStageLine(*current), news, now_unix_ms);
}

void DesignProgressPrinter::Finish(const DesignJob& job, int64_t now_unix_ms) {
  display_.Finish(FormatDesignFinal(job, now_unix_ms));
}

}  // namespace hakd::cli
