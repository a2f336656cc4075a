// Lets the processes accept hyphenated flags (--auth-file) while defining
// them with Abseil, whose flag names cannot contain '-'.
#ifndef HAKD_COMMON_FLAG_NAMES_H_
#define HAKD_COMMON_FLAG_NAMES_H_

#include <string>
#include <vector>

namespace hakd {

// Holds argv with every "--flag-name[=value]" rewritten as
// "--flag_name[=value]"; values and positional arguments are untouched.
class AbslFlagArgs {
 public:
  AbslFlagArgs(int argc, char** argv);
  int argc() const { return static_cast<int>(pointers_.size()) - 1; }
  char** argv() { return pointers_.data(); }

 private:
  std::vector<std::string> storage_;
  std::vector<char*> pointers_;
};

}  // namespace hakd

#endif  // HAKD_COMMON_FLAG_NAMES_H_
