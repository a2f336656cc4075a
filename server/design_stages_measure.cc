// The stages of a design job that use the latency database and the agents:
// coverage (measure every unit the designer may use), design (run the
// designer), verification (time the trained networks end to end) and the
// report (recommend a student).
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/network/network_analysis.h"
#include "common/network/unit_key.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "server/design_job_util.h"
#include "server/design_manager.h"

namespace hakd {
namespace {

using hakd::v1::Candidate;
using hakd::v1::DesignJob;
using hakd::v1::StageStatus;

bool UniformRequested(const hakd::v1::DesignSpec& spec) {
  for (int b : spec.baselines()) {
    if (b == hakd::v1::BASELINE_UNIFORM) return true;
  }
  return false;
}

// Two specs describe the same network when their normalised forms match.
std::string NetworkIdentity(const hakd::v1::NetworkSpec& network) {
  hakd::v1::NetworkSpec n = NormalizeNetworkSpec(network);
  n.clear_name();
  for (auto& stage : *n.mutable_stages()) stage.clear_name();
  return n.SerializeAsString();
}

// Verification sweeps per device at most: the first, and re-timings of
// networks timed while the device was disturbed.
constexpr int kVerificationRounds = 3;

bool SweepActive(const SweepRecord& s) {
  return s.state == hakd::v1::Sweep::STATE_QUEUED ||
         s.state == hakd::v1::Sweep::STATE_RUNNING;
}

}  // namespace

absl::StatusOr<std::vector<DeviceProfile>> DesignManager::BuildProfiles(
    const DesignJob& job) {
  const hakd::v1::NetworkSpec& teacher = job.candidates(0).network();
  HAKD_ASSIGN_OR_RETURN(
      std::vector<hakd::v1::BlockUnit> units,
      CoverageUnits(teacher, UniformRequested(job.spec()), OptionsOf(job.spec())));
  std::set<std::string> keys;
  for (const auto& u : units) keys.insert(BlockUnitKey(u));
  std::vector<DeviceProfile> profiles;
  for (const hakd::v1::DeviceBudget& b : job.spec().budgets()) {
    HAKD_ASSIGN_OR_RETURN(DeviceRecord device, latency_->FindDevice(b.device()));
    DeviceProfile p;
    p.device = device.name;
    p.budget_us = b.budget_ms() * 1000;
    HAKD_ASSIGN_OR_RETURN(p.unit_us, latency_->UnitLatencies(device.id, keys));
    absl::StatusOr<hakd::v1::OverheadModel> model =
        latency_->LoadOverheadModel(device.id);
    if (model.ok()) {
      p.overhead = *model;
    } else if (model.status().code() == absl::StatusCode::kNotFound) {
      // No fitted model: the teacher's end-to-end time over the sum of its
      // units gives a scale. A scale rather than an intercept: units timed
      // alone carry per-call costs the whole network does not, so one
      // sample's intercept is often negative and would predict small
      // students below zero.
      HAKD_ASSIGN_OR_RETURN(auto results,
                            latency_->NetworkResults(
                                device.id, {job.coverage_sweep_ids().begin(),
                                            job.coverage_sweep_ids().end()}));
      const std::string identity = NetworkIdentity(teacher);
      for (const auto& [network, measured_us] : results) {
        if (NetworkIdentity(network) != identity) continue;
        absl::StatusOr<double> sum = PredictFromProfile(teacher, p);
        if (!sum.ok() || *sum <= 0) break;
        p.overhead.set_device_id(device.id);
        p.overhead.set_scale(measured_us / *sum);
        p.overhead.set_networks(1);
      }
    } else {
      return model.status();
    }
    profiles.push_back(std::move(p));
  }
  return profiles;
}

absl::StatusOr<bool> DesignManager::FollowSweeps(
    DesignJob* job, StageStatus* stage,
    google::protobuf::RepeatedField<int64_t>* sweep_ids,
    const std::vector<std::vector<hakd::v1::UnitSpec>>& per_device_units,
    const std::string& label) {
  bool all_done = true;
  int done = 0;
  int total = 0;
  std::vector<std::string> waiting;
  std::vector<std::string> running;
  for (int d = 0; d < job->spec().budgets_size(); ++d) {
    HAKD_ASSIGN_OR_RETURN(DeviceRecord device,
                          latency_->FindDevice(job->spec().budgets(d).device()));
    std::optional<SweepRecord> sweep;
    for (int64_t id : *sweep_ids) {
      HAKD_ASSIGN_OR_RETURN(SweepRecord s, latency_->GetSweep(id));
      if (s.device_id == device.id) sweep = s;
    }
    if (!sweep.has_value()) {
      if (per_device_units[d].empty()) continue;
      hakd::v1::StartSweepRequest request;
      request.set_label(label);
      *request.mutable_settings() = job->spec().settings();
      for (const auto& u : per_device_units[d]) *request.add_units() = u;
      HAKD_ASSIGN_OR_RETURN(SweepRecord started, sweeps_->Start(device, request));
      sweep_ids->Add(started.id);
      sweep = started;
    }
    total += sweep->total;
    done += sweep->measured + sweep->failed;
    if (sweep->state == hakd::v1::Sweep::STATE_CANCELLED) {
      return absl::FailedPreconditionError(absl::StrCat(
          "sweep ", sweep->id, " on ", device.name, " was cancelled"));
    }
    if (SweepActive(*sweep)) {
      all_done = false;
      if (!registry_->IsOnline(device.id)) {
        waiting.push_back(absl::StrCat(device.name, " has no agent online (",
                                       sweep->total - sweep->measured -
                                           sweep->failed,
                                       " to measure, sweep ", sweep->id, ")"));
      } else {
        running.push_back(absl::StrCat(device.name, " ",
                                       sweep->measured + sweep->failed, "/",
                                       sweep->total, " (sweep ", sweep->id,
                                       ")"));
      }
    }
  }
  stage->set_done(done);
  stage->set_total(total);
  if (!all_done) {
    std::vector<std::string> parts = running;
    parts.insert(parts.end(), waiting.begin(), waiting.end());
    stage->set_message(absl::StrCat("measuring: ", absl::StrJoin(parts, "; ")));
    stage->set_state(waiting.empty() ? hakd::v1::STAGE_RUNNING
                                     : hakd::v1::STAGE_WAITING);
  }
  return all_done;
}

absl::StatusOr<bool> DesignManager::StepCoverage(DesignJob* job) {
  StageStatus* stage = CurrentStage(job);
  const hakd::v1::NetworkSpec& teacher = job->candidates(0).network();
  HAKD_ASSIGN_OR_RETURN(
      std::vector<hakd::v1::BlockUnit> units,
      CoverageUnits(teacher, UniformRequested(job->spec()), OptionsOf(job->spec())));
  std::set<std::string> keys;
  for (const auto& u : units) keys.insert(BlockUnitKey(u));
  const std::string teacher_identity = NetworkIdentity(teacher);
  std::vector<std::vector<hakd::v1::UnitSpec>> missing(job->spec().budgets_size());
  int missing_total = 0;
  for (int d = 0; d < job->spec().budgets_size(); ++d) {
    HAKD_ASSIGN_OR_RETURN(DeviceRecord device,
                          latency_->FindDevice(job->spec().budgets(d).device()));
    HAKD_ASSIGN_OR_RETURN(auto have, latency_->UnitLatencies(device.id, keys));
    std::set<std::string> queued;
    for (const auto& u : units) {
      const std::string key = BlockUnitKey(u);
      if (have.count(key) > 0 || !queued.insert(key).second) continue;
      *missing[d].emplace_back().mutable_block() = u;
    }
    // Without a fitted overhead model the teacher's end-to-end time gives
    // the overhead; measure it unless this job already did.
    absl::StatusOr<hakd::v1::OverheadModel> model =
        latency_->LoadOverheadModel(device.id);
    if (!model.ok() && model.status().code() != absl::StatusCode::kNotFound) {
      return model.status();
    }
    if (!model.ok()) {
      HAKD_ASSIGN_OR_RETURN(auto results,
                            latency_->NetworkResults(
                                device.id, {job->coverage_sweep_ids().begin(),
                                            job->coverage_sweep_ids().end()}));
      bool measured = false;
      for (const auto& r : results) {
        measured |= NetworkIdentity(r.first) == teacher_identity;
      }
      if (!measured) *missing[d].emplace_back().mutable_network() = teacher;
    }
    missing_total += static_cast<int>(missing[d].size());
    // A finished sweep of this job that left units unmeasured will not
    // measure them by waiting longer.
    for (int64_t id : job->coverage_sweep_ids()) {
      HAKD_ASSIGN_OR_RETURN(SweepRecord s, latency_->GetSweep(id));
      if (s.device_id == device.id && !SweepActive(s) && !missing[d].empty()) {
        return absl::FailedPreconditionError(absl::StrCat(
            missing[d].size(), " of ", keys.size(), " units could not be measured on ",
            device.name, " (sweep ", s.id, ": ", s.failed, " failed",
            s.last_error.empty() ? "" : absl::StrCat(", last error: ", s.last_error),
            ")"));
      }
    }
  }
  HAKD_ASSIGN_OR_RETURN(
      bool done,
      FollowSweeps(job, stage, job->mutable_coverage_sweep_ids(), missing,
                   absl::StrCat("design-", job->job_id(), " coverage")));
  if (!done) return false;
  if (missing_total > 0) {
    // Sweeps just finished: the next pass checks what they measured.
    stage->set_message("checking what the sweeps measured");
    return false;
  }
  stage->set_message(absl::StrCat(keys.size(), " units measured on ",
                                   job->spec().budgets_size(), " device(s)"));
  return true;
}

absl::StatusOr<bool> DesignManager::StepDesign(DesignJob* job) {
  StageStatus* stage = CurrentStage(job);
  HAKD_ASSIGN_OR_RETURN(std::vector<DeviceProfile> profiles, BuildProfiles(*job));
  const DesignerOptions options = OptionsOf(job->spec());
  Candidate* teacher = job->mutable_candidates(0);
  HAKD_ASSIGN_OR_RETURN(NetworkAnalysis ta, AnalyzeNetwork(teacher->network()));
  teacher->set_params(ta.total_params);
  teacher->set_macs(ta.total_macs);
  teacher->set_description(DescribeStudent(teacher->network()));
  teacher->clear_latency();
  for (const DeviceProfile& p : profiles) {
    hakd::v1::DeviceLatency* l = teacher->add_latency();
    l->set_device(p.device);
    l->set_budget_ms(p.budget_us / 1000);
    HAKD_ASSIGN_OR_RETURN(double us, PredictFromProfile(teacher->network(), p));
    l->set_predicted_ms(us / 1000);
    l->set_meets_budget(us <= p.budget_us);
  }
  HAKD_ASSIGN_OR_RETURN(
      DesignOutcome outcome,
      DesignStudents(teacher->network(), SaliencyOf(*job), profiles, options));
  job->set_configurations(outcome.configurations);
  job->set_within_budget(outcome.within_budget);
  // Rerunning this step (after a restart) must not append twice.
  while (job->candidates_size() > 1) job->mutable_candidates()->RemoveLast();
  int selected = 0;
  for (Candidate& c : outcome.front) {
    selected += c.selected() ? 1 : 0;
    *job->add_candidates() = std::move(c);
  }
  for (int b : job->spec().baselines()) {
    Candidate* c = job->add_candidates();
    if (b == hakd::v1::BASELINE_UNIFORM) {
      absl::StatusOr<Candidate> u =
          UniformBaseline(teacher->network(), SaliencyOf(*job), profiles, options);
      if (u.ok()) {
        *c = *std::move(u);
      } else {
        c->set_name("uniform");
        c->set_role(hakd::v1::ROLE_UNIFORM);
        c->set_note(std::string(u.status().message()));
      }
    } else if (b == hakd::v1::BASELINE_FISHER) {
      c->set_name("fisher");
      c->set_role(hakd::v1::ROLE_FISHER);
      c->set_selected(true);
      c->set_description("teacher pruned by Fisher saliency to the budgets");
    } else if (b == hakd::v1::BASELINE_MAGNITUDE) {
      c->set_name("magnitude");
      c->set_role(hakd::v1::ROLE_MAGNITUDE);
      c->set_selected(true);
      *c->mutable_network() = teacher->network();
      c->set_macs(teacher->macs());
      c->set_saliency_kept(1);
      *c->mutable_latency() = teacher->latency();
      c->set_description(
          "teacher with unstructured magnitude pruning (dense kernels)");
    }
  }
  stage->set_total(outcome.configurations);
  stage->set_done(outcome.configurations);
  stage->set_message(absl::StrCat(
      outcome.configurations, " configurations, ", outcome.within_budget,
      " within budget; Pareto front of ", outcome.front.size(), "; training ",
      selected, " student(s)",
      job->spec().baselines_size() > 0
          ? absl::StrCat(" and ", job->spec().baselines_size(), " baseline(s)")
          : ""));
  return true;
}

absl::StatusOr<bool> DesignManager::StepVerification(DesignJob* job) {
  StageStatus* stage = CurrentStage(job);
  std::vector<hakd::v1::UnitSpec> networks;
  std::set<std::string> seen;
  for (const Candidate& c : job->candidates()) {
    if (c.model_artifact_id().empty()) continue;
    if (!seen.insert(NetworkIdentity(c.network())).second) continue;
    *networks.emplace_back().mutable_network() = c.network();
  }
  std::vector<std::vector<hakd::v1::UnitSpec>> per_device(
      job->spec().budgets_size(), networks);
  HAKD_ASSIGN_OR_RETURN(
      bool done,
      FollowSweeps(job, stage, job->mutable_verification_sweep_ids(), per_device,
                   absl::StrCat("design-", job->job_id(), " verification")));
  if (!done) return false;
  // Per device, each network's time: the latest clean result, else the
  // fastest of the disturbed ones. A network timed only while the device
  // was disturbed (throttled or unstable) is timed again, up to
  // kVerificationRounds sweeps per device.
  struct Timed {
    double us = 0;
    bool clean = false;
  };
  std::vector<std::map<std::string, Timed>> timed(job->spec().budgets_size());
  std::vector<DeviceRecord> devices;
  std::vector<std::string> waiting;
  int again = 0;
  for (int d = 0; d < job->spec().budgets_size(); ++d) {
    HAKD_ASSIGN_OR_RETURN(DeviceRecord device,
                          latency_->FindDevice(job->spec().budgets(d).device()));
    devices.push_back(device);
    std::vector<int64_t> ids;
    for (int64_t id : job->verification_sweep_ids()) {
      HAKD_ASSIGN_OR_RETURN(SweepRecord s, latency_->GetSweep(id));
      if (s.device_id == device.id) ids.push_back(id);
    }
    HAKD_ASSIGN_OR_RETURN(auto results,
                          latency_->FlaggedNetworkResults(device.id, ids));
    for (const auto& r : results) {
      Timed& t = timed[d][NetworkIdentity(r.network)];
      if (!r.disturbed) {
        t = {r.median_us, true};
      } else if (!t.clean && (t.us == 0 || r.median_us < t.us)) {
        t.us = r.median_us;
      }
    }
    if (static_cast<int>(ids.size()) >= kVerificationRounds) continue;
    bool any_disturbed = false;
    for (const auto& [identity, t] : timed[d]) any_disturbed |= !t.clean;
    if (!any_disturbed) continue;
    // Disturbances (a busy neighbour, a throttled host) last a while: wait
    // longer after each disturbed round before timing again.
    HAKD_ASSIGN_OR_RETURN(SweepRecord last, latency_->GetSweep(ids.back()));
    const int64_t resume_ms = last.finished_ms +
                              absl::ToInt64Milliseconds(
                                  options_.retime_pause * ids.size());
    if (NowUnixMs() < resume_ms) {
      waiting.push_back(absl::StrCat(device.name, " was disturbed; timing again in ",
                                     (resume_ms - NowUnixMs() + 999) / 1000, " s"));
      continue;
    }
    hakd::v1::StartSweepRequest request;
    request.set_label(absl::StrCat("design-", job->job_id(),
                                   " verification (again: disturbed)"));
    *request.mutable_settings() = job->spec().settings();
    for (const auto& n : networks) {
      auto it = timed[d].find(NetworkIdentity(n.network()));
      if (it != timed[d].end() && !it->second.clean) *request.add_units() = n;
    }
    if (request.units_size() == 0) continue;
    HAKD_ASSIGN_OR_RETURN(SweepRecord started, sweeps_->Start(device, request));
    job->add_verification_sweep_ids(started.id);
    again += request.units_size();
  }
  if (again > 0) {
    stage->set_message(absl::StrCat("timing ", again,
                                    " network(s) again: the device was "
                                    "disturbed while they were timed"));
    return false;
  }
  if (!waiting.empty()) {
    stage->set_message(absl::StrJoin(waiting, "; "));
    return false;
  }
  int misses = 0;
  for (int d = 0; d < job->spec().budgets_size(); ++d) {
    const DeviceRecord& device = devices[d];
    const double budget_ms = job->spec().budgets(d).budget_ms();
    for (Candidate& c : *job->mutable_candidates()) {
      if (c.model_artifact_id().empty()) continue;
      while (c.latency_size() <= d) {
        hakd::v1::DeviceLatency* l = c.add_latency();
        l->set_device(device.name);
        l->set_budget_ms(budget_ms);
      }
      hakd::v1::DeviceLatency* l = c.mutable_latency(d);
      auto it = timed[d].find(NetworkIdentity(c.network()));
      if (it == timed[d].end()) {
        c.set_note(absl::StrCat("not measured on ", device.name,
                                " (the verification sweep failed it)"));
        continue;
      }
      if (!it->second.clean) {
        c.set_note(absl::StrCat("timed on ", device.name,
                                " only while it was disturbed (throttled or "
                                "unstable); the fastest of ",
                                kVerificationRounds, " tries is shown"));
      }
      l->set_measured_ms(it->second.us / 1000);
      l->set_meets_budget(l->measured_ms() <= budget_ms);
      if (!l->meets_budget() && c.role() != hakd::v1::ROLE_TEACHER) {
        c.set_misses_budget(true);
        ++misses;
      }
    }
  }
  stage->set_message(absl::StrCat(networks.size(), " network(s) timed end to end on ",
                                   job->spec().budgets_size(), " device(s); ",
                                   misses, " budget miss(es)"));
  return true;
}

absl::StatusOr<bool> DesignManager::StepReport(DesignJob* job) {
  StageStatus* stage = CurrentStage(job);
  int best = -1;
  for (int i = 0; i < job->candidates_size(); ++i) {
    const Candidate& c = job->candidates(i);
    if (c.role() != hakd::v1::ROLE_HAKD || c.model_artifact_id().empty() ||
        c.misses_budget()) {
      continue;
    }
    bool measured = true;
    for (const auto& l : c.latency()) measured &= l.measured_ms() > 0;
    if (!measured) continue;
    if (best < 0 || c.test_accuracy() > job->candidates(best).test_accuracy()) {
      best = i;
    }
  }
  if (best < 0) {
    job->set_recommended("");
    stage->set_message(
        "no HAKD student met every budget when measured; see the report");
    return true;
  }
  Candidate* rec = job->mutable_candidates(best);
  rec->set_recommended(true);
  job->set_recommended(rec->name());
  std::vector<std::string> lat;
  for (const auto& l : rec->latency()) {
    lat.push_back(absl::StrFormat("%.3f ms on %s (budget %.3f)", l.measured_ms(),
                                  l.device(), l.budget_ms()));
  }
  stage->set_message(absl::StrFormat("recommended %s: %.2f%% test accuracy, %s",
                                     rec->name(), 100 * rec->test_accuracy(),
                                     absl::StrJoin(lat, ", ")));
  return true;
}

}  // namespace hakd
