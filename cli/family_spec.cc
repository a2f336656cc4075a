#include "cli/family_spec.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/errors.h"
#include "common/layer_spec.h"

namespace hakd::cli {
namespace {

using hakd::v1::LayerKind;
using hakd::v1::SweepFamily;

constexpr char kKinds[] = "conv2d, linear, maxpool, avgpool, bnrelu";

// Which keys a kind requires and which it merely allows.
struct KindKeys {
  std::vector<std::string> required;
  std::vector<std::string> optional;
};

KindKeys KeysOf(LayerKind kind) {
  switch (kind) {
    case hakd::v1::LAYER_KIND_CONV2D:
      return {{"k", "c", "res"}, {"s", "dw", "g", "in", "b"}};
    case hakd::v1::LAYER_KIND_MAX_POOL:
    case hakd::v1::LAYER_KIND_AVG_POOL:
      return {{"k", "c", "res"}, {"s", "b"}};
    case hakd::v1::LAYER_KIND_LINEAR:
      return {{"c"}, {"in", "b"}};
    case hakd::v1::LAYER_KIND_BATCHNORM_RELU:
      return {{"c", "res"}, {"b"}};
    default:
      return {};
  }
}

bool Contains(const std::vector<std::string>& v, absl::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Parses a whole number >= 1 that fits int32, or returns false.
bool ParsePositive(absl::string_view text, int32_t* out) {
  if (text.empty() || !std::all_of(text.begin(), text.end(), [](char c) {
        return absl::ascii_isdigit(static_cast<unsigned char>(c));
      })) {
    return false;
  }
  return absl::SimpleAtoi(text, out) && *out >= 1;
}

// Reports problems with one SPEC; every message starts with the whole SPEC so
// that among several --family flags the culprit is obvious.
class SpecErrors {
 public:
  explicit SpecErrors(absl::string_view spec) : spec_(spec) {}
  absl::Status operator()(absl::string_view problem) const {
    return UsageError(absl::StrCat("--family '", spec_, "': ", problem));
  }
  absl::Status InPart(absl::string_view part, absl::string_view problem) const {
    return (*this)(absl::StrCat("in '", part, "': ", problem));
  }

 private:
  absl::string_view spec_;
};

absl::Status ParseChannels(absl::string_view part, absl::string_view value,
                           const SpecErrors& error,
                           hakd::v1::ChannelRange* out) {
  absl::string_view range = value;
  int32_t step = 1;
  const size_t slash = value.find('/');
  if (slash != absl::string_view::npos) {
    range = value.substr(0, slash);
    if (!ParsePositive(value.substr(slash + 1), &step)) {
      return error.InPart(part, absl::StrCat("step '", value.substr(slash + 1),
                                             "' is not a whole number >= 1"));
    }
  }
  int32_t start = 0;
  int32_t stop = 0;
  const size_t dash = range.find('-');
  if (dash == absl::string_view::npos) {
    if (!ParsePositive(range, &start)) {
      return error.InPart(part,
                          "expected FROM-TO[/STEP] or one channel count "
                          "(whole numbers >= 1)");
    }
    stop = start;
  } else if (!ParsePositive(range.substr(0, dash), &start) ||
             !ParsePositive(range.substr(dash + 1), &stop)) {
    return error.InPart(part,
                        "expected FROM-TO[/STEP] with whole numbers >= 1");
  }
  if (stop < start) {
    return error.InPart(
        part, absl::StrCat("range ", start, "-", stop, " runs backwards"));
  }
  out->set_start(start);
  out->set_stop(stop);
  out->set_step(step);
  return absl::OkStatus();
}

absl::Status ParseResolutions(absl::string_view part, absl::string_view value,
                              const SpecErrors& error, SweepFamily* family) {
  for (absl::string_view r : absl::StrSplit(value, ',')) {
    int32_t res = 0;
    if (!ParsePositive(r, &res)) {
      return error.InPart(part, absl::StrCat("resolution '", r,
                                             "' is not a whole number >= 1"));
    }
    family->add_resolutions(res);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SweepFamily> ParseFamilySpec(absl::string_view spec) {
  const SpecErrors error(spec);
  const std::vector<absl::string_view> parts = absl::StrSplit(spec, ':');
  if (parts[0].empty())
    return error(absl::StrCat("missing KIND (", kKinds, ")"));
  SweepFamily family;
  family.set_kind(ParseLayerKind(parts[0]));
  if (family.kind() == hakd::v1::LAYER_KIND_UNSPECIFIED) {
    return error(absl::StrCat("unknown kind '", parts[0], "' (", kKinds, ")"));
  }
  const absl::string_view kind_name = LayerKindName(family.kind());
  const KindKeys keys = KeysOf(family.kind());
  std::map<std::string, absl::string_view> seen;  // key -> its part

  for (size_t i = 1; i < parts.size(); ++i) {
    const absl::string_view part = parts[i];
    if (part.empty()) return error("empty part (two ':' in a row?)");
    const size_t eq = part.find('=');
    const std::string key(part.substr(0, eq));
    const absl::string_view value = eq == absl::string_view::npos
                                        ? absl::string_view()
                                        : part.substr(eq + 1);
    if (!Contains({"k", "c", "res", "s", "dw", "g", "in", "b"}, key)) {
      return error.InPart(part, absl::StrCat("unknown key '", key,
                                             "' (k, c, res, s, dw, g, in, b)"));
    }
    if (!Contains(keys.required, key) && !Contains(keys.optional, key)) {
      return error.InPart(
          part, absl::StrCat("'", key, "' does not apply to ", kind_name));
    }
    if (seen.count(key) > 0) {
      return error.InPart(part, absl::StrCat("'", key, "' given twice"));
    }
    seen[key] = part;
    if (key == "dw") {
      if (eq != absl::string_view::npos)
        return error.InPart(part, "dw takes no value");
      family.set_depthwise(true);
      continue;
    }
    if (eq == absl::string_view::npos || value.empty()) {
      return error.InPart(part, absl::StrCat("expected ", key, "=VALUE"));
    }
    if (key == "c") {
      absl::Status s =
          ParseChannels(part, value, error, family.mutable_channels());
      if (!s.ok()) return s;
      continue;
    }
    if (key == "res") {
      absl::Status s = ParseResolutions(part, value, error, &family);
      if (!s.ok()) return s;
      continue;
    }
    int32_t n = 0;
    if (!ParsePositive(value, &n)) {
      return error.InPart(
          part,
          absl::StrCat("expected a whole number >= 1, got '", value, "'"));
    }
    if (key == "k") family.set_kernel(n);
    if (key == "s") family.set_stride(n);
    if (key == "g") family.set_groups(n);
    if (key == "in") family.set_in_channels(n);
    if (key == "b") family.set_batch(n);
  }

  for (const std::string& key : keys.required) {
    if (seen.count(key) == 0) {
      const char* form = key == "k"   ? "k=K"
                         : key == "c" ? "c=FROM-TO[/STEP]"
                                      : "res=R[,R...]";
      return error(
          absl::StrCat("missing ", form, " (required for ", kind_name, ")"));
    }
  }
  if (family.depthwise() && seen.count("g") > 0) {
    return error("dw and g= exclude each other (depthwise means groups = c)");
  }
  if (family.depthwise() && seen.count("in") > 0) {
    return error(
        "dw and in= exclude each other (depthwise needs in = out = c)");
  }
  return family;
}

}  // namespace hakd::cli
