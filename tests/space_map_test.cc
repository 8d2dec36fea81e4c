// store/: the space map allocates, defers frees past readers, rolls back,
// and its on-disk log replays to exactly the same free set.
#include "store/space_map.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

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
  // Everything free waits for an older reader in another process; the
  // count of free pages (free and waiting) stays what it was.
  const uint64_t free = s.free_pages();
  ASSERT_GT(free, 0u);
  s.HoldFree(4);
  EXPECT_EQ(s.free_pages(), free);
  s.Begin();
  EXPECT_NE(s.Allocate(1), a);
  s.Rollback();
  EXPECT_EQ(s.free_pages(), free);
  s.Release(4);
  EXPECT_EQ(s.free_pages(), free);
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

// Random allocations, frees (of older pages and of the transaction's own),
// commits and rollbacks against a model of which pages are in use: a run
// handed out never holds a page in use, and after each commit or rollback
// the free set is exactly every page neither in use nor the log's, as
// maximal extents.
TEST(SpaceMap, MatchesAPageModel) {
  std::mt19937_64 rng(testing::Seed("SpaceMap.Model"));
  auto store = NewMemoryStore();
  SpaceMap s(store.get(), kPs);
  s.InitEmpty();
  std::set<uint64_t> used;                            // the model
  std::vector<std::pair<uint64_t, uint64_t>> live;    // runs in use, committed
  for (uint64_t txn = 1; txn <= 600; txn++) {
    s.Begin();
    std::set<uint64_t> used_before = used;
    auto live_before = live;
    std::vector<std::pair<uint64_t, uint64_t>> mine;  // allocated by this txn
    int ops = static_cast<int>(rng() % 40);
    for (int i = 0; i < ops; i++) {
      uint64_t r = rng() % 10;
      if (r < 5) {
        uint64_t n = 1 + rng() % 4;
        uint64_t a = s.Allocate(n);
        for (uint64_t p = a; p < a + n; p++) {
          ASSERT_GE(p, format::kMetaPages);
          ASSERT_TRUE(used.insert(p).second) << "page " << p << " handed out twice, txn " << txn;
        }
        mine.emplace_back(a, n);
      } else if (r < 7 && !mine.empty()) {  // one of its own: free at once
        size_t j = rng() % mine.size();
        s.Free(mine[j].first, mine[j].second);
        for (uint64_t p = mine[j].first; p < mine[j].first + mine[j].second; p++) used.erase(p);
        mine.erase(mine.begin() + static_cast<long>(j));
      } else if (!live.empty()) {  // a committed run: in use until the commit
        size_t j = rng() % live.size();
        s.Free(live[j].first, live[j].second);
        live.erase(live.begin() + static_cast<long>(j));  // its pages stay used until then
      }
    }
    if (rng() % 8 == 0) {
      format::Meta m;
      ASSERT_TRUE(s.WriteLog(txn, &m).ok());
      s.Rollback();
      used = used_before;
      live = live_before;
    } else {
      CommitAs(&s, txn);
      uint64_t counted = 0;  // free and waiting for readers
      for (const auto& [a, n] : FreeSet(s)) counted += n;
      ASSERT_EQ(s.free_pages(), counted) << "txn " << txn;
      s.Release(txn);
      live.insert(live.end(), mine.begin(), mine.end());
      used.clear();
      for (const auto& [a, n] : live) {
        for (uint64_t p = a; p < a + n; p++) used.insert(p);
      }
    }
    std::set<uint64_t> free_pages;
    uint64_t prev_end = 0;
    for (const auto& [a, n] : FreeSet(s)) {
      ASSERT_GT(n, 0u);
      ASSERT_GT(a, prev_end) << "extents touching or overlapping at " << a << ", txn " << txn;
      prev_end = a + n;
      for (uint64_t p = a; p < a + n; p++) free_pages.insert(p);
    }
    std::set<uint64_t> expect;  // every page but those in use and the log's own
    for (uint64_t p = format::kMetaPages; p < s.total_pages(); p++) {
      if (!used.count(p)) expect.insert(p);
    }
    for (uint64_t p : s.log_chain()) expect.erase(p);
    ASSERT_EQ(free_pages, expect) << "txn " << txn;
    // The count it keeps as it goes (the meta page's free_pages) agrees.
    ASSERT_EQ(s.free_pages(), free_pages.size()) << "txn " << txn;
    ASSERT_TRUE(used.empty() || *used.rbegin() < s.total_pages());
  }
}

}  // namespace
}  // namespace bruce
