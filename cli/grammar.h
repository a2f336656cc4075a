// The command line of hakdctl as data: every command, its arguments and the
// flags it accepts. Parsing (args.h) and usage text (usage.h) both read it, so
// the help can never drift from what is accepted.
#ifndef HAKD_CLI_GRAMMAR_H_
#define HAKD_CLI_GRAMMAR_H_

#include "cli/args.h"

namespace hakd::cli {

// The grammar of hakdctl (built once, lives for the process).
const Grammar& HakdctlGrammar();

}  // namespace hakd::cli

#endif  // HAKD_CLI_GRAMMAR_H_
