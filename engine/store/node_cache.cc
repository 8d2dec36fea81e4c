#include "store/node_cache.h"

#include <algorithm>

namespace bruce {

NodeCache::NodeCache(size_t budget_bytes)
    : shard_budget_(std::max<size_t>(budget_bytes / kShards, 1)), shards_(kShards) {}

NodeCache::~NodeCache() {
  for (Shard& s : shards_) {
    for (List* l : {&s.t1, &s.t2, &s.b1, &s.b2}) l->clear_and_dispose([](Item* i) { delete i; });
  }
}

NodeCache::Item*& NodeCache::Slot(Shard& s, uint64_t page) {
  size_t i = page / kShards;
  if (i >= s.index.size()) s.index.resize(std::max(i + 1, s.index.size() * 2), nullptr);
  return s.index[i];
}

NodeCache::List& NodeCache::ListOf(Shard& s, Where w) {
  switch (w) {
    case Where::kT1: return s.t1;
    case Where::kT2: return s.t2;
    case Where::kB1: return s.b1;
    case Where::kB2: return s.b2;
  }
  return s.t1;
}

size_t& NodeCache::BytesOf(Shard& s, Where w) {
  switch (w) {
    case Where::kT1: return s.t1_bytes;
    case Where::kT2: return s.t2_bytes;
    case Where::kB1: return s.b1_bytes;
    case Where::kB2: return s.b2_bytes;
  }
  return s.t1_bytes;
}

void NodeCache::Unlink(Shard& s, Item* item) {
  ListOf(s, item->where).erase(ListOf(s, item->where).iterator_to(*item));
  BytesOf(s, item->where) -= item->bytes;
}

void NodeCache::Link(Shard& s, Item* item, Where w) {
  item->where = w;
  ListOf(s, w).push_front(*item);
  BytesOf(s, w) += item->bytes;
}

void NodeCache::Destroy(Shard& s, Item* item) {
  Unlink(s, item);
  s.index[item->page / kShards] = nullptr;
  delete item;
}

void NodeCache::Replace(Shard& s, bool hit_in_b2) {
  while (s.t1_bytes + s.t2_bytes > shard_budget_ && s.t1.size() + s.t2.size() > 1) {
    bool from_t1 = !s.t1.empty() &&
                   (s.t1_bytes > s.p || (hit_in_b2 && s.t1_bytes == s.p) || s.t2.empty());
    Item& victim = from_t1 ? s.t1.back() : s.t2.back();
    Unlink(s, &victim);
    victim.node.reset();  // a ghost keeps the page and its size only
    Link(s, &victim, from_t1 ? Where::kB1 : Where::kB2);
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
  TrimGhosts(s);
}

void NodeCache::TrimGhosts(Shard& s) {
  // The ghosts remember about as many bytes as the cache holds.
  while (s.b1_bytes + s.b2_bytes > shard_budget_ && !(s.b1.empty() && s.b2.empty())) {
    bool from_b1 = !s.b1.empty() && (s.b1_bytes >= s.b2_bytes || s.b2.empty());
    Destroy(s, from_b1 ? &s.b1.back() : &s.b2.back());
  }
}

bool NodeCache::Contains(uint64_t page, const format::Hash128& hash) {
  Shard& s = ShardFor(page);
  std::lock_guard lock(s.mu);
  size_t i = page / kShards;
  Item* item = i < s.index.size() ? s.index[i] : nullptr;
  return item && item->node && item->hash == hash;
}

NodeRef NodeCache::Lookup(uint64_t page, const format::Hash128& hash) {
  Shard& s = ShardFor(page);
  std::lock_guard lock(s.mu);
  size_t i = page / kShards;
  Item* item = i < s.index.size() ? s.index[i] : nullptr;
  if (!item || !item->node || !(item->hash == hash)) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  // Seen again: to the front of T2.
  Unlink(s, item);
  Link(s, item, Where::kT2);
  hits_.fetch_add(1, std::memory_order_relaxed);
  return item->node;
}

void NodeCache::Insert(uint64_t page, const format::Hash128& hash, NodeRef node) {
  Shard& s = ShardFor(page);
  size_t bytes = node->MemoryBytes();
  std::lock_guard lock(s.mu);
  Item*& slot = Slot(s, page);
  Where to = Where::kT1;
  bool hit_in_b2 = false;
  if (Item* old = slot) {
    if (old->where == Where::kB1) {
      // Recency was short of room: give T1 more.
      s.p = std::min(shard_budget_, s.p + std::max(bytes, s.b2_bytes / std::max<size_t>(s.b1.size(), 1)));
      to = Where::kT2;
    } else if (old->where == Where::kB2) {
      // Frequency was short of room: give T2 more.
      size_t d = std::max(bytes, s.b1_bytes / std::max<size_t>(s.b2.size(), 1));
      s.p = s.p > d ? s.p - d : 0;
      to = Where::kT2;
      hit_in_b2 = true;
    } else {
      to = Where::kT2;  // a live entry rewritten: it is in use
    }
    Destroy(s, old);
  }
  auto* item = new Item;
  item->page = page;
  item->hash = hash;
  item->node = std::move(node);
  item->bytes = bytes;
  Link(s, item, to);
  Slot(s, page) = item;
  Replace(s, hit_in_b2);
}

void NodeCache::Erase(uint64_t page) {
  Shard& s = ShardFor(page);
  std::lock_guard lock(s.mu);
  size_t i = page / kShards;
  if (i < s.index.size() && s.index[i]) Destroy(s, s.index[i]);
}

size_t NodeCache::bytes() const {
  size_t n = 0;
  for (auto& s : const_cast<std::vector<Shard>&>(shards_)) {
    std::lock_guard lock(s.mu);
    n += s.t1_bytes + s.t2_bytes;
  }
  return n;
}

}  // namespace bruce
