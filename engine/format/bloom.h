// format/bloom.h — the Bloom filter of one leaf's keys, kept in its parent's
// branch entry so that a lookup of an absent key can stop without reading
// the leaf (TreeOptions::bloom_bits_per_key).
//
// A filter is one byte k (the number of probes, 1..kMaxProbes) and then its
// bit array, m = 8 * (size - 1) bits (bit j is bit j % 8 of byte j / 8).
// A key sets the bits (a + i * b) mod m for i in [0, k), where a is the
// XXH3-64 hash of the key with seed kFilterSeed and b is a rotated by 32
// bits, with its low bit set (double hashing: Kirsch and Mitzenmacher).
// An empty filter says nothing (every key may be there).
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace bruce::format {

constexpr uint64_t kFilterSeed = 0x626c6f6f6d;  // "bloom"
constexpr uint32_t kMaxProbes = 30;
// The largest bits per key a tree may ask for.
constexpr uint32_t kMaxBloomBitsPerKey = 32;

// Bytes of the filter of n keys at bits_per_key (> 0): at least 64 bits.
size_t FilterBytes(size_t n, uint32_t bits_per_key);

// Builds filters one key at a time.
class FilterBuilder {
 public:
  // A filter sized for n keys at bits_per_key (> 0).
  FilterBuilder(size_t n, uint32_t bits_per_key);
  void Add(std::string_view key);
  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

// False only when key is surely not among the keys the filter was built
// from. An empty or malformed filter (k out of range, no bits) says true.
bool FilterMayContain(std::string_view filter, std::string_view key);

// Whether `filter` is well formed: empty, or k in [1, kMaxProbes] and at
// least one byte of bits.
bool FilterWellFormed(std::string_view filter);

}  // namespace bruce::format
