// format/meta.h — the two meta pages at the start of the file.
//
// Page 0 and page 1 each hold a meta slot. Each meta write goes to the slot
// that does not hold the newest durable meta, so the two alternate and a
// torn write always leaves the previous one whole. Open reads both and takes
// the newest that verifies. Layout of a slot:
//
//   off  size  field
//     0     8  magic "bruceDB\n"
//     8     4  format version (kFormatVersion)
//    12     4  page size
//    16     8  transaction id
//    24     8  total pages in the store (meta pages included)
//    32     8  commit time, nanoseconds since the Unix epoch
//    40     8  catalog root: page              (BlockPtr of the catalog tree)
//    48     4                stored length
//    52     1                compression
//    53     3                reserved (0)
//    56     8                birth transaction
//    64    16                hash (XXH3-128 of the root node's logical bytes)
//    80     8                count (trees in the catalog)
//    88     8  space log head: page
//    96     8                  checksum of that page
//   104     8                  pages in the space log
//   112     8  free pages
//   120     8  pages on snapshot dead lists
//   128     8  base: the durable transaction this commit group built on
//   136     8  pages the group allocated (nodes, data blocks, space log)
//   144     4  flags (kMetaVerify)
//   148     4  reserved (0)
//   152     8  checksum: XXH3-64 of bytes [0, 152)
//
// The rest of the page is zero. Version 1 slots end at byte 136, with the
// checksum of [0, 128) at 128 and no base, pages or flags; they still
// decode (as flags 0), and the next commit writes version 2.
//
// Thread safety: pure functions over values.
#pragma once

#include <cstdint>
#include <string>

#include "bruce/status.h"
#include "format/node.h"

namespace bruce::format {

constexpr uint32_t kFormatVersion = 2;
constexpr char kMagic[8] = {'b', 'r', 'u', 'c', 'e', 'D', 'B', '\n'};
constexpr size_t kMetaSize = 160;
constexpr uint32_t kMinPageSize = 4096;
constexpr uint32_t kMaxPageSize = 65536;
constexpr uint64_t kMetaPages = 2;
// The meta page and the group's pages were synced together (one fdatasync):
// open uses this meta only when every node and data block born after `base`
// that it reaches verifies, else the previous one.
constexpr uint32_t kMetaVerify = 1;

struct Meta {
  uint32_t version = kFormatVersion;
  uint32_t page_size = 0;
  uint64_t txn = 0;
  uint64_t total_pages = 0;
  uint64_t time_ns = 0;
  BlockPtr catalog;
  uint64_t log_head = 0;
  uint64_t log_head_checksum = 0;
  uint64_t log_pages = 0;
  uint64_t free_pages = 0;
  uint64_t dead_pages = 0;
  uint64_t base = 0;
  uint64_t group_pages = 0;
  uint32_t flags = 0;
  uint64_t slot = 0;  // where it was read from (not stored)
};

// A full page: the slot, then zeros.
std::string EncodeMeta(const Meta& m);
// A clean close. Once a store's last commit is durable, closing it writes
// into the page of the other slot (the previous commit's, which keeps its
// first kMetaSize bytes as they were) at byte kCleanOffset:
//
//   off  size  field
//     0     8  magic "bruceCL\n"
//     8     8  transaction id of the newest meta
//    16     8  its commit time
//    24    16  its catalog root's hash
//    40     8  checksum: XXH3-64 of bytes [0, 40)
//
// A record that names the newest meta exactly says its commit was durable
// when the store was closed: open need not read its group back.
constexpr size_t kCleanOffset = 2048;
constexpr size_t kCleanSize = 48;
struct CleanRecord {
  uint64_t txn = 0;
  uint64_t time_ns = 0;
  Hash128 hash;
};
void EncodeClean(const Meta& newest, char* out);
// False when the kCleanSize bytes at p hold no valid record.
bool DecodeClean(const char* p, CleanRecord* out);
bool CleanNames(const CleanRecord& c, const Meta& m);

// Decodes a slot from at least kMetaSize bytes. Corruption when the magic or
// checksum is wrong; NotSupported for a newer format version.
Result<Meta> DecodeMeta(std::string_view bytes, uint64_t slot);

bool ValidPageSize(uint32_t page_size);

}  // namespace bruce::format
