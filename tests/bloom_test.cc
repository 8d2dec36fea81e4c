// Bloom filters (TreeOptions::bloom_bits_per_key): the filter format, its
// place in a branch's encoding, and lookups of absent keys that read no
// leaf, against a model; filters survive commits, reopening, compaction and
// send/receive, and never rule out a key that is there.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <random>
#include <set>

#include "bruce/db.h"
#include "format/bloom.h"
#include "format/coding.h"
#include "format/node.h"
#include "testutil.h"

namespace bruce {
namespace {

using format::FilterBuilder;
using format::FilterMayContain;

std::string RandomKey(std::mt19937_64& rng) {
  std::string k(4 + rng() % 20, '\0');
  for (char& c : k) c = static_cast<char>('a' + rng() % 26);
  return k;
}

// The rate at which a filter of `n` random keys at `bits` a key lets
// `probes` absent random keys through, after checking that it lets every
// key of its own through.
double FalsePositiveRate(uint64_t seed, size_t n, uint32_t bits, size_t probes) {
  std::mt19937_64 rng(seed);
  std::set<std::string> keys;
  while (keys.size() < n) keys.insert(RandomKey(rng));
  FilterBuilder b(keys.size(), bits);
  for (const auto& k : keys) b.Add(k);
  for (const auto& k : keys) {
    EXPECT_TRUE(FilterMayContain(b.bytes(), k)) << "a false negative: " << k;
  }
  size_t passed = 0, asked = 0;
  while (asked < probes) {
    std::string k = RandomKey(rng);
    if (keys.count(k)) continue;
    asked++;
    passed += FilterMayContain(b.bytes(), k) ? 1 : 0;
  }
  return static_cast<double>(passed) / static_cast<double>(asked);
}

TEST(BloomFilter, NoFalseNegativesAndTheRateItPromises) {
  uint64_t seed = testing::Seed("BloomFilter.NoFalseNegativesAndTheRateItPromises");
  // Filters of leaf size (40 keys) are what a tree builds; a large one
  // shows the rate without the small filter's rounding.
  struct Case {
    size_t n;
    uint32_t bits;
    double most;  // theory: about 0.6185^bits; a margin for the sample
  } cases[] = {{40, 10, 0.02}, {40, 5, 0.12}, {40, 16, 0.003}, {20000, 10, 0.015}, {3, 10, 0.02}};
  for (const Case& c : cases) {
    double fp = 0;
    const int kFilters = c.n < 1000 ? 200 : 2;
    for (int f = 0; f < kFilters; f++) fp += FalsePositiveRate(seed + f, c.n, c.bits, 2000);
    fp /= kFilters;
    std::printf("false-positive rate: %zu keys, %u bits a key: %.4f\n", c.n, c.bits, fp);
    EXPECT_LT(fp, c.most) << c.n << " keys, " << c.bits << " bits";
    EXPECT_GT(fp, 0.0) << "a filter that rules everything out is not a filter";
  }
}

TEST(BloomFilter, EmptyOrMalformedSaysMaybe) {
  EXPECT_TRUE(FilterMayContain("", "x"));
  EXPECT_TRUE(FilterMayContain(std::string(1, '\x07'), "x"));          // no bits
  EXPECT_TRUE(FilterMayContain(std::string(9, '\0'), "x"));            // k = 0
  EXPECT_TRUE(FilterMayContain(std::string("\x1f") + std::string(8, '\0'), "x"));  // k = 31
  EXPECT_FALSE(format::FilterWellFormed(std::string(9, '\0')));
  EXPECT_TRUE(format::FilterWellFormed(FilterBuilder(1, 10).bytes()));
  EXPECT_EQ(FilterBuilder(1, 10).bytes().size(), 1u + 8u);  // at least 64 bits
  EXPECT_EQ(FilterBuilder(100, 10).bytes().size(), 1u + 125u);
}

// A level-1 branch of three leaves, clean, each with the filter of its
// keys; its separators share a prefix ("user/"), which Decode rebuilds.
std::unique_ptr<format::Node> BranchWithFilters() {
  auto b = std::make_unique<format::Node>(1);
  format::BlockPtr l, r;
  l.page = 10;
  l.stored_len = 4096;
  l.count = 2;
  l.hash = {1, 2};
  r.page = 11;
  r.stored_len = 4096;
  r.count = 2;
  r.hash = {3, 4};
  format::BlockPtr z = r;
  z.page = 12;
  z.hash = {7, 8};
  b->InsertBranch(0, "", l);
  b->InsertBranch(1, "user/m", r);
  b->InsertBranch(2, "user/t", z);
  FilterBuilder fl(2, 10), fr(2, 10), fz(2, 10);
  fl.Add("user/apple");
  fl.Add("user/kiwi");
  fr.Add("user/melon");
  fr.Add("user/pear");
  fz.Add("user/tomato");
  fz.Add("user/zucchini");
  b->SetFilter(0, fl.bytes());
  b->SetFilter(1, fr.bytes());
  b->SetFilter(2, fz.bytes());
  return b;
}

TEST(BloomFilter, KeptOutsideTheHashAndRoundTrips) {
  auto b = BranchWithFilters();
  std::string with, without;
  format::Hash128 h1 = b->Encode(&with);
  auto plain = BranchWithFilters();
  for (size_t i = 0; i < plain->size(); i++) plain->SetFilter(i, "");
  format::Hash128 h2 = plain->Encode(&without);
  EXPECT_EQ(h1, h2) << "filters must not change the Merkle hash";
  EXPECT_GT(with.size(), without.size());
  // The logical bytes are the same; only the locators differ.
  uint32_t len = format::LoadU32(with.data() + 8);
  EXPECT_EQ(with.substr(0, len), without.substr(0, len));

  auto d = format::Node::Decode(with, 5);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  const format::Node& n = **d;
  for (size_t i = 0; i < 3; i++) {
    EXPECT_EQ(n.filter(i), b->filter(i)) << i;
    EXPECT_FALSE(n.filter(i).empty()) << i;
  }
  EXPECT_EQ(n.key(2), "user/t");
  EXPECT_TRUE(FilterMayContain(n.filter(1), "user/melon"));
  EXPECT_TRUE(FilterMayContain(n.filter(2), "user/zucchini"));
  EXPECT_EQ(n.child(1).page, 11u);
  EXPECT_EQ(n.child(1).comp, format::Compression::kNone);
  // Frozen (as the cache keeps it) and cloned, it still has them.
  auto frozen = format::Node::Freeze(format::Node::Decode(with, 5).value());
  EXPECT_EQ(frozen->filter(1), b->filter(1));
  auto clone = frozen->Clone();
  EXPECT_EQ(clone->filter(0), b->filter(0));
  auto e = format::Node::Decode(without, 5);
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE((*e)->filter(0).empty());
}

TEST(BloomFilter, AFilterDoesNotOutliveItsChild) {
  auto b = BranchWithFilters();
  ASSERT_FALSE(b->filter(1).empty());
  // Another child pointer in the slot (another hash): the filter is gone.
  b->child(1).hash = {5, 6};
  EXPECT_TRUE(b->filter(1).empty());
  // A dirty child has none either.
  b->dirty_kids().resize(b->size());
  b->dirty_kids()[0] = std::make_unique<format::Node>(0);
  EXPECT_TRUE(b->filter(0).empty());
  // Moved to another branch by a split, a filter goes with its entry.
  auto c = BranchWithFilters();
  auto right = std::make_unique<format::Node>(1);
  std::string f1(c->filter(1));
  c->MoveTail(1, right.get());
  EXPECT_EQ(right->filter(0), f1);
  EXPECT_EQ(right->filter(1), BranchWithFilters()->filter(2));
  EXPECT_EQ(c->size(), 1u);
}

TEST(BloomFilter, DecodeRejectsAFilterWhereNoneMayBe) {
  auto b = BranchWithFilters();
  std::string enc;
  b->Encode(&enc);
  // A filter whose probe count is 0, with the checksum made right.
  uint32_t len = format::LoadU32(enc.data() + 8);
  size_t at = enc.find(b->filter(0).substr(0, 4), len);
  ASSERT_NE(at, std::string::npos);
  enc[at] = 0;
  format::StoreU64(enc.data() + enc.size() - 8,
                   format::Checksum64(std::string_view(enc.data(), enc.size() - 8)));
  auto d = format::Node::Decode(enc, 5);
  ASSERT_FALSE(d.ok());
  EXPECT_TRUE(d.status().IsCorruption()) << d.status().ToString();
}

Tree* Create(WriteTxn* w, const std::string& name, uint32_t bits) {
  TreeOptions o;
  o.bloom_bits_per_key = bits;
  auto t = w->CreateTree(name, o);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? t.value() : nullptr;
}

TEST(BloomTree, OptionsAreChecked) {
  auto db = testing::OpenMemoryDb();
  auto w = db->BeginWrite(WriteMode::kExclusive).value();
  TreeOptions o;
  o.bloom_bits_per_key = 33;
  EXPECT_EQ(w->CreateTree("t", o).status().code(), Code::kInvalidArgument);
  o.bloom_bits_per_key = 32;
  EXPECT_TRUE(w->CreateTree("t", o).ok());
  o.dupsort = true;  // filters are for trees of one value a key
  EXPECT_EQ(w->CreateTree("d", o).status().code(), Code::kInvalidArgument);
}

TEST(BloomTree, ATreeSaysTheOptionsItKeeps) {
  // Asked of the tree in any transaction after it was made: its own options
  // (a level of -1 resolved to the store's), whatever is asked later.
  Options opts;
  opts.create_if_missing = true;
  opts.compression_level = 3;
  testing::TempDir dir;
  const std::string path = dir.path() + "/s.bruce";
  {
    auto db = Db::Open(path, opts).value();
    auto w = db->BeginWrite(WriteMode::kExclusive).value();
    ASSERT_NE(Create(w.get(), "f", 12), nullptr);
    TreeOptions d;
    d.dupsort = true;
    d.compression_level = 0;
    ASSERT_TRUE(w->CreateTree("d", d).ok());
    ASSERT_TRUE(w->Commit().ok());
  }
  opts.compression_level = 1;
  auto db = Db::Open(path, opts).value();
  auto check = [](Tree* t, bool dup, int level, uint32_t bits) {
    ASSERT_NE(t, nullptr);
    const TreeOptions o = t->options();
    EXPECT_EQ(o.dupsort, dup) << t->name();
    EXPECT_EQ(o.compression_level, level) << t->name();
    EXPECT_EQ(o.bloom_bits_per_key, bits) << t->name();
    EXPECT_EQ(t->dupsort(), dup) << t->name();
  };
  auto r = db->BeginRead().value();
  check(r->OpenTree("f").value(), false, 3, 12);
  check(r->OpenTree("d").value(), true, 0, 0);
  check(r->Main(), false, 3, 0);
  auto w = db->BeginWrite().value();  // optimistic: its own Tree type
  TreeOptions other;
  other.bloom_bits_per_key = 4;
  check(w->CreateTree("f", other).value(), false, 3, 12);
  check(w->OpenTree("d").value(), true, 0, 0);
  check(Create(w.get(), "n", 8), false, 1, 8);
}

// Random puts and deletes over many commits in a tree with filters and in
// one without: every lookup (Get, MayContain, Delete of an absent key)
// agrees with the model, and a present key is never ruled out.
TEST(BloomTree, LookupsMatchAModel) {
  uint64_t seed = testing::Seed("BloomTree.LookupsMatchAModel");
  std::mt19937_64 rng(seed);
  testing::TempDir dir;
  Options opts;
  opts.create_if_missing = true;
  opts.durability = Durability::kNoSync;
  opts.cache_bytes = 1 << 20;  // small: lookups read from the file
  auto db = Db::Open(dir.File("s.bruce"), opts).value();
  std::map<std::string, std::string> model;
  const uint64_t steps = testing::Steps(40);
  uint64_t ruled_out = 0, absent_asked = 0;
  for (uint64_t step = 0; step < steps; step++) {
    auto w = db->BeginWrite(step % 2 ? WriteMode::kExclusive : WriteMode::kOptimistic).value();
    Tree* t = Create(w.get(), "t", 10);
    ASSERT_NE(t, nullptr);
    for (int i = 0; i < 400; i++) {
      std::string k = "k" + std::to_string(rng() % 20000);
      if (rng() % 5 == 0) {
        Status st = t->Delete(k);
        ASSERT_EQ(st.ok(), model.erase(k) == 1) << k << ": " << st.ToString();
      } else {
        std::string v = std::to_string(rng());
        ASSERT_TRUE(t->Put(k, v).ok());
        model[k] = v;
      }
    }
    ASSERT_TRUE(w->Commit().ok());
    if (step % 10 == 9) {  // and again from the file
      db.reset();
      db = Db::Open(dir.File("s.bruce"), opts).value();
    }
    auto r = db->BeginRead().value();
    Tree* rt = r->OpenTree("t").value();
    for (int i = 0; i < 300; i++) {
      std::string k = "k" + std::to_string(rng() % 20000);
      std::string v;
      Status st = rt->Get(k, &v);
      auto m = model.find(k);
      auto may = rt->MayContain(k);
      ASSERT_TRUE(may.ok());
      if (m == model.end()) {
        ASSERT_TRUE(st.IsNotFound()) << k << ": " << st.ToString();
        absent_asked++;
        ruled_out += may.value() ? 0 : 1;
      } else {
        ASSERT_TRUE(st.ok()) << k << ": " << st.ToString();
        ASSERT_EQ(v, m->second);
        ASSERT_TRUE(may.value()) << "a present key ruled out: " << k;
      }
    }
  }
  {
    auto r = db->BeginRead().value();
    testing::ExpectSameAsModel(r->OpenTree("t").value(), model, "bloom tree");
    for (const auto& [k, v] : model) ASSERT_TRUE(r->OpenTree("t").value()->MayContain(k).value());
  }
  std::printf("absent keys ruled out without reading their leaf: %llu of %llu\n",
              static_cast<unsigned long long>(ruled_out),
              static_cast<unsigned long long>(absent_asked));
  // Near the end most leaves are clean and filtered: most absent keys go.
  EXPECT_GT(ruled_out * 10, absent_asked * 8);
  testing::ExpectClean(db.get());
  // Compaction rewrites nodes; the filters come with them.
  ASSERT_TRUE(db->Compact().ok());
  testing::ExpectClean(db.get());
  auto r = db->BeginRead().value();
  testing::ExpectSameAsModel(r->OpenTree("t").value(), model, "after compaction");
}

// Loads `n` keys "key<i>" (even i only) into tree `name`, with 100-byte
// values that do not compress.
void Load(Db* db, const std::string& name, uint32_t bits, int n) {
  auto w = db->BeginWrite(WriteMode::kExclusive).value();
  Tree* t = Create(w.get(), name, bits);
  std::mt19937_64 rng(n);
  for (int i = 0; i < n; i += 2) {
    char k[32];
    std::snprintf(k, sizeof k, "key%08d", i);
    std::string v(100, '\0');
    for (char& c : v) c = static_cast<char>(rng());
    ASSERT_TRUE(t->Put(k, v).ok());
  }
  ASSERT_TRUE(w->Commit().ok());
}

// Cache misses (nodes read from the file) of lookups of the absent keys
// 1, 81, 161, ... below n (one in 40 of them: a few a leaf, spread over
// every leaf) on a freshly opened store, and checks that each is absent.
// With `del`, the lookups are Deletes in a write transaction.
uint64_t ColdAbsentMisses(const std::string& path, const std::string& tree, int n,
                          bool del = false) {
  Options opts;
  auto db = Db::Open(path, opts).value();
  uint64_t before = db->Stat().value().cache_misses;
  std::unique_ptr<Txn> txn;
  if (del) {
    txn = db->BeginWrite(WriteMode::kExclusive).value();
  } else {
    txn = db->BeginRead().value();
  }
  Tree* t = txn->OpenTree(tree).value();
  for (int i = 1; i < n; i += 80) {
    char k[32];
    std::snprintf(k, sizeof k, "key%08d", i);
    std::string v;
    EXPECT_TRUE((del ? t->Delete(k) : t->Get(k, &v)).IsNotFound()) << k;
  }
  return db->Stat().value().cache_misses - before;
}

TEST(BloomTree, AbsentKeysReadNoLeaf) {
  testing::TempDir dir;
  const int kKeys = 40000;  // 20,000 present, 20,000 absent between them
  {
    Options opts;
    opts.create_if_missing = true;
    opts.durability = Durability::kNoSync;
    auto db = Db::Open(dir.File("s.bruce"), opts).value();
    Load(db.get(), "plain", 0, kKeys);
    Load(db.get(), "bloom", 10, kKeys);
    auto r = db->BeginRead().value();
    EXPECT_EQ(r->OpenTree("plain").value()->Depth().value(), 3u);
    EXPECT_EQ(r->OpenTree("bloom").value()->Depth().value(), 3u);
  }
  const uint64_t plain = ColdAbsentMisses(dir.File("s.bruce"), "plain", kKeys);
  const uint64_t bloom = ColdAbsentMisses(dir.File("s.bruce"), "bloom", kKeys);
  std::printf("nodes read for %d absent keys, cold: %llu without filters, %llu with\n",
              kKeys / 80, static_cast<unsigned long long>(plain),
              static_cast<unsigned long long>(bloom));
  // Without filters most of the ~530 leaves are read; with them the ~12
  // branches and the leaves of about 1% false positives.
  EXPECT_GT(plain, 250u);
  EXPECT_LT(bloom * 4, plain);
  // Deletes of absent keys look them up the same way.
  const uint64_t plain_del = ColdAbsentMisses(dir.File("s.bruce"), "plain", kKeys, true);
  const uint64_t bloom_del = ColdAbsentMisses(dir.File("s.bruce"), "bloom", kKeys, true);
  std::printf("nodes read for %d deletes of absent keys, cold: %llu without filters, %llu with\n",
              kKeys / 80, static_cast<unsigned long long>(plain_del),
              static_cast<unsigned long long>(bloom_del));
  EXPECT_GT(plain_del, 250u);
  EXPECT_LT(bloom_del * 4, plain_del);
  // Compaction rewrites the nodes; the filters come with them.
  {
    Options opts;
    auto db = Db::Open(dir.File("s.bruce"), opts).value();
    ASSERT_TRUE(db->Compact().ok());
    testing::ExpectClean(db.get());
  }
  EXPECT_LT(ColdAbsentMisses(dir.File("s.bruce"), "bloom", kKeys) * 4, plain);
}

// In an optimistic transaction an "absent" answer is an observation that
// must hold at commit; a "maybe" holds in any state.
TEST(BloomTree, AnAbsentAnswerIsAnObservation) {
  auto db = testing::OpenMemoryDb();
  Load(db.get(), "t", 10, 40000);
  // A key absent now that the filters rule out (want false), or let
  // through (want true).
  auto find = [&](bool want) {
    auto r = db->BeginRead().value();
    Tree* t = r->OpenTree("t").value();
    EXPECT_GE(t->Depth().value(), 2u);
    for (int i = 1; i < 40000; i += 2) {
      char k[32];
      std::snprintf(k, sizeof k, "key%08d", i);
      std::string v;
      if (t->MayContain(k).value() == want && t->Get(k, &v).IsNotFound()) return std::string(k);
    }
    return std::string();
  };
  const std::string ruled_out = find(false);
  ASSERT_FALSE(ruled_out.empty());
  auto put_after = [&](const std::string& k) {
    auto w = db->BeginWrite().value();
    ASSERT_TRUE(w->OpenTree("t").value()->Put(k, "now").ok());
    ASSERT_TRUE(w->Commit().ok());
  };
  // "Absent", then another commit adds the key: a conflict.
  auto t1 = db->BeginWrite().value();
  ASSERT_FALSE(t1->OpenTree("t").value()->MayContain(ruled_out).value());
  ASSERT_TRUE(t1->OpenTree("t").value()->Put("seen", "absent").ok());
  put_after(ruled_out);
  EXPECT_TRUE(t1->Commit().IsConflict());
  // "Maybe", then other commits change its leaf until its filter rules
  // it out (the key still absent): a "maybe" holds in any state, so no
  // conflict.
  const std::string let_through = find(true);
  ASSERT_FALSE(let_through.empty()) << "no false positive among 20,000 absent keys";
  auto may = [&](const std::string& k) {
    return db->BeginRead().value()->OpenTree("t").value()->MayContain(k).value();
  };
  auto t2 = db->BeginWrite().value();
  ASSERT_TRUE(t2->OpenTree("t").value()->MayContain(let_through).value());
  ASSERT_TRUE(t2->OpenTree("t").value()->Put("seen", "maybe").ok());
  for (int j = 0; j < 50 && may(let_through); j++) put_after(let_through + "/" + std::to_string(j));
  ASSERT_FALSE(may(let_through));
  EXPECT_TRUE(t2->Commit().ok());
  std::string v;
  ASSERT_TRUE(db->BeginRead().value()->OpenTree("t").value()->Get("seen", &v).ok());
  EXPECT_EQ(v, "maybe");
  EXPECT_TRUE(may(ruled_out));  // present now
}

// A stream carries no filters: the receiver builds them, for the leaves
// sent and (incremental) from the base's for the leaves it keeps.
TEST(BloomTree, ReceivedTreesHaveFilters) {
  testing::TempDir dir;
  Options opts;
  opts.create_if_missing = true;
  opts.durability = Durability::kNoSync;
  auto src = Db::Open(dir.File("src.bruce"), opts).value();
  auto dst = Db::Open(dir.File("dst.bruce"), opts).value();
  Load(src.get(), "bloom", 10, 40000);
  auto snap = [&](const std::string& name) {
    auto w = src->BeginWrite(WriteMode::kExclusive).value();
    ASSERT_TRUE(w->CreateSnapshot(name).ok());
    ASSERT_TRUE(w->Commit().ok());
  };
  snap("s1");
  ASSERT_TRUE(testing::ReceiveString(dst.get(), testing::SendToString(src.get(), "s1", "")).ok());
  {
    auto w = src->BeginWrite(WriteMode::kExclusive).value();
    Tree* t = w->OpenTree("bloom").value();
    ASSERT_TRUE(t->Put("key00000100", "new").ok());  // one leaf changes
    ASSERT_TRUE(w->Commit().ok());
  }
  snap("s2");
  ASSERT_TRUE(
      testing::ReceiveString(dst.get(), testing::SendToString(src.get(), "s2", "s1")).ok());
  testing::ExpectClean(dst.get());
  dst.reset();
  const uint64_t misses = ColdAbsentMisses(dir.File("dst.bruce"), "bloom", 40000);
  std::printf("nodes read for 500 absent keys in the received tree, cold: %llu\n",
              static_cast<unsigned long long>(misses));
  EXPECT_LT(misses, 35u);  // 16 here; 59 without the base's filters
  auto db = Db::Open(dir.File("dst.bruce"), opts).value();
  auto r = db->BeginRead().value();
  Tree* t = r->OpenTree("bloom").value();
  std::string v;
  ASSERT_TRUE(t->Get("key00000100", &v).ok());
  EXPECT_EQ(v, "new");
  for (int i = 0; i < 40000; i += 2) {
    char k[32];
    std::snprintf(k, sizeof k, "key%08d", i);
    ASSERT_TRUE(t->MayContain(k).value()) << k;
  }
}

}  // namespace
}  // namespace bruce
