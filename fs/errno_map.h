// fs/errno_map.h — engine Status to the errno a FUSE reply carries.
//
// Thread safety: pure functions.
#pragma once

#include <cerrno>

#include "bruce/status.h"

namespace brucefs {

// Logs errors a program cannot expect (corruption, I/O) and maps a Status
// to an errno: NotFound ENOENT, Exists EEXIST, Corruption EIO, IOError its
// errno (EIO if none), NoSpace ENOSPC, InvalidArgument EINVAL, ReadOnly
// EROFS, Busy EBUSY, NotSupported EOPNOTSUPP.
int ToErrno(const bruce::Status& s);

// Nanoseconds since the epoch, now.
int64_t NowNs();

}  // namespace brucefs

// Return the errno of a non-OK Status from a do_<op>() method.
#define FS_TRY(expr)                                     \
  do {                                                   \
    ::bruce::Status _fs_st = (expr);                     \
    if (!_fs_st.ok()) return ::brucefs::ToErrno(_fs_st); \
  } while (0)

// `FS_ASSIGN(auto x, F())`: x = F().value(), or return its errno.
#define FS_ASSIGN(lhs, expr) FS_ASSIGN_IMPL(BRUCE_CONCAT(_fs_res_, __LINE__), lhs, expr)
#define FS_ASSIGN_IMPL(tmp, lhs, expr)                          \
  auto tmp = (expr);                                            \
  if (!tmp.ok()) return ::brucefs::ToErrno(tmp.status());       \
  lhs = std::move(tmp).value()
