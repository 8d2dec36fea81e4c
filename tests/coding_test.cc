// The coding header writes exactly these bytes, whatever the host.
#include "format/coding.h"

#include <gtest/gtest.h>

#include "format/hash.h"

namespace bruce::format {
namespace {

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) s.push_back(static_cast<char>(x));
  return s;
}

TEST(Coding, FixedWidthIsLittleEndian) {
  std::string s;
  PutU16(&s, 0x1234);
  PutU32(&s, 0x89abcdef);
  PutU64(&s, 0x0102030405060708ull);
  EXPECT_EQ(s, Bytes({0x34, 0x12, 0xef, 0xcd, 0xab, 0x89, 8, 7, 6, 5, 4, 3, 2, 1}));
  EXPECT_EQ(LoadU16(s.data()), 0x1234);
  EXPECT_EQ(LoadU32(s.data() + 2), 0x89abcdefu);
  EXPECT_EQ(LoadU64(s.data() + 6), 0x0102030405060708ull);
}

TEST(Coding, VarintBytes) {
  struct Case {
    uint64_t v;
    std::string bytes;
  } cases[] = {
      {0, Bytes({0})},
      {1, Bytes({1})},
      {127, Bytes({0x7f})},
      {128, Bytes({0x80, 0x01})},
      {300, Bytes({0xac, 0x02})},
      {16384, Bytes({0x80, 0x80, 0x01})},
      {~uint64_t{0}, Bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})},
  };
  for (const Case& c : cases) {
    std::string s;
    PutVarint(&s, c.v);
    EXPECT_EQ(s, c.bytes) << c.v;
    EXPECT_EQ(VarintLength(c.v), c.bytes.size());
    Reader r(s);
    uint64_t got;
    ASSERT_TRUE(r.Varint(&got));
    EXPECT_EQ(got, c.v);
    EXPECT_EQ(r.remaining(), 0u);
  }
}

TEST(Coding, TruncatedVarintIsRejected) {
  std::string s = Bytes({0x80, 0x80});
  Reader r(s);
  uint64_t v;
  EXPECT_FALSE(r.Varint(&v));
  EXPECT_FALSE(r.ok());
}

TEST(Coding, OverlongVarintIsRejected) {
  // Eleven continuation bytes, and a tenth byte that overflows 64 bits.
  std::string eleven(11, static_cast<char>(0x80));
  Reader a(eleven);
  uint64_t v;
  EXPECT_FALSE(a.Varint(&v));
  std::string overflow = Bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02});
  Reader b(overflow);
  EXPECT_FALSE(b.Varint(&v));
}

TEST(Coding, Varint32RejectsLargeValues) {
  std::string s;
  PutVarint(&s, uint64_t{1} << 32);
  Reader r(s);
  uint32_t v;
  EXPECT_FALSE(r.Varint32(&v));
}

TEST(Coding, ReaderNeverReadsPastTheEnd) {
  std::string s = Bytes({5, 'a', 'b'});  // says 5 bytes, has 2
  Reader r(s);
  std::string_view out;
  EXPECT_FALSE(r.LengthPrefixed(&out));
  Reader r2(s.data(), 1);
  uint16_t x;
  EXPECT_FALSE(r2.U16(&x));
}

TEST(Hash, HexIsBigEndianOfHiThenLo) {
  Hash128 h{0x0011223344556677ull, 0x8899aabbccddeeffull};
  EXPECT_EQ(HashHex(h), "8899aabbccddeeff0011223344556677");
  char buf[16];
  StoreHash(buf, h);
  EXPECT_EQ(std::string(buf, 16), Bytes({0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00, 0xff,
                                         0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88}));
  EXPECT_EQ(LoadHash(buf), h);
}

TEST(Hash, KnownXxh3Values) {
  // Reference values of XXH3 for the empty input (from the xxHash spec's test vectors).
  EXPECT_EQ(Checksum64(""), 0x2D06800538D394C2ull);
  Hash128 e = HashLogical("");
  EXPECT_EQ(e.lo, 0x6001C324468D497Full);
  EXPECT_EQ(e.hi, 0x99AA06D3014798D8ull);
}

}  // namespace
}  // namespace bruce::format
