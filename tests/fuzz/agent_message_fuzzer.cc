// Fuzzes what the coordinator checks of an agent's stream messages
// (AgentService.Connect): the hello's device name and the measurement
// batches (ValidateBatch), then what it derives from an accepted batch
// before storing it: each measurement's layer description or unit key.
#include <cstddef>
#include <cstdint>

#include "common/layer_spec.h"
#include "common/network/unit_key.h"
#include "hakd/v1/agent_service.pb.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/proto_mutator.h"

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size,
                                          size_t max_size, unsigned seed) {
  hakd::v1::AgentMessage message;
  return hakd::fuzz::MutateProtoInput(&message, data, size, max_size, seed);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  hakd::v1::AgentMessage message;
  if (!hakd::fuzz::ParseProto(data, size, &message)) return 0;
  if (message.has_hello()) {
    (void)hakd::ValidateDeviceName(message.hello().name(), "hello.name");
  }
  if (!message.has_batch()) return 0;
  const hakd::v1::MeasurementBatch& batch = message.batch();
  if (!hakd::ValidateBatch(batch).ok()) return 0;
  for (const hakd::v1::Measurement& m : batch.measurements()) {
    if (m.has_layer()) {
      (void)hakd::DescribeLayer(m.layer());
      hakd::fuzz::Require(hakd::LayerMacs(m.layer()) >= 0,
                          "a valid layer has negative MACs");
    } else {
      (void)hakd::UnitKey(m.unit());
      if (m.unit().has_block()) (void)hakd::FamilyOf(m.unit().block());
    }
  }
  return 0;
}
