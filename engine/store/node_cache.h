// store/node_cache.h — verified, decoded nodes kept in memory, by page.
//
// Entries are immutable shared nodes: a reader holding one keeps it alive
// after eviction. The cache is split into shards by page number, each under
// its own mutex with its share of the byte budget. A shard finds an entry by
// indexing an array with the page number (pages are dense).
//
// Replacement is ARC (Megiddo and Modha), by bytes: T1 holds nodes seen once
// recently, T2 nodes seen at least twice; B1 and B2 remember (without the
// node) what was evicted from each. A hit in B1 says recency was short of
// room and grows T1's target p; a hit in B2 shrinks it. A long scan passes
// through T1 without pushing the frequently used nodes of T2 out. The lists
// are Boost.Intrusive lists threaded through the entries.
//
// A page's entry is replaced when the page is rewritten; lookups also
// compare the node's hash with the pointer's, so a stale entry is never
// returned.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <boost/intrusive/list.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "format/node.h"

namespace bruce {

using NodeRef = std::shared_ptr<const format::Node>;

class NodeCache {
 public:
  explicit NodeCache(size_t budget_bytes);
  ~NodeCache();

  // The node at page, if cached with that hash.
  NodeRef Lookup(uint64_t page, const format::Hash128& hash);
  // Whether it is cached, without counting a use (read-ahead asks this).
  bool Contains(uint64_t page, const format::Hash128& hash);
  void Insert(uint64_t page, const format::Hash128& hash, NodeRef node);
  void Erase(uint64_t page);

  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }
  size_t bytes() const;

 private:
  enum class Where : uint8_t { kT1, kT2, kB1, kB2 };
  struct Item : boost::intrusive::list_base_hook<> {
    uint64_t page;
    format::Hash128 hash;
    NodeRef node;  // null in a ghost list
    size_t bytes;
    Where where;
  };
  using List = boost::intrusive::list<Item>;
  struct Shard {
    std::mutex mu;
    List t1, t2, b1, b2;  // most recent at the front
    size_t t1_bytes = 0, t2_bytes = 0, b1_bytes = 0, b2_bytes = 0;
    size_t p = 0;  // target bytes for T1
    std::vector<Item*> index;  // by page / kShards
  };
  static constexpr size_t kShards = 16;
  Shard& ShardFor(uint64_t page) { return shards_[page % kShards]; }
  static Item*& Slot(Shard& s, uint64_t page);
  static List& ListOf(Shard& s, Where w);
  static size_t& BytesOf(Shard& s, Where w);
  static void Unlink(Shard& s, Item* item);
  static void Link(Shard& s, Item* item, Where w);
  // Evicts from T1 or T2 (ARC's REPLACE) until the cached bytes fit.
  void Replace(Shard& s, bool hit_in_b2);
  void TrimGhosts(Shard& s);
  void Destroy(Shard& s, Item* item);

  size_t shard_budget_;
  std::vector<Shard> shards_;
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
  std::atomic<uint64_t> evictions_{0};
};

}  // namespace bruce
