// store/node_cache.h — verified, decoded nodes kept in memory, by page.
//
// Entries are immutable shared nodes: a reader holding one keeps it alive
// after eviction. The cache is split into shards, each an LRU list under its
// own mutex, with the byte budget divided among them. A page's entry is
// replaced when the page is rewritten; lookups also compare the node's hash
// with the pointer's, so a stale entry can never be returned.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "format/node.h"

namespace bruce {

using NodeRef = std::shared_ptr<const format::Node>;

class NodeCache {
 public:
  explicit NodeCache(size_t budget_bytes);

  // The node at page, if cached with that hash.
  NodeRef Lookup(uint64_t page, const format::Hash128& hash);
  void Insert(uint64_t page, const format::Hash128& hash, NodeRef node);
  void Erase(uint64_t page);

  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }
  size_t bytes() const;

 private:
  struct Item {
    uint64_t page;
    format::Hash128 hash;
    NodeRef node;
    size_t bytes;
  };
  struct Shard {
    std::mutex mu;
    std::list<Item> lru;  // most recent first
    std::unordered_map<uint64_t, std::list<Item>::iterator> map;
    size_t bytes = 0;
  };
  static constexpr size_t kShards = 16;
  Shard& ShardFor(uint64_t page) { return shards_[(page * 0x9E3779B97F4A7C15ull) >> 60]; }

  size_t shard_budget_;
  std::vector<Shard> shards_;
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
};

}  // namespace bruce
