// Db::Space's figures (logical vs stored bytes of the live trees):
// exact against an independent walk of the raw pages, through changes,
// snapshots and compaction (Space remembers subtrees between calls), and
// about 1.0 for data that does not compress. Also the node cache's table
// against a model.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zstd.h>

#include <map>
#include <random>
#include <string>

#include "bruce/db.h"
#include "format/meta.h"
#include "format/node.h"
#include "store/node_cache.h"
#include "testutil.h"

namespace bruce {
namespace {

using format::BlockPtr;
using format::ValueType;

struct Figures {
  uint64_t logical = 0, stored = 0, pages = 0, nodes = 0, compressed = 0, data = 0;
};

Figures Of(const SpaceStats& s) {
  return Figures{s.logical_bytes, s.stored_bytes, s.stored_pages,
                 s.nodes,         s.compressed_nodes, s.data_blocks};
}

void ExpectEqual(const Figures& got, const Figures& want) {
  EXPECT_EQ(got.logical, want.logical);
  EXPECT_EQ(got.stored, want.stored);
  EXPECT_EQ(got.pages, want.pages);
  EXPECT_EQ(got.nodes, want.nodes);
  EXPECT_EQ(got.compressed, want.compressed);
  EXPECT_EQ(got.data, want.data);
}

// Walks the newest durable commit's live trees straight from the store's
// bytes: no cache, no memo. The rules are the documented ones: every node
// and data block the catalog reaches, except what the snapshot records
// point to (snapshots' catalogs).
class RawWalker {
 public:
  explicit RawWalker(PageStore* store) : store_(store) {}

  Figures Walk() {
    Figures f;
    std::string slot(format::kMetaSize, '\0');
    EXPECT_TRUE(store_->Read(0, slot.size(), slot.data()).ok());
    auto m0 = format::DecodeMeta(slot, 0);
    EXPECT_TRUE(m0.ok()) << m0.status().ToString();
    if (!m0.ok()) return f;
    ps_ = m0->page_size;
    EXPECT_TRUE(store_->Read(ps_, slot.size(), slot.data()).ok());
    auto m1 = format::DecodeMeta(slot, 1);
    format::Meta m = m0.value();
    if (m1.ok() && m1->txn > m.txn) m = m1.value();
    if (!m.catalog.null()) Node(m.catalog, true, true, &f);
    return f;
  }

 private:
  void Node(const BlockPtr& p, bool follow, bool catalog, Figures* f) {
    std::string raw(p.stored_len, '\0');
    ASSERT_TRUE(store_->Read(p.page * ps_, raw.size(), raw.data()).ok());
    std::string enc = raw;
    if (p.comp == format::Compression::kZstd) {
      unsigned long long n = ZSTD_getFrameContentSize(raw.data(), raw.size());
      ASSERT_LT(n, uint64_t{1} << 30);
      enc.assign(n, '\0');
      ASSERT_EQ(ZSTD_decompress(enc.data(), enc.size(), raw.data(), raw.size()), n);
      f->compressed++;
    }
    f->nodes++;
    f->logical += enc.size();
    leaves_.push_back(p.page);
    f->stored += p.stored_len;
    f->pages += format::PagesFor(p.stored_len, ps_);
    auto node = format::Node::Decode(enc, p.page);
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    const format::Node& n = *node.value();
    if (!n.leaf()) leaves_.pop_back();
    for (size_t i = 0; i < n.size(); i++) {
      if (!n.leaf()) {
        Node(n.child(i), follow, catalog, f);
        continue;
      }
      if (n.vtype(i) == ValueType::kInline || !follow) continue;
      format::PtrValue d;
      ASSERT_TRUE(format::DecodePtrValue(n.value(i), &d));
      if (d.ptr.null()) continue;
      if (n.vtype(i) == ValueType::kData ||
          (n.vtype(i) == ValueType::kExtents && (d.aux & format::kDirect))) {
        f->data++;
        f->logical += d.ptr.count;
        f->stored += d.ptr.stored_len;
        f->pages += format::PagesFor(d.ptr.stored_len, ps_);
        continue;
      }
      bool snaps = catalog && n.key(i) == std::string_view("\0snaps", 6);
      Node(d.ptr, !snaps, false, f);
    }
  }

  PageStore* store_;
  uint32_t ps_ = 0;

 public:
  std::vector<uint64_t> leaves_;  // first pages of the leaves walked, in order
};

std::unique_ptr<Db> Open(std::shared_ptr<PageStore> store, int level = 1) {
  Options o;
  o.create_if_missing = true;
  o.compression_level = level;
  auto db = Db::Open(std::move(store), o);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return std::move(db).value();
}

std::string Json(uint64_t i) {
  return "{\"id\":" + std::to_string(i) + ",\"name\":\"user-" + std::to_string(i) +
         "\",\"email\":\"user" + std::to_string(i) +
         "@example.com\",\"active\":true,\"plan\":\"free\",\"tags\":[\"web\",\"ios\"]}";
}

std::string Key(uint64_t i) {
  char b[32];
  std::snprintf(b, sizeof(b), "user/%08llu", static_cast<unsigned long long>(i));
  return b;
}

std::string Random(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() >> 56);
  return s;
}

// Space's figures, checked against the raw walk and (with no snapshot)
// against Check, whose walk counts the same pages.
Figures StatChecked(Db* db, PageStore* store, bool snapshots = false) {
  auto st = db->Stat();
  EXPECT_TRUE(st.ok()) << st.status().ToString();
  auto space = db->Space();
  EXPECT_TRUE(space.ok()) << space.status().ToString();
  Figures got = Of(space.value());
  ExpectEqual(got, RawWalker(store).Walk());
  if (!snapshots) {
    CheckReport rep;
    EXPECT_TRUE(db->Check(&rep).ok());
    EXPECT_TRUE(rep.ok());
    EXPECT_EQ(got.pages, rep.pages_checked);
    EXPECT_EQ(got.nodes, rep.nodes_checked);
  }
  // The figures are those of the live trees: no more pages than in use.
  EXPECT_LE(got.pages, st->used_pages);
  return got;
}

TEST(Stat, CompressibleDataStoresLessThanItsLogicalBytes) {
  std::shared_ptr<PageStore> store(NewMemoryStore());
  auto db = Open(store);
  {
    auto w = db->BeginWrite();
    for (uint64_t i = 0; i < 20000; i++) ASSERT_TRUE((*w)->Main()->Put(Key(i), Json(i)).ok());
    // A large value of text: data blocks are stored raw, logical = stored.
    std::string text;
    for (uint64_t i = 0; text.size() < 100000; i++) text += Json(i);
    ASSERT_TRUE((*w)->Main()->Put("text", text).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  Figures f = StatChecked(db.get(), store.get());
  EXPECT_GT(f.compressed, 0u);
  EXPECT_GE(f.data, 100000u / 4096);
  EXPECT_GT(f.logical, 3 * f.stored) << "JSON-like nodes compress several times";
  // The stored bytes fit the pages they take, and the data blocks count once.
  EXPECT_LE(f.stored, f.pages * 4096);
  EXPECT_GT(f.stored, (f.pages - f.nodes - f.data) * 4096);
}

// A damaged node stops the space walk with its error; the cheap figures of
// Stat do not read it and still answer.
TEST(Stat, SpaceReportsADamagedNode) {
  std::shared_ptr<PageStore> store(NewMemoryStore());
  {
    auto db = Open(store);
    auto w = db->BeginWrite();
    for (uint64_t i = 0; i < 5000; i++) ASSERT_TRUE((*w)->Main()->Put(Key(i), Json(i)).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  RawWalker walker(store.get());
  walker.Walk();
  ASSERT_GT(walker.leaves_.size(), 10u);
  uint64_t page = walker.leaves_[walker.leaves_.size() / 2];
  ASSERT_TRUE(store->Write(page * 4096 + 100, "\xde\xad").ok());
  auto db = Open(store);
  auto st = db->Stat();
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->main_keys, 5000u);
  auto space = db->Space();
  ASSERT_FALSE(space.ok());
  EXPECT_TRUE(space.status().IsCorruption()) << space.status().ToString();
  EXPECT_NE(space.status().ToString().find(std::to_string(page)), std::string::npos)
      << space.status().ToString();
}

TEST(Stat, IncompressibleDataShowsAboutOne) {
  std::shared_ptr<PageStore> store(NewMemoryStore());
  auto db = Open(store);
  std::mt19937_64 rng(7);
  {
    auto w = db->BeginWrite();
    for (uint64_t i = 0; i < 20000; i++) {
      ASSERT_TRUE((*w)->Main()->Put(Key(i), Random(rng, 100)).ok());
    }
    ASSERT_TRUE((*w)->Commit().ok());
  }
  Figures f = StatChecked(db.get(), store.get());
  double ratio = static_cast<double>(f.logical) / static_cast<double>(f.stored);
  EXPECT_GT(ratio, 0.98);
  EXPECT_LT(ratio, 1.05);
}

TEST(Stat, CompressionOffIsExactlyOne) {
  std::shared_ptr<PageStore> store(NewMemoryStore());
  auto db = Open(store, /*level=*/0);
  {
    auto w = db->BeginWrite();
    for (uint64_t i = 0; i < 5000; i++) ASSERT_TRUE((*w)->Main()->Put(Key(i), Json(i)).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  Figures f = StatChecked(db.get(), store.get());
  EXPECT_EQ(f.compressed, 0u);
  EXPECT_EQ(f.logical, f.stored);
}

// Space remembers the subtrees it walked; after changes, rollbacks,
// snapshots, a reopen and compaction (which moves nodes without changing
// their hashes) its figures must still be exact.
TEST(Stat, StaysExactThroughChanges) {
  const uint64_t seed = testing::Seed("Stat.StaysExactThroughChanges");
  std::mt19937_64 rng(seed);
  std::shared_ptr<PageStore> store(NewMemoryStore());
  auto db = Open(store);
  bool snap = false;
  for (int round = 0; round < 12; round++) {
    SCOPED_TRACE("round " + std::to_string(round) + ", seed " + std::to_string(seed));
    {
      auto w = db->BeginWrite();
      int puts = static_cast<int>(rng() % 3000);
      for (int i = 0; i < puts; i++) {
        uint64_t k = rng() % 20000;
        Status st;
        switch (rng() % 8) {
          case 0: st = (*w)->Main()->Put(Key(k), Random(rng, 100)); break;
          case 1: st = (*w)->Main()->Delete(Key(k)); break;
          case 2:
            st = (*w)->Main()->Put(Key(k), Random(rng, 1000 + rng() % 30000));  // a large value
            break;
          case 3:
            st = (*w)->Main()->WriteAt(Key(k), rng() % 50000, Json(k));
            break;
          default: st = (*w)->Main()->Put(Key(k), Json(k)); break;
        }
        ASSERT_TRUE(st.ok() || st.IsNotFound()) << st.ToString();
      }
      if (rng() % 4 == 0) {
        auto t = (*w)->CreateTree("side");
        ASSERT_TRUE(t.ok());
        ASSERT_TRUE((*t)->Put(Key(round), Json(round)).ok());
      }
      ASSERT_TRUE((*w)->Commit().ok());
    }
    StatChecked(db.get(), store.get(), snap);
    if (round == 3) {
      ASSERT_TRUE(db->CreateSnapshot("s").ok());
      snap = true;
    }
    if (round == 7) {
      ASSERT_TRUE(db->Rollback("s").ok());
      StatChecked(db.get(), store.get(), snap);
      ASSERT_TRUE(db->DestroySnapshot("s").ok());
      snap = false;
    }
    if (round == 9) {
      ASSERT_TRUE(db->Compact().ok());
      StatChecked(db.get(), store.get(), snap);
    }
    if (round == 10) {
      db.reset();
      db = Open(store);
    }
  }
}

// The node cache's open-addressing table (growth, backward-shift deletion
// when ghosts are dropped or pages erased) against a model: a lookup returns
// the node last inserted for that page and hash or nothing, never a stale
// or a wrong one. (Here rather than in node_cache_test.cc, which another
// change owned at the time.)
TEST(NodeCacheTable, AgreesWithAModel) {
  const uint64_t seed = testing::Seed("NodeCacheTable.AgreesWithAModel");
  std::mt19937_64 rng(seed);
  auto make = [](uint64_t gen) {
    auto n = std::make_shared<format::Node>(0);
    n->InsertLeaf(0, std::to_string(gen), std::string(300, 'v'), ValueType::kInline);
    return NodeRef(std::move(n));
  };
  const size_t one = make(0)->MemoryBytes();
  NodeCache cache(16 * 60 * one);
  std::map<uint64_t, uint64_t> latest;  // page -> generation of its last insert
  uint64_t gen = 0;
  for (int step = 0; step < 200000; step++) {
    uint64_t page = rng() % 4000;
    switch (rng() % 10) {
      case 0:
        cache.Erase(page);
        latest.erase(page);
        break;
      case 1:
      case 2:
      case 3: {
        gen++;
        cache.Insert(page, format::Hash128{gen, page}, make(gen));
        latest[page] = gen;
        break;
      }
      default: {
        auto it = latest.find(page);
        if (it == latest.end()) {
          ASSERT_EQ(cache.Lookup(page, format::Hash128{gen, page}), nullptr) << "seed " << seed;
          break;
        }
        NodeRef n = cache.Lookup(page, format::Hash128{it->second, page});
        if (n) {
          ASSERT_EQ(n->key(0), std::to_string(it->second)) << "seed " << seed;
        }
        ASSERT_EQ(cache.Contains(page, format::Hash128{it->second, page}), n != nullptr);
        if (it->second > 1) {
          ASSERT_EQ(cache.Lookup(page, format::Hash128{it->second - 1, page}), nullptr)
              << "a stale hash, seed " << seed;
        }
      }
    }
  }
  EXPECT_LE(cache.bytes(), 16 * 60 * one + 16 * one);
  EXPECT_GT(cache.hits(), 0u);
  EXPECT_GT(cache.evictions(), 0u);
}

TEST(Stat, DefaultCacheIsSizedFromTheMachine) {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  const uint64_t memory = uint64_t(pages) * uint64_t(page);
  const size_t dflt = DefaultCacheBytes();
  EXPECT_GE(dflt, size_t{64} << 20);
  EXPECT_LE(dflt, std::max<uint64_t>(memory / 4, uint64_t{64} << 20));
  Options o;
  o.create_if_missing = true;
  auto db = Db::Open(std::shared_ptr<PageStore>(NewMemoryStore()), o);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ((*db)->Stat()->cache_budget, dflt / 16 * 16);
  o.cache_bytes = 32 << 20;
  auto small = Db::Open(std::shared_ptr<PageStore>(NewMemoryStore()), o);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ((*small)->Stat()->cache_budget, uint64_t{32} << 20);
}

}  // namespace
}  // namespace bruce
