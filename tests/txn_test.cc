// txn/: snapshots, named trees, aborts, errors, and readers running on
// other threads while the writer commits.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <vector>
#include <thread>

#include "bruce/db.h"
#include "testutil.h"

namespace bruce {
namespace {

std::unique_ptr<Db> OpenAt(const std::string& path, bool create = true) {
  Options o;
  o.create_if_missing = create;
  auto db = Db::Open(path, o);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return db.ok() ? std::move(db).value() : nullptr;
}

using testing::ExpectClean;

TEST(Txn, ReaderKeepsItsSnapshotAcrossManyCommits) {
  auto db = Db::Open(std::shared_ptr<PageStore>(NewMemoryStore()), Options{true});
  ASSERT_TRUE(db.ok());
  {
    auto w = (*db)->BeginWrite();
    for (int i = 0; i < 2000; i++) ASSERT_TRUE((*w)->Main()->Put("k" + std::to_string(i), "0").ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  auto old = (*db)->BeginRead();
  for (int c = 1; c <= 1000; c++) {
    auto w = (*db)->BeginWrite();
    ASSERT_TRUE((*w)->Main()->Put("k" + std::to_string(c % 2000), std::to_string(c)).ok());
    ASSERT_TRUE((*w)->Main()->Delete("k" + std::to_string((c * 7) % 2000)).ok() || true);
    ASSERT_TRUE((*w)->Commit().ok());
  }
  auto c = (*old)->Main()->NewCursor();
  int n = 0;
  for (c->First(); c->Valid(); c->Next(), n++) ASSERT_EQ(c->value(), "0");
  EXPECT_EQ(n, 2000);
  // The reader held every page the commits freed...
  uint64_t total_held = (*db)->Stat()->total_pages;
  EXPECT_GT(total_held, 10 * (*db)->Stat()->used_pages);
  old.value().reset();
  // ...and with it gone, as many commits again reuse them: no growth.
  for (int c = 1; c <= 1000; c++) {
    auto w = (*db)->BeginWrite();
    ASSERT_TRUE((*w)->Main()->Put("k" + std::to_string(c % 2000), "again").ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  EXPECT_LE((*db)->Stat()->total_pages, total_held);
  ExpectClean(db->get());
}

TEST(Txn, NamedTreesCommitTogetherAndDropFreesPages) {
  Options o;
  o.create_if_missing = true;
  o.compression_level = 0;  // a page a node, so 3,000 keys take many pages
  auto db = Db::Open(std::shared_ptr<PageStore>(NewMemoryStore()), o);
  ASSERT_TRUE(db.ok());
  {
    auto w = (*db)->BeginWrite();
    auto a = (*w)->CreateTree("alpha");
    ASSERT_TRUE(a.ok());
    for (int i = 0; i < 3000; i++) ASSERT_TRUE((*a)->Put("a" + std::to_string(i), "x").ok());
    ASSERT_TRUE((*w)->Main()->Put("m", "1").ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  {
    auto r = (*db)->BeginRead();
    auto names = (*r)->ListTrees();
    ASSERT_TRUE(names.ok());
    EXPECT_EQ(names.value(), (std::vector<std::string>{"alpha", "main"}));
    EXPECT_EQ((*(*r)->OpenTree("alpha"))->Count().value(), 3000u);
    EXPECT_TRUE((*r)->OpenTree("beta").status().IsNotFound());
    std::string v;
    EXPECT_TRUE((*r)->Main()->Get("a1", &v).IsNotFound());
  }
  uint64_t free_before = (*db)->Stat()->free_pages;
  {
    auto w = (*db)->BeginWrite();
    EXPECT_EQ((*w)->DropTree("main").code(), Code::kInvalidArgument);
    ASSERT_TRUE((*w)->DropTree("alpha").ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  EXPECT_GT((*db)->Stat()->free_pages, free_before + 10);
  ExpectClean(db->get());
}

TEST(Txn, AbortDiscardsAndLeaksNothing) {
  auto db = Db::Open(std::shared_ptr<PageStore>(NewMemoryStore()), Options{true});
  ASSERT_TRUE(db.ok());
  std::string hash = (*db)->RootHash();
  {
    auto w = (*db)->BeginWrite();
    for (int i = 0; i < 5000; i++) ASSERT_TRUE((*w)->Main()->Put(std::to_string(i), "v").ok());
    (*w)->Abort();
    EXPECT_EQ((*w)->Main()->Put("a", "b").code(), Code::kInvalidArgument);  // finished
  }
  { auto w = (*db)->BeginWrite(); }  // destroyed without a word: aborts
  EXPECT_EQ((*db)->RootHash(), hash);
  EXPECT_EQ((*(*db)->BeginRead())->Main()->Count().value(), 0u);
  ExpectClean(db->get());
}

TEST(Txn, ClearErrors) {
  testing::TempDir dir;
  std::string path = dir.File("s.bruce");
  auto db = OpenAt(path);
  {
    auto r = db->BeginRead();
    EXPECT_EQ((*r)->Main()->Put("k", "v").code(), Code::kReadOnly);
    EXPECT_EQ((*r)->Main()->Delete("k").code(), Code::kReadOnly);
  }
  // A second open of a store in use is refused.
  auto second = Db::Open(path, Options{});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kBusy);
  EXPECT_NE(second.status().message().find("in use"), std::string::npos);
  db.reset();
  Options ro;
  ro.read_only = true;
  auto rodb = Db::Open(path, ro);
  ASSERT_TRUE(rodb.ok());
  EXPECT_EQ((*rodb)->BeginWrite().status().code(), Code::kReadOnly);
  Options bad;
  bad.create_if_missing = true;
  bad.page_size = 5000;
  EXPECT_EQ(Db::Open(dir.File("bad.bruce"), bad).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(Db::Open(dir.File("missing.bruce"), Options{}).status().IsNotFound());
  Options excl;
  excl.create_if_missing = true;
  excl.error_if_exists = true;
  rodb = Result<std::unique_ptr<Db>>(Status::OK());
  EXPECT_EQ(Db::Open(path, excl).status().code(), Code::kExists);
}

TEST(Txn, RootHashDependsOnContentNotHistory) {
  // Same keys written in one order and the same order again, on stores of
  // different histories, give the same tree and so the same root hash.
  auto a = Db::Open(std::shared_ptr<PageStore>(NewMemoryStore()), Options{true});
  auto b = Db::Open(std::shared_ptr<PageStore>(NewMemoryStore()), Options{true});
  {
    auto w = (*b)->BeginWrite();  // b first churns through unrelated pages
    for (int i = 0; i < 3000; i++) ASSERT_TRUE((*w)->Main()->Put("junk" + std::to_string(i), "j").ok());
    ASSERT_TRUE((*w)->Commit().ok());
    auto w2 = (*b)->BeginWrite();
    for (int i = 0; i < 3000; i++) ASSERT_TRUE((*w2)->Main()->Delete("junk" + std::to_string(i)).ok());
    ASSERT_TRUE((*w2)->Commit().ok());
  }
  for (auto* db : {&a, &b}) {
    auto w = (**db)->BeginWrite();
    for (int i = 0; i < 3000; i++) ASSERT_TRUE((*w)->Main()->Put("k" + std::to_string(i), "v").ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  EXPECT_EQ((*a)->RootHash(), (*b)->RootHash());
  auto w = (*a)->BeginWrite();
  ASSERT_TRUE((*w)->Main()->Put("k1", "changed").ok());
  ASSERT_TRUE((*w)->Commit().ok());
  EXPECT_NE((*a)->RootHash(), (*b)->RootHash());
}

// Readers on several threads while one writer commits: every read
// transaction sees one consistent commit (all values equal its number).
// kAppend leaves each node it fills append_fill full: the leaves of a load
// in key order number about 1/fill of the packed ones, and the keys read
// back the same.
TEST(Txn, AppendFillsNodesToTheConfiguredFraction) {
  auto nodes = [](double fill) -> uint64_t {
    Options o;
    o.create_if_missing = true;
    o.compression_level = 0;  // node sizes in bytes, not in compressed estimates
    o.append_fill = fill;
    auto db = Db::Open(std::shared_ptr<PageStore>(NewMemoryStore()), o);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    auto w = (*db)->BeginWrite();
    for (int i = 0; i < 20000; i++) {
      char k[16];
      std::snprintf(k, sizeof k, "key%08d", i);
      EXPECT_TRUE((*w)->Main()->Put(k, std::string(40, 'v'), kAppend).ok());
    }
    EXPECT_TRUE((*w)->Commit().ok());
    auto r = (*db)->BeginRead();
    EXPECT_EQ((*r)->Main()->Count().value(), 20000u);
    EXPECT_EQ((*r)->Main()->KeyAt(12345).value(), "key00012345");
    CheckReport rep;
    EXPECT_TRUE((*db)->Check(&rep).ok());
    EXPECT_TRUE(rep.ok());
    return rep.nodes_checked;
  };
  uint64_t packed = nodes(1.0), seventy = nodes(0.7);
  EXPECT_GT(seventy, packed * 13 / 10);
  EXPECT_LT(seventy, packed * 16 / 10);
  Options bad;
  bad.create_if_missing = true;
  bad.append_fill = 0.2;
  EXPECT_EQ(Db::Open(std::shared_ptr<PageStore>(NewMemoryStore()), bad).status().code(),
            Code::kInvalidArgument);
}

// A memory store that records read-ahead hints and reads.
class HintStore final : public PageStore {
 public:
  HintStore() : inner_(NewMemoryStore()) {}
  Status Read(uint64_t o, size_t n, char* out) override {
    std::lock_guard l(mu_);
    reads.push_back(o);
    return inner_->Read(o, n, out);
  }
  Status Write(uint64_t o, std::string_view d) override { return inner_->Write(o, d); }
  Status Sync() override { return inner_->Sync(); }
  Result<uint64_t> Size() override { return inner_->Size(); }
  Status Truncate(uint64_t n) override { return inner_->Truncate(n); }
  std::string Name() const override { return "hint-recording memory"; }
  void WillNeed(uint64_t o, uint64_t n) override {
    std::lock_guard l(mu_);
    hints.push_back(o);
    (void)n;
  }
  std::vector<uint64_t> reads, hints;

 private:
  std::unique_ptr<PageStore> inner_;
  std::mutex mu_;
};

// A cold range scan hints the leaves ahead of it, both ways, and reads every
// leaf it hinted; a warm one hints nothing.
TEST(Txn, RangeScansReadAhead) {
  auto store = std::make_shared<HintStore>();
  Options o;
  o.create_if_missing = true;
  o.durability = Durability::kNoSync;
  {
    auto db = Db::Open(store, o);
    ASSERT_TRUE(db.ok());
    auto w = (*db)->BeginWrite();
    std::mt19937_64 rng(7);
    for (int i = 0; i < 20000; i++) {
      ASSERT_TRUE((*w)->Main()->Put("k" + std::to_string(rng() % 1000000), std::string(30, 'v')).ok());
    }
    ASSERT_TRUE((*w)->Commit().ok());
  }
  for (bool forward : {true, false}) {
    auto db = Db::Open(store, o);  // a cold cache
    ASSERT_TRUE(db.ok());
    store->hints.clear();
    store->reads.clear();
    auto r = (*db)->BeginRead();
    auto c = (*r)->Main()->NewCursor();
    uint64_t n = 0;
    if (forward) {
      for (c->Seek("k3"); c->Valid(); c->Next()) n++;
    } else {
      for (c->Seek("k7"), c->Prev(); c->Valid(); c->Prev()) n++;
    }
    ASSERT_TRUE(c->status().ok());
    ASSERT_GT(n, 1000u);
    // Leaves are hinted before they are read, each once, and all are read.
    EXPECT_GT(store->hints.size(), 20u);
    std::set<uint64_t> hinted(store->hints.begin(), store->hints.end());
    EXPECT_EQ(hinted.size(), store->hints.size());
    for (uint64_t h : store->hints) {
      EXPECT_TRUE(std::find(store->reads.begin(), store->reads.end(), h) != store->reads.end());
    }
  }
  // Warm: the same scan hints nothing.
  auto db = Db::Open(store, o);
  ASSERT_TRUE(db.ok());
  for (int pass = 0; pass < 2; pass++) {
    store->hints.clear();
    auto r = (*db)->BeginRead();
    auto c = (*r)->Main()->NewCursor();
    for (c->Seek("k3"); c->Valid(); c->Next()) {
    }
    EXPECT_EQ(store->hints.empty(), pass == 1);
  }
}

// A cold lookup that reads a branch two or more levels above the leaves
// hints all of its children (branches) to the store at once; lookups across
// the key range then read every page hinted, each hinted once; warm lookups
// hint nothing.
TEST(Txn, ColdLookupsReadBranchesAhead) {
  auto store = std::make_shared<HintStore>();
  Options o;
  o.create_if_missing = true;
  o.durability = Durability::kNoSync;
  o.compression_level = 0;
  const int kKeys = 40000;
  auto key = [](int i) {
    char k[16];
    std::snprintf(k, sizeof k, "k%06d", i);
    return std::string(k);
  };
  {
    auto db = Db::Open(store, o);
    ASSERT_TRUE(db.ok());
    auto w = (*db)->BeginWrite();
    for (int i = 0; i < kKeys; i++) ASSERT_TRUE((*w)->Main()->Put(key(i), std::string(30, 'v')).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  auto db = Db::Open(store, o);  // a cold cache
  ASSERT_TRUE(db.ok());
  auto r = (*db)->BeginRead();
  ASSERT_TRUE(r.ok());
  Tree* t = (*r)->Main();
  store->hints.clear();
  store->reads.clear();
  ASSERT_GE(*t->Depth(), 3u);          // reads the root, cold
  EXPECT_GE(store->hints.size(), 2u);  // and hints its children
  std::string v;
  for (int i = 0; i < kKeys; i += 97) ASSERT_TRUE(t->Get(key(i), &v).ok());
  std::set<uint64_t> hinted(store->hints.begin(), store->hints.end());
  EXPECT_EQ(hinted.size(), store->hints.size());
  for (uint64_t h : store->hints) {
    EXPECT_TRUE(std::find(store->reads.begin(), store->reads.end(), h) != store->reads.end());
  }
  store->hints.clear();
  for (int i = 0; i < kKeys; i += 97) ASSERT_TRUE(t->Get(key(i), &v).ok());
  EXPECT_TRUE(store->hints.empty());
}

TEST(Txn, ConcurrentReadersSeeConsistentSnapshots) {
  auto db = Db::Open(std::shared_ptr<PageStore>(NewMemoryStore()), Options{true});
  ASSERT_TRUE(db.ok());
  const int kKeys = 500;
  {
    auto w = (*db)->BeginWrite();
    for (int i = 0; i < kKeys; i++) ASSERT_TRUE((*w)->Main()->Put("k" + std::to_string(i), "0").ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; t++) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto r = (*db)->BeginRead();
        auto c = (*r)->Main()->NewCursor();
        std::string first;
        int n = 0;
        for (c->First(); c->Valid(); c->Next(), n++) {
          if (n == 0) first = std::string(c->value());
          if (c->value() != first) bad++;
        }
        if (n != kKeys || !c->status().ok()) bad++;
        reads++;
      }
    });
  }
  const int commits = static_cast<int>(testing::Steps(100000) / 333);  // 300 by default
  for (int c = 1; c <= commits; c++) {
    auto w = (*db)->BeginWrite();
    for (int i = 0; i < kKeys; i++) {
      ASSERT_TRUE((*w)->Main()->Put("k" + std::to_string(i), std::to_string(c)).ok());
    }
    ASSERT_TRUE((*w)->Commit().ok());
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(reads.load(), 0);
  ExpectClean(db->get());
}

TEST(Txn, CursorSurvivesItsOwnTransactionsWrites) {
  auto db = Db::Open(std::shared_ptr<PageStore>(NewMemoryStore()), Options{true});
  auto w = (*db)->BeginWrite();
  Tree* t = (*w)->Main();
  for (int i = 0; i < 1000; i++) ASSERT_TRUE(t->Put("k" + std::to_string(1000 + i), "v").ok());
  auto c = t->NewCursor();
  c->Seek("k1500");
  ASSERT_TRUE(c->Valid());
  // Delete the current key and many around it; the cursor re-finds its place.
  for (int i = 1400; i <= 1600; i++) ASSERT_TRUE(t->Delete("k" + std::to_string(i)).ok());
  c->Next();
  ASSERT_TRUE(c->Valid());
  EXPECT_EQ(c->key(), "k1601");
  ASSERT_TRUE(t->Put("k1600x", "new").ok());
  c->Prev();
  ASSERT_TRUE(c->Valid());
  EXPECT_EQ(c->key(), "k1600x");
}

}  // namespace
}  // namespace bruce

namespace bruce {
namespace {

// The file grows as needed and gives a free tail back.
TEST(Txn, FileShrinksWhenItsTailIsFree) {
  testing::TempDir dir;
  std::string path = dir.File("s.bruce");
  Options o;
  o.create_if_missing = true;
  o.compression_level = 0;
  o.durability = Durability::kNoSync;
  auto db = Db::Open(path, o);
  ASSERT_TRUE(db.ok());
  auto file_size = [&] { return std::filesystem::file_size(path); };
  uint64_t empty = file_size();
  {
    auto w = (*db)->BeginWrite();
    for (int i = 0; i < 20000; i++) {
      ASSERT_TRUE((*w)->Main()->Put("key" + std::to_string(i), std::string(100, 'v')).ok());
    }
    ASSERT_TRUE((*w)->Commit().ok());
  }
  uint64_t full = file_size();
  EXPECT_GT(full, empty + 2000000);
  {
    auto w = (*db)->BeginWrite();
    for (int i = 0; i < 20000; i++) ASSERT_TRUE((*w)->Main()->Delete("key" + std::to_string(i)).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  for (int i = 0; i < 3; i++) {  // the freed pages become reusable, then the tail goes
    auto w = (*db)->BeginWrite();
    ASSERT_TRUE((*w)->Main()->Put("k", std::to_string(i)).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  EXPECT_LT(file_size(), full / 10);
  CheckReport rep;
  ASSERT_TRUE((*db)->Check(&rep).ok());
  EXPECT_TRUE(rep.ok()) << rep.problems[0];
  db = Result<std::unique_ptr<Db>>(Status::OK());
  auto again = Db::Open(path, Options{});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  std::string v;
  EXPECT_TRUE((*(*again)->BeginRead())->Main()->Get("k", &v).ok());
  EXPECT_EQ(v, "2");
}

}  // namespace
}  // namespace bruce

namespace bruce {
namespace {

// A writer asks the store for its size only when a commit left a free
// tail to give back (on Linux 6.13 and later a stat between writes makes the
// next fdatasync write the inode too), and the tail still goes.
TEST(Txn, WritersStatTheFileOnlyWhenItMayShrink) {
  auto store = std::make_shared<testing::CountingStore>();
  Options o;
  o.create_if_missing = true;
  o.compression_level = 0;
  auto db = Db::Open(store, o);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto put = [&](int from, int to) {
    auto w = (*db)->BeginWrite();
    for (int i = from; i < to; i++) {
      ASSERT_TRUE((*w)->Main()->Put("key" + std::to_string(i), std::string(100, 'v')).ok());
    }
    ASSERT_TRUE((*w)->Commit().ok());
  };
  put(0, 2000);
  const uint64_t before = store->sizes();
  // Overwrites: the store keeps about its size. Some commits free a tail
  // (the space log moving down); the others need not ask.
  for (int i = 0; i < 200; i++) put(i, i + 1);
  EXPECT_LT(store->sizes() - before, 20u);
  const uint64_t full = *store->Size();
  {
    auto w = (*db)->BeginWrite();
    for (int i = 0; i < 2000; i++) ASSERT_TRUE((*w)->Main()->Delete("key" + std::to_string(i)).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  // The freed pages become reusable, then the tail goes.
  uint64_t least = full;
  for (int i = 0; i < 5; i++) {
    put(i, i + 1);
    least = std::min(least, *store->Size());
  }
  EXPECT_LT(least, full / 10);
  ExpectClean(db->get());
}

// A file store opened for writing keeps the file's size itself (a stat
// would cost the next fdatasync an inode write): what it says must be what
// the file is, through growth, overwrites, truncation and writes from
// several threads; a read-only store beside it asks the file and sees the
// writer's growth. Db::Stat's file_bytes is the same figure.
TEST(Txn, FileStoreSizeFollowsTheFile) {
  testing::TempDir dir;
  const std::string path = dir.File("s.bruce");
  auto w = OpenFileStore(path, /*create=*/true, /*read_only=*/false);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  auto r = OpenFileStore(path, false, /*read_only=*/true, /*lock=*/false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto same = [&](const char* when) {
    const uint64_t real = std::filesystem::file_size(path);
    EXPECT_EQ(*(*w)->Size(), real) << when;
    EXPECT_EQ(*(*r)->Size(), real) << when;
  };
  same("empty");
  const std::string page(4096, 'x');
  ASSERT_TRUE((*w)->Write(8192, page).ok());
  same("after a write past the end");
  ASSERT_TRUE((*w)->Write(0, page).ok());
  same("after an overwrite");
  ASSERT_TRUE((*w)->Truncate(4096).ok());
  same("after a truncate");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; i++) EXPECT_TRUE((*w)->Write((uint64_t(i) * 4 + t) * 4096, page).ok());
    });
  }
  for (auto& t : threads) t.join();
  same("after writes from four threads");
  EXPECT_EQ(*(*w)->Size(), uint64_t{200} * 4096);

  // Through the engine: a commit grows the file, a freed tail shrinks it.
  w->reset();
  r->reset();
  Options o;
  o.compression_level = 0;
  auto db = Db::Open(path + ".db", [&] {
    Options c = o;
    c.create_if_missing = true;
    return c;
  }());
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  for (int round = 0; round < 2; round++) {
    auto txn = (*db)->BeginWrite();
    for (int i = 0; i < 3000; i++) {
      std::string k = "k" + std::to_string(i);
      ASSERT_TRUE(round == 0 ? (*txn)->Main()->Put(k, std::string(100, 'v')).ok()
                             : (*txn)->Main()->Delete(k).ok());
    }
    ASSERT_TRUE((*txn)->Commit().ok());
    ASSERT_TRUE((*(*db)->BeginWrite())->Commit().ok());  // the freed tail goes
    auto st = (*db)->Stat();
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->file_bytes, std::filesystem::file_size(path + ".db")) << "round " << round;
  }
}

// What an aborted transaction wrote past the end (a large value's data
// goes to the file at Put), and a file longer than its store at open, are
// given back by the next commit.
TEST(Txn, FileShrinksAfterAbortedGrowthAndWhenOpenedLonger) {
  testing::TempDir dir;
  std::string path = dir.File("s.bruce");
  Options o;
  o.create_if_missing = true;
  o.compression_level = 0;
  auto file_size = [&] { return std::filesystem::file_size(path); };
  auto put = [](Db* db, const std::string& k) {
    auto w = db->BeginWrite();
    ASSERT_TRUE((*w)->Main()->Put(k, "v").ok());
    ASSERT_TRUE((*w)->Commit().ok());
  };
  uint64_t small = 0;
  {
    auto db = Db::Open(path, o);
    ASSERT_TRUE(db.ok());
    put(db->get(), "a");
    small = file_size();
    {
      auto w = (*db)->BeginWrite(WriteMode::kExclusive);
      ASSERT_TRUE((*w)->Main()->Put("big", std::string(8 << 20, 'x')).ok());
      ASSERT_GT(file_size(), small + (4u << 20));  // the value's data is in the file
      (*w)->Abort();
    }
    put(db->get(), "b");
    EXPECT_LE(file_size(), small + 4 * 4096);
    small = file_size();
  }
  std::filesystem::resize_file(path, small + (1u << 20));  // a longer file: zeros past the store
  auto db = Db::Open(path, o);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  put(db->get(), "c");
  EXPECT_LE(file_size(), small + 4 * 4096);
  ExpectClean(db->get());
}

// Compaction moves live pages down so the file shrinks; nothing is lost,
// snapshots included.
TEST(Txn, CompactShrinksTheFile) {
  testing::TempDir dir;
  std::string path = dir.File("s.bruce");
  Options o;
  o.create_if_missing = true;
  o.durability = Durability::kNoSync;
  auto db = Db::Open(path, o);
  ASSERT_TRUE(db.ok());
  std::mt19937_64 rng(5);
  std::map<std::string, std::string> model;
  {
    auto w = (*db)->BeginWrite();
    for (int i = 0; i < 30000; i++) {
      std::string k = "key" + std::to_string(i);
      std::string v(i % 50 == 5 || i == 10 ? 20000 : 100, static_cast<char>('a' + i % 26));
      ASSERT_TRUE((*w)->Main()->Put(k, v).ok());
      model[k] = v;
    }
    ASSERT_TRUE((*w)->Commit().ok());
  }
  {
    // Keep every tenth key: the survivors are spread all over the file.
    auto w = (*db)->BeginWrite();
    for (int i = 0; i < 30000; i++) {
      if (i % 10 == 0) continue;
      std::string k = "key" + std::to_string(i);
      ASSERT_TRUE((*w)->Main()->Delete(k).ok());
      model.erase(k);
    }
    ASSERT_TRUE((*w)->Commit().ok());
  }
  uint64_t before = std::filesystem::file_size(path);
  auto after = (*db)->Compact();
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after.value(), std::filesystem::file_size(path));
  EXPECT_LT(after.value(), before / 3) << before;
  // With a snapshot holding pages, compaction leaves those where they are
  // and never grows the file.
  ASSERT_TRUE((*db)->CreateSnapshot("kept").ok());
  {
    auto w = (*db)->BeginWrite();
    ASSERT_TRUE((*w)->Main()->Put("after", "snapshot").ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  uint64_t with_snapshot = std::filesystem::file_size(path);
  auto again = (*db)->Compact();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_LE(again.value(), with_snapshot);
  CheckReport rep;
  ASSERT_TRUE((*db)->Check(&rep).ok());
  ASSERT_TRUE(rep.ok()) << rep.problems[0];
  auto check = [&](ReadTxn* r, bool with_after) {
    auto c = r->Main()->NewCursor();
    auto want = model;
    if (with_after) want["after"] = "snapshot";
    auto it = want.begin();
    for (c->First(); c->Valid(); c->Next(), ++it) {
      ASSERT_NE(it, want.end());
      ASSERT_EQ(c->key(), it->first);
      ASSERT_TRUE(c->value() == it->second);
    }
    ASSERT_EQ(it, want.end());
  };
  check((*db)->BeginRead()->get(), true);
  check((*db)->BeginRead("kept")->get(), false);
}

}  // namespace
}  // namespace bruce

namespace bruce {
namespace {

// A store whose Sync blocks until the test lets it go.
class GatedStore final : public PageStore {
 public:
  GatedStore() : inner_(NewMemoryStore()) {}
  Status Read(uint64_t o, size_t n, char* out) override { return inner_->Read(o, n, out); }
  Status Write(uint64_t o, std::string_view d) override { return inner_->Write(o, d); }
  Status Sync() override {
    std::unique_lock lock(mu_);
    syncing_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    syncs_++;
    return Status::OK();
  }
  Result<uint64_t> Size() override { return inner_->Size(); }
  Status Truncate(uint64_t n) override { return inner_->Truncate(n); }
  std::string Name() const override { return "gated memory"; }

  void Close() {
    std::lock_guard lock(mu_);
    open_ = false;
    syncing_ = false;
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void WaitForSync() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return syncing_; });
  }
  int syncs() {
    std::lock_guard lock(mu_);
    return syncs_;
  }

 private:
  std::unique_ptr<PageStore> inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true, syncing_ = false;
  int syncs_ = 0;
};

// Engine decision 11: while one commit waits for the disk, readers read and
// the next writer writes and seals; waiting commits share one sync.
TEST(Txn, NothingWaitsForAnotherCommitsSync) {
  auto store = std::make_shared<GatedStore>();
  Options o;
  o.create_if_missing = true;
  auto db = Db::Open(store, o);
  ASSERT_TRUE(db.ok());
  store->Close();
  std::thread committer([&] {
    auto w = (*db)->BeginWrite();
    ASSERT_TRUE((*w)->Main()->Put("first", "1").ok());
    EXPECT_TRUE((*w)->Commit().ok());
  });
  store->WaitForSync();  // the commit is now inside fdatasync
  {
    auto r = (*db)->BeginRead();
    std::string v;
    EXPECT_TRUE((*r)->Main()->Get("first", &v).ok());  // sealed: visible already
    auto w = (*db)->BeginWrite();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Main()->Put("second", "2").ok());
    auto id = (*w)->CommitNoWait();
    ASSERT_TRUE(id.ok());
    auto r2 = (*db)->BeginRead();
    EXPECT_TRUE((*r2)->Main()->Get("second", &v).ok());
    EXPECT_LT((*db)->Stat()->durable_txn, id.value());
  }
  int before = store->syncs();
  store->Open();
  committer.join();
  auto last = (*(*db)->BeginRead())->id();
  ASSERT_TRUE((*db)->WaitDurable(last).ok());
  EXPECT_EQ((*db)->Stat()->durable_txn, last);
  // The first commit's wait (2 syncs) and then one more group for the
  // second: never a sync per sealed commit beyond that.
  EXPECT_LE(store->syncs() - before, 4);
  CheckReport rep;
  ASSERT_TRUE((*db)->Check(&rep).ok());
  EXPECT_TRUE(rep.ok()) << rep.problems[0];
}

}  // namespace
}  // namespace bruce
