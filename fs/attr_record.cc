#include "attr_record.h"

#include <sys/stat.h>

#include <algorithm>

namespace brucefs {
namespace {

void PutU16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v & 0xff));
  out->push_back(static_cast<char>(v >> 8));
}
void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Reads little-endian integers from a bounded buffer; every read checks it.
class Reader {
 public:
  explicit Reader(std::string_view d) : d_(d) {}
  bool U8(uint8_t* v) { return Uint(1, v); }
  bool U16(uint16_t* v) { return Uint(2, v); }
  bool U32(uint32_t* v) { return Uint(4, v); }
  bool U64(uint64_t* v) { return Uint(8, v); }
  bool Bytes(size_t n, std::string* out) {
    if (d_.size() - pos_ < n) return false;
    out->assign(d_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  bool done() const { return pos_ == d_.size(); }

 private:
  template <typename T>
  bool Uint(size_t n, T* v) {
    if (d_.size() - pos_ < n) return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; ++i) x |= uint64_t{static_cast<uint8_t>(d_[pos_ + i])} << (8 * i);
    pos_ += n;
    *v = static_cast<T>(x);
    return true;
  }
  std::string_view d_;
  size_t pos_ = 0;
};

auto FindPos(std::vector<std::pair<std::string, std::string>>& v, std::string_view name) {
  return std::lower_bound(v.begin(), v.end(), name,
                          [](const auto& p, std::string_view n) { return p.first < n; });
}

}  // namespace

bool RecordOnly(Kind k) {
  return k != Kind::kNone && k != Kind::kFile && k != Kind::kSymlink;
}

uint32_t TypeBits(Kind k) {
  switch (k) {
    case Kind::kFile: return S_IFREG;
    case Kind::kDir: return S_IFDIR;
    case Kind::kSymlink: return S_IFLNK;
    case Kind::kFifo: return S_IFIFO;
    case Kind::kSocket: return S_IFSOCK;
    case Kind::kCharDev: return S_IFCHR;
    case Kind::kBlockDev: return S_IFBLK;
    case Kind::kNone:
    case Kind::kLink: break;
  }
  return 0;
}

Kind KindOf(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return Kind::kFile;
    case S_IFDIR: return Kind::kDir;
    case S_IFLNK: return Kind::kSymlink;
    case S_IFIFO: return Kind::kFifo;
    case S_IFSOCK: return Kind::kSocket;
    case S_IFCHR: return Kind::kCharDev;
    case S_IFBLK: return Kind::kBlockDev;
    default: return Kind::kNone;
  }
}

const std::string* Attr::FindXattr(std::string_view name) const {
  for (const auto& [n, v] : xattrs) {
    if (n == name) return &v;
  }
  return nullptr;
}

void Attr::SetXattr(std::string_view name, std::string_view value) {
  auto it = FindPos(xattrs, name);
  if (it != xattrs.end() && it->first == name) {
    it->second.assign(value);
  } else {
    xattrs.insert(it, {std::string(name), std::string(value)});
  }
}

bool Attr::RemoveXattr(std::string_view name) {
  auto it = FindPos(xattrs, name);
  if (it == xattrs.end() || it->first != name) return false;
  xattrs.erase(it);
  return true;
}

std::string EncodeAttr(const Attr& a) {
  std::string out;
  out.reserve(kAttrHeaderSize);
  out.push_back(static_cast<char>(kAttrVersion));
  out.push_back(static_cast<char>(a.kind));
  PutU32(&out, a.mode);
  PutU32(&out, a.uid);
  PutU32(&out, a.gid);
  PutU64(&out, static_cast<uint64_t>(a.atime_ns));
  PutU64(&out, static_cast<uint64_t>(a.mtime_ns));
  PutU64(&out, static_cast<uint64_t>(a.ctime_ns));
  PutU64(&out, a.ino);
  PutU64(&out, a.rdev);
  PutU32(&out, a.nlink);
  PutU32(&out, static_cast<uint32_t>(a.xattrs.size()));
  for (const auto& [name, value] : a.xattrs) {
    PutU16(&out, static_cast<uint16_t>(name.size()));
    out += name;
    PutU32(&out, static_cast<uint32_t>(value.size()));
    out += value;
  }
  return out;
}

bool DecodeAttr(std::string_view data, Attr* a) {
  Reader r(data);
  uint8_t version = 0, kind = 0;
  uint64_t at = 0, mt = 0, ct = 0;
  uint32_t n = 0;
  if (!r.U8(&version) || version < 1 || version > kAttrVersion || !r.U8(&kind) || kind > 8) {
    return false;
  }
  if (!r.U32(&a->mode) || !r.U32(&a->uid) || !r.U32(&a->gid)) return false;
  if (!r.U64(&at) || !r.U64(&mt) || !r.U64(&ct)) return false;
  a->ino = 0;
  a->rdev = 0;
  a->nlink = 1;
  if (version >= 2 && (!r.U64(&a->ino) || !r.U64(&a->rdev) || !r.U32(&a->nlink))) return false;
  if (!r.U32(&n)) return false;
  a->kind = static_cast<Kind>(kind);
  a->atime_ns = static_cast<int64_t>(at);
  a->mtime_ns = static_cast<int64_t>(mt);
  a->ctime_ns = static_cast<int64_t>(ct);
  a->xattrs.clear();
  for (uint32_t i = 0; i < n; ++i) {
    uint16_t nl = 0;
    uint32_t vl = 0;
    std::string name, value;
    if (!r.U16(&nl) || !r.Bytes(nl, &name) || !r.U32(&vl) || !r.Bytes(vl, &value)) return false;
    a->xattrs.emplace_back(std::move(name), std::move(value));
  }
  return r.done();
}

}  // namespace brucefs
