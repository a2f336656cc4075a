// SHA-256 (OpenSSL's EVP, which gRPC already brings) for artifact checksums.
#ifndef HAKD_COMMON_SHA256_H_
#define HAKD_COMMON_SHA256_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"

namespace hakd {

// Incremental SHA-256.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(absl::string_view data);
  // The 32-byte digest; the object must not be updated afterwards.
  std::string FinishRaw();
  // The digest as 64 lowercase hex characters.
  std::string FinishHex();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Lowercase hex SHA-256 of `data`.
std::string Sha256Hex(absl::string_view data);

}  // namespace hakd

#endif  // HAKD_COMMON_SHA256_H_
