#include "format/bloom.h"

#include <xxhash.h>

#include <algorithm>
#include <cmath>

namespace bruce::format {
namespace {

// The k probe positions of key among m bits, passed to f in turn; f returns
// false to stop early.
template <typename F>
bool Probe(std::string_view key, uint32_t k, uint64_t m, F f) {
  uint64_t a = XXH3_64bits_withSeed(key.data(), key.size(), kFilterSeed);
  uint64_t b = ((a >> 32) | (a << 32)) | 1;
  for (uint32_t i = 0; i < k; i++) {
    if (!f(a % m)) return false;
    a += b;
  }
  return true;
}

uint32_t ProbesFor(uint32_t bits_per_key) {
  // k = bits per key * ln 2 minimizes the false-positive rate.
  auto k = static_cast<uint32_t>(std::lround(bits_per_key * 0.69));
  return std::clamp<uint32_t>(k, 1, kMaxProbes);
}

}  // namespace

size_t FilterBytes(size_t n, uint32_t bits_per_key) {
  size_t bits = std::max<size_t>(64, n * bits_per_key);
  return 1 + (bits + 7) / 8;
}

FilterBuilder::FilterBuilder(size_t n, uint32_t bits_per_key)
    : out_(FilterBytes(n, bits_per_key), '\0') {
  out_[0] = static_cast<char>(ProbesFor(bits_per_key));
}

void FilterBuilder::Add(std::string_view key) {
  auto* bits = reinterpret_cast<unsigned char*>(out_.data() + 1);
  uint64_t m = 8 * (out_.size() - 1);
  Probe(key, static_cast<uint8_t>(out_[0]), m, [bits](uint64_t j) {
    bits[j / 8] |= static_cast<unsigned char>(1u << (j % 8));
    return true;
  });
}

bool FilterWellFormed(std::string_view filter) {
  if (filter.empty()) return true;
  auto k = static_cast<uint8_t>(filter[0]);
  return filter.size() >= 2 && k >= 1 && k <= kMaxProbes;
}

bool FilterMayContain(std::string_view filter, std::string_view key) {
  if (filter.empty() || !FilterWellFormed(filter)) return true;
  const auto* bits = reinterpret_cast<const unsigned char*>(filter.data() + 1);
  uint64_t m = 8 * (filter.size() - 1);
  return Probe(key, static_cast<uint8_t>(filter[0]), m,
               [bits](uint64_t j) { return (bits[j / 8] >> (j % 8)) & 1; });
}

}  // namespace bruce::format
