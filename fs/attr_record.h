// fs/attr_record.h — a file's attributes as stored in the "attrs" tree.
//
// The value stored under a path in the "attrs" tree (and under "root" in the
// "fsmeta" tree for the root directory), little-endian, byte by byte:
//
//   offset  size  field
//   0       1     version (1)
//   1       1     kind (Kind below; frozen values)
//   2       4     mode: permission bits incl. setuid/setgid/sticky (07777)
//   6       4     uid
//   10      4     gid
//   14      8     atime, ns since the epoch (signed)
//   22      8     mtime
//   30      8     ctime
//   38      4     number of xattrs, then per xattr, sorted by name:
//                   2 name length, name, 4 value length, value
//
// A symlink's target is its value in the "main" tree, not part of this.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace brucefs {

enum class Kind : uint8_t { kNone = 0, kFile = 1, kDir = 2, kSymlink = 3 };

struct Attr {
  Kind kind = Kind::kNone;
  uint32_t mode = 0;  // permission bits only
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t atime_ns = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;  // sorted by name

  // The xattr's value or nullptr.
  const std::string* FindXattr(std::string_view name) const;
  // Inserts or replaces, keeping the order.
  void SetXattr(std::string_view name, std::string_view value);
  bool RemoveXattr(std::string_view name);
};

constexpr uint8_t kAttrVersion = 1;
constexpr size_t kAttrHeaderSize = 42;

std::string EncodeAttr(const Attr& a);
// False when `data` is not a well-formed record.
bool DecodeAttr(std::string_view data, Attr* a);

}  // namespace brucefs
