#include "bruce/status.h"

#include <cerrno>
#include <cstring>

namespace bruce {

const char* CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kNotFound: return "NotFound";
    case Code::kExists: return "Exists";
    case Code::kCorruption: return "Corruption";
    case Code::kIOError: return "IOError";
    case Code::kNoSpace: return "NoSpace";
    case Code::kInvalidArgument: return "InvalidArgument";
    case Code::kReadOnly: return "ReadOnly";
    case Code::kBusy: return "Busy";
    case Code::kNotSupported: return "NotSupported";
    case Code::kConflict: return "Conflict";
  }
  return "Unknown";
}

Status Status::Corruption(std::string msg, uint64_t page) {
  Status s(Code::kCorruption, std::move(msg));
  s.page_ = page;
  return s;
}

Status Status::IOError(std::string msg, int err) {
  Status s(err == ENOSPC || err == EDQUOT ? Code::kNoSpace : Code::kIOError, std::move(msg));
  s.errno_ = err;
  return s;
}

Status Status::FromParts(Code code, std::string msg, int err, uint64_t page) {
  Status s(code, std::move(msg));
  s.errno_ = err;
  s.page_ = page;
  return s;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out = CodeName(code_);
  out += ": ";
  if (page_ != kNoPage) out += "page " + std::to_string(page_) + ": ";
  out += msg_;
  if (errno_ != 0) {
    out += ": ";
    out += std::strerror(errno_);
  }
  return out;
}

}  // namespace bruce
