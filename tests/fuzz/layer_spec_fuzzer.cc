// Fuzzes the validation of a layer specification (hakd.v1.LayerSpec, as in
// a measurement or a sweep task) and what every process computes from a
// layer once it passed: its description, output extent and MACs. Also the
// layer-kind names the CLI and filters parse.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/layer_spec.h"
#include "hakd/v1/types.pb.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/proto_mutator.h"

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size,
                                          size_t max_size, unsigned seed) {
  hakd::v1::LayerSpec message;
  return hakd::fuzz::MutateProtoInput(&message, data, size, max_size, seed);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using hakd::fuzz::Require;
  const hakd::v1::LayerKind named =
      hakd::ParseLayerKind(hakd::fuzz::AsText(data, size));
  if (named != hakd::v1::LAYER_KIND_UNSPECIFIED) {
    Require(hakd::ParseLayerKind(hakd::LayerKindName(named)) == named,
            "ParseLayerKind(LayerKindName(kind)) != kind");
  }

  hakd::v1::LayerSpec layer;
  if (!hakd::fuzz::ParseProto(data, size, &layer)) return 0;
  // Whatever the fields, describing the layer must be safe (errors and
  // logs describe invalid layers too).
  (void)hakd::DescribeLayer(layer);
  (void)hakd::IsDepthwise(layer);
  if (!hakd::ValidateLayerSpec(layer, "layer").ok()) return 0;
  const int64_t macs = hakd::LayerMacs(layer);
  Require(macs >= 0, "a valid layer has negative MACs");
  if (layer.kind() != hakd::v1::LAYER_KIND_LINEAR) {
    Require(hakd::OutputExtent(layer, layer.height()) >= 1,
            "a valid spatial layer has no output");
  }
  return 0;
}
