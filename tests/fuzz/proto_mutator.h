// A small structure-aware mutator for the fuzz targets whose input is a
// protobuf message: byte-level mutations rarely produce the varints and
// doubles at which validators change their mind (65536 channels, INT32_MAX,
// NaN), so most mutations parse the input, change one to three fields
// anywhere in the message tree (a limit value, an extreme, a neighbour of
// the old value; add, copy or drop a repeated element or a submessage) and
// serialise it again. libprotobuf-mutator does this properly; Debian 12
// does not package it.
#ifndef HAKD_TESTS_FUZZ_PROTO_MUTATOR_H_
#define HAKD_TESTS_FUZZ_PROTO_MUTATOR_H_

#include <google/protobuf/message.h>

#include <cstddef>
#include <cstdint>

namespace hakd::fuzz {

// The body of LLVMFuzzerCustomMutator for an input that is `scratch`'s
// message type in protobuf binary: mutates data[0, size) in place (at most
// max_size bytes) and returns the new size. One call in four, or when the
// input does not parse, it leaves the work to libFuzzer's own mutators.
size_t MutateProtoInput(google::protobuf::Message* scratch, uint8_t* data,
                        size_t size, size_t max_size, unsigned seed);

}  // namespace hakd::fuzz

#endif  // HAKD_TESTS_FUZZ_PROTO_MUTATOR_H_
