// fs/attr_record.h — a file's attributes as stored in the "attrs" tree.
//
// The value stored under a path in the "attrs" tree (and under "root" in the
// "fsmeta" tree for the root directory), little-endian, byte by byte:
//
//   offset  size  field
//   0       1     version (2)
//   1       1     kind (Kind below; frozen values)
//   2       4     mode: permission bits incl. setuid/setgid/sticky (07777)
//   6       4     uid
//   10      4     gid
//   14      8     atime, ns since the epoch (signed)
//   22      8     mtime
//   30      8     ctime
//   38      8     ino: the inode number, kept across mounts (0: none yet)
//   46      8     rdev: a device's number (0 for other kinds)
//   54      4     nlink: the file's names (1 unless hard-linked)
//   58      4     number of xattrs, then per xattr, sorted by name:
//                   2 name length, name, 4 value length, value
//
// Version 1 records (no ino, rdev, nlink: offset 38 is the xattr count)
// still decode, as ino 0, rdev 0, nlink 1; every record written is
// version 2. A kLink record is a further name of a hard-linked file: only
// its kind and ino mean anything, the file's attributes are in the record
// of its first name (docs/FS.md "Hard links").
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

enum class Kind : uint8_t {
  kNone = 0,
  kFile = 1,
  kDir = 2,
  kSymlink = 3,
  kFifo = 4,
  kSocket = 5,
  kCharDev = 6,
  kBlockDev = 7,
  kLink = 8,  // another name of a hard-linked file
};

// Kinds whose record alone makes the entry (no key in "main"): directories,
// FIFOs, sockets, devices, and the further names of hard-linked files.
bool RecordOnly(Kind k);
// The S_IF* bits of a kind (kLink: none, it is never shown as such), and
// the kind of S_IF* bits (kNone for unknown ones).
uint32_t TypeBits(Kind k);
Kind KindOf(uint32_t mode);

struct Attr {
  Kind kind = Kind::kNone;
  uint32_t mode = 0;  // permission bits only
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t atime_ns = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t ino = 0;
  uint64_t rdev = 0;
  uint32_t nlink = 1;
  std::vector<std::pair<std::string, std::string>> xattrs;  // sorted by name

  // The xattr's value or nullptr.
  const std::string* FindXattr(std::string_view name) const;
  // Inserts or replaces, keeping the order.
  void SetXattr(std::string_view name, std::string_view value);
  bool RemoveXattr(std::string_view name);
};

constexpr uint8_t kAttrVersion = 2;
constexpr size_t kAttrHeaderSize = 62;

std::string EncodeAttr(const Attr& a);
// False when `data` is not a well-formed record.
bool DecodeAttr(std::string_view data, Attr* a);

}  // namespace brucefs
