// Early-return helpers for absl::Status / absl::StatusOr (Debian's Abseil
// 20220623 ships none).
#ifndef HAKD_COMMON_STATUS_MACROS_H_
#define HAKD_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define HAKD_STATUS_CONCAT_INNER(a, b) a##b
#define HAKD_STATUS_CONCAT(a, b) HAKD_STATUS_CONCAT_INNER(a, b)

// Returns the status from the enclosing function when `expr` is not OK.
#define HAKD_RETURN_IF_ERROR(expr)            \
  do {                                        \
    ::absl::Status hakd_status_ = (expr);     \
    if (!hakd_status_.ok()) return hakd_status_; \
  } while (0)

// `lhs` may declare a variable: HAKD_ASSIGN_OR_RETURN(Foo foo, MakeFoo());
#define HAKD_ASSIGN_OR_RETURN(lhs, expr)                                   \
  auto HAKD_STATUS_CONCAT(hakd_statusor_, __LINE__) = (expr);              \
  if (!HAKD_STATUS_CONCAT(hakd_statusor_, __LINE__).ok()) {                \
    return HAKD_STATUS_CONCAT(hakd_statusor_, __LINE__).status();          \
  }                                                                        \
  lhs = std::move(*HAKD_STATUS_CONCAT(hakd_statusor_, __LINE__))

#endif  // HAKD_COMMON_STATUS_MACROS_H_
