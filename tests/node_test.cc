// format/: node and meta page layouts round-trip, and damage is detected.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "format/coding.h"
#include "format/meta.h"
#include "format/node.h"

namespace bruce::format {
namespace {

std::unique_ptr<Node> SampleLeaf() {
  auto n = std::make_unique<Node>(0);
  n->InsertLeaf(0, "apple", "red", ValueType::kInline);
  n->InsertLeaf(1, "banana", std::string(300, 'y'), ValueType::kInline);
  n->InsertLeaf(2, std::string("c\0\xff", 3), "", ValueType::kInline);
  return n;
}

std::unique_ptr<Node> SampleBranch(uint64_t base_page) {
  auto n = std::make_unique<Node>(1);
  for (int i = 0; i < 3; i++) {
    BlockPtr p;
    p.page = base_page + i;
    p.stored_len = 4000 + i;
    p.birth = 7 + i;
    p.hash = Hash128{uint64_t(i) * 11, uint64_t(i) * 13};
    p.count = 100 + i;
    n->InsertBranch(i, i == 0 ? "" : "sep" + std::to_string(i), p);
  }
  return n;
}

TEST(Node, LeafRoundTrip) {
  auto n = SampleLeaf();
  std::string buf;
  Hash128 h = n->Encode(&buf);
  auto d = Node::Decode(buf, 5);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_EQ((*d)->size(), 3u);
  EXPECT_EQ((*d)->key(1), "banana");
  EXPECT_EQ((*d)->value(1), std::string(300, 'y'));
  EXPECT_EQ((*d)->hash(), h);
  EXPECT_LE(buf.size(), n->EncodedSizeBound());
  EXPECT_LE(buf.size(), n->TightSize());
}

TEST(Node, BranchRoundTripAndCounts) {
  auto n = SampleBranch(10);
  std::string buf;
  n->Encode(&buf);
  auto d = Node::Decode(buf, 5);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ((*d)->Count(), 303u);
  EXPECT_EQ((*d)->child(2).page, 12u);
  EXPECT_EQ((*d)->child(2).birth, 9u);
  EXPECT_EQ((*d)->child(1).hash, (Hash128{11, 13}));
  EXPECT_EQ((*d)->ChildIndex("a"), 0u);
  EXPECT_EQ((*d)->ChildIndex("sep1"), 1u);
  EXPECT_EQ((*d)->ChildIndex("zzz"), 2u);
}

// The Merkle hash covers content, not where children are stored.
TEST(Node, HashIgnoresLocations) {
  std::string a, b;
  Hash128 ha = SampleBranch(10)->Encode(&a);
  Hash128 hb = SampleBranch(900)->Encode(&b);
  EXPECT_EQ(ha, hb);
  EXPECT_NE(a, b);
  auto changed = SampleBranch(10);
  changed->child(1).count++;
  std::string c;
  EXPECT_NE(changed->Encode(&c), ha);
}

// Every single-bit flip of an encoded node is caught by its checksum.
TEST(Node, EveryBitFlipIsDetected) {
  std::string buf;
  SampleBranch(10)->Encode(&buf);
  for (size_t i = 0; i < buf.size() * 8; i++) {
    std::string bad = buf;
    bad[i / 8] = static_cast<char>(bad[i / 8] ^ (1 << (i % 8)));
    auto d = Node::Decode(bad, 3);
    ASSERT_FALSE(d.ok()) << "bit " << i;
    EXPECT_TRUE(d.status().IsCorruption());
    EXPECT_EQ(d.status().page(), 3u);
  }
}

TEST(Node, TruncatedNodesAreRejected) {
  std::string buf;
  SampleLeaf()->Encode(&buf);
  for (size_t n = 0; n < buf.size(); n++) {
    EXPECT_FALSE(Node::Decode(buf.substr(0, n), 1).ok());
  }
}

TEST(Node, PtrValueRoundTrip) {
  PtrValue d;
  d.aux = kDirect | 12345;
  d.ptr.page = 77;
  d.ptr.stored_len = 4096;
  d.ptr.birth = 12;
  d.ptr.hash = Hash128{1, 2};
  d.ptr.count = 1000;
  std::string v = EncodePtrValue(d);
  ASSERT_EQ(v.size(), kPtrValueSize);
  PtrValue e;
  ASSERT_TRUE(DecodePtrValue(v, &e));
  EXPECT_EQ(e.aux, kDirect | 12345);
  EXPECT_EQ(e.ptr.page, 77u);
  EXPECT_EQ(e.ptr.count, 1000u);
  EXPECT_EQ(e.ptr.hash, d.ptr.hash);
  EXPECT_FALSE(DecodePtrValue(v.substr(1), &e));
  // In a leaf, the pointer's location stays out of the hash.
  Node a(0), b(0);
  a.InsertLeaf(0, "big", v, ValueType::kExtents);
  d.ptr.page = 99;
  b.InsertLeaf(0, "big", EncodePtrValue(d), ValueType::kExtents);
  std::string ea, eb;
  EXPECT_EQ(a.Encode(&ea), b.Encode(&eb));
  auto back = Node::Decode(eb, 1);
  ASSERT_TRUE(back.ok());
  ASSERT_TRUE(DecodePtrValue((*back)->value(0), &e));
  EXPECT_EQ(e.ptr.page, 99u);
  EXPECT_EQ((*back)->vtype(0), ValueType::kExtents);
}

// Keys that share a prefix store it once; decoding gives back whole keys.
TEST(Node, SharedKeyPrefixIsStoredOnce) {
  Node n(0);
  std::string prefix(200, 'p');
  for (int i = 0; i < 10; i++) n.InsertLeaf(i, prefix + std::to_string(i), "v", ValueType::kInline);
  std::string buf;
  n.Encode(&buf);
  EXPECT_LT(buf.size(), 2 * prefix.size());  // not 10 copies
  EXPECT_LE(buf.size(), n.TightSize());
  auto d = Node::Decode(buf, 1);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  for (int i = 0; i < 10; i++) EXPECT_EQ((*d)->key(i), prefix + std::to_string(i));
  // A branch's first separator (empty) stays out of the prefix.
  auto b = SampleBranch(3);
  std::string bb;
  b->Encode(&bb);
  auto db = Node::Decode(bb, 1);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ((*db)->key(0), "");
  EXPECT_EQ((*db)->key(1), "sep1");
  EXPECT_EQ((*db)->key(2), "sep2");
}

// A frozen node searches by the 8 key bytes after its shared prefix and
// reads keys only among equal heads; it must answer exactly as a plain
// search does, for keys in the node and around it: keys that are prefixes of
// others, that hold zero bytes (a head pads with zeros), that differ only
// past the head, and probes outside the shared prefix on either side; both
// when frozen by copying (a decoded node) and by adopting (a changed copy).
TEST(Node, FrozenSearchAgreesWithAModel) {
  uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  auto pick = [&](std::string_view chars, size_t n) {
    std::string s;
    for (size_t i = 0; i < n; i++) s.push_back(chars[rng() % chars.size()]);
    return s;
  };
  const std::string alphabet("ab\0\xff", 4);
  for (int round = 0; round < 400; round++) {
    std::string prefix = pick(alphabet, rng() % 12);
    std::set<std::string> keys;
    size_t n = 1 + rng() % 60;
    while (keys.size() < n) {
      // Short tails (ties in the head's padding) and long ones (ties past it).
      std::string tail = rng() % 2 ? pick(alphabet, rng() % 4) : pick(alphabet, 6) + pick(alphabet, rng() % 8);
      keys.insert(prefix + tail);
    }
    std::vector<std::string> sorted(keys.begin(), keys.end());
    bool leaf = rng() % 2;
    Node plain(leaf ? 0 : 1);
    if (!leaf) sorted.insert(sorted.begin(), "");  // a branch's first separator
    if (!leaf && sorted.size() > 1 && sorted[1].empty()) sorted.erase(sorted.begin() + 1);
    for (size_t i = 0; i < sorted.size(); i++) {
      if (leaf) {
        plain.InsertLeaf(i, sorted[i], "v", ValueType::kInline);
      } else {
        BlockPtr p;
        p.page = 10 + i;
        p.count = 1;
        plain.InsertBranch(i, sorted[i], p);
      }
    }
    std::string buf;
    plain.Encode(&buf);
    auto decoded = Node::Decode(buf, 1);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    // Frozen both ways: copied into one block (a decoded node) and adopted
    // (a copy a transaction made: its entries stay where they are).
    std::shared_ptr<const Node> copied = Node::Freeze(std::move(decoded).value());
    std::shared_ptr<const Node> adopted = Node::Freeze(plain.Clone());
    for (const auto& f : {copied, adopted}) {
      ASSERT_EQ(f->size(), sorted.size());
      for (size_t i = 0; i < sorted.size(); i++) {
        ASSERT_EQ(f->key(i), sorted[i]);
        if (leaf) {
          ASSERT_EQ(f->value(i), "v");
        } else {
          ASSERT_EQ(f->child(i).page, 10 + i);
        }
      }
      // What the cache charges for it covers its entries.
      ASSERT_GE(f->MemoryBytes(), sizeof(Node) + sorted.size() * (sizeof(Node::Slot) + 8));
    }
    // Probes: every key, and each one shortened, lengthened and bumped.
    std::vector<std::string> probes = {"", prefix, std::string(20, '\xff')};
    for (const std::string& k : sorted) {
      probes.push_back(k);
      if (!k.empty()) probes.push_back(k.substr(0, rng() % k.size()));
      probes.push_back(k + pick(alphabet, 1 + rng() % 9));
      std::string bumped = k;
      if (!bumped.empty()) bumped[rng() % bumped.size()] = alphabet[rng() % alphabet.size()];
      probes.push_back(bumped);
    }
    for (const std::string& q : probes) {
      size_t want = static_cast<size_t>(std::lower_bound(sorted.begin(), sorted.end(), q) - sorted.begin());
      if (leaf) {
        bool found_plain, found_copied, found_adopted;
        ASSERT_EQ(plain.LowerBound(q, &found_plain), want);
        ASSERT_EQ(copied->LowerBound(q, &found_copied), want) << "probe of " << q.size() << " bytes";
        ASSERT_EQ(adopted->LowerBound(q, &found_adopted), want) << "probe of " << q.size() << " bytes";
        bool want_found = want < sorted.size() && sorted[want] == q;
        ASSERT_EQ(found_plain, want_found);
        ASSERT_EQ(found_copied, want_found);
        ASSERT_EQ(found_adopted, want_found);
      } else {
        size_t child = static_cast<size_t>(std::upper_bound(sorted.begin() + 1, sorted.end(), q) - sorted.begin()) - 1;
        ASSERT_EQ(plain.ChildIndex(q), child);
        ASSERT_EQ(copied->ChildIndex(q), child) << "probe of " << q.size() << " bytes";
        ASSERT_EQ(adopted->ChildIndex(q), child) << "probe of " << q.size() << " bytes";
      }
    }
  }
}

TEST(Meta, RoundTripAndExactFieldOffsets) {
  Meta m;
  m.page_size = 8192;
  m.txn = 0x1122334455667788ull;
  m.total_pages = 99;
  m.catalog.page = 5;
  m.catalog.count = 2;
  m.log_head = 6;
  m.log_pages = 1;
  std::string page = EncodeMeta(m);
  ASSERT_EQ(page.size(), 8192u);
  EXPECT_EQ(page.substr(0, 8), "bruceDB\n");
  EXPECT_EQ(LoadU32(page.data() + 8), kFormatVersion);
  EXPECT_EQ(LoadU32(page.data() + 12), 8192u);
  EXPECT_EQ(LoadU64(page.data() + 16), m.txn);
  EXPECT_EQ(LoadU64(page.data() + 40), 5u);
  EXPECT_EQ(LoadU64(page.data() + 88), 6u);
  auto d = DecodeMeta(page, 0);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->txn, m.txn);
  EXPECT_EQ(d->total_pages, 99u);
  for (size_t bit = 0; bit < kMetaSize * 8; bit++) {
    std::string bad = page;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    ASSERT_FALSE(DecodeMeta(bad, 0).ok()) << bit;
  }
}

TEST(Meta, Version2FieldsVersion1SlotsAndNewerVersions) {
  Meta m;
  m.page_size = 4096;
  m.txn = 77;
  m.total_pages = 10;
  m.base = 70;
  m.group_pages = 12;
  m.flags = kMetaVerify;
  std::string page = EncodeMeta(m);
  EXPECT_EQ(LoadU64(page.data() + 128), 70u);
  EXPECT_EQ(LoadU64(page.data() + 136), 12u);
  EXPECT_EQ(LoadU32(page.data() + 144), kMetaVerify);
  auto d = DecodeMeta(page, 1);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->base, 70u);
  EXPECT_EQ(d->group_pages, 12u);
  EXPECT_EQ(d->flags, kMetaVerify);
  // A version 1 slot: 128 bytes under a checksum at 128, nothing after.
  std::string v1 = page;
  StoreU32(v1.data() + 8, 1);
  std::fill(v1.begin() + 128, v1.end(), '\0');
  StoreU64(v1.data() + 128, Checksum64(std::string_view(v1.data(), 128)));
  auto old = DecodeMeta(v1, 0);
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(old->txn, 77u);
  EXPECT_EQ(old->flags, 0u);
  EXPECT_EQ(old->base, 0u);
  // A newer version whose checksum verifies is refused as such.
  std::string v3 = page;
  StoreU32(v3.data() + 8, kFormatVersion + 1);
  StoreU64(v3.data() + 152, Checksum64(std::string_view(v3.data(), 152)));
  EXPECT_EQ(DecodeMeta(v3, 0).status().code(), bruce::Code::kNotSupported);
  // A base at or after its own commit is damage.
  m.base = 77;
  EXPECT_FALSE(DecodeMeta(EncodeMeta(m), 0).ok());
}

TEST(Meta, CleanRecordRoundTripsAndAnyFlipSpoilsIt) {
  Meta m;
  m.page_size = 4096;
  m.txn = 5;
  m.time_ns = 123456789;
  m.catalog.hash = HashLogical("root");
  char rec[kCleanSize];
  EncodeClean(m, rec);
  CleanRecord c;
  ASSERT_TRUE(DecodeClean(rec, &c));
  EXPECT_TRUE(CleanNames(c, m));
  Meta other = m;
  other.time_ns++;
  EXPECT_FALSE(CleanNames(c, other));
  for (size_t bit = 0; bit < kCleanSize * 8; bit++) {
    char bad[kCleanSize];
    std::memcpy(bad, rec, kCleanSize);
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    CleanRecord b;
    ASSERT_FALSE(DecodeClean(bad, &b) && CleanNames(b, m)) << bit;
  }
}

}  // namespace
}  // namespace bruce::format
