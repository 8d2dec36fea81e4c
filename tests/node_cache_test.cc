// store/: the node cache keeps to its budget, never returns a stale node,
// and (ARC) keeps a frequently used set through a long one-time scan.
#include "store/node_cache.h"

#include <gtest/gtest.h>

namespace bruce {
namespace {

NodeRef MakeNode(int i) {
  auto n = std::make_shared<format::Node>(0);
  n->InsertLeaf(0, "key" + std::to_string(i), std::string(900, 'v'), format::ValueType::kInline);
  return n;
}

format::Hash128 H(int i) { return format::Hash128{static_cast<uint64_t>(i), 7}; }

TEST(NodeCache, StaysWithinItsBudget) {
  size_t one = MakeNode(0)->MemoryBytes();
  NodeCache cache(200 * one);
  for (int i = 0; i < 5000; i++) cache.Insert(i, H(i), MakeNode(i));
  EXPECT_LE(cache.bytes(), 200 * one + 16 * one);
  EXPECT_GT(cache.evictions(), 4000u);
}

TEST(NodeCache, AStaleHashIsAMiss) {
  NodeCache cache(1 << 20);
  cache.Insert(5, H(1), MakeNode(1));
  EXPECT_NE(cache.Lookup(5, H(1)), nullptr);
  EXPECT_EQ(cache.Lookup(5, H(2)), nullptr);  // the page was rewritten since
  cache.Insert(5, H(2), MakeNode(2));
  EXPECT_EQ(cache.Lookup(5, H(1)), nullptr);
  EXPECT_NE(cache.Lookup(5, H(2)), nullptr);
  cache.Erase(5);
  EXPECT_EQ(cache.Lookup(5, H(2)), nullptr);
}

// A scan of many pages read once must not push out pages read often.
TEST(NodeCache, FrequentPagesSurviveAScan) {
  size_t one = MakeNode(0)->MemoryBytes();
  NodeCache cache(16 * 40 * one);  // about 40 nodes a shard
  const int kHot = 16 * 15;
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < kHot; i++) {
      if (!cache.Lookup(i, H(i))) cache.Insert(i, H(i), MakeNode(i));
    }
  }
  for (int i = 100000; i < 100000 + 16 * 400; i++) {  // the scan: ten times the cache
    if (!cache.Lookup(i, H(i))) cache.Insert(i, H(i), MakeNode(i));
  }
  int kept = 0;
  for (int i = 0; i < kHot; i++) kept += cache.Lookup(i, H(i)) != nullptr;
  EXPECT_GE(kept, kHot * 9 / 10) << "of " << kHot << " hot pages";
}

// A page evicted and soon wanted again comes back as frequently used.
TEST(NodeCache, GhostHitsAdapt) {
  size_t one = MakeNode(0)->MemoryBytes();
  NodeCache cache(16 * 10 * one);
  for (int i = 0; i < 16 * 30; i++) cache.Insert(i, H(i), MakeNode(i));
  // Shard 0 held pages 0, 16, ... 464: the last ten are cached, the ten
  // before them remembered as ghosts.
  const int kPage = 16 * 19;
  EXPECT_EQ(cache.Lookup(kPage, H(kPage)), nullptr);  // evicted
  cache.Insert(kPage, H(kPage), MakeNode(kPage));    // a ghost hit
  for (int i = 1000; i < 1000 + 16 * 30; i++) cache.Insert(i * 16, H(i), MakeNode(i));
  EXPECT_NE(cache.Lookup(kPage, H(kPage)), nullptr);  // kept in T2 through the new ones
  cache.Insert(0, H(0), MakeNode(0));  // no ghost left of page 0: a newcomer
  for (int i = 5000; i < 5000 + 30; i++) cache.Insert(i * 16, H(i), MakeNode(i));
  EXPECT_EQ(cache.Lookup(0, H(0)), nullptr);
}

}  // namespace
}  // namespace bruce
