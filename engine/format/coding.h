// format/coding.h — the one place on-disk integers are encoded and decoded.
//
// Every integer that reaches the disk goes through these helpers:
// little-endian, byte by byte, independent of the host's byte order and
// alignment. Varints are LEB128 (7 bits a byte, low group first, at most 10
// bytes for 64 bits) and decoding is bounds-checked: a truncated or overlong
// varint is reported, never read past the end of its buffer.
//
// Thread safety: pure functions and a Reader that is a plain value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace bruce::format {

inline void StoreU16(char* p, uint16_t v) {
  p[0] = static_cast<char>(v);
  p[1] = static_cast<char>(v >> 8);
}
inline void StoreU32(char* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<char>(v >> (8 * i));
}
inline void StoreU64(char* p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = static_cast<char>(v >> (8 * i));
}
inline uint16_t LoadU16(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>(b[0] | (b[1] << 8));
}
inline uint32_t LoadU32(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = (v << 8) | b[i];
  return v;
}
inline uint64_t LoadU64(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | b[i];
  return v;
}

constexpr size_t kMaxVarint64 = 10;

inline size_t VarintLength(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}
// Writes v at p (room for kMaxVarint64 bytes); returns the bytes written.
inline size_t EncodeVarint(char* p, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  p[n++] = static_cast<char>(v);
  return n;
}

// Appending encoders for building a buffer.
inline void PutU8(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }
inline void PutU16(std::string* out, uint16_t v) {
  char b[2];
  StoreU16(b, v);
  out->append(b, 2);
}
inline void PutU32(std::string* out, uint32_t v) {
  char b[4];
  StoreU32(b, v);
  out->append(b, 4);
}
inline void PutU64(std::string* out, uint64_t v) {
  char b[8];
  StoreU64(b, v);
  out->append(b, 8);
}
inline void PutVarint(std::string* out, uint64_t v) {
  char b[kMaxVarint64];
  out->append(b, EncodeVarint(b, v));
}
// A varint length followed by the bytes.
inline void PutBytes(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

// Writes into a buffer the caller has sized for the largest encoding (no
// bounds checks: the caller owns that bound); used where encoding is hot.
class Writer {
 public:
  explicit Writer(char* p) : start_(p), p_(p) {}
  size_t size() const { return static_cast<size_t>(p_ - start_); }
  void U8(uint8_t v) { *p_++ = static_cast<char>(v); }
  void U16(uint16_t v) {
    StoreU16(p_, v);
    p_ += 2;
  }
  void U32(uint32_t v) {
    StoreU32(p_, v);
    p_ += 4;
  }
  void U64(uint64_t v) {
    StoreU64(p_, v);
    p_ += 8;
  }
  void Varint(uint64_t v) { p_ += EncodeVarint(p_, v); }
  void Raw(std::string_view s) {
    if (!s.empty()) std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void LengthPrefixed(std::string_view s) {
    Varint(s.size());
    Raw(s);
  }

 private:
  char* start_;
  char* p_;
};

// A bounds-checked cursor over an encoded buffer. Every getter returns false
// (and leaves the reader failed) instead of reading past the end.
class Reader {
 public:
  Reader(const char* p, size_t n) : p_(p), end_(p + n) {}
  explicit Reader(std::string_view s) : Reader(s.data(), s.size()) {}

  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  const char* pos() const { return p_; }
  bool ok() const { return ok_; }

  bool U8(uint8_t* v) {
    if (!Need(1)) return false;
    *v = static_cast<uint8_t>(*p_++);
    return true;
  }
  bool U16(uint16_t* v) {
    if (!Need(2)) return false;
    *v = LoadU16(p_);
    p_ += 2;
    return true;
  }
  bool U32(uint32_t* v) {
    if (!Need(4)) return false;
    *v = LoadU32(p_);
    p_ += 4;
    return true;
  }
  bool U64(uint64_t* v) {
    if (!Need(8)) return false;
    *v = LoadU64(p_);
    p_ += 8;
    return true;
  }
  bool Varint(uint64_t* v) {
    uint64_t result = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      if (!Need(1)) return false;
      uint8_t byte = static_cast<uint8_t>(*p_++);
      if (shift == 63 && byte > 1) return Fail();  // overflows 64 bits
      result |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        *v = result;
        return true;
      }
    }
    return Fail();
  }
  bool Varint32(uint32_t* v) {
    uint64_t x;
    if (!Varint(&x)) return false;
    if (x > UINT32_MAX) return Fail();
    *v = static_cast<uint32_t>(x);
    return true;
  }
  bool Bytes(size_t n, std::string_view* out) {
    if (!Need(n)) return false;
    *out = std::string_view(p_, n);
    p_ += n;
    return true;
  }
  // A varint length followed by that many bytes.
  bool LengthPrefixed(std::string_view* out) {
    uint64_t n;
    return Varint(&n) && Bytes(n, out);
  }
  bool Skip(size_t n) {
    if (!Need(n)) return false;
    p_ += n;
    return true;
  }

 private:
  bool Need(size_t n) {
    if (!ok_ || remaining() < n) return Fail();
    return true;
  }
  bool Fail() {
    ok_ = false;
    return false;
  }

  const char* p_;
  const char* end_;
  bool ok_ = true;
};

}  // namespace bruce::format
