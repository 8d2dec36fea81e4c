// Snapshots: O(1) to take, read exactly their commit until destroyed,
// destroy frees what only they held, rollback; never a leaked or reused
// page (check after every few hundred random steps).
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>

#include "bruce/db.h"
#include "testutil.h"

namespace bruce {
namespace {

using Model = std::map<std::string, std::string>;

using testing::CountingStore;

std::unique_ptr<Db> Open(std::shared_ptr<PageStore> store, bool create = true) {
  Options o;
  o.create_if_missing = create;
  o.durability = Durability::kNoSync;
  auto db = Db::Open(std::move(store), o);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return std::move(db).value();
}

using testing::ExpectClean;

Model ReadAll(ReadTxn* r) {
  Model m;
  auto c = r->Main()->NewCursor();
  for (c->First(); c->Valid(); c->Next()) m.emplace(c->key(), c->value());
  EXPECT_TRUE(c->status().ok()) << c->status().ToString();
  return m;
}

void Write(Db* db, const Model& changes, const std::vector<std::string>& deletes = {}) {
  auto w = db->BeginWrite();
  for (const auto& [k, v] : changes) ASSERT_TRUE((*w)->Main()->Put(k, v).ok());
  for (const auto& k : deletes) ASSERT_TRUE((*w)->Main()->Delete(k).ok());
  ASSERT_TRUE((*w)->Commit().ok());
}

TEST(Snapshot, KeepsItsCommitWhileTheStoreMovesOn) {
  auto db = Open(std::shared_ptr<PageStore>(NewMemoryStore()));
  Model before;
  for (int i = 0; i < 3000; i++) before["k" + std::to_string(i)] = std::string(40, 'a' + i % 26);
  before["big"] = std::string(100000, 'B');
  Write(db.get(), before);
  ASSERT_TRUE(db->CreateSnapshot("monday").ok());
  Model after = before;
  Model changes;
  for (int i = 0; i < 3000; i += 3) changes["k" + std::to_string(i)] = "changed";
  Write(db.get(), changes, {"k1", "k2", "big"});
  for (auto& [k, v] : changes) after[k] = v;
  after.erase("k1");
  after.erase("k2");
  after.erase("big");
  ExpectClean(db.get());

  auto snap = db->BeginRead("monday");
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ((*snap)->snapshot(), "monday");
  EXPECT_TRUE(ReadAll(snap->get()) == before);
  EXPECT_TRUE(ReadAll(db->BeginRead()->get()) == after);
  EXPECT_EQ((*snap)->Main()->Put("x", "y").code(), Code::kReadOnly);
  snap.value().reset();

  auto list = db->ListSnapshots();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "monday");
  EXPECT_GT((*list)[0].referenced_bytes, 100000u);
  EXPECT_GT((*list)[0].unique_bytes, 100000u);  // "big" and the rewritten leaves

  // Survives a reopen.
  uint64_t free_before = db->Stat()->free_pages;
  ASSERT_TRUE(db->DestroySnapshot("monday").ok());
  EXPECT_GT(db->Stat()->free_pages, free_before + 100000 / 4096);
  EXPECT_TRUE(db->BeginRead("monday").status().IsNotFound());
  ExpectClean(db.get());
}

TEST(Snapshot, NamesAreChecked) {
  auto db = Open(std::shared_ptr<PageStore>(NewMemoryStore()));
  for (const char* bad : {"", ".hidden", "a/b", "sp ace", "nul\x01"}) {
    EXPECT_EQ(db->CreateSnapshot(bad).code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(db->CreateSnapshot("2026-11-22T10:00:00+01:00").ok());
  EXPECT_EQ(db->CreateSnapshot("2026-11-22T10:00:00+01:00").code(), Code::kExists);
  EXPECT_TRUE(db->DestroySnapshot("nope").IsNotFound());
  EXPECT_TRUE(db->BeginRead("nope").status().IsNotFound());
  EXPECT_TRUE(db->Rollback("nope").IsNotFound());
}

// Taking a snapshot writes the same few pages whatever the store's size.
TEST(Snapshot, CreateIsConstantTime) {
  for (int keys : {10000, 200000}) {
    auto store = std::make_shared<CountingStore>();
    auto db = Open(store);
    auto w = db->BeginWrite();
    for (int i = 0; i < keys; i++) ASSERT_TRUE((*w)->Main()->Put("key" + std::to_string(i), "v").ok());
    ASSERT_TRUE((*w)->Commit().ok());
    uint64_t before = store->written();
    ASSERT_TRUE(db->CreateSnapshot("s").ok());
    EXPECT_LT(store->written() - before, 16u * 4096) << keys << " keys";
  }
}

TEST(Snapshot, RollbackRestoresTheLiveStore) {
  auto db = Open(std::shared_ptr<PageStore>(NewMemoryStore()));
  Model v1{{"a", "1"}, {"b", std::string(50000, 'b')}, {"c", "3"}};
  Write(db.get(), v1);
  ASSERT_TRUE(db->CreateSnapshot("v1").ok());
  Write(db.get(), {{"a", "changed"}, {"d", "new"}}, {"b"});
  {
    auto w = db->BeginWrite();
    auto t = (*w)->CreateTree("other");
    ASSERT_TRUE((*t)->Put("x", "y").ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  ASSERT_TRUE(db->CreateSnapshot("v2").ok());
  EXPECT_EQ(db->Rollback("v1").code(), Code::kInvalidArgument);  // v2 is newer
  ASSERT_TRUE(db->DestroySnapshot("v2").ok());
  ASSERT_TRUE(db->Rollback("v1").ok());
  auto r = db->BeginRead();
  EXPECT_TRUE(ReadAll(r->get()) == v1);
  EXPECT_TRUE((*r)->OpenTree("other").status().IsNotFound());
  r.value().reset();
  ExpectClean(db.get());
  // The store goes on from there, and the snapshot stays intact.
  Write(db.get(), {{"a", "again"}}, {"c"});
  ExpectClean(db.get());
  auto s = db->BeginRead("v1");
  EXPECT_TRUE(ReadAll(s->get()) == v1);
  s.value().reset();
  ASSERT_TRUE(db->DestroySnapshot("v1").ok());
  ExpectClean(db.get());
}

// Overwriting the same keys over and over: with no snapshot the file stays
// small; a snapshot keeps its pages; destroyed, they are reused.
TEST(Snapshot, ChurnIsReclaimedAndSnapshotsRetainTheirPages) {
  auto db = Open(std::shared_ptr<PageStore>(NewMemoryStore()));
  const int kKeys = 10000;
  const int kRounds = static_cast<int>(testing::Steps(100000) / 100);  // 1,000 by default
  auto round = [&](int r) {
    auto w = db->BeginWrite();
    for (int i = 0; i < kKeys; i++) {
      ASSERT_TRUE((*w)->Main()->Put("key" + std::to_string(i), std::to_string(r) + "-value").ok());
    }
    ASSERT_TRUE((*w)->Commit().ok());
  };
  round(0);
  uint64_t live = db->Stat()->used_pages;
  for (int r = 1; r < kRounds; r++) round(r);
  EXPECT_LT(db->Stat()->total_pages, 3 * live) << "after " << kRounds << " rounds";

  ASSERT_TRUE(db->CreateSnapshot("held").ok());
  uint64_t held_total = db->Stat()->total_pages;
  for (int r = 0; r < 5; r++) round(kRounds + r);
  EXPECT_GT(db->Stat()->total_pages, held_total + live / 2);  // the snapshot's pages stay
  ExpectClean(db.get());
  ASSERT_TRUE(db->DestroySnapshot("held").ok());
  uint64_t after_destroy = db->Stat()->total_pages;
  for (int r = 0; r < 20; r++) round(kRounds + 10 + r);
  EXPECT_LE(db->Stat()->total_pages, after_destroy);  // freed pages reused
  ExpectClean(db.get());
}

// Random operations with snapshots taken, read, destroyed and rolled back
// to at random points, against models; check every few hundred steps.
void RandomSnapshots(uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto store = std::shared_ptr<PageStore>(NewMemoryStore());
  auto db = Open(store);
  Model live;
  std::map<std::string, Model> snaps;
  std::map<std::string, uint64_t> snap_order;
  uint64_t order = 0;
  int next_name = 0;
  uint64_t steps = testing::Steps(100000) / 10;
  for (uint64_t step = 0; step < steps; step++) {
    uint64_t op = rng() % 100;
    if (std::getenv("BRUCE_CHECK_EVERY_STEP")) std::fprintf(stderr, "step %d op %d\n", (int)step, (int)op);
    if (op < 60) {
      auto w = db->BeginWrite();
      int n = 1 + static_cast<int>(rng() % 30);
      for (int i = 0; i < n; i++) {
        std::string k = "k" + std::to_string(rng() % 500);
        if (rng() % 4 == 0) {
          Status s = (*w)->Main()->Delete(k);
          ASSERT_TRUE(s.ok() || s.IsNotFound());
          live.erase(k);
        } else {
          std::string v(rng() % 8 == 0 ? 5000 + rng() % 20000 : rng() % 100,
                        static_cast<char>('a' + rng() % 26));
          ASSERT_TRUE((*w)->Main()->Put(k, v).ok());
          live[k] = v;
        }
      }
      ASSERT_TRUE((*w)->Commit().ok());
    } else if (op < 70) {
      std::string name = "s" + std::to_string(next_name++);
      Status cs = db->CreateSnapshot(name);
      ASSERT_TRUE(cs.ok()) << cs.ToString();
      snaps[name] = live;
      snap_order[name] = order++;
    } else if (op < 78 && !snaps.empty()) {
      auto it = std::next(snaps.begin(), static_cast<long>(rng() % snaps.size()));
      ASSERT_TRUE(db->DestroySnapshot(it->first).ok());
      snap_order.erase(it->first);
      snaps.erase(it);
    } else if (op < 90 && !snaps.empty()) {
      auto it = std::next(snaps.begin(), static_cast<long>(rng() % snaps.size()));
      auto r = db->BeginRead(it->first);
      ASSERT_TRUE(r.ok());
      ASSERT_TRUE(ReadAll(r->get()) == it->second) << "snapshot " << it->first << " at " << step;
    } else if (op < 92 && !snaps.empty()) {
      // Roll back to the newest snapshot.
      std::string newest;
      uint64_t best = 0;
      for (const auto& [name, o] : snap_order) {
        if (newest.empty() || o > best) {
          newest = name;
          best = o;
        }
      }
      ASSERT_TRUE(db->Rollback(newest).ok());
      live = snaps[newest];
    } else if (op < 94) {
      db.reset();
      db = Open(store, false);
    }
    if (step % 200 == 199 || std::getenv("BRUCE_CHECK_EVERY_STEP")) {
      ExpectClean(db.get());
      ASSERT_TRUE(ReadAll(db->BeginRead()->get()) == live) << "live at " << step;
    }
    if (::testing::Test::HasFatalFailure()) {
      ADD_FAILURE() << "at step " << step;
      return;
    }
  }
  for (const auto& [name, m] : snaps) ASSERT_TRUE(db->DestroySnapshot(name).ok());
  ExpectClean(db.get());
  EXPECT_EQ(db->Stat()->used_pages + db->Stat()->free_pages, db->Stat()->total_pages);
}

TEST(Snapshot, RandomSnapshotsAgainstModels) { RandomSnapshots(testing::Seed("Snapshot.Random")); }

// Regression: this seed destroyed a snapshot whose record was the last in a
// leaf of the snapshot tree; the tree's root became a committed child (no
// dirty node), the commit did not write the tree back, the record stayed
// while its pages were freed, and check found them both free and in use.
TEST(Snapshot, RandomSnapshotsRegressionSeed) { RandomSnapshots(1707392611644527848ull); }

}  // namespace
}  // namespace bruce
