#include "tests/fuzz/proto_mutator.h"

#include <google/protobuf/descriptor.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace hakd::fuzz {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

using Rng = std::minstd_rand;

// Where a mutation can happen: a field of a message, and for a repeated
// scalar field one element (index >= 0); index -1 is the field itself (a
// singular field, or adding and removing elements of a repeated one).
struct Slot {
  Message* message;
  const FieldDescriptor* field;
  int index;
};

void CollectSlots(Message* m, int depth, std::vector<Slot>* out) {
  const Descriptor* d = m->GetDescriptor();
  const Reflection* r = m->GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    out->push_back({m, f, -1});
    const bool is_message = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
    if (f->is_repeated()) {
      const int n = r->FieldSize(*m, f);
      for (int j = 0; j < n; ++j) {
        if (!is_message) {
          out->push_back({m, f, j});
        } else if (depth < 16) {
          CollectSlots(r->MutableRepeatedMessage(m, f, j), depth + 1, out);
        }
      }
    } else if (is_message && depth < 16 && r->HasField(*m, f)) {
      CollectSlots(r->MutableMessage(m, f), depth + 1, out);
    }
  }
}

template <typename T>
T Pick(const std::vector<T>& values, Rng* rng) {
  return values[(*rng)() % values.size()];
}

// An integer a validator may treat specially, computed in 64 bits and
// wrapped to the field's width by the caller.
int64_t InterestingInt(int64_t old, Rng* rng) {
  static const std::vector<int64_t> kValues = {
      0,
      1,
      -1,
      2,
      3,
      7,
      8,
      9,
      10,
      16,
      28,
      31,
      32,
      33,
      64,
      100,
      128,
      1000,
      1001,
      1024,
      4095,
      4096,
      4097,
      8192,
      8193,
      10000,
      10001,
      65535,
      65536,
      65537,
      100000,
      100001,
      int64_t{1} << 31,
      (int64_t{1} << 31) - 1,
      -(int64_t{1} << 31),
      int64_t{1} << 32,
      int64_t{1} << 40,
      std::numeric_limits<int64_t>::max(),
      std::numeric_limits<int64_t>::min()};
  switch ((*rng)() % 4) {
    case 0:  // a neighbour (wrapping, as the field would)
      return static_cast<int64_t>(static_cast<uint64_t>(old) + (*rng)() % 5 -
                                  2);
    case 1:
      return static_cast<int64_t>(static_cast<uint64_t>(old) * 2);
    default:
      return Pick(kValues, rng);
  }
}

double InterestingDouble(double old, Rng* rng) {
  static const std::vector<double> kValues = {
      0.0,
      -0.0,
      1.0,
      -1.0,
      0.5,
      0.1,
      0.9,
      2.0,
      4.0,
      10.0,
      1000.0,
      1e6,
      6e8,
      1e9,
      1e300,
      -1e300,
      1e-300,
      5e-324,
      std::numeric_limits<double>::quiet_NaN(),
      std::numeric_limits<double>::infinity(),
      -std::numeric_limits<double>::infinity()};
  switch ((*rng)() % 4) {
    case 0:
      return old * 2;
    case 1:
      return old + static_cast<double>((*rng)() % 5) - 2;
    default:
      return Pick(kValues, rng);
  }
}

std::string InterestingString(const std::string& old, Rng* rng) {
  static const std::vector<std::string> kValues = {
      "",
      "a",
      "cpu",
      "cuda:0",
      "cuda:1000",
      "fashion-mnist",
      "cifar10",
      "art-1",
      "art-3f2a9c1d0b7e-1",
      "model",
      "checkpoint",
      "train",
      "eval",
      "upload",
      "saliency",
      "prune",
      "cosine",
      "step",
      "constant",
      "default",
      "quick",
      "smoke",
      "vm",
      "rpi4-lab1",
      "b-1",
      "0123456789abcdef0123456789abcdef",
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      std::string(65, 'a'),
      std::string(129, 'b'),
      std::string(300, 'c'),
      std::string(4097, 'd'),
      "\x01",
      " spaced ",
      "x\x7f"};
  if ((*rng)() % 3 != 0) return Pick(kValues, rng);
  // Byte-level mutation of the old text, kept ASCII (proto3 strings must
  // be UTF-8 or the message no longer parses).
  std::string s = old;
  const size_t max = s.size() * 2 + 8;
  s.resize(max);
  const size_t n =
      LLVMFuzzerMutate(reinterpret_cast<uint8_t*>(s.data()), old.size(), max);
  s.resize(n);
  for (char& c : s) c = static_cast<char>(c & 0x7f);
  return s;
}

// Sets a scalar field (index -1) or element to an interesting value.
void MutateScalar(const Slot& slot, Rng* rng) {
  Message* m = slot.message;
  const FieldDescriptor* f = slot.field;
  const Reflection* r = m->GetReflection();
  const bool rep = slot.index >= 0;
  const int i = slot.index;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      const int32_t old =
          rep ? r->GetRepeatedInt32(*m, f, i) : r->GetInt32(*m, f);
      const auto v = static_cast<int32_t>(static_cast<uint32_t>(
          static_cast<uint64_t>(InterestingInt(old, rng))));
      rep ? r->SetRepeatedInt32(m, f, i, v) : r->SetInt32(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      const int64_t old =
          rep ? r->GetRepeatedInt64(*m, f, i) : r->GetInt64(*m, f);
      const int64_t v = InterestingInt(old, rng);
      rep ? r->SetRepeatedInt64(m, f, i, v) : r->SetInt64(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      const uint32_t old =
          rep ? r->GetRepeatedUInt32(*m, f, i) : r->GetUInt32(*m, f);
      const auto v = static_cast<uint32_t>(InterestingInt(old, rng));
      rep ? r->SetRepeatedUInt32(m, f, i, v) : r->SetUInt32(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      const uint64_t old =
          rep ? r->GetRepeatedUInt64(*m, f, i) : r->GetUInt64(*m, f);
      const auto v =
          static_cast<uint64_t>(InterestingInt(static_cast<int64_t>(old), rng));
      rep ? r->SetRepeatedUInt64(m, f, i, v) : r->SetUInt64(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      const double old =
          rep ? r->GetRepeatedDouble(*m, f, i) : r->GetDouble(*m, f);
      const double v = InterestingDouble(old, rng);
      rep ? r->SetRepeatedDouble(m, f, i, v) : r->SetDouble(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_FLOAT: {
      const float old =
          rep ? r->GetRepeatedFloat(*m, f, i) : r->GetFloat(*m, f);
      const auto v = static_cast<float>(InterestingDouble(old, rng));
      rep ? r->SetRepeatedFloat(m, f, i, v) : r->SetFloat(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      const bool old = rep ? r->GetRepeatedBool(*m, f, i) : r->GetBool(*m, f);
      rep ? r->SetRepeatedBool(m, f, i, !old) : r->SetBool(m, f, !old);
      break;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      // A declared value, or (proto3 enums are open) any small number.
      const auto* e = f->enum_type();
      const int v = (*rng)() % 4 != 0
                        ? e->value((*rng)() % e->value_count())->number()
                        : static_cast<int>((*rng)() % 12) - 2;
      rep ? r->SetRepeatedEnumValue(m, f, i, v) : r->SetEnumValue(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      const std::string old =
          rep ? r->GetRepeatedString(*m, f, i) : r->GetString(*m, f);
      const std::string v = InterestingString(old, rng);
      rep ? r->SetRepeatedString(m, f, i, v) : r->SetString(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
}

// Adds (a copy of an element, or a fresh one) or removes an element of a
// repeated field.
void MutateRepeated(const Slot& slot, Rng* rng) {
  Message* m = slot.message;
  const FieldDescriptor* f = slot.field;
  const Reflection* r = m->GetReflection();
  const int n = r->FieldSize(*m, f);
  if (n > 0 && (*rng)() % 3 == 0) {
    r->SwapElements(m, f, (*rng)() % n, n - 1);
    r->RemoveLast(m, f);
    return;
  }
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    Message* added = r->AddMessage(m, f);
    if (n > 0 && (*rng)() % 2 == 0) {
      added->CopyFrom(r->GetRepeatedMessage(*m, f, (*rng)() % n));
    }
    return;
  }
  // A scalar element: add a default-valued one, then give it a value.
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      r->AddInt32(m, f, 0);
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      r->AddInt64(m, f, 0);
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      r->AddUInt32(m, f, 0);
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      r->AddUInt64(m, f, 0);
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      r->AddDouble(m, f, 0);
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      r->AddFloat(m, f, 0);
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      r->AddBool(m, f, false);
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      r->AddEnumValue(m, f, 0);
      break;
    case FieldDescriptor::CPPTYPE_STRING:
      r->AddString(m, f, "");
      break;
    default:
      return;
  }
  MutateScalar({m, f, n}, rng);
}

void MutateOnce(Message* message, Rng* rng) {
  std::vector<Slot> slots;
  CollectSlots(message, 0, &slots);
  if (slots.empty()) return;
  const Slot slot = slots[(*rng)() % slots.size()];
  const FieldDescriptor* f = slot.field;
  if (f->is_repeated() && slot.index < 0) {
    MutateRepeated(slot, rng);
  } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    const Reflection* r = slot.message->GetReflection();
    if (r->HasField(*slot.message, f) && (*rng)() % 2 == 0) {
      r->ClearField(slot.message, f);
    } else {
      r->MutableMessage(slot.message, f);  // present, possibly empty
    }
  } else {
    MutateScalar(slot, rng);
  }
}

}  // namespace

size_t MutateProtoInput(Message* scratch, uint8_t* data, size_t size,
                        size_t max_size, unsigned seed) {
  Rng rng(seed);
  if (rng() % 4 == 0 ||
      !scratch->ParseFromArray(data, static_cast<int>(size))) {
    return LLVMFuzzerMutate(data, size, max_size);
  }
  const int mutations = 1 + static_cast<int>(rng() % 3);
  for (int k = 0; k < mutations; ++k) MutateOnce(scratch, &rng);
  const std::string out = scratch->SerializeAsString();
  if (out.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data, out.data(), out.size());
  return out.size();
}

}  // namespace hakd::fuzz
