// bruce/status.h — the error value every bruce call returns.
//
// A Status is either OK or carries a code, a one-line message, and where it
// applies the errno of a failed system call or the page a corruption was found
// in. Result<T> is a Status or a T. No exception crosses the public API.
//
// Thread safety: Status and Result are plain values; distinct objects may be
// used from distinct threads freely.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace bruce {

enum class Code : uint8_t {
  kOk = 0,
  kNotFound,
  kExists,
  kCorruption,
  kIOError,
  kNoSpace,
  kInvalidArgument,
  kReadOnly,
  kBusy,
  kNotSupported,
  // An optimistic write transaction read something a commit after its
  // start changed (WriteMode::kOptimistic): nothing was written; retry.
  kConflict,
};

const char* CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;

  static Status OK() { return Status(); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status Exists(std::string msg) { return Status(Code::kExists, std::move(msg)); }
  static Status InvalidArgument(std::string msg) {
    return Status(Code::kInvalidArgument, std::move(msg));
  }
  static Status ReadOnly(std::string msg) { return Status(Code::kReadOnly, std::move(msg)); }
  static Status Busy(std::string msg) { return Status(Code::kBusy, std::move(msg)); }
  static Status NotSupported(std::string msg) {
    return Status(Code::kNotSupported, std::move(msg));
  }
  static Status Conflict(std::string msg) { return Status(Code::kConflict, std::move(msg)); }
  // Corruption found in the page numbered `page` (kNoPage when not in a page).
  static Status Corruption(std::string msg, uint64_t page = kNoPage);
  // A failed system call; `err` is its errno. ENOSPC and EDQUOT map to kNoSpace.
  static Status IOError(std::string msg, int err);
  // A Status rebuilt from its parts (one sent by another process).
  static Status FromParts(Code code, std::string msg, int err = 0, uint64_t page = kNoPage);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsConflict() const { return code_ == Code::kConflict; }
  const std::string& message() const { return msg_; }
  int err() const { return errno_; }
  uint64_t page() const { return page_; }

  // "Corruption: page 17: node hash mismatch" and the like.
  std::string ToString() const;

  static constexpr uint64_t kNoPage = ~uint64_t{0};

 private:
  Status(Code code, std::string msg) : code_(code), msg_(std::move(msg)) {}

  Code code_ = Code::kOk;
  int errno_ = 0;
  uint64_t page_ = kNoPage;
  std::string msg_;
};

// A T, or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}              // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}       // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace bruce

// Propagate a non-OK Status to the caller.
#define BRUCE_RETURN_IF_ERROR(expr)      \
  do {                                   \
    ::bruce::Status _st = (expr);        \
    if (!_st.ok()) return _st;           \
  } while (0)

#define BRUCE_CONCAT_INNER(a, b) a##b
#define BRUCE_CONCAT(a, b) BRUCE_CONCAT_INNER(a, b)
// `BRUCE_ASSIGN_OR_RETURN(auto x, F())`: x = F().value(), or return its Status.
#define BRUCE_ASSIGN_OR_RETURN(lhs, expr) \
  BRUCE_ASSIGN_OR_RETURN_IMPL(BRUCE_CONCAT(_res_, __LINE__), lhs, expr)
#define BRUCE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()
