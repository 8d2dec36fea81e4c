// tree/: splits, merges, rank/select and structure sharing, through the
// public API on a memory store.
#include <gtest/gtest.h>

#include <random>

#include "bruce/db.h"
#include "testutil.h"

namespace bruce {
namespace {

// Structure tests run uncompressed, where a node is at most a page.
std::unique_ptr<Db> MemDb(uint32_t page_size = 4096, int compression = 0) {
  Options o;
  o.create_if_missing = true;
  o.page_size = page_size;
  o.compression_level = compression;
  auto db = Db::Open(std::shared_ptr<PageStore>(NewMemoryStore()), o);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return std::move(db).value();
}

std::string Key(uint64_t i) {
  char b[17];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(i));
  return b;
}

using testing::ExpectClean;

TEST(BTree, SplitsGrowAndMergesShrinkTheTree) {
  auto db = MemDb();
  auto w = db->BeginWrite();
  Tree* t = (*w)->Main();
  std::mt19937_64 rng(7);
  std::vector<uint64_t> ids(20000);
  for (size_t i = 0; i < ids.size(); i++) ids[i] = i;
  std::shuffle(ids.begin(), ids.end(), rng);
  for (uint64_t i : ids) ASSERT_TRUE(t->Put(Key(i), std::string(50, 'v')).ok());
  EXPECT_GE(t->Depth().value(), 3u);
  ASSERT_TRUE((*w)->Commit().ok());
  ExpectClean(db.get());
  uint64_t used_full = db->Stat()->used_pages;

  auto w2 = db->BeginWrite();
  t = (*w2)->Main();
  std::shuffle(ids.begin(), ids.end(), rng);
  for (size_t n = 0; n < ids.size(); n++) {
    ASSERT_TRUE(t->Delete(Key(ids[n])).ok());
    if (n % 5000 == 0) {
      EXPECT_EQ(t->Count().value(), ids.size() - n - 1);
    }
  }
  EXPECT_EQ(t->Depth().value(), 0u);
  ASSERT_TRUE((*w2)->Commit().ok());
  ExpectClean(db.get());
  EXPECT_LT(db->Stat()->used_pages, used_full / 10);
}

// Regression: deleting the only key of a branch's first child dropped that
// child and left the next separator in slot 0, which must stay empty; the
// store then failed to read its own node.
TEST(BTree, DroppingTheFirstChildKeepsTheFirstSeparatorEmpty) {
  auto db = MemDb();
  {
    auto w = db->BeginWrite();
    for (char c = 'a'; c <= 'z'; c++) {
      ASSERT_TRUE((*w)->Main()->Put(std::string(1, c), std::string(2500, c)).ok());
    }
    ASSERT_TRUE((*w)->Commit().ok());
  }
  for (char c : {'a', 'z', 'm', 'b'}) {
    auto w = db->BeginWrite();
    ASSERT_TRUE((*w)->Main()->Delete(std::string(1, c)).ok());
    ASSERT_TRUE((*w)->Commit().ok());
    ExpectClean(db.get());
  }
  auto r = db->BeginRead();
  std::string v;
  EXPECT_TRUE((*r)->Main()->Get("c", &v).ok());
  EXPECT_EQ((*r)->Main()->Count().value(), 22u);
}

TEST(BTree, AscendingLoadsFillNodes) {
  auto db = MemDb();
  auto w = db->BeginWrite();
  const int n = 30000;
  for (int i = 0; i < n; i++) ASSERT_TRUE((*w)->Main()->Put(Key(i), std::string(100, 'v')).ok());
  ASSERT_TRUE((*w)->Commit().ok());
  // 16-byte keys and 100-byte values take 119 bytes a leaf entry.
  double ideal_leaves = n * 119.0 / (4096 - 20);
  auto st = db->Stat();
  EXPECT_LT(static_cast<double>(st->used_pages), ideal_leaves * 1.15) << st->used_pages;
}

TEST(BTree, RankSelectCountAreExact) {
  auto db = MemDb();
  auto w = db->BeginWrite();
  Tree* t = (*w)->Main();
  for (int i = 0; i < 5000; i++) ASSERT_TRUE(t->Put(Key(i * 2), "x").ok());
  ASSERT_TRUE((*w)->Commit().ok());
  auto r = db->BeginRead();
  t = (*r)->Main();
  for (int i = 0; i < 5000; i += 37) {
    EXPECT_EQ(t->Rank(Key(i * 2)).value(), static_cast<uint64_t>(i));
    EXPECT_EQ(t->Rank(Key(i * 2 + 1)).value(), static_cast<uint64_t>(i + 1));
    EXPECT_EQ(t->Select(i)->key, Key(i * 2));
    EXPECT_EQ(t->Count(Key(i * 2), Key(i * 2 + 200)).value(), std::min(100, 5000 - i));
  }
  EXPECT_TRUE(t->Select(5000).status().IsNotFound());
  EXPECT_EQ(t->Count(Key(10), Key(4)).value(), 0u);
}

// A commit that changes one key rewrites one path: the rest is shared.
TEST(BTree, CommitsShareUnchangedNodes) {
  auto db = MemDb();
  {
    auto w = db->BeginWrite();
    for (int i = 0; i < 50000; i++) ASSERT_TRUE((*w)->Main()->Put(Key(i), "v").ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  uint64_t before = db->Stat()->used_pages;
  auto w = db->BeginWrite();
  ASSERT_TRUE((*w)->Main()->Put(Key(123), "changed").ok());
  ASSERT_TRUE((*w)->Commit().ok());
  auto st = db->Stat();
  // Depth + catalog + space log pages, give or take: far below a copy.
  EXPECT_LT(st->used_pages, before + 10);
}

TEST(BTree, HugeKeysAndValuesAtTheLimits) {
  auto db = MemDb();
  auto w = db->BeginWrite();
  Tree* t = (*w)->Main();
  std::string big_key(kMaxKeySize, 'k');
  EXPECT_TRUE(t->Put(big_key, std::string(1 << 20, 'v')).ok());
  EXPECT_EQ(t->Put(big_key + "x", "v").code(), Code::kInvalidArgument);
  EXPECT_EQ(t->Put("v", std::string(kMaxValueSize + 1, 'v')).code(), Code::kInvalidArgument);
  for (int i = 0; i < 200; i++) ASSERT_TRUE(t->Put(std::string(1000, 'a' + i % 26) + Key(i), "x").ok());
  ASSERT_TRUE((*w)->Commit().ok());
  ExpectClean(db.get());
  auto r = db->BeginRead();
  std::string v;
  ASSERT_TRUE((*r)->Main()->Get(big_key, &v).ok());
  EXPECT_EQ(v.size(), size_t{1} << 20);
}

TEST(BTree, EmptyKeyAndEmptyValue) {
  auto db = MemDb();
  auto w = db->BeginWrite();
  ASSERT_TRUE((*w)->Main()->Put("", "").ok());
  ASSERT_TRUE((*w)->Commit().ok());
  auto r = db->BeginRead();
  std::string v = "junk";
  ASSERT_TRUE((*r)->Main()->Get("", &v).ok());
  EXPECT_EQ(v, "");
  EXPECT_EQ((*r)->Main()->Rank("").value(), 0u);
  EXPECT_EQ((*r)->Main()->Select(0)->key, "");
}

}  // namespace
}  // namespace bruce

namespace bruce {
namespace {

// Compressed trees: nodes grow until they fill a page compressed, so
// compressible data takes far fewer pages; incompressible data stays in
// one-page nodes stored raw. Everything reads back and checks clean.
TEST(BTree, CompressionPacksCompressibleNodes) {
  auto fill = [](Db* db, bool compressible) {
    auto w = db->BeginWrite();
    std::mt19937_64 rng(9);
    for (int i = 0; i < 20000; i++) {
      std::string v;
      if (compressible) {
        v = "{\"id\":" + std::to_string(i) + ",\"name\":\"user-" + std::to_string(i) +
            "\",\"email\":\"user" + std::to_string(i) + "@example.com\",\"active\":true}";
      } else {
        for (int j = 0; j < 80; j++) v.push_back(static_cast<char>(rng()));
      }
      EXPECT_TRUE((*w)->Main()->Put(Key(i * 7919 % 20000), v).ok());
    }
    EXPECT_TRUE((*w)->Commit().ok());
  };
  auto plain = MemDb(4096, 0), packed = MemDb(4096, 1);
  fill(plain.get(), true);
  fill(packed.get(), true);
  uint64_t p = plain->Stat()->used_pages, c = packed->Stat()->used_pages;
  EXPECT_LT(c * 2, p) << "compressed " << c << " pages, plain " << p;
  ExpectClean(packed.get());
  EXPECT_EQ(plain->RootHash() == packed->RootHash(), false);  // node shapes differ
  auto r = packed->BeginRead();
  auto c1 = (*r)->Main()->NewCursor();
  int n = 0;
  for (c1->First(); c1->Valid(); c1->Next()) n++;
  EXPECT_EQ(n, 20000);
  r.value().reset();

  auto plain2 = MemDb(4096, 0), packed2 = MemDb(4096, 1);
  fill(plain2.get(), false);
  fill(packed2.get(), false);
  // Random bytes do not compress: no page is saved, and none is lost.
  EXPECT_LE(packed2->Stat()->used_pages, plain2->Stat()->used_pages + 5);
  ExpectClean(packed2.get());
}

}  // namespace
}  // namespace bruce
