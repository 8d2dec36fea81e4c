// Trees with duplicate keys: the API, overflow chains across splits and
// merges (looked at from inside), and a randomized test against a
// std::multimap kept in (key, value) order.
#include <gtest/gtest.h>

#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bruce/db.h"
#include "testutil.h"
#include "tree/btree.h"
#include "txn/db_impl.h"
#include "txn/txn_impl.h"

namespace bruce {
namespace {

using format::ValueType;

std::unique_ptr<Db> OpenMem(std::shared_ptr<PageStore> store, int level = 1,
                            size_t cache = size_t{64} << 20) {
  Options o;
  o.create_if_missing = true;
  o.durability = Durability::kNoSync;
  o.compression_level = level;
  o.cache_bytes = cache;
  auto db = Db::Open(std::move(store), o);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return db.ok() ? std::move(db).value() : nullptr;
}

Tree* DupTree(WriteTxn* w, const std::string& name = "dups", int level = -1) {
  TreeOptions to;
  to.dupsort = true;
  to.compression_level = level;
  auto t = w->CreateTree(name, to);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? t.value() : nullptr;
}

// Overflow chains of a tree as a reader sees it (white box): how many
// leaves have one, and how many values they hold.
struct Chains {
  uint64_t chains = 0;
  uint64_t values = 0;
};

void WalkChains(NodeSource* src, const format::Node& n, Chains* out) {
  if (n.leaf()) {
    if (n.HasOverflow()) {
      format::PtrValue v;
      ASSERT_TRUE(format::DecodePtrValue(n.value(n.size() - 1), &v));
      out->chains++;
      out->values += v.ptr.count;
    }
    return;
  }
  for (size_t i = 0; i < n.size(); i++) {
    auto c = btree::Child(src, n, i);
    ASSERT_TRUE(c.ok());
    WalkChains(src, *c->node, out);
  }
}

Chains ChainsOf(Db* db, const std::string& tree) {
  Chains out;
  auto r = db->BeginRead();
  EXPECT_TRUE(r.ok());
  auto t = (*r)->OpenTree(tree);
  EXPECT_TRUE(t.ok());
  auto* impl = static_cast<TreeImpl*>(t.value());
  NodeSource* src = static_cast<DbImpl*>(db);
  auto root = btree::Root(src, impl->root());
  EXPECT_TRUE(root.ok());
  if (root->node) WalkChains(src, *root->node, &out);
  return out;
}

std::string Val(int i, size_t len = 100) {
  std::string v = std::to_string(100000 + i);
  v.resize(len, static_cast<char>('a' + i % 26));
  return v;
}

TEST(DupTree, ValuesSortedPerKeyAndCountedEach) {
  auto db = OpenMem(std::shared_ptr<PageStore>(NewMemoryStore()));
  auto w = db->BeginWrite();
  Tree* t = DupTree(w->get());
  ASSERT_TRUE(t->dupsort());
  for (const char* v : {"pear", "apple", "fig", "apple"}) ASSERT_TRUE(t->Put("fruit", v).ok());
  ASSERT_TRUE(t->Put("a", "1").ok());
  ASSERT_TRUE(t->Put("z", "9").ok());
  EXPECT_EQ(t->Count().value(), 5u);  // "apple" is held once
  EXPECT_EQ(t->CountDups("fruit").value(), 3u);
  EXPECT_EQ(t->CountDups("nope").value(), 0u);
  std::string v;
  ASSERT_TRUE(t->Get("fruit", &v).ok());
  EXPECT_EQ(v, "apple");  // the smallest
  EXPECT_EQ(t->Rank("fruit").value(), 1u);
  EXPECT_EQ(t->Rank("g").value(), 4u);
  EXPECT_EQ(t->Select(3).value().value, "pear");
  EXPECT_EQ(t->Count("fruit", "g").value(), 3u);

  EXPECT_EQ(t->Put("fruit", "fig", kNoDupData).code(), Code::kExists);
  ASSERT_TRUE(t->Put("fruit", "kiwi", kNoDupData).ok());
  std::string existing;
  EXPECT_EQ(t->Put("fruit", "plum", kNoOverwrite, &existing).code(), Code::kExists);
  EXPECT_EQ(existing, "apple");
  EXPECT_EQ(t->Put("y", "0", kAppend).code(), Code::kInvalidArgument);
  ASSERT_TRUE(t->Put("z", "99", kAppend).ok());
  EXPECT_EQ(t->Put("k", std::string(kMaxDupValueSize + 1, 'x')).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(t->WriteAt("fruit", 0, "x").code(), Code::kInvalidArgument);
  EXPECT_EQ(t->Rename("fruit", "veg").code(), Code::kInvalidArgument);

  ASSERT_TRUE(t->Delete("fruit", "fig").ok());
  EXPECT_TRUE(t->Delete("fruit", "fig").IsNotFound());
  EXPECT_EQ(t->CountDups("fruit").value(), 3u);

  // The cursor walks every pair; the dup moves stay on one key.
  auto c = t->NewCursor();
  ASSERT_TRUE(c->SeekBoth("fruit", "b"));
  EXPECT_EQ(c->value(), "kiwi");
  EXPECT_EQ(c->CountDups().value(), 3u);
  EXPECT_TRUE(c->NextDup());
  EXPECT_EQ(c->value(), "pear");
  EXPECT_FALSE(c->NextDup());
  EXPECT_EQ(c->value(), "pear");  // stayed
  EXPECT_TRUE(c->PrevDup());
  EXPECT_TRUE(c->PrevDup());
  EXPECT_EQ(c->value(), "apple");
  EXPECT_FALSE(c->PrevDup());
  c->NextNoDup();
  ASSERT_TRUE(c->Valid());
  EXPECT_EQ(c->key(), "z");
  c->PrevNoDup();
  EXPECT_EQ(c->key(), "fruit");
  EXPECT_EQ(c->value(), "pear");
  EXPECT_FALSE(c->SeekBoth("fruit", "q"));
  EXPECT_FALSE(c->Valid());

  ASSERT_TRUE(t->Delete("fruit").ok());  // all of them
  EXPECT_EQ(t->CountDups("fruit").value(), 0u);
  EXPECT_TRUE(t->Delete("fruit").IsNotFound());
  ASSERT_TRUE((*w)->Commit().ok());

  // The flag outlives the transaction; asking for the other kind fails.
  auto w2 = db->BeginWrite();
  EXPECT_EQ((*w2)->CreateTree("dups").status().code(), Code::kInvalidArgument);
  auto t2 = (*w2)->OpenTree("dups");
  ASSERT_TRUE(t2.ok());
  EXPECT_TRUE((*t2)->dupsort());
  EXPECT_EQ((*t2)->Count().value(), 3u);  // a, and z twice
  EXPECT_FALSE((*w2)->Main()->dupsort());
  (*w2)->Abort();
  testing::ExpectClean(db.get());
}

// One key's values outgrow a leaf: they go to its overflow chain, which
// follows the key through splits, and come back into the leaf as values
// are deleted.
TEST(DupTree, OverflowChainFollowsItsKeyAndShrinksOnDelete) {
  auto db = OpenMem(std::shared_ptr<PageStore>(NewMemoryStore()), 0);
  constexpr int kValues = 600;
  {
    auto w = db->BeginWrite();
    Tree* t = DupTree(w->get());
    // Interleaved order: values land both in the leaf and in the chain.
    for (int i = 0; i < kValues; i++) ASSERT_TRUE(t->Put("m", Val((i * 7) % kValues)).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  Chains ch = ChainsOf(db.get(), "dups");
  EXPECT_EQ(ch.chains, 1u);
  EXPECT_GT(ch.values, kValues / 2u);
  testing::ExpectClean(db.get());

  // Keys before and after "m" split its leaf again and again; the chain
  // stays with "m" and holds nothing else.
  {
    auto w = db->BeginWrite();
    Tree* t = (*w)->OpenTree("dups").value();
    for (int i = 0; i < 300; i++) {
      ASSERT_TRUE(t->Put("a" + std::to_string(i), Val(i)).ok());
      ASSERT_TRUE(t->Put("m" + std::to_string(i), Val(i)).ok());
      ASSERT_TRUE(t->Put("m", Val(kValues + i)).ok());
    }
    ASSERT_TRUE((*w)->Commit().ok());
  }
  ch = ChainsOf(db.get(), "dups");
  EXPECT_EQ(ch.chains, 1u);
  testing::ExpectClean(db.get());
  {
    auto r = db->BeginRead();
    Tree* t = (*r)->OpenTree("dups").value();
    EXPECT_EQ(t->CountDups("m").value(), kValues + 300u);
    EXPECT_EQ(t->Count().value(), kValues + 900u);
    auto c = t->NewCursor();
    ASSERT_TRUE(c->SeekExact("m"));
    int n = 0;
    std::string prev;
    do {
      EXPECT_EQ(c->key(), "m");
      EXPECT_LT(prev, c->value());
      prev = std::string(c->value());
      n++;
    } while (c->NextDup());
    EXPECT_EQ(n, kValues + 300);
    c->Next();
    EXPECT_EQ(c->key(), "m0");
  }

  // Deleting from the leaf pulls chain values back; at the end no chain.
  {
    auto w = db->BeginWrite();
    Tree* t = (*w)->OpenTree("dups").value();
    for (int i = 0; i < kValues + 300 - 5; i++) ASSERT_TRUE(t->Delete("m", Val(i)).ok());
    EXPECT_EQ(t->CountDups("m").value(), 5u);
    ASSERT_TRUE((*w)->Commit().ok());
  }
  EXPECT_EQ(ChainsOf(db.get(), "dups").chains, 0u);
  testing::ExpectClean(db.get());
}

// Deleting a key with a chain frees the chain; a snapshot keeps it.
TEST(DupTree, DeleteAllFreesTheChainButNotASnapshotsCopy) {
  auto db = OpenMem(std::shared_ptr<PageStore>(NewMemoryStore()));
  {
    auto w = db->BeginWrite();
    Tree* t = DupTree(w->get());
    for (int i = 0; i < 2000; i++) ASSERT_TRUE(t->Put("k", Val(i, 200)).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  ASSERT_TRUE(db->CreateSnapshot("before").ok());
  uint64_t used_before = db->Stat().value().used_pages;
  {
    auto w = db->BeginWrite();
    ASSERT_TRUE((*w)->OpenTree("dups").value()->Delete("k").ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  testing::ExpectClean(db.get());
  {
    auto r = db->BeginRead("before");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ((*r)->OpenTree("dups").value()->CountDups("k").value(), 2000u);
  }
  ASSERT_TRUE(db->DestroySnapshot("before").ok());
  testing::ExpectClean(db.get());
  EXPECT_LT(db->Stat().value().used_pages, used_before / 4);
}

// ---- randomized, against std::multimap in (key, value) order ----

using Model = std::multimap<std::string, std::string>;

Model::iterator FindPair(Model& m, const std::string& k, const std::string& v) {
  auto [lo, hi] = m.equal_range(k);
  for (auto it = lo; it != hi; ++it) {
    if (it->second == v) return it;
  }
  return m.end();
}

// The first pair >= (k, v).
Model::const_iterator PairBound(const Model& m, const std::string& k, const std::string& v) {
  auto it = m.lower_bound(k);
  while (it != m.end() && it->first == k && it->second < v) ++it;
  return it;
}

// Adds the pair where (key, value) order puts it; false if it is there.
bool AddPair(Model& m, const std::string& k, const std::string& v) {
  auto it = PairBound(m, k, v);
  if (it != m.end() && it->first == k && it->second == v) return false;
  m.emplace_hint(it, k, v);  // just before the hint: values stay sorted
  return true;
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  uint64_t Below(uint64_t n) { return g_() % n; }
  bool OneIn(uint64_t n) { return Below(n) == 0; }

 private:
  std::mt19937_64 g_;
};

// A few hot keys hold hundreds of values (overflow chains), the rest few.
std::string RandomKey(Rng& r) {
  if (r.OneIn(2)) return "hot" + std::to_string(r.Below(2));
  return "k" + std::to_string(r.Below(300) * 7919 % 1009);
}

std::string RandomValue(Rng& r) {
  size_t len = r.OneIn(50) ? kMaxDupValueSize - r.Below(100) : r.Below(160);
  std::string v = std::to_string(r.Below(5000));
  while (v.size() < len) v.push_back(static_cast<char>('a' + r.Below(26)));  // compresses little
  return v;
}

// A random walk of cursor moves, each checked against a model iterator.
void CursorWalk(Tree* t, const Model& m, Rng& r) {
  auto c = t->NewCursor();
  std::string k = RandomKey(r), v = RandomValue(r);
  auto it = PairBound(m, k, v);
  bool found = c->SeekBoth(k, v);
  ASSERT_EQ(found, it != m.end() && it->first == k);
  if (!found) {
    c->Seek(k);
    it = m.lower_bound(k);
  }
  for (int step = 0; step < 30; step++) {
    if (it == m.end()) {
      ASSERT_FALSE(c->Valid());
      ASSERT_TRUE(c->status().ok()) << c->status().ToString();
      return;
    }
    ASSERT_TRUE(c->Valid());
    ASSERT_EQ(c->key(), it->first);
    ASSERT_EQ(c->value(), it->second);
    if (r.OneIn(8)) {
      auto [lo, hi] = m.equal_range(it->first);
      ASSERT_EQ(c->CountDups().value(), static_cast<uint64_t>(std::distance(lo, hi)));
    }
    switch (r.Below(6)) {
      case 0: c->Next(); ++it; break;
      case 1:
        c->Prev();
        it = it == m.begin() ? m.end() : std::prev(it);
        break;
      case 2: {
        auto nx = std::next(it);
        bool more = nx != m.end() && nx->first == it->first;
        ASSERT_EQ(c->NextDup(), more);
        if (more) it = nx;
        break;
      }
      case 3: {
        bool more = it != m.begin() && std::prev(it)->first == it->first;
        ASSERT_EQ(c->PrevDup(), more);
        if (more) --it;
        break;
      }
      case 4: c->NextNoDup(); it = m.upper_bound(it->first); break;
      case 5: {
        c->PrevNoDup();
        auto lo = m.lower_bound(it->first);
        it = lo == m.begin() ? m.end() : std::prev(lo);
        break;
      }
    }
  }
}

struct Variant {
  int level;     // zstd level of the tree
  size_t cache;  // cache budget
};

class DupModel : public ::testing::TestWithParam<Variant> {};

TEST_P(DupModel, AgainstMultimap) {
  Rng r(testing::Seed("DupModel.AgainstMultimap"));
  auto store = std::shared_ptr<PageStore>(NewMemoryStore());
  auto db = OpenMem(store, 1, GetParam().cache);
  ASSERT_TRUE(db);
  Model committed, working;
  std::map<std::string, Model> snaps;
  std::unique_ptr<WriteTxn> w;
  uint64_t steps = testing::Steps(20000);
  uint64_t max_chain = 0;
  for (uint64_t step = 0; step < steps; step++) {
    if (!w) {
      w = std::move(db->BeginWrite()).value();
      working = committed;
    }
    Tree* t = DupTree(w.get(), "dups", GetParam().level);
    std::string k = RandomKey(r), v = RandomValue(r);
    uint64_t op = r.Below(100);
    if (op < 50) {
      bool fresh = AddPair(working, k, v);
      if (r.OneIn(2)) {
        Status s = t->Put(k, v, kNoDupData);
        ASSERT_EQ(s.ok(), fresh) << s.ToString();
      } else {
        ASSERT_TRUE(t->Put(k, v).ok());
      }
    } else if (op < 64 && !working.empty()) {  // delete a pair that is there
      uint64_t i = r.Below(working.size());
      auto e = t->Select(i);
      ASSERT_TRUE(e.ok()) << e.status().ToString();
      auto it = std::next(working.begin(), static_cast<long>(i));
      ASSERT_EQ(e->key, it->first);
      ASSERT_EQ(e->value, it->second);
      ASSERT_TRUE(t->Delete(e->key, e->value).ok());
      working.erase(it);
    } else if (op < 68) {  // a pair that is not there
      if (FindPair(working, k, v) == working.end()) {
        ASSERT_TRUE(t->Delete(k, v).IsNotFound());
      }
    } else if (op < 70 && (k.compare(0, 3, "hot") != 0 || r.OneIn(20))) {  // every value of a key
      Status s = t->Delete(k);
      ASSERT_EQ(s.ok(), working.erase(k) > 0) << s.ToString();
    } else if (op < 72) {  // through a cursor: the first few values of a key
      auto c = t->NewCursor();
      int n = static_cast<int>(r.Below(20));
      for (bool on = c->SeekExact(k); on && n > 0 && c->key() == k; n--) {
        std::string cv(c->value());
        ASSERT_TRUE(c->Delete().ok());
        working.erase(FindPair(working, k, cv));
        on = c->Valid();
      }
    } else if (op < 82) {
      ASSERT_NO_FATAL_FAILURE(CursorWalk(t, working, r));
    } else if (op < 88) {
      auto [lo, hi] = working.equal_range(k);
      ASSERT_EQ(t->CountDups(k).value(), static_cast<uint64_t>(std::distance(lo, hi)));
      ASSERT_EQ(t->Rank(k).value(), static_cast<uint64_t>(std::distance(working.begin(), lo)));
      std::string got;
      Status s = t->Get(k, &got);
      ASSERT_EQ(s.ok(), lo != hi);
      if (lo != hi) {
        ASSERT_EQ(got, lo->second);
      }
    } else if (op < 96) {
      ASSERT_TRUE(w->Commit().ok());
      w.reset();
      committed = working;
      // Chains grow and shrink between reopens: their size is looked at
      // after every commit, not only at the reopens.
      max_chain = std::max(max_chain, ChainsOf(db.get(), "dups").values);
    } else if (op < 97) {
      w->Abort();
      w.reset();
    } else if (op < 98 && w) {  // snapshots hold chains the live tree drops
      ASSERT_TRUE(w->Commit().ok());
      w.reset();
      committed = working;
      std::string name = "s" + std::to_string(step);
      ASSERT_TRUE(db->CreateSnapshot(name).ok());
      snaps[name] = committed;
      if (snaps.size() > 3) {
        ASSERT_TRUE(db->DestroySnapshot(snaps.begin()->first).ok());
        snaps.erase(snaps.begin());
      }
    }
    if (step == 999) {
      // Long chains for certain, whatever the seed: 150 more values of one
      // key (about 15 KiB), committed and measured at the reopen below.
      if (!w) {
        w = std::move(db->BeginWrite()).value();
        working = committed;
      }
      Tree* bt = DupTree(w.get(), "dups", GetParam().level);
      for (int i = 0; i < 150; i++) {
        std::string v = "burst" + std::to_string(1000 + i);
        while (v.size() < 100) v.push_back(static_cast<char>('a' + (v.size() * 7 + i) % 26));
        AddPair(working, "hot0", v);
        ASSERT_TRUE(bt->Put("hot0", v).ok());
      }
    }
    if (step % 500 == 499) {
      if (w) {
        ASSERT_TRUE(w->Commit().ok());
        w.reset();
        committed = working;
      }
      db.reset();
      db = OpenMem(store, 1, GetParam().cache);
      ASSERT_TRUE(db);
      testing::ExpectClean(db.get());
      Chains ch = ChainsOf(db.get(), "dups");
      max_chain = std::max(max_chain, ch.values);
      auto rd = db->BeginRead();
      auto t2 = (*rd)->OpenTree("dups");
      ASSERT_TRUE(t2.ok());
      ASSERT_NO_FATAL_FAILURE(
          testing::ExpectSameAsModel(t2.value(), committed, "after reopen"));
      for (const auto& [name, m] : snaps) {
        auto sr = db->BeginRead(name);
        ASSERT_TRUE(sr.ok());
        ASSERT_NO_FATAL_FAILURE(testing::ExpectSameAsModel((*sr)->OpenTree("dups").value(), m,
                                                           "snapshot " + name));
      }
    } else if (step % 100 == 0 && w) {
      ASSERT_NO_FATAL_FAILURE(
          testing::ExpectSameAsModel(DupTree(w.get()), working, "in the write transaction"));
    }
  }
  if (w) w->Abort();
  // The run must have put overflow chains to work.
  std::fprintf(stderr, "largest overflow chains seen: %llu values\n",
               static_cast<unsigned long long>(max_chain));
  if (steps >= 2000) {
    EXPECT_GT(max_chain, 100u);
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, DupModel,
                         ::testing::Values(Variant{0, size_t{64} << 20},
                                           Variant{1, size_t{64} << 20},
                                           Variant{1, size_t{64} << 10}),
                         [](const auto& info) {
                           return std::string(info.param.level ? "zstd" : "raw") +
                                  (info.param.cache < (size_t{1} << 20) ? "_tiny_cache" : "");
                         });

}  // namespace
}  // namespace bruce
