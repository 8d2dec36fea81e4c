// format/hash.h — the two hashes bruce stores: XXH3-128 for the Merkle hash of
// a node's logical content (carried in its parent's pointer) and XXH3-64 for
// physical checksums of pages and meta slots.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bruce::format {

struct Hash128 {
  uint64_t lo = 0;
  uint64_t hi = 0;
  bool operator==(const Hash128&) const = default;
  bool IsZero() const { return lo == 0 && hi == 0; }
};

constexpr size_t kHashBytes = 16;

Hash128 HashLogical(std::string_view bytes);
uint64_t Checksum64(std::string_view bytes);

// Stored as 16 bytes: lo then hi, each little-endian.
void StoreHash(char* p, const Hash128& h);
Hash128 LoadHash(const char* p);
// 32 lowercase hex digits, most significant first (hi then lo).
std::string HashHex(const Hash128& h);

}  // namespace bruce::format
