// SweepPlanner: turns a sweep request (a preset name or custom families) into
// the ordered list of layer specifications an agent measures.
#ifndef HAKD_SERVER_SWEEP_PLANNER_H_
#define HAKD_SERVER_SWEEP_PLANNER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "hakd/v1/latency_service.pb.h"
#include "hakd/v1/types.pb.h"

namespace hakd {

// A planned sweep.
struct SweepPlan {
  std::string preset;  // the preset's name, or "custom"
  std::vector<hakd::v1::LayerSpec> layers;
};

// Limits on what a request may expand to.
struct SweepPlannerOptions {
  // Most layers one sweep may hold. Default 100000.
  int max_layers = 100000;
};

// Names of the built-in presets, for help texts and errors.
std::vector<std::string> SweepPresetNames();

// The families of a named preset; NOT_FOUND for an unknown name.
//  - "default": 3x3 conv, 1x1 conv and depthwise 3x3 conv, channels 8..256
//    step 1, at 32x32, 16x16 and 8x8, batch 1 (2,241 layers).
//  - "quick": the same three families at 16x16 only, channels 8..128 step 1
//    (363 layers): the quick start's few-minute profile.
//  - "smoke": a few dozen layers of every kind, for tests and first checks.
absl::StatusOr<std::vector<hakd::v1::SweepFamily>> PresetFamilies(
    const std::string& name);

// Expands a request. Families given explicitly win over the preset; with
// neither, the "default" preset is used. Every produced layer is validated;
// errors name the family and field.
absl::StatusOr<SweepPlan> PlanSweep(const hakd::v1::StartSweepRequest& request,
                                    const SweepPlannerOptions& options =
                                        SweepPlannerOptions());

}  // namespace hakd

#endif  // HAKD_SERVER_SWEEP_PLANNER_H_
