// Fuzzes what the coordinator checks and plans of a StartSweep request
// before touching the database (SweepManager::Start): unit specifications
// (ValidateUnitSpec, then their keys), or families and presets expanded
// and validated layer by layer (PlanSweep). The layer limit is lowered
// from the coordinator's 100,000 so that one input stays fast; every
// planned layer must be a valid layer.
#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/layer_spec.h"
#include "common/network/unit_key.h"
#include "hakd/v1/latency_service.pb.h"
#include "server/sweep_planner.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/proto_mutator.h"

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size,
                                          size_t max_size, unsigned seed) {
  hakd::v1::StartSweepRequest message;
  return hakd::fuzz::MutateProtoInput(&message, data, size, max_size, seed);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using hakd::fuzz::Require;
  hakd::v1::StartSweepRequest request;
  if (!hakd::fuzz::ParseProto(data, size, &request)) return 0;
  if (request.units_size() > 0) {
    for (int i = 0; i < request.units_size(); ++i) {
      if (!hakd::ValidateUnitSpec(request.units(i),
                                  absl::StrCat("units[", i, "]"))
               .ok()) {
        return 0;
      }
      (void)hakd::UnitKey(request.units(i));
    }
    return 0;
  }
  hakd::SweepPlannerOptions options;
  options.max_layers = 2048;
  absl::StatusOr<hakd::SweepPlan> plan = hakd::PlanSweep(request, options);
  if (!plan.ok()) return 0;
  Require(!plan->layers.empty() &&
              static_cast<int>(plan->layers.size()) <= options.max_layers,
          "plan size outside [1, max_layers]");
  for (const hakd::v1::LayerSpec& layer : plan->layers) {
    Require(hakd::ValidateLayerSpec(layer, "layer").ok(),
            "planned layer is not valid");
  }
  return 0;
}
