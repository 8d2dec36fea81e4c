// store/node_cache.h — verified, decoded nodes kept in memory, by page.
//
// Entries are immutable shared nodes: a reader holding one keeps it alive
// after eviction. The cache is split into shards by page number, each under
// its own mutex with its share of the byte budget. A shard finds an entry by
// indexing an array with the page number (pages are dense), and evicts with
// CLOCK (second chance) over a Boost.Intrusive list: a hit only sets a flag,
// and eviction passes over a flagged entry once, clearing the flag.
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
  void Insert(uint64_t page, const format::Hash128& hash, NodeRef node);
  void Erase(uint64_t page);

  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }
  size_t bytes() const;

 private:
  struct Item : boost::intrusive::list_base_hook<> {
    uint64_t page;
    format::Hash128 hash;
    NodeRef node;
    size_t bytes;
    bool referenced = false;
  };
  using List = boost::intrusive::list<Item>;
  struct Shard {
    std::mutex mu;
    List clock;                 // newest first; the hand works from the back
    std::vector<Item*> index;   // by page / kShards
    size_t bytes = 0;
  };
  static constexpr size_t kShards = 16;
  Shard& ShardFor(uint64_t page) { return shards_[page % kShards]; }
  static Item*& Slot(Shard& s, uint64_t page);
  void Remove(Shard& s, Item* item);

  size_t shard_budget_;
  std::vector<Shard> shards_;
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
  std::atomic<uint64_t> evictions_{0};
};

}  // namespace bruce
