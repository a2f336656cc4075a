#include "server/sweep_planner.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/layer_spec.h"

namespace hakd {
namespace {

using hakd::v1::LayerSpec;
using hakd::v1::SweepFamily;

SweepFamily Conv(int kernel, bool depthwise, int start, int stop, int step,
                 std::vector<int> resolutions) {
  SweepFamily f;
  f.set_kind(hakd::v1::LAYER_KIND_CONV2D);
  f.set_kernel(kernel);
  f.set_stride(1);
  f.set_depthwise(depthwise);
  f.mutable_channels()->set_start(start);
  f.mutable_channels()->set_stop(stop);
  f.mutable_channels()->set_step(step);
  for (int r : resolutions) f.add_resolutions(r);
  f.set_batch(1);
  return f;
}

SweepFamily Simple(hakd::v1::LayerKind kind, int kernel, int stride,
                   std::vector<int> channels, std::vector<int> resolutions) {
  SweepFamily f;
  f.set_kind(kind);
  f.set_kernel(kernel);
  f.set_stride(stride);
  f.mutable_channels()->set_start(channels[0]);
  f.mutable_channels()->set_stop(channels[1]);
  f.mutable_channels()->set_step(channels[2]);
  for (int r : resolutions) f.add_resolutions(r);
  f.set_batch(1);
  return f;
}

}  // namespace

std::vector<std::string> SweepPresetNames() { return {"default", "quick", "smoke"}; }

absl::StatusOr<std::vector<SweepFamily>> PresetFamilies(const std::string& name) {
  if (name == "default") {
    return std::vector<SweepFamily>{Conv(3, false, 8, 256, 1, {32, 16, 8}),
                                    Conv(1, false, 8, 256, 1, {32, 16, 8}),
                                    Conv(3, true, 8, 256, 1, {32, 16, 8})};
  }
  if (name == "quick") {
    return std::vector<SweepFamily>{Conv(3, false, 8, 128, 1, {16}),
                                    Conv(1, false, 8, 128, 1, {16}),
                                    Conv(3, true, 8, 128, 1, {16})};
  }
  if (name == "smoke") {
    SweepFamily linear;
    linear.set_kind(hakd::v1::LAYER_KIND_LINEAR);
    linear.mutable_channels()->set_start(64);
    linear.mutable_channels()->set_stop(256);
    linear.mutable_channels()->set_step(64);
    linear.set_in_channels(256);
    linear.set_batch(1);
    return std::vector<SweepFamily>{
        Conv(3, false, 8, 40, 4, {16}),   // 9 layers, across the 32/33 step
        Conv(1, false, 16, 64, 16, {16}),  // 4
        Conv(3, true, 16, 64, 16, {16}),   // 4
        linear,                            // 4
        Simple(hakd::v1::LAYER_KIND_MAX_POOL, 2, 2, {16, 32, 16}, {16}),  // 2
        Simple(hakd::v1::LAYER_KIND_AVG_POOL, 8, 1, {32, 64, 32}, {8}),   // 2
        Simple(hakd::v1::LAYER_KIND_BATCHNORM_RELU, 0, 0, {16, 64, 16}, {16}),  // 4
    };
  }
  return absl::NotFoundError(absl::StrCat("preset: no preset named '", name,
                                          "'; known: ",
                                          absl::StrJoin(SweepPresetNames(), ", ")));
}

absl::StatusOr<SweepPlan> PlanSweep(const hakd::v1::StartSweepRequest& request,
                                    const SweepPlannerOptions& options) {
  SweepPlan plan;
  std::vector<SweepFamily> families(request.families().begin(),
                                    request.families().end());
  if (families.empty()) {
    plan.preset = request.preset().empty() ? "default" : request.preset();
    absl::StatusOr<std::vector<SweepFamily>> preset = PresetFamilies(plan.preset);
    if (!preset.ok()) {
      return absl::InvalidArgumentError(preset.status().message());
    }
    families = *std::move(preset);
  } else {
    plan.preset = "custom";
  }
  for (size_t fi = 0; fi < families.size(); ++fi) {
    const SweepFamily& f = families[fi];
    const std::string field = absl::StrCat("families[", fi, "]");
    const hakd::v1::ChannelRange& c = f.channels();
    const int step = c.step() == 0 ? 1 : c.step();
    if (c.start() < 1 || c.stop() < c.start() || step < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".channels: need 1 <= start <= stop and step >= 1, got ",
          c.start(), "..", c.stop(), " step ", c.step()));
    }
    const bool spatial = f.kind() != hakd::v1::LAYER_KIND_LINEAR;
    if (spatial && f.resolutions().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".resolutions: at least one is needed"));
    }
    std::vector<int> resolutions(f.resolutions().begin(), f.resolutions().end());
    if (!spatial) resolutions = {0};
    for (int res : resolutions) {
      // 64 bits: ch + step may pass INT32_MAX before the loop ends.
      for (int64_t ch = c.start(); ch <= c.stop(); ch += step) {
        LayerSpec l;
        l.set_kind(f.kind());
        l.set_batch(f.batch() == 0 ? 1 : f.batch());
        l.set_out_channels(ch);
        l.set_in_channels(f.in_channels() > 0 ? f.in_channels() : ch);
        l.set_dtype(hakd::v1::DTYPE_FLOAT32);
        if (spatial) {
          l.set_height(res);
          l.set_width(res);
        }
        switch (f.kind()) {
          case hakd::v1::LAYER_KIND_CONV2D:
            l.set_kernel(f.kernel());
            l.set_stride(f.stride() == 0 ? 1 : f.stride());
            l.set_padding(f.kernel() / 2);
            l.set_groups(f.depthwise() ? ch : (f.groups() == 0 ? 1 : f.groups()));
            if (f.depthwise()) l.set_in_channels(ch);
            break;
          case hakd::v1::LAYER_KIND_MAX_POOL:
          case hakd::v1::LAYER_KIND_AVG_POOL:
            l.set_in_channels(ch);
            l.set_kernel(f.kernel());
            l.set_stride(f.stride() == 0 ? f.kernel() : f.stride());
            break;
          case hakd::v1::LAYER_KIND_BATCHNORM_RELU:
            l.set_in_channels(ch);
            break;
          default:
            break;
        }
        if (absl::Status st = ValidateLayerSpec(l, absl::StrCat(field, " layer"));
            !st.ok()) {
          return st;
        }
        plan.layers.push_back(l);
        if (static_cast<int>(plan.layers.size()) > options.max_layers) {
          return absl::InvalidArgumentError(absl::StrCat(
              "families: the sweep expands to more than ", options.max_layers,
              " layers; split it"));
        }
      }
    }
  }
  if (plan.layers.empty()) {
    return absl::InvalidArgumentError("families: the sweep holds no layer");
  }
  return plan;
}

}  // namespace hakd
