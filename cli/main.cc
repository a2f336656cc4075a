// hakdctl: the command-line client of the HAKD farm coordinator. Everything
// but wiring the real process (streams, environment, TTY, clock) into
// RunHakdctl lives in hakd_cli_lib.
#include <grpc/support/log.h>
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "cli/latency_client.h"
#include "cli/run.h"
#include "common/time_util.h"

int main(int argc, char** argv) {
  // gRPC's own log lines would break the promise of exactly one error line
  // on stderr; failures reach the user through the call's status instead.
  gpr_set_log_verbosity(GPR_LOG_SEVERITY_ERROR);
  std::ios::sync_with_stdio(false);

  hakd::cli::RunEnvironment env;
  env.out = &std::cout;
  env.err = &std::cerr;
  env.env = hakd::cli::ProcessEnv();
  env.out_is_terminal = isatty(STDOUT_FILENO) == 1;
  env.clock = [] { return hakd::NowUnixMs(); };
  env.connect = [](const hakd::cli::GlobalOptions& options) {
    return hakd::cli::LatencyClient::Create(options);
  };
  return hakd::cli::RunHakdctl(std::vector<std::string>(argv + 1, argv + argc),
                               env);
}
