// A TCP port that is free now, for servers that must announce their port
// before they listen (a data-parallel group's TCPStore).
#ifndef HAKD_COMMON_FREE_PORT_H_
#define HAKD_COMMON_FREE_PORT_H_

namespace hakd {

// A port the kernel picks as free on every interface (`loopback_only`:
// on 127.0.0.1), released again at once; 0 when none can be had. Another
// process may take it before the caller binds it, so a caller must handle
// a failed bind (hakd-worker: the rendezvous fails and the task is retried
// with a fresh group).
int PickFreeTcpPort(bool loopback_only = false);

}  // namespace hakd

#endif  // HAKD_COMMON_FREE_PORT_H_
