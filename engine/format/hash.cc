#include "format/hash.h"

#include <xxhash.h>

#include "format/coding.h"

namespace bruce::format {

Hash128 HashLogical(std::string_view bytes) {
  XXH128_hash_t h = XXH3_128bits(bytes.data(), bytes.size());
  return Hash128{h.low64, h.high64};
}

uint64_t Checksum64(std::string_view bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

void StoreHash(char* p, const Hash128& h) {
  StoreU64(p, h.lo);
  StoreU64(p + 8, h.hi);
}

Hash128 LoadHash(const char* p) { return Hash128{LoadU64(p), LoadU64(p + 8)}; }

std::string HashHex(const Hash128& h) {
  static const char* kDigits = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 0; i < 16; i++) {
    uint64_t word = i < 8 ? h.hi : h.lo;
    int shift = 56 - 8 * (i % 8);
    unsigned byte = static_cast<unsigned>((word >> shift) & 0xff);
    out[2 * i] = kDigits[byte >> 4];
    out[2 * i + 1] = kDigits[byte & 15];
  }
  return out;
}

}  // namespace bruce::format
