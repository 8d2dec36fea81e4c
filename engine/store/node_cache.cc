#include "store/node_cache.h"

namespace bruce {

NodeCache::NodeCache(size_t budget_bytes)
    : shard_budget_(budget_bytes / kShards), shards_(kShards) {}

NodeCache::~NodeCache() {
  for (Shard& s : shards_) {
    s.clock.clear_and_dispose([](Item* i) { delete i; });
  }
}

NodeCache::Item*& NodeCache::Slot(Shard& s, uint64_t page) {
  size_t i = page / kShards;
  if (i >= s.index.size()) s.index.resize(std::max(i + 1, s.index.size() * 2), nullptr);
  return s.index[i];
}

void NodeCache::Remove(Shard& s, Item* item) {
  s.index[item->page / kShards] = nullptr;
  s.bytes -= item->bytes;
  s.clock.erase(s.clock.iterator_to(*item));
  delete item;
}

NodeRef NodeCache::Lookup(uint64_t page, const format::Hash128& hash) {
  Shard& s = ShardFor(page);
  std::lock_guard lock(s.mu);
  size_t i = page / kShards;
  Item* item = i < s.index.size() ? s.index[i] : nullptr;
  if (!item || !(item->hash == hash)) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  item->referenced = true;
  hits_.fetch_add(1, std::memory_order_relaxed);
  return item->node;
}

void NodeCache::Insert(uint64_t page, const format::Hash128& hash, NodeRef node) {
  Shard& s = ShardFor(page);
  auto* item = new Item;
  item->page = page;
  item->hash = hash;
  item->bytes = node->MemoryBytes();
  item->node = std::move(node);
  std::lock_guard lock(s.mu);
  if (Item* old = Slot(s, page)) Remove(s, old);
  Slot(s, page) = item;
  s.clock.push_front(*item);
  s.bytes += item->bytes;
  while (s.bytes > shard_budget_ && s.clock.size() > 1) {
    Item& victim = s.clock.back();
    if (victim.referenced) {
      victim.referenced = false;
      s.clock.splice(s.clock.begin(), s.clock, s.clock.iterator_to(victim));
      continue;
    }
    Remove(s, &victim);
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
}

void NodeCache::Erase(uint64_t page) {
  Shard& s = ShardFor(page);
  std::lock_guard lock(s.mu);
  size_t i = page / kShards;
  if (i < s.index.size() && s.index[i]) Remove(s, s.index[i]);
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
