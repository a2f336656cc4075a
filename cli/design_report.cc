#include "cli/design_report.h"

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/design_text.h"
#include "cli/number_format.h"
#include "cli/table.h"
#include "cli/time_format.h"
#include "cli/training_text.h"

namespace hakd::cli {

using hakd::v1::Candidate;
using hakd::v1::DesignJob;

namespace {

std::string Ms(double ms) { return ms > 0 ? FormatMicros(ms) : "-"; }

std::string Saliency(const Candidate& c) {
  return c.saliency_kept() > 0
             ? absl::StrFormat("%.1f%%", 100.0 * c.saliency_kept())
             : "-";
}

std::string OrDash(int64_t n) { return n > 0 ? FormatCount(n) : "-"; }

// The teacher first, then whatever was trained, in the job's order.
bool Trained(const Candidate& c) {
  return c.selected() || c.role() == hakd::v1::ROLE_TEACHER;
}

std::vector<std::string> DeviceHeaders(const hakd::v1::DesignSpec& spec) {
  std::vector<std::string> headers;
  for (const hakd::v1::DeviceBudget& b : spec.budgets()) {
    headers.push_back(absl::StrCat(absl::AsciiStrToUpper(b.device()), " MS"));
  }
  return headers;
}

std::string Heading(const DesignJob& job, int64_t now_unix_ms) {
  std::string out = absl::StrCat("design job ", job.job_id());
  if (!job.spec().name().empty()) {
    absl::StrAppend(&out, " (", job.spec().name(), ")");
  }
  const std::string elapsed =
      FormatDuration(DesignElapsedSeconds(job, now_unix_ms));
  absl::StrAppend(&out, ": ", DesignStateName(job.state()));
  if (job.state() == hakd::v1::DESIGN_SUCCEEDED) {
    absl::StrAppend(&out, " in ", elapsed, "\n");
  } else if (!IsDesignFinished(job)) {
    absl::StrAppend(&out, " for ", elapsed, ", stage ", StageSummary(job),
                    "; not finished, showing what is known so far\n");
  } else {
    absl::StrAppend(&out, " after ", elapsed, " in stage ",
                    DesignStageName(job.stage()), "\n");
  }
  return out;
}

std::string TeacherText(const DesignJob& job) {
  const hakd::v1::DesignSpec& spec = job.spec();
  if (!spec.teacher_artifact_id().empty()) {
    return absl::StrCat(spec.teacher_artifact_id(), " (given)");
  }
  std::string out = spec.teacher_network().name().empty()
                        ? "network from the spec"
                        : spec.teacher_network().name();
  if (job.teacher_task_id() == 0) return absl::StrCat(out, ", not trained yet");
  absl::StrAppend(&out, ", trained by task ", job.teacher_task_id());
  if (!job.teacher_artifact_id().empty()) {
    absl::StrAppend(&out, ": ", job.teacher_artifact_id());
  }
  return out;
}

// "key: value" facts about the job.
std::string Facts(const DesignJob& job) {
  std::vector<std::pair<std::string, std::string>> rows = {
      {"teacher", TeacherText(job)},
      {"dataset", job.spec().dataset()},
      {"budgets", FormatBudgets(job.spec())},
  };
  if (job.configurations() > 0) {
    rows.emplace_back(
        "designer",
        absl::StrCat(job.configurations(), " configurations tried, ",
                     job.within_budget(), " predicted within every budget"));
  }
  if (!job.error().empty()) rows.emplace_back("error", job.error());
  std::string out;
  for (const auto& [key, value] : rows) {
    absl::StrAppend(&out, key, ":", std::string(10 - key.size(), ' '), value,
                    "\n");
  }
  return out;
}

std::string TrainedTable(const DesignJob& job) {
  std::vector<std::string> headers = {"", "NAME", "ROLE", "TEST ACC"};
  const std::vector<std::string> devices = DeviceHeaders(job.spec());
  headers.insert(headers.end(), devices.begin(), devices.end());
  for (const char* h : {"PARAMS", "MACS", "SALIENCY", "NETWORK"}) {
    headers.push_back(h);
  }
  const size_t params_column = 4 + devices.size();
  Table table(headers);
  table.AlignRight(3);
  for (size_t c = params_column; c < params_column + 3; ++c) {
    table.AlignRight(c);
  }
  for (const Candidate& c : job.candidates()) {
    if (!Trained(c)) continue;
    std::vector<std::string> row = {
        c.recommended() || c.name() == job.recommended() ? "*" : "", c.name(),
        CandidateRoleName(c.role()),
        c.test_accuracy() > 0 ? FormatAccuracy(c.test_accuracy()) : "-"};
    for (int d = 0; d < job.spec().budgets_size(); ++d) {
      row.push_back(LatencyCell(FindLatency(c, job.spec(), d),
                                job.spec().budgets(d).budget_ms()));
    }
    for (std::string cell :
         {OrDash(c.params()), OrDash(c.macs()), Saliency(c), c.description()}) {
      row.push_back(std::move(cell));
    }
    table.AddRow(std::move(row));
  }
  return table.rows() > 0 ? table.Render() : "";
}

// The Pareto front members the designer did not train, one short row each.
std::string UntrainedFront(const DesignJob& job) {
  std::vector<std::string> headers = {"NAME"};
  for (const std::string& d : DeviceHeaders(job.spec())) {
    headers.push_back(absl::StrCat(d, " (PRED)"));
  }
  for (const char* h : {"PARAMS", "SALIENCY", "NETWORK"}) headers.push_back(h);
  Table table(headers);
  for (size_t c = 1; c < headers.size() - 1; ++c) table.AlignRight(c);
  for (const Candidate& c : job.candidates()) {
    if (!c.pareto() || Trained(c)) continue;
    std::vector<std::string> row = {c.name()};
    for (int d = 0; d < job.spec().budgets_size(); ++d) {
      const hakd::v1::DeviceLatency* l = FindLatency(c, job.spec(), d);
      row.push_back(Ms(l == nullptr ? 0 : l->predicted_ms()));
    }
    for (std::string cell :
         {OrDash(c.params()), Saliency(c), c.description()}) {
      row.push_back(std::move(cell));
    }
    table.AddRow(std::move(row));
  }
  if (table.rows() == 0) return "";
  return absl::StrCat("\non the predicted Pareto front, not trained:\n",
                      table.Render());
}

std::string Closing(const DesignJob& job) {
  const std::string recommended = RecommendedSummary(job);
  if (!recommended.empty()) {
    return absl::StrCat("\n* recommended: ", recommended, "\n");
  }
  if (job.state() == hakd::v1::DESIGN_SUCCEEDED) {
    return "\nno student was recommended\n";
  }
  return "\nno student recommended yet\n";
}

}  // namespace

std::string LatencyCell(const hakd::v1::DeviceLatency* latency,
                        double budget_ms) {
  const double measured = latency == nullptr ? 0 : latency->measured_ms();
  const double predicted = latency == nullptr ? 0 : latency->predicted_ms();
  std::string cell = absl::StrCat(Ms(measured), "/", Ms(predicted), "/",
                                  FormatBudgetMs(budget_ms));
  if ((measured > 0 || predicted > 0) && !latency->meets_budget()) {
    absl::StrAppend(&cell, " MISS");
  }
  return cell;
}

std::string DesignReport(const DesignJob& job, int64_t now_unix_ms) {
  std::string out = absl::StrCat(Heading(job, now_unix_ms), Facts(job));
  if (job.state() != hakd::v1::DESIGN_SUCCEEDED) {
    absl::StrAppend(&out, "\nstages:\n");
    for (const hakd::v1::StageStatus& s : job.stages()) {
      absl::StrAppend(&out, "  ", FormatStageLine(s), "\n");
    }
  }
  const std::string trained = TrainedTable(job);
  if (trained.empty()) {
    absl::StrAppend(&out, "\nno networks trained yet\n");
  } else {
    absl::StrAppend(&out, "\n", trained,
                    "(latency in ms: measured/predicted/budget; MISS: over "
                    "budget; * recommended)\n");
  }
  absl::StrAppend(&out, UntrainedFront(job));
  std::string notes;
  for (const Candidate& c : job.candidates()) {
    if (!c.note().empty())
      absl::StrAppend(&notes, "  ", c.name(), ": ", c.note(), "\n");
  }
  if (!notes.empty()) absl::StrAppend(&out, "\nnotes:\n", notes);
  absl::StrAppend(&out, Closing(job));
  return out;
}

}  // namespace hakd::cli
