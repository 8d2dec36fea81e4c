// Large values as chunk trees: byte-range reads and writes, holes, truncate,
// rename without copying, against a std::string model.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>

#include "bruce/db.h"
#include "testutil.h"

namespace bruce {
namespace {

// Counts the bytes written through it.
using testing::CountingStore;

std::unique_ptr<Db> Open(std::shared_ptr<PageStore> store, bool create = true) {
  Options o;
  o.create_if_missing = create;
  auto db = Db::Open(std::move(store), o);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return std::move(db).value();
}

using testing::ExpectClean;

std::string Random(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(Values, LargeValueRoundTripsWholeAndInRanges) {
  std::mt19937_64 rng(1);
  auto db = Open(std::shared_ptr<PageStore>(NewMemoryStore()));
  std::string big = Random(rng, 3 * 1024 * 1024 + 123);
  {
    auto w = db->BeginWrite();
    ASSERT_TRUE((*w)->Main()->Put("big", big).ok());
    ASSERT_TRUE((*w)->Main()->Put("small", "x").ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  auto r = db->BeginRead();
  Tree* t = (*r)->Main();
  std::string got;
  ASSERT_TRUE(t->Get("big", &got).ok());
  EXPECT_TRUE(got == big);
  EXPECT_EQ(t->ValueSize("big").value(), big.size());
  for (int i = 0; i < 200; i++) {
    uint64_t off = rng() % (big.size() + 100), n = rng() % 20000;
    ASSERT_TRUE(t->ReadAt("big", off, n, &got).ok());
    std::string want = off < big.size() ? big.substr(off, n) : "";
    ASSERT_TRUE(got == want) << off << " " << n;
  }
  // Cursors and Select hand out whole values too.
  auto c = t->NewCursor();
  c->First();
  ASSERT_TRUE(c->Valid());
  EXPECT_EQ(c->key(), "big");
  EXPECT_TRUE(c->value() == big);
  EXPECT_TRUE(t->Select(0)->value == big);
  r.value().reset();
  ExpectClean(db.get());
}

TEST(Values, PinnedValuesOutliveTheirTransactionAndMatchReadAt) {
  std::mt19937_64 rng(testing::Seed("Values.Pinned"));
  Options o;
  o.create_if_missing = true;
  o.cache_bytes = 64 << 10;  // small: pinned nodes get evicted from the cache
  auto db = Db::Open(std::shared_ptr<PageStore>(NewMemoryStore()), o);
  ASSERT_TRUE(db.ok());
  std::map<std::string, std::string> model;
  {
    auto w = (*db)->BeginWrite();
    for (int i = 0; i < 3000; i++) {
      std::string k = "k" + std::to_string(rng() % 5000);
      std::string v(rng() % 8 == 0 ? 5000 + rng() % 20000 : rng() % 200, static_cast<char>('a' + rng() % 26));
      ASSERT_TRUE((*w)->Main()->Put(k, v).ok());
      model[k] = v;
    }
    ASSERT_TRUE((*w)->Commit().ok());
  }
  // Views taken in a read transaction stay right after it ends and after
  // every key is overwritten, committed, and the cache has moved on.
  std::vector<std::pair<PinnedValue, std::string>> held;
  {
    auto r = (*db)->BeginRead();
    for (const auto& [k, v] : model) {
      PinnedValue p;
      ASSERT_TRUE((*r)->Main()->GetPinned(k, &p).ok());
      ASSERT_EQ(p.view(), v);
      uint64_t off = rng() % (v.size() + 1), n = rng() % 300;
      PinnedValue part;
      std::string want;
      ASSERT_TRUE((*r)->Main()->ReadPinned(k, off, n, &part).ok());
      ASSERT_TRUE((*r)->Main()->ReadAt(k, off, n, &want).ok());
      ASSERT_EQ(part.view(), want) << k << " " << off << " " << n;
      if (held.size() < 500) held.emplace_back(p, v);
    }
    PinnedValue none;
    EXPECT_TRUE((*r)->Main()->GetPinned("absent", &none).IsNotFound());
  }
  {
    auto w = (*db)->BeginWrite();
    for (const auto& [k, v] : model) ASSERT_TRUE((*w)->Main()->Put(k, "new").ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  for (const auto& [p, v] : held) ASSERT_EQ(p.view(), v);
  // In a write transaction, a view of a leaf it changed is a copy: later
  // changes to the leaf do not reach it.
  auto w = (*db)->BeginWrite();
  ASSERT_TRUE((*w)->Main()->Put("x", "first").ok());
  PinnedValue p;
  ASSERT_TRUE((*w)->Main()->GetPinned("x", &p).ok());
  for (int i = 0; i < 200; i++) ASSERT_TRUE((*w)->Main()->Put("x" + std::to_string(i), std::string(50, 'y')).ok());
  ASSERT_TRUE((*w)->Main()->Put("x", "second").ok());
  EXPECT_EQ(p.view(), "first");
}

TEST(Values, HolesCostNothingAndReadAsZeros) {
  auto db = Open(std::shared_ptr<PageStore>(NewMemoryStore()));
  const uint64_t kGiB = uint64_t{1} << 30;
  {
    auto w = db->BeginWrite();
    ASSERT_TRUE((*w)->Main()->WriteAt("sparse", kGiB, std::string(4096, 'z')).ok());
    ASSERT_TRUE((*w)->Main()->WriteAt("sparse", 10, "head").ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  EXPECT_LT(db->Stat()->used_pages, 30u);
  auto r = db->BeginRead();
  Tree* t = (*r)->Main();
  EXPECT_EQ(t->ValueSize("sparse").value(), kGiB + 4096);
  std::string got;
  ASSERT_TRUE(t->ReadAt("sparse", 0, 20, &got).ok());
  EXPECT_EQ(got, std::string(10, '\0') + "head" + std::string(6, '\0'));
  ASSERT_TRUE(t->ReadAt("sparse", kGiB - 2, 4, &got).ok());
  EXPECT_EQ(got, std::string("\0\0zz", 4));
  // SEEK_DATA / SEEK_HOLE.
  EXPECT_EQ(t->SeekData("sparse", 0, false).value(), 0u);
  EXPECT_EQ(t->SeekData("sparse", 5000, false).value(), kGiB);
  EXPECT_EQ(t->SeekData("sparse", 0, true).value(), 4096u);
  EXPECT_EQ(t->SeekData("sparse", kGiB + 1, true).value(), kGiB + 4096);
  EXPECT_TRUE(t->SeekData("sparse", kGiB + 4096, false).status().IsNotFound());
}

// Regression: reading a 16 TiB value whole threw std::bad_alloc through the
// API; it is refused with a Status, and its bytes read fine in ranges.
TEST(Values, HugeValuesAreReadInRanges) {
  auto db = Open(std::shared_ptr<PageStore>(NewMemoryStore()));
  auto w = db->BeginWrite();
  Tree* t = (*w)->Main();
  ASSERT_TRUE(t->WriteAt("huge", kMaxValueBytes - 2, "ab").ok());
  EXPECT_EQ(t->WriteAt("huge", kMaxValueBytes - 1, "ab").code(), Code::kInvalidArgument);
  std::string v;
  EXPECT_EQ(t->Get("huge", &v).code(), Code::kInvalidArgument);
  EXPECT_EQ(t->Select(0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(t->KeyAt(0).value(), "huge");
  auto c = t->NewCursor();
  c->First();
  (void)c->value();
  EXPECT_EQ(c->status().code(), Code::kInvalidArgument);
  ASSERT_TRUE(t->ReadAt("huge", kMaxValueBytes - 4, 10, &v).ok());
  EXPECT_EQ(v, std::string("\0\0ab", 4));
}

TEST(Values, TruncateShrinksAndGrowsWithZeros) {
  auto db = Open(std::shared_ptr<PageStore>(NewMemoryStore()));
  auto w = db->BeginWrite();
  Tree* t = (*w)->Main();
  std::string v(20000, 'q');
  ASSERT_TRUE(t->Put("f", v).ok());
  ASSERT_TRUE(t->Truncate("f", 5000).ok());
  ASSERT_TRUE(t->Truncate("f", 30000).ok());
  std::string got;
  ASSERT_TRUE(t->Get("f", &got).ok());
  EXPECT_TRUE(got == std::string(5000, 'q') + std::string(25000, '\0'));
  ASSERT_TRUE(t->Truncate("f", 3).ok());  // small again: inline at commit
  EXPECT_TRUE(t->Truncate("missing", 3).IsNotFound());
  ASSERT_TRUE((*w)->Commit().ok());
  auto r = db->BeginRead();
  ASSERT_TRUE((*r)->Main()->Get("f", &got).ok());
  EXPECT_EQ(got, "qqq");
  r.value().reset();
  ExpectClean(db.get());
}

// The measure: a 4 KiB write into the middle of a 256 MiB value
// writes fewer than 64 KiB of pages, and so does renaming it.
TEST(Values, SmallWriteIntoAHugeValueTouchesFewPages) {
  auto store = std::make_shared<CountingStore>();
  auto db = Open(store);
  std::mt19937_64 rng(2);
  const uint64_t kSize = uint64_t{256} << 20;
  {
    auto w = db->BeginWrite();
    std::string piece = Random(rng, 1 << 20);
    for (uint64_t off = 0; off < kSize; off += piece.size()) {
      piece[0] = static_cast<char>(off >> 20);  // no two chunks alike
      ASSERT_TRUE((*w)->Main()->WriteAt("huge", off, piece).ok());
    }
    ASSERT_TRUE((*w)->Commit().ok());
  }
  uint64_t before = store->written();
  {
    auto w = db->BeginWrite();
    ASSERT_TRUE((*w)->Main()->WriteAt("huge", kSize / 2 + 4096 * 7, std::string(4096, 'M')).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  uint64_t one_write = store->written() - before;
  EXPECT_LT(one_write, 64u * 1024) << one_write;
  before = store->written();
  {
    auto w = db->BeginWrite();
    ASSERT_TRUE((*w)->Main()->Rename("huge", "moved").ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  EXPECT_LT(store->written() - before, 64u * 1024);
  auto r = db->BeginRead();
  std::string got;
  ASSERT_TRUE((*r)->Main()->ReadAt("moved", kSize / 2 + 4096 * 7 - 1, 4098, &got).ok());
  ASSERT_EQ(got.size(), 4098u);
  EXPECT_EQ(got.substr(1, 4096), std::string(4096, 'M'));
  EXPECT_TRUE((*r)->Main()->ValueSize("huge").status().IsNotFound());
}

TEST(Values, DeleteAndAbortLeakNothing) {
  auto db = Open(std::shared_ptr<PageStore>(NewMemoryStore()));
  std::mt19937_64 rng(3);
  {
    auto w = db->BeginWrite();
    ASSERT_TRUE((*w)->Main()->Put("a", Random(rng, 500000)).ok());
    ASSERT_TRUE((*w)->Main()->Put("b", Random(rng, 5000)).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  {
    auto w = db->BeginWrite();
    ASSERT_TRUE((*w)->Main()->WriteAt("a", 100, Random(rng, 300000)).ok());
    ASSERT_TRUE((*w)->Main()->WriteAt("c", 100000, "new").ok());
    (*w)->Abort();
  }
  ExpectClean(db.get());
  uint64_t used = db->Stat()->used_pages;
  {
    auto w = db->BeginWrite();
    ASSERT_TRUE((*w)->Main()->Delete("a").ok());
    ASSERT_TRUE((*w)->Main()->Put("b", "now small").ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  ExpectClean(db.get());
  EXPECT_LT(db->Stat()->used_pages + 100, used);
}

TEST(Values, DamagedDataBlockIsReportedNotReturned) {
  testing::TempDir dir;
  std::string path = dir.File("s.bruce");
  std::string big(100000, 'd');
  {
    Options o;
    o.create_if_missing = true;
    auto db = Db::Open(path, o);
    auto w = (*db)->BeginWrite();
    ASSERT_TRUE((*w)->Main()->Put("big", big).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  // Flip a byte in every page that holds the data: a run of 'd's.
  FILE* f = std::fopen(path.c_str(), "r+b");
  ASSERT_NE(f, nullptr);
  std::string page(4096, '\0');
  int flipped = 0;
  for (long p = 2; std::fseek(f, p * 4096, SEEK_SET) == 0 && std::fread(page.data(), 1, 4096, f) == 4096; p++) {
    if (page.substr(0, 64) != std::string(64, 'd')) continue;
    page[100] = 'X';
    std::fseek(f, p * 4096, SEEK_SET);
    std::fwrite(page.data(), 1, 4096, f);
    flipped++;
    break;
  }
  std::fclose(f);
  ASSERT_EQ(flipped, 1);
  auto db = Db::Open(path, Options{});
  ASSERT_TRUE(db.ok());
  auto r = (*db)->BeginRead();
  std::string got;
  Status s = (*r)->Main()->Get("big", &got);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  CheckReport rep;
  ASSERT_TRUE((*db)->Check(&rep).ok());
  EXPECT_FALSE(rep.ok());
}

// Random byte-range operations on a few keys against std::string models,
// with commits, aborts and reopens.
// The space a committed value holds: a small value its size, a large one
// a chunk for every chunk that is not all zeros (zeros are holes).
void ExpectAllocated(Db* db, const std::map<std::string, std::string>& model) {
  auto r = db->BeginRead();
  for (const auto& [key, val] : model) {
    uint64_t want = 0;
    if (val.size() <= 1024) {
      want = val.size();
    } else {
      for (size_t at = 0; at < val.size(); at += 4096) {
        std::string_view c = std::string_view(val).substr(at, 4096);
        if (c.find_first_not_of('\0') != std::string_view::npos) want += 4096;
      }
    }
    auto got = (*r)->Main()->AllocatedBytes(key);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(*got, want) << key << " of " << val.size() << " bytes";
  }
}

TEST(Values, RandomRangesAgainstAModel) {
  std::mt19937_64 rng(testing::Seed("Values.RandomRanges"));
  auto store = std::shared_ptr<PageStore>(NewMemoryStore());
  auto db = Open(store);
  std::map<std::string, std::string> committed, working;
  std::unique_ptr<WriteTxn> w;
  uint64_t steps = testing::Steps(100000) / 20;
  for (uint64_t step = 0; step < steps; step++) {
    if (!w) {
      w = std::move(db->BeginWrite()).value();
      working = committed;
    }
    Tree* t = w->Main();
    std::string k = "file" + std::to_string(rng() % 6);
    uint64_t limit = rng() % 4 == 0 ? 200000 : 6000;
    switch (rng() % 12) {
      case 0:
      case 1:
      case 2: {
        uint64_t off = rng() % limit, len = rng() % 9000;
        std::string data = Random(rng, len);
        if (rng() % 3 == 0) data.assign(len, '\0');
        ASSERT_TRUE(t->WriteAt(k, off, data).ok());
        std::string& v = working[k];
        if (v.size() < off + len) v.resize(off + len, '\0');
        v.replace(off, len, data);
        break;
      }
      case 3: {
        uint64_t size = rng() % limit;
        Status s = t->Truncate(k, size);
        ASSERT_EQ(s.IsNotFound(), working.count(k) == 0) << s.ToString();
        if (s.ok()) working[k].resize(size, '\0');
        break;
      }
      case 4: {
        std::string k2 = "file" + std::to_string(rng() % 6);
        Status s = t->Rename(k, k2);
        ASSERT_EQ(s.IsNotFound(), working.count(k) == 0) << s.ToString();
        if (s.ok() && k != k2) {
          working[k2] = working[k];
          working.erase(k);
        }
        break;
      }
      case 5:
        if (rng() % 4 == 0) {
          Status s = t->Delete(k);
          ASSERT_EQ(s.IsNotFound(), working.count(k) == 0);
          working.erase(k);
        }
        break;
      case 6:
      case 7: {
        uint64_t off = rng() % (limit + 1000), n = rng() % 20000;
        std::string got;
        Status s = t->ReadAt(k, off, n, &got);
        auto it = working.find(k);
        ASSERT_EQ(s.IsNotFound(), it == working.end());
        if (it != working.end()) {
          std::string want = off < it->second.size() ? it->second.substr(off, n) : "";
          ASSERT_TRUE(got == want) << "step " << step;
        }
        break;
      }
      case 8:
        ASSERT_TRUE(w->Commit().ok());
        w.reset();
        committed = working;
        ExpectAllocated(db.get(), committed);
        break;
      case 10: {
        // A hole punched anywhere, of any length, past the end included.
        uint64_t off = rng() % (limit + 1000);
        uint64_t len = rng() % 3 == 0 ? rng() % 50000 : rng() % 3 == 0 ? ~uint64_t{0} : rng() % 9000;
        Status s = t->ZeroRange(k, off, len);
        auto it = working.find(k);
        ASSERT_EQ(s.IsNotFound(), it == working.end()) << s.ToString();
        if (it != working.end() && off < it->second.size()) {
          uint64_t n = std::min<uint64_t>(len, it->second.size() - off);
          it->second.replace(off, n, std::string(n, '\0'));
        }
        break;
      }
      case 11: {
        // Out to another tree of the transaction and back under another key.
        std::string k2 = "file" + std::to_string(rng() % 6);
        Tree* other = w->CreateTree("other").value();
        Status s = t->MoveTo(k, other, "parked");
        ASSERT_EQ(s.IsNotFound(), working.count(k) == 0) << s.ToString();
        if (!s.ok()) break;
        ASSERT_TRUE(t->ValueSize(k).status().IsNotFound());
        if (rng() % 2 == 0) {
          ASSERT_TRUE(w->Commit().ok());
          w = std::move(db->BeginWrite()).value();
          t = w->Main();
          other = w->OpenTree("other").value();
          committed = working;
          committed.erase(k);  // parked in "other" meanwhile
        }
        ASSERT_EQ(other->ValueSize("parked").value(), working[k].size());
        ASSERT_TRUE(other->MoveTo("parked", t, k2).ok());
        std::string v = std::move(working[k]);
        working.erase(k);
        working[k2] = std::move(v);
        break;
      }
      case 9:
        if (rng() % 4 == 0) {
          w->Abort();
          w.reset();
        } else if (rng() % 8 == 0) {
          ASSERT_TRUE(w->Commit().ok());
          w.reset();
          committed = working;
          ExpectClean(db.get());
          db.reset();
          db = Open(store, false);
          auto r = db->BeginRead();
          for (const auto& [key, val] : committed) {
            std::string got;
            ASSERT_TRUE((*r)->Main()->Get(key, &got).ok());
            ASSERT_TRUE(got == val) << key;
          }
          ASSERT_EQ((*r)->Main()->Count().value(), committed.size());
        }
        break;
    }
    if (::testing::Test::HasFatalFailure()) return;
  }
  if (w) {
    ASSERT_TRUE(w->Commit().ok());
  }
  ExpectClean(db.get());
}

}  // namespace
}  // namespace bruce
