#include "store/node_cache.h"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <fstream>
#include <string>

#include "bruce/options.h"

namespace bruce {

namespace {

// The memory limit of this process's cgroup (v2 memory.max, or v1
// memory.limit_in_bytes), or 0 when there is none or it cannot be read.
uint64_t CgroupLimit() {
  std::ifstream groups("/proc/self/cgroup");
  std::string line;
  uint64_t limit = 0;
  while (std::getline(groups, line)) {
    // "0::/path" (v2) or "N:memory:/path" (v1).
    size_t a = line.find(':'), b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    std::string file;
    if (controllers.empty()) {
      file = "/sys/fs/cgroup" + path + "/memory.max";
    } else if (controllers == "memory") {
      file = "/sys/fs/cgroup/memory" + path + "/memory.limit_in_bytes";
    } else {
      continue;
    }
    std::ifstream f(file);
    std::string v;
    if (!(f >> v) || v == "max" || v.empty() || v.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    uint64_t n = std::stoull(v);
    if (n > 0 && (limit == 0 || n < limit)) limit = n;
  }
  return limit;
}

}  // namespace

size_t DefaultCacheBytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  uint64_t memory = pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) : 0;
  const uint64_t cg = CgroupLimit();
  if (cg > 0 && (memory == 0 || cg < memory)) memory = cg;
  const uint64_t floor = uint64_t{64} << 20;
  return static_cast<size_t>(std::max(memory / 4, floor));
}

NodeCache::NodeCache(size_t budget_bytes)
    : shard_budget_(std::max<size_t>(budget_bytes / kShards, 1)), shards_(kShards) {}

NodeCache::~NodeCache() {
  for (Shard& s : shards_) {
    for (List* l : {&s.t1, &s.t2, &s.b1, &s.b2}) l->clear_and_dispose([](Item* i) { delete i; });
  }
}

// ---- the table ----

NodeCache::Entry* NodeCache::Find(Shard& s, uint64_t page) {
  if (s.table.empty()) return nullptr;
  size_t mask = s.table.size() - 1;
  for (size_t i = Home(s, page);; i = (i + 1) & mask) {
    Entry& e = s.table[i];
    if (e.page == page) return &e;
    if (e.page == kEmpty) return nullptr;
  }
}

void NodeCache::Grow(Shard& s) {
  std::vector<Entry> old = std::move(s.table);
  size_t size = std::max<size_t>(64, old.size() * 2);
  s.table = std::vector<Entry>(size);
  s.shift = 64 - static_cast<unsigned>(std::countr_zero(size));
  size_t mask = size - 1;
  for (Entry& e : old) {
    if (e.page == kEmpty) continue;
    size_t i = Home(s, e.page);
    while (s.table[i].page != kEmpty) i = (i + 1) & mask;
    s.table[i] = std::move(e);
  }
}

NodeCache::Entry* NodeCache::Add(Shard& s, uint64_t page) {
  if ((s.used + 1) * 2 > s.table.size()) Grow(s);
  size_t mask = s.table.size() - 1;
  size_t i = Home(s, page);
  while (s.table[i].page != kEmpty) i = (i + 1) & mask;
  s.used++;
  s.table[i].page = page;
  return &s.table[i];
}

void NodeCache::Remove(Shard& s, Entry* e) {
  // Backward-shift deletion: every entry after the hole, up to the next
  // empty slot, moves into it unless its home lies cyclically in (hole, j].
  size_t mask = s.table.size() - 1;
  size_t hole = static_cast<size_t>(e - s.table.data());
  s.table[hole] = Entry{};
  for (size_t j = (hole + 1) & mask; s.table[j].page != kEmpty; j = (j + 1) & mask) {
    size_t h = Home(s, s.table[j].page);
    bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
    if (stays) continue;
    s.table[hole] = std::move(s.table[j]);
    s.table[j] = Entry{};
    hole = j;
  }
  s.used--;
}

// ---- the lists ----

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
  Remove(s, Find(s, item->page));
  delete item;
}

void NodeCache::Replace(Shard& s, bool hit_in_b2) {
  while (s.t1_bytes + s.t2_bytes > shard_budget_ && s.t1.size() + s.t2.size() > 1) {
    bool from_t1 = !s.t1.empty() &&
                   (s.t1_bytes > s.p || (hit_in_b2 && s.t1_bytes == s.p) || s.t2.empty());
    Item* victim = from_t1 ? &s.t1.back() : &s.t2.back();
    Entry* e = Find(s, victim->page);
    if (!from_t1 && e->referenced) {
      // The clock's hand: used since it last came by, so around once more.
      // (Every bit it passes is cleared, so the loop ends.)
      e->referenced = false;
      s.t2.splice(s.t2.begin(), s.t2, s.t2.iterator_to(*victim));
      continue;
    }
    Unlink(s, victim);
    e->node.reset();  // a ghost keeps the page and its size only
    e->in_t2 = false;
    e->referenced = false;
    Link(s, victim, from_t1 ? Where::kB1 : Where::kB2);
    s.evictions++;
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

// ---- the interface ----

bool NodeCache::Contains(uint64_t page, const format::Hash128& hash) {
  Shard& s = ShardFor(page);
  std::lock_guard lock(s.mu);
  Entry* e = Find(s, page);
  return e && e->node && e->hash == hash;
}

NodeRef NodeCache::Lookup(uint64_t page, const format::Hash128& hash) {
  Shard& s = ShardFor(page);
  std::lock_guard lock(s.mu);
  Entry* e = Find(s, page);
  if (!e || !e->node || !(e->hash == hash)) {
    s.misses++;
    return nullptr;
  }
  s.hits++;
  if (e->in_t2) {
    e->referenced = true;  // no list changes: see the clock in Replace
  } else {
    // Seen again: to the front of T2.
    Unlink(s, e->item);
    Link(s, e->item, Where::kT2);
    e->in_t2 = true;
  }
  return e->node;
}

void NodeCache::Insert(uint64_t page, const format::Hash128& hash, NodeRef node) {
  Shard& s = ShardFor(page);
  size_t bytes = node->MemoryBytes();
  std::lock_guard lock(s.mu);
  Where to = Where::kT1;
  bool hit_in_b2 = false;
  Entry* e = Find(s, page);
  Item* item;
  if (e) {
    item = e->item;
    if (item->where == Where::kB1) {
      // Recency was short of room: give T1 more.
      s.p = std::min(shard_budget_, s.p + std::max(bytes, s.b2_bytes / std::max<size_t>(s.b1.size(), 1)));
    } else if (item->where == Where::kB2) {
      // Frequency was short of room: give T2 more.
      size_t d = std::max(bytes, s.b1_bytes / std::max<size_t>(s.b2.size(), 1));
      s.p = s.p > d ? s.p - d : 0;
      hit_in_b2 = true;
    }
    // A ghost seen again, or a live entry rewritten (it is in use): to T2.
    to = Where::kT2;
    Unlink(s, item);
  } else {
    e = Add(s, page);
    item = new Item;
    item->page = page;
    e->item = item;
  }
  item->bytes = bytes;
  e->hash = hash;
  e->node = std::move(node);
  e->in_t2 = to == Where::kT2;
  e->referenced = false;
  Link(s, item, to);
  Replace(s, hit_in_b2);
}

void NodeCache::Erase(uint64_t page) {
  Shard& s = ShardFor(page);
  std::lock_guard lock(s.mu);
  if (Entry* e = Find(s, page)) Destroy(s, e->item);
}

template <typename F>
uint64_t NodeCache::Sum(F f) const {
  uint64_t n = 0;
  for (Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += f(s);
  }
  return n;
}

uint64_t NodeCache::hits() const {
  return Sum([](const Shard& s) { return s.hits; });
}

uint64_t NodeCache::misses() const {
  return Sum([](const Shard& s) { return s.misses; });
}

uint64_t NodeCache::evictions() const {
  return Sum([](const Shard& s) { return s.evictions; });
}

size_t NodeCache::bytes() const {
  return Sum([](const Shard& s) { return s.t1_bytes + s.t2_bytes; });
}

}  // namespace bruce
