// Unit tests of brucefs's pure parts: the key <-> name bijection, the
// attribute record's exact bytes, and the inode table's renames.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "attr_record.h"
#include "inode_table.h"
#include "name_codec.h"

namespace brucefs {
namespace {

TEST(NameCodec, PlainNamesAreThemselves) {
  for (std::string s : {"a", "hello world.txt", "50% off", "a%20b", "%2", "x%", "%%", "..."}) {
    EXPECT_EQ(EncodeComponent(s), s);
    EXPECT_EQ(DecodeName(s), std::optional<std::string>(s));
  }
}

TEST(NameCodec, Escapes) {
  EXPECT_EQ(EncodeComponent(""), "%");
  EXPECT_EQ(EncodeComponent("."), "%2E");
  EXPECT_EQ(EncodeComponent(".."), "%2E%2E");
  EXPECT_EQ(EncodeComponent(std::string("a\0b", 3)), "a%00b");
  EXPECT_EQ(EncodeComponent("%"), "%25");
  EXPECT_EQ(EncodeComponent("%2E"), "%252E");
  EXPECT_EQ(EncodeComponent("%2E%2E"), "%252E%2E");
  EXPECT_EQ(EncodeComponent("%00"), "%2500");
  EXPECT_EQ(EncodeComponent("%25"), "%2525");
  EXPECT_EQ(DecodeName("%"), std::optional<std::string>(""));
  EXPECT_EQ(DecodeName("%2E%2E"), std::optional<std::string>(".."));
  EXPECT_EQ(DecodeName("a%00b"), std::optional<std::string>(std::string("a\0b", 3)));
}

TEST(NameCodec, RefusesNonCanonicalAndIllegal) {
  for (std::string s : {"%25x", "a%25", "", ".", "..", "a/b", "%25%"}) {
    EXPECT_FALSE(DecodeName(s).has_value()) << s;
  }
  EXPECT_EQ(DecodeName("%2F"), std::optional<std::string>("%2F"));
}

// Every component round-trips, and every decodable name is canonical.
TEST(NameCodec, RandomRoundTrip) {
  uint32_t seed = std::random_device{}();
  std::mt19937 rng(seed);
  const char alphabet[] = {'%', '0', '2', '5', 'E', '.', '\0', 'a', '/'};
  for (int i = 0; i < 200000; ++i) {
    std::string c;
    int n = rng() % 7;
    for (int j = 0; j < n; ++j) c += alphabet[rng() % sizeof(alphabet)];
    std::string comp = c;
    comp.erase(std::remove(comp.begin(), comp.end(), '/'), comp.end());
    std::string name = EncodeComponent(comp);
    ASSERT_EQ(DecodeName(name), std::optional<std::string>(comp)) << "seed " << seed;
    ASSERT_EQ(name.find('/'), std::string::npos);
    ASSERT_EQ(name.find('\0'), std::string::npos);
    // a random string as a name: if it decodes, it is the encoding
    std::string raw = c;
    raw.erase(std::remove(raw.begin(), raw.end(), '\0'), raw.end());
    auto d = DecodeName(raw);
    if (d) {
      ASSERT_EQ(EncodeComponent(*d), raw) << "seed " << seed;
    }
  }
}

TEST(NameCodec, Paths) {
  EXPECT_EQ(JoinPath("", "a"), "a");
  EXPECT_EQ(JoinPath("a/b", "c"), "a/b/c");
  EXPECT_EQ(ParentPath("a/b/c"), "a/b");
  EXPECT_EQ(ParentPath("a"), "");
  EXPECT_EQ(BaseName("a/b/c"), "c");
}

TEST(AttrRecord, ExactBytes) {
  Attr a;
  a.kind = Kind::kFile;
  a.mode = 0644;
  a.uid = 1000;
  a.gid = 0x01020304;
  a.atime_ns = 1;
  a.mtime_ns = -2;
  a.ctime_ns = 0x0102030405060708;
  a.ino = 0x1122334455;
  a.rdev = 0x0803;
  a.nlink = 3;
  a.SetXattr("user.b", "2");
  a.SetXattr("user.a", "");
  std::string e = EncodeAttr(a);
  const unsigned char want[] = {
      2, 1, 0xa4, 0x01, 0, 0, 0xe8, 0x03, 0, 0, 4, 3, 2, 1,   // version kind mode uid gid
      1, 0, 0, 0, 0, 0, 0, 0,                                 // atime
      0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,         // mtime -2
      8, 7, 6, 5, 4, 3, 2, 1,                                 // ctime
      0x55, 0x44, 0x33, 0x22, 0x11, 0, 0, 0,                  // ino
      3, 8, 0, 0, 0, 0, 0, 0,                                 // rdev
      3, 0, 0, 0,                                             // nlink
      2, 0, 0, 0,                                             // two xattrs, by name
      6, 0, 'u', 's', 'e', 'r', '.', 'a', 0, 0, 0, 0,
      6, 0, 'u', 's', 'e', 'r', '.', 'b', 1, 0, 0, 0, '2'};
  ASSERT_EQ(e, std::string(reinterpret_cast<const char*>(want), sizeof(want)));
  Attr b;
  ASSERT_TRUE(DecodeAttr(e, &b));
  EXPECT_EQ(EncodeAttr(b), e);
  EXPECT_EQ(*b.FindXattr("user.b"), "2");
  for (size_t n = 0; n < e.size(); ++n) EXPECT_FALSE(DecodeAttr(e.substr(0, n), &b)) << n;
  EXPECT_FALSE(DecodeAttr(e + "x", &b));
}

// Stores written before hard links and devices hold version 1 records:
// they still read, as one name, no device, no inode number yet.
TEST(AttrRecord, Version1StillDecodes) {
  const unsigned char v1[] = {
      1, 2, 0xed, 0x01, 0, 0, 0xe8, 0x03, 0, 0, 4, 3, 2, 1,  // a directory, 0755
      1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0,
      1, 0, 0, 0, 6, 0, 'u', 's', 'e', 'r', '.', 'x', 1, 0, 0, 0, 'y'};
  Attr a;
  a.ino = 9;
  a.nlink = 7;
  ASSERT_TRUE(DecodeAttr(std::string(reinterpret_cast<const char*>(v1), sizeof(v1)), &a));
  EXPECT_EQ(a.kind, Kind::kDir);
  EXPECT_EQ(a.mode, 0755u);
  EXPECT_EQ(a.mtime_ns, 2);
  EXPECT_EQ(a.ino, 0u);
  EXPECT_EQ(a.rdev, 0u);
  EXPECT_EQ(a.nlink, 1u);
  EXPECT_EQ(*a.FindXattr("user.x"), "y");
  EXPECT_EQ(EncodeAttr(a)[0], 2);  // rewritten as version 2
}

TEST(InodeTable, StableAndRenamed) {
  InodeTable t;
  uint64_t a = t.Get(0, "a", 1), ab = t.Get(0, "a/b", 1), ab2 = t.Get(0, "a!b", 1);
  EXPECT_EQ(t.Get(0, "a", 0), a);
  EXPECT_NE(t.Get(1, "a", 0), a);  // a snapshot's "a" is another inode
  t.Forget(a, 1);
  EXPECT_EQ(t.Get(0, "a", 0), a);  // kept after the kernel forgets it
  t.Rename(0, "a", "z");
  uint32_t v;
  std::string p;
  ASSERT_TRUE(t.Resolve(ab, &v, &p));
  EXPECT_EQ(p, "z/b");
  ASSERT_TRUE(t.Resolve(ab2, &v, &p));
  EXPECT_EQ(p, "a!b");
  t.Remove(0, "z");
  EXPECT_FALSE(t.Resolve(ab, &v, &p));
  EXPECT_NE(t.Get(0, "z/b", 0), ab);  // numbers are never reused
}

}  // namespace
}  // namespace brucefs
