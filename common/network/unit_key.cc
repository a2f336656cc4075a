#include "common/network/unit_key.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/network/network_analysis.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace hakd {
namespace {

using hakd::v1::BlockUnit;
using hakd::v1::CheapConv;

int32_t Or(int32_t value, int32_t default_value) {
  return value == 0 ? default_value : value;
}

void NormalizeCheap(CheapConv* c) {
  switch (c->type()) {
    case CheapConv::TYPE_GROUPED:
      c->set_bottleneck(0);
      break;
    case CheapConv::TYPE_BOTTLENECK:
      c->set_groups(0);
      break;
    case CheapConv::TYPE_BOTTLENECK_GROUPED:
      break;
    default:  // standard and depthwise-separable take neither
      c->set_groups(0);
      c->set_bottleneck(0);
      break;
  }
}

void NormalizeBlock(hakd::v1::Block* b) {
  if (b->has_residual()) {
    auto* r = b->mutable_residual();
    r->set_stride(Or(r->stride(), 1));
    r->set_kernel(Or(r->kernel(), 3));
    NormalizeCheap(r->mutable_cheap());
    const bool bottleneck =
        r->cheap().type() == CheapConv::TYPE_BOTTLENECK ||
        r->cheap().type() == CheapConv::TYPE_BOTTLENECK_GROUPED;
    r->set_mid_channels(bottleneck ? 0
                                   : Or(r->mid_channels(), r->out_channels()));
  } else if (b->has_separable()) {
    auto* s = b->mutable_separable();
    s->set_stride(Or(s->stride(), 1));
    s->set_kernel(Or(s->kernel(), 3));
  } else if (b->has_dense()) {
    auto* d = b->mutable_dense();
    d->set_bottleneck_channels(Or(d->bottleneck_channels(), 4 * d->growth()));
    NormalizeCheap(d->mutable_cheap());
  }
}

void NormalizeStem(hakd::v1::Stem* s) {
  s->set_kernel(Or(s->kernel(), 3));
  s->set_stride(Or(s->stride(), 1));
}

// One field of a key: name, value, and whether it follows the width when
// equal to it.
struct Field {
  const char* name;
  int64_t value;
  bool follows = false;
};

struct Described {
  const char* kind;
  int width_field;  // index into fields
  std::vector<Field> fields;
};

Described Describe(const BlockUnit& raw) {
  const BlockUnit u = NormalizeBlockUnit(raw);
  const int64_t c = u.input().channels();
  const int64_t h = u.input().height();
  if (u.has_stem()) {
    const auto& s = u.stem();
    return {"stem",
            2,
            {{"c", c},
             {"h", h},
             {"o", s.out_channels()},
             {"s", s.stride()},
             {"k", s.kernel()},
             {"r", s.batchnorm_relu() ? 1 : 0}}};
  }
  if (u.has_head()) {
    return {"head",
            0,
            {{"c", c},
             {"h", h},
             {"n", u.num_classes()},
             {"r", u.head().batchnorm_relu() ? 1 : 0}}};
  }
  const auto& b = u.block();
  if (b.has_residual()) {
    const auto& r = b.residual();
    return {"residual",
            2,
            {{"c", c, true},
             {"h", h},
             {"o", r.out_channels()},
             {"m", r.mid_channels(), true},
             {"s", r.stride()},
             {"k", r.kernel()},
             {"t", r.cheap().type()},
             {"g", r.cheap().groups()},
             {"b", r.cheap().bottleneck()}}};
  }
  if (b.has_separable()) {
    const auto& s = b.separable();
    return {"separable",
            2,
            {{"c", c, true},
             {"h", h},
             {"o", s.out_channels()},
             {"s", s.stride()},
             {"k", s.kernel()}}};
  }
  if (b.has_dense()) {
    const auto& d = b.dense();
    return {"dense",
            0,
            {{"c", c},
             {"h", h},
             {"gr", d.growth()},
             {"bn", d.bottleneck_channels()},
             {"t", d.cheap().type()},
             {"g", d.cheap().groups()}}};
  }
  return {"transition",
          2,
          {{"c", c, true}, {"h", h}, {"o", b.transition().out_channels()}}};
}

}  // namespace

absl::Status ValidateUnitSpec(const hakd::v1::UnitSpec& unit,
                              absl::string_view field) {
  absl::Status st;
  std::string path;
  if (unit.has_block()) {
    st = AnalyzeUnit(unit.block()).status();
    path = absl::StrCat(field, ".block");
  } else if (unit.has_network()) {
    st = ValidateNetworkSpec(unit.network());
    path = absl::StrCat(field, ".network");
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": neither block nor network is set"));
  }
  if (st.ok()) return st;
  return absl::Status(st.code(), absl::StrCat(path, ".", st.message()));
}

BlockUnit NormalizeBlockUnit(const BlockUnit& unit) {
  BlockUnit u = unit;
  if (u.has_stem()) NormalizeStem(u.mutable_stem());
  if (u.has_block()) NormalizeBlock(u.mutable_block());
  return u;
}

hakd::v1::NetworkSpec NormalizeNetworkSpec(const hakd::v1::NetworkSpec& spec) {
  hakd::v1::NetworkSpec n = spec;
  n.clear_name();
  NormalizeStem(n.mutable_stem());
  for (auto& stage : *n.mutable_stages()) {
    stage.clear_name();
    for (auto& block : *stage.mutable_blocks()) NormalizeBlock(&block);
  }
  return n;
}

std::string BlockUnitKey(const BlockUnit& unit) {
  const Described d = Describe(unit);
  std::string key = d.kind;
  for (const Field& f : d.fields) absl::StrAppend(&key, " ", f.name, f.value);
  return key;
}

std::string UnitKey(const hakd::v1::UnitSpec& unit) {
  if (unit.has_block()) return BlockUnitKey(unit.block());
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream raw(&bytes);
    google::protobuf::io::CodedOutputStream out(&raw);
    out.SetSerializationDeterministic(true);
    NormalizeNetworkSpec(unit.network()).SerializeToCodedStream(&out);
  }
  uint64_t hash = 14695981039346656037ull;  // FNV-1a, 64 bits
  for (unsigned char ch : bytes) {
    hash ^= ch;
    hash *= 1099511628211ull;
  }
  return absl::StrFormat("network %016x", hash);
}

UnitFamily FamilyOf(const BlockUnit& unit) {
  const Described d = Describe(unit);
  UnitFamily out;
  out.width = static_cast<int32_t>(d.fields[d.width_field].value);
  out.family = d.kind;
  for (int i = 0; i < static_cast<int>(d.fields.size()); ++i) {
    if (i == d.width_field) continue;
    const Field& f = d.fields[i];
    if (f.follows && f.value == out.width) {
      absl::StrAppend(&out.family, " ", f.name, "=w");
    } else {
      absl::StrAppend(&out.family, " ", f.name, f.value);
    }
  }
  return out;
}

}  // namespace hakd
