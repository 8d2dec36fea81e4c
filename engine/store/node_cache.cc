#include "store/node_cache.h"

namespace bruce {

NodeCache::NodeCache(size_t budget_bytes)
    : shard_budget_(budget_bytes / kShards), shards_(kShards) {}

NodeRef NodeCache::Lookup(uint64_t page, const format::Hash128& hash) {
  Shard& s = ShardFor(page);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(page);
  if (it == s.map.end() || !(it->second->hash == hash)) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  s.lru.splice(s.lru.begin(), s.lru, it->second);
  hits_.fetch_add(1, std::memory_order_relaxed);
  return it->second->node;
}

void NodeCache::Insert(uint64_t page, const format::Hash128& hash, NodeRef node) {
  Shard& s = ShardFor(page);
  size_t bytes = node->MemoryBytes();
  std::lock_guard lock(s.mu);
  auto it = s.map.find(page);
  if (it != s.map.end()) {
    s.bytes -= it->second->bytes;
    s.lru.erase(it->second);
    s.map.erase(it);
  }
  s.lru.push_front(Item{page, hash, std::move(node), bytes});
  s.map[page] = s.lru.begin();
  s.bytes += bytes;
  while (s.bytes > shard_budget_ && s.lru.size() > 1) {
    Item& victim = s.lru.back();
    s.bytes -= victim.bytes;
    s.map.erase(victim.page);
    s.lru.pop_back();
  }
}

void NodeCache::Erase(uint64_t page) {
  Shard& s = ShardFor(page);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(page);
  if (it == s.map.end()) return;
  s.bytes -= it->second->bytes;
  s.lru.erase(it->second);
  s.map.erase(it);
}

size_t NodeCache::bytes() const {
  size_t n = 0;
  for (auto& s : const_cast<std::vector<Shard>&>(shards_)) {
    std::lock_guard lock(s.mu);
    n += s.bytes;
  }
  return n;
}

}  // namespace bruce
