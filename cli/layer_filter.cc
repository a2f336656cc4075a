#include "cli/layer_filter.h"

#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "cli/errors.h"
#include "common/layer_spec.h"

namespace hakd::cli {
namespace {

// Refuses a pair of flags that would set the same field twice.
absl::Status Exclusive(const FlagValues& flags, const char* a, const char* b,
                       const char* why) {
  if (flags.Has(a) && flags.Has(b)) {
    return UsageError(
        absl::StrCat("--", a, " and --", b, " exclude each other (", why, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<hakd::v1::DType> ParseDType(const std::string& name) {
  const std::string n = absl::AsciiStrToLower(name);
  if (n == "float32" || n == "fp32") return hakd::v1::DTYPE_FLOAT32;
  if (n == "float16" || n == "fp16") return hakd::v1::DTYPE_FLOAT16;
  if (n == "bfloat16" || n == "bf16") return hakd::v1::DTYPE_BFLOAT16;
  return UsageError(absl::StrCat("--dtype: unknown dtype '", name,
                                 "' (float32, float16, bfloat16)"));
}

}  // namespace

absl::StatusOr<hakd::v1::LayerFilter> LayerFilterFromFlags(
    const FlagValues& flags) {
  for (const auto& [a, b, why] :
       {std::tuple{"channels", "in", "--channels sets both"},
        std::tuple{"channels", "out", "--channels sets both"},
        std::tuple{"res", "height", "--res sets both"},
        std::tuple{"res", "width", "--res sets both"},
        std::tuple{"depthwise", "not-depthwise", "pick one"}}) {
    absl::Status s = Exclusive(flags, a, b, why);
    if (!s.ok()) return s;
  }
  hakd::v1::LayerFilter filter;
  if (auto kind = flags.String("kind")) {
    const hakd::v1::LayerKind k = ParseLayerKind(*kind);
    if (k == hakd::v1::LAYER_KIND_UNSPECIFIED) {
      return UsageError(
          absl::StrCat("--kind: unknown kind '", *kind,
                       "' (conv2d, linear, maxpool, avgpool, bnrelu)"));
    }
    filter.set_kind(k);
  }
  if (auto dtype = flags.String("dtype")) {
    absl::StatusOr<hakd::v1::DType> d = ParseDType(*dtype);
    if (!d.ok()) return d.status();
    filter.set_dtype(*d);
  }
  if (auto v = flags.Int("channels")) {
    filter.set_in_channels(*v);
    filter.set_out_channels(*v);
  }
  if (auto v = flags.Int("res")) {
    filter.set_height(*v);
    filter.set_width(*v);
  }
  if (auto v = flags.Int("in")) filter.set_in_channels(*v);
  if (auto v = flags.Int("out")) filter.set_out_channels(*v);
  if (auto v = flags.Int("height")) filter.set_height(*v);
  if (auto v = flags.Int("width")) filter.set_width(*v);
  if (auto v = flags.Int("kernel")) filter.set_kernel(*v);
  if (auto v = flags.Int("stride")) filter.set_stride(*v);
  if (auto v = flags.Int("padding")) filter.set_padding(*v);
  if (auto v = flags.Int("groups")) filter.set_groups(*v);
  if (auto v = flags.Int("batch")) filter.set_batch(*v);
  if (flags.Has("depthwise")) filter.set_depthwise(true);
  if (flags.Has("not-depthwise")) filter.set_depthwise(false);
  return filter;
}

}  // namespace hakd::cli
