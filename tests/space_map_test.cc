// store/: the space map allocates, defers frees past readers, rolls back,
// and its on-disk log replays to exactly the same free set.
#include "store/space_map.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "testutil.h"

namespace bruce {
namespace {

constexpr uint32_t kPs = 4096;

std::map<uint64_t, uint64_t> FreeSet(const SpaceMap& s) {
  std::map<uint64_t, uint64_t> m;
  s.ForEachFree([&](uint64_t a, uint64_t n) { m[a] = n; });
  return m;
}

// Commits the open transaction as txn and returns the meta it would write.
format::Meta CommitAs(SpaceMap* s, uint64_t txn) {
  format::Meta m;
  m.page_size = kPs;
  m.txn = txn;
  EXPECT_TRUE(s->WriteLog(txn, &m).ok());
  s->Committed(txn);
  return m;
}

TEST(SpaceMap, GrowsWhenNothingIsFree) {
  auto store = NewMemoryStore();
  SpaceMap s(store.get(), kPs);
  s.InitEmpty();
  s.Begin();
  EXPECT_EQ(s.Allocate(1), 2u);
  EXPECT_EQ(s.Allocate(3), 3u);
  EXPECT_EQ(s.total_pages(), 6u);
}

TEST(SpaceMap, FreedPagesWaitForReaders) {
  auto store = NewMemoryStore();
  SpaceMap s(store.get(), kPs);
  s.InitEmpty();
  s.Begin();
  uint64_t a = s.Allocate(1);
  CommitAs(&s, 1);
  s.Release(1);
  s.Begin();
  s.Free(a, 1);
  EXPECT_NE(s.Allocate(1), a);  // freed by the open transaction: not reusable
  CommitAs(&s, 2);
  s.Release(1);  // a reader still on txn 1 sees page a
  s.Begin();
  EXPECT_NE(s.Allocate(1), a);
  CommitAs(&s, 3);
  s.Release(3);
  s.Begin();
  EXPECT_EQ(s.Allocate(1), a);
  s.Rollback();
}

TEST(SpaceMap, RollbackUndoesExactly) {
  auto store = NewMemoryStore();
  SpaceMap s(store.get(), kPs);
  s.InitEmpty();
  s.Begin();
  for (int i = 0; i < 10; i++) s.Allocate(1);
  CommitAs(&s, 1);
  s.Begin();
  s.Free(4, 2);
  CommitAs(&s, 2);
  s.Release(2);
  auto before = FreeSet(s);
  uint64_t total = s.total_pages();
  s.Begin();
  s.Allocate(1);
  s.Allocate(50);
  s.Free(8, 1);
  format::Meta m;
  ASSERT_TRUE(s.WriteLog(3, &m).ok());
  s.Rollback();
  EXPECT_EQ(FreeSet(s), before);
  EXPECT_EQ(s.total_pages(), total);
}

TEST(SpaceMap, LogReplaysToTheSameFreeSet) {
  std::mt19937_64 rng(testing::Seed("SpaceMap.Replay"));
  auto store = NewMemoryStore();
  SpaceMap s(store.get(), kPs);
  s.InitEmpty();
  std::vector<std::pair<uint64_t, uint64_t>> live;
  format::Meta m;
  size_t longest_chain = 0;
  for (uint64_t txn = 1; txn <= 400; txn++) {
    s.Begin();
    int allocs = static_cast<int>(rng() % 20);
    for (int i = 0; i < allocs; i++) {
      uint64_t n = 1 + rng() % 3;
      live.emplace_back(s.Allocate(n), n);
    }
    int frees = static_cast<int>(rng() % 20);
    for (int i = 0; i < frees && !live.empty(); i++) {
      size_t j = rng() % live.size();
      s.Free(live[j].first, live[j].second);
      live.erase(live.begin() + static_cast<long>(j));
    }
    m = CommitAs(&s, txn);
    s.Release(txn);
    longest_chain = std::max(longest_chain, s.log_pages());

    SpaceMap replay(store.get(), kPs);
    ASSERT_TRUE(replay.Load(m).ok()) << "txn " << txn;
    ASSERT_EQ(FreeSet(replay), FreeSet(s)) << "txn " << txn;
    ASSERT_EQ(replay.total_pages(), s.total_pages());
  }
  EXPECT_LE(longest_chain, 40u) << "the log is condensed";
}

}  // namespace
}  // namespace bruce
