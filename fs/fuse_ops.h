// fs/fuse_ops.h — the libfuse low-level operation table for brucefs.
//
// Each handler calls one BruceFs method (the session's userdata) and sends
// exactly one reply: the result, or fuse_reply_err with the errno.
//
// Thread safety: the table is immutable; handlers run on any session thread.
#pragma once

#include "brucefs.h"

namespace brucefs {

const fuse_lowlevel_ops* Operations();

}  // namespace brucefs
