// Keys up to kMaxKeySize (64 KiB), longer than a page: a node holding them
// grows into a run of pages, a branch keeps at least two children, and the
// tree stays O(log n) high, in order, and countable, whatever the keys
// share.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "bruce/db.h"
#include "testutil.h"

namespace bruce {
namespace {

using testing::ExpectClean;
using testing::ExpectSameAsModel;

constexpr size_t kBlock = kMaxKeySize / 16;

// Key i of 2^bits: one 4 KiB block per bit of i (high bit first), each an
// "A" block or a "B" block of that level, padded to exactly kMaxKeySize.
// Neighbours in key order share long prefixes, but a run of keys shares only
// the blocks of their common high bits: separators stay long after prefix
// compression, the worst case for a branch.
std::string TrieKey(uint64_t i, int bits, uint64_t seed) {
  std::string k;
  for (int b = bits - 1; b >= 0; b--) {
    bool one = (i >> b) & 1;
    std::mt19937_64 g(seed * 131 + static_cast<uint64_t>(b) * 2 + (one ? 1 : 0));
    std::string block(kBlock, '\0');
    for (char& c : block) c = static_cast<char>('a' + g() % 26);
    block[0] = one ? 'B' : 'A';  // the "B" block sorts after the "A" block
    k += block;
  }
  k.resize(kMaxKeySize, 'z');
  return k;
}

void ExpectLogDepth(Tree* t, size_t n) {
  auto d = t->Depth();
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  // Branches keep at least two children, so depth <= log2(leaves) + 1,
  // with slack for the root and the nodes deletes leave.
  double bound = 2 + 2 * std::log2(static_cast<double>(std::max<size_t>(n, 2)));
  EXPECT_LE(d.value(), bound) << n << " keys";
  std::printf("%zu keys: depth %u\n", n, d.value());
}

void CheckOrderAndRanks(Tree* t, const std::map<std::string, std::string>& m) {
  ExpectSameAsModel(t, m, "long keys");
  uint64_t i = 0;
  for (const auto& [k, v] : m) {
    auto r = t->Rank(k);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r.value(), i);
    auto s = t->Select(i);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_EQ(s->key, k);
    i++;
  }
}

// Tree "t" as committed: check clean, in order, ranked, O(log n) high.
void ExpectCommitted(Db* db, const std::map<std::string, std::string>& m) {
  ExpectClean(db);
  auto r = db->BeginRead();
  auto t = (*r)->OpenTree("t");
  ASSERT_TRUE(t.ok());
  CheckOrderAndRanks(*t, m);
  ExpectLogDepth(*t, m.size());
}

void RunTrie(int zstd_level) {
  uint64_t seed = testing::Seed("LongKeys.Trie");
  auto db = testing::OpenMemoryDb();
  const int bits = 8;
  std::vector<uint64_t> order(uint64_t{1} << bits);
  for (uint64_t i = 0; i < order.size(); i++) order[i] = i;
  std::mt19937_64 g(seed);
  std::shuffle(order.begin(), order.end(), g);
  std::map<std::string, std::string> m;
  {
    auto w = db->BeginWrite();
    ASSERT_TRUE(w.ok());
    TreeOptions o;
    o.compression_level = zstd_level;
    auto t = (*w)->CreateTree("t", o);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    for (uint64_t i : order) {
      std::string k = TrieKey(i, bits, seed), v = std::to_string(i);
      ASSERT_TRUE((*t)->Put(k, v).ok());
      m[k] = v;
    }
    ASSERT_TRUE((*w)->Commit().ok());
  }
  ExpectCommitted(db.get(), m);
  // Delete three quarters in random order: merges and splits of long
  // separators, the tree still in order.
  {
    auto w = db->BeginWrite();
    auto t = (*w)->OpenTree("t");
    ASSERT_TRUE(t.ok());
    for (size_t j = 0; j < order.size() * 3 / 4; j++) {
      std::string k = TrieKey(order[j], bits, seed);
      ASSERT_TRUE((*t)->Delete(k).ok());
      m.erase(k);
    }
    ASSERT_TRUE((*w)->Commit().ok());
  }
  ExpectCommitted(db.get(), m);
}

TEST(LongKeys, TrieOfMaximalKeys) { RunTrie(0); }
TEST(LongKeys, TrieOfMaximalKeysCompressed) { RunTrie(3); }

// The main tree's depth, with keys that defeat prefix compression.
TEST(LongKeys, DepthStaysLogarithmic) {
  uint64_t seed = testing::Seed("LongKeys.Depth");
  auto db = testing::OpenMemoryDb();
  const int bits = 9;
  auto w = db->BeginWrite();
  for (uint64_t i = 0; i < (uint64_t{1} << bits); i++) {
    ASSERT_TRUE((*w)->Main()->Put(TrieKey(i, bits, seed), "v").ok());
  }
  ASSERT_TRUE((*w)->Commit().ok());
  ExpectClean(db.get());
  auto r = db->BeginRead();
  ExpectLogDepth((*r)->Main(), size_t{1} << bits);
}

// Paths as a filesystem makes them: deep directories whose names add up to
// thousands of bytes. Prefix compression keeps such leaves small.
TEST(LongKeys, DeepPathsPackIntoFewPages) {
  auto db = testing::OpenMemoryDb();
  std::string dir;
  for (int d = 0; d < 16; d++) dir += std::string(250, static_cast<char>('a' + d)) + "/";
  std::map<std::string, std::string> m;
  auto w = db->BeginWrite();
  for (int i = 0; i < 2000; i++) {
    std::string k = dir + "file" + std::to_string(i);
    ASSERT_TRUE((*w)->Main()->Put(k, "x").ok());
    m[k] = "x";
  }
  ASSERT_TRUE((*w)->Commit().ok());
  ExpectClean(db.get());
  auto st = db->Stat();
  ASSERT_TRUE(st.ok());
  // 2,000 keys of 4 KiB each: 8 MB of keys, stored in far fewer pages than
  // one per key, as their shared 4,000 bytes are stored once per node.
  EXPECT_LT(st->used_pages, 200u) << st->used_pages;
  auto r = db->BeginRead();
  CheckOrderAndRanks((*r)->Main(), m);
}

TEST(LongKeys, LimitIsExact) {
  auto db = testing::OpenMemoryDb();
  auto w = db->BeginWrite();
  std::string k(kMaxKeySize, 'k');
  EXPECT_TRUE((*w)->Main()->Put(k, "v").ok());
  auto s = (*w)->Main()->Put(k + "k", "v");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.ToString().find("65536"), std::string::npos) << s.ToString();
  ASSERT_TRUE((*w)->Commit().ok());
  auto r = db->BeginRead();
  std::string v;
  ASSERT_TRUE((*r)->Main()->Get(k, &v).ok());
  EXPECT_EQ(v, "v");
}

// A tree with duplicate keys: long keys, each with values enough to spill
// into an overflow chain.
TEST(LongKeys, DupTree) {
  uint64_t seed = testing::Seed("LongKeys.Dup");
  std::mt19937_64 g(seed);
  auto db = testing::OpenMemoryDb();
  std::multimap<std::string, std::string> m;
  auto w = db->BeginWrite();
  TreeOptions o;
  o.dupsort = true;
  auto t = (*w)->CreateTree("d", o);
  ASSERT_TRUE(t.ok());
  for (int i = 0; i < 3000; i++) {
    uint64_t id = g() % 24;
    std::string k = std::string(1000 + id * 2500, static_cast<char>('a' + id % 3)) +
                    std::to_string(id);
    std::string v = "value" + std::to_string(g() % 400);
    bool had = false;
    auto range = m.equal_range(k);
    for (auto it = range.first; it != range.second; ++it) had |= it->second == v;
    ASSERT_TRUE((*t)->Put(k, v).ok());
    if (!had) m.emplace(k, v);
  }
  // A multimap keeps equal keys in insertion order; the tree sorts values.
  std::vector<std::pair<std::string, std::string>> sorted(m.begin(), m.end());
  std::sort(sorted.begin(), sorted.end());
  ASSERT_TRUE((*w)->Commit().ok());
  ExpectClean(db.get());
  auto r = db->BeginRead();
  auto rt = (*r)->OpenTree("d");
  ASSERT_TRUE(rt.ok());
  ExpectSameAsModel(*rt, sorted, "dup tree of long keys");
}

// Trees of long keys replicate: nodes past 4 pages (a leaf of one 64 KiB
// key, a branch of long separators) travel in full and incremental streams.
TEST(LongKeys, SendAndReceive) {
  uint64_t seed = testing::Seed("LongKeys.Send");
  auto src = testing::OpenMemoryDb();
  auto dst = testing::OpenMemoryDb();
  const int bits = 6;
  std::map<std::string, std::string> m;
  auto fill = [&](uint64_t from, uint64_t to, const std::string& v) {
    auto w = src->BeginWrite();
    auto t = (*w)->CreateTree("t", TreeOptions{});
    if (!t.ok()) t = (*w)->OpenTree("t");
    ASSERT_TRUE(t.ok());
    for (uint64_t i = from; i < to; i++) {
      std::string k = TrieKey(i, bits, seed);
      ASSERT_TRUE((*t)->Put(k, v).ok());
      m[k] = v;
    }
    ASSERT_TRUE((*w)->Commit().ok());
  };
  fill(0, 64, "first");
  ASSERT_TRUE(src->CreateSnapshot("a").ok());
  Status st = testing::ReceiveString(dst.get(), testing::SendToString(src.get(), "a", ""));
  ASSERT_TRUE(st.ok()) << st.ToString();
  fill(10, 20, "second");
  ASSERT_TRUE(src->CreateSnapshot("b").ok());
  st = testing::ReceiveString(dst.get(), testing::SendToString(src.get(), "b", "a"));
  ASSERT_TRUE(st.ok()) << st.ToString();
  ExpectCommitted(dst.get(), m);
}

}  // namespace
}  // namespace bruce
