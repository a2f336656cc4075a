#include "common/flag_names.h"

namespace hakd {

AbslFlagArgs::AbslFlagArgs(int argc, char** argv) {
  storage_.reserve(argc);
  bool only_positional = false;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") only_positional = true;
    if (i > 0 && !only_positional && arg.size() > 2 && arg.compare(0, 2, "--") == 0) {
      const size_t end = arg.find('=');
      for (size_t j = 2; j < arg.size() && j < end; ++j) {
        if (arg[j] == '-') arg[j] = '_';
      }
    }
    storage_.push_back(std::move(arg));
  }
  for (std::string& s : storage_) pointers_.push_back(s.data());
  pointers_.push_back(nullptr);
}

}  // namespace hakd
