// A TCP fault proxy for the network fault test: forwards connections from a
// loopback port to a target, in a mode read from a control file every
// 100 ms:
//
//   pass       forward both ways
//   delay MS   hold every byte MS milliseconds before forwarding it
//   drop       accept and keep connections, forward nothing either way (a
//              blackholed link: each side's TCP looks healthy, nothing
//              arrives; bytes wait in the socket buffers like segments a
//              partitioned network retransmits later)
//   cut        reset every connection and refuse new ones (listener closed)
//
// One thread, poll(2). Mode changes and connection counts are printed as
// hakd-sim event lines.
#ifndef HAKD_TESTS_FAULT_FAULT_PROXY_H_
#define HAKD_TESTS_FAULT_FAULT_PROXY_H_

#include <string>

namespace hakd::sim {

struct ProxyOptions {
  // Loopback port to listen on; 0 picks one (kept across cuts).
  int listen_port = 0;
  // Where to forward: IPv4 "a.b.c.d:port".
  std::string target;
  // File holding the mode (first line); missing or unreadable keeps the
  // current mode. The mode starts as pass.
  std::string control_file;
  // When set, the bound port is written here.
  std::string port_file;
};

// Runs until killed. Returns 2 when the options are unusable, 1 when the
// port cannot be bound at start.
int RunFaultProxy(const ProxyOptions& options);

}  // namespace hakd::sim

#endif  // HAKD_TESTS_FAULT_FAULT_PROXY_H_
