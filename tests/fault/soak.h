// `hakd-sim soak`: many simulated agents (one stream and one TCP connection
// each, on their own threads) and a few simulated workers against one
// coordinator for a fixed time, with training tasks kept queued through an
// admin token. Prints throughput, acknowledgement-time percentiles and every
// error as "metric: value" lines (bench/soak.sh adds the coordinator's
// memory and descriptors).
#ifndef HAKD_TESTS_FAULT_SOAK_H_
#define HAKD_TESTS_FAULT_SOAK_H_

namespace hakd::sim {

// Flags: --server ADDR --agent-tokens FILE (one token a line; agent i uses
// line i mod n) --worker-token-file F --admin-token-file F [--agents 64]
// [--workers 4] [--seconds 600] [--batch-size 16] [--interval-ms 500]
// [--window 8] [--epoch-ms 1000] [--task-epochs 3] [--ack-dir DIR]
// [--report-ms 10000]. Returns 0 when there was no error, 1 otherwise.
int SoakMain(int argc, char** argv);

}  // namespace hakd::sim

#endif  // HAKD_TESTS_FAULT_SOAK_H_
