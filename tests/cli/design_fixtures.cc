#include "design_fixtures.h"

#include <string>

namespace hakd::cli::testing {
namespace {

using hakd::v1::Candidate;
using hakd::v1::DesignJob;

void AddLatency(Candidate* c, const std::string& device, double budget,
                double predicted, double measured) {
  hakd::v1::DeviceLatency* l = c->add_latency();
  l->set_device(device);
  l->set_budget_ms(budget);
  l->set_predicted_ms(predicted);
  l->set_measured_ms(measured);
  l->set_meets_budget((measured > 0 ? measured : predicted) <= budget);
  if (measured > budget) c->set_misses_budget(true);
}

// A candidate with its latency on rpi4 and nano (predicted, measured).
Candidate* AddCandidate(DesignJob* job, const std::string& name,
                        hakd::v1::CandidateRole role, double accuracy,
                        double rpi4_pred, double rpi4_meas, double nano_pred,
                        double nano_meas) {
  Candidate* c = job->add_candidates();
  c->set_name(name);
  c->set_role(role);
  c->set_test_accuracy(accuracy);
  c->set_selected(true);
  AddLatency(c, "rpi4", 5, rpi4_pred, rpi4_meas);
  AddLatency(c, "nano", 2.5, nano_pred, nano_meas);
  return c;
}

void AddStages(DesignJob* job, hakd::v1::DesignStage current,
               hakd::v1::StageState current_state) {
  for (int s = hakd::v1::DESIGN_STAGE_TEACHER;
       s <= hakd::v1::DESIGN_STAGE_REPORT; ++s) {
    hakd::v1::StageStatus* st = job->add_stages();
    st->set_stage(static_cast<hakd::v1::DesignStage>(s));
    st->set_state(s < current    ? hakd::v1::STAGE_DONE
                  : s == current ? current_state
                                 : hakd::v1::STAGE_PENDING);
  }
  hakd::v1::StageStatus* teacher = job->mutable_stages(0);
  teacher->set_state(hakd::v1::STAGE_SKIPPED);
  teacher->set_message("teacher art-ab-1 given");
  job->mutable_stages(2)->set_done(2);
  job->mutable_stages(2)->set_total(2);
  job->mutable_stages(2)->set_message("swept 2 devices");
  job->set_stage(current);
}

}  // namespace

DesignJob MakeDesignJob(hakd::v1::DesignState state) {
  DesignJob job;
  job.set_job_id(12);
  job.set_state(state);
  job.set_created_unix_ms(kDesignNow - 7'380'000);
  hakd::v1::DesignSpec* spec = job.mutable_spec();
  spec->set_name("kd-rpi4");
  spec->set_teacher_artifact_id("art-ab-1");
  spec->set_dataset("cifar10");
  hakd::v1::DeviceBudget* b = spec->add_budgets();
  b->set_device("rpi4");
  b->set_budget_ms(5);
  b = spec->add_budgets();
  b->set_device("nano");
  b->set_budget_ms(2.5);
  job.set_teacher_artifact_id("art-ab-1");
  job.set_configurations(1234);
  job.set_within_budget(56);

  const bool verified = state == hakd::v1::DESIGN_SUCCEEDED;
  const double v = verified ? 1 : 0;  // measured latencies only when verified
  Candidate* c = AddCandidate(&job, "teacher", hakd::v1::ROLE_TEACHER, 0.941,
                              11.9, 12.3 * v, 5.8, 6.1 * v);
  c->set_params(2'700'000);
  c->set_macs(400'000'000);
  c->set_saliency_kept(1);
  c->set_description("WRN-16-2");
  c = AddCandidate(&job, "hakd-1", hakd::v1::ROLE_HAKD, 0.932, 4.6, 4.81 * v,
                   2.3, 2.4 * v);
  c->set_params(900'000);
  c->set_macs(120'000'000);
  c->set_saliency_kept(0.873);
  c->set_pareto(true);
  c->set_description("widths 16/24/48");
  c = AddCandidate(&job, "hakd-2", hakd::v1::ROLE_HAKD, verified ? 0.925 : 0,
                   4.9, 5.21 * v, 2.1, 2.2 * v);
  c->set_params(800'000);
  c->set_saliency_kept(0.85);
  c->set_pareto(true);
  c = AddCandidate(&job, "hakd-3", hakd::v1::ROLE_HAKD, 0, 3.9, 0, 1.9, 0);
  c->set_selected(false);
  c->set_pareto(true);
  c->set_params(500'000);
  c->set_saliency_kept(0.71);
  c->set_description("widths 8/16/32");
  AddCandidate(&job, "uniform", hakd::v1::ROLE_UNIFORM, verified ? 0.915 : 0,
               4.7, 4.9 * v, 2.4, 2.45 * v);
  c = AddCandidate(&job, "fisher", hakd::v1::ROLE_FISHER, 0, 0, 0, 0, 0);
  c->set_note("could not meet the budget on nano");

  switch (state) {
    case hakd::v1::DESIGN_SUCCEEDED:
      AddStages(&job, hakd::v1::DESIGN_STAGE_REPORT, hakd::v1::STAGE_DONE);
      job.mutable_candidates(1)->set_recommended(true);
      job.set_recommended("hakd-1");
      job.set_finished_unix_ms(kDesignNow);
      break;
    case hakd::v1::DESIGN_FAILED:
      AddStages(&job, hakd::v1::DESIGN_STAGE_VERIFICATION,
                hakd::v1::STAGE_FAILED);
      job.mutable_stages(5)->set_message("device nano went offline");
      job.set_error("verification: device nano went offline");
      job.set_finished_unix_ms(kDesignNow);
      break;
    case hakd::v1::DESIGN_CANCELLED:
      AddStages(&job, hakd::v1::DESIGN_STAGE_DISTILLATION,
                hakd::v1::STAGE_RUNNING);
      job.set_finished_unix_ms(kDesignNow);
      break;
    default: {
      AddStages(&job, hakd::v1::DESIGN_STAGE_DISTILLATION,
                hakd::v1::STAGE_RUNNING);
      hakd::v1::StageStatus* d = job.mutable_stages(4);
      d->set_done(2);
      d->set_total(5);
      d->set_message("training hakd-2");
      break;
    }
  }
  return job;
}

}  // namespace hakd::cli::testing
