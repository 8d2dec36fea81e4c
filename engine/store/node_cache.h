// store/node_cache.h — verified, decoded nodes kept in memory, by page.
//
// Entries are immutable shared nodes: a reader holding one keeps it alive
// after eviction. The cache is split into shards by page number, each under
// its own mutex with its share of the byte budget. A shard finds an entry in
// an open-addressing table keyed by page (linear probing, at most half
// full), whose slot holds what a lookup needs (page, hash, node, flags): a
// warm lookup reads that slot and the node, nothing else. The table grows
// with what is cached (ghosts included), not with the size of the store.
//
// Replacement is ARC (Megiddo and Modha), by bytes: T1 holds nodes seen once
// recently, T2 nodes seen at least twice; B1 and B2 remember (without the
// node) what was evicted from each. A hit in B1 says recency was short of
// room and grows T1's target p; a hit in B2 shrinks it. A long scan passes
// through T1 without pushing the frequently used nodes of T2 out. The lists
// are Boost.Intrusive lists threaded through small items, one per entry.
//
// As in CAR (Bansal and Modha's ARC with clocks), a hit on a node already in
// T2 only sets its reference bit: the hot path of a warm read changes no list
// (no neighbour's cache line is written). T2 is evicted like a clock: a
// referenced entry at its tail gets a second chance at its head, bit
// cleared. A hit in T1 moves the node to T2, as in ARC.
//
// A page's entry is replaced when the page is rewritten; lookups also
// compare the node's hash with the pointer's, so a stale entry is never
// returned.
//
// Thread safety: every method may be called from any thread.
#pragma once

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

  uint64_t hits() const;
  uint64_t misses() const;
  uint64_t evictions() const;
  size_t bytes() const;
  size_t budget() const { return shard_budget_ * kShards; }

 private:
  enum class Where : uint8_t { kT1, kT2, kB1, kB2 };
  // An entry's place in the replacement lists.
  struct Item : boost::intrusive::list_base_hook<> {
    uint64_t page;
    size_t bytes;
    Where where;
  };
  using List = boost::intrusive::list<Item>;
  // A slot of a shard's table. Slots move (growth, deletion): never keep a
  // pointer to one across a change of the table.
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Entry {
    uint64_t page = kEmpty;
    format::Hash128 hash;
    NodeRef node;             // null for a ghost
    bool in_t2 = false;
    bool referenced = false;  // hit since it last reached T2's tail
    Item* item = nullptr;
  };
  // A cache line (or two) of its own, so that threads on different shards
  // never write to the same line.
  struct alignas(64) Shard {
    std::mutex mu;
    List t1, t2, b1, b2;  // most recent at the front
    size_t t1_bytes = 0, t2_bytes = 0, b1_bytes = 0, b2_bytes = 0;
    size_t p = 0;  // target bytes for T1
    std::vector<Entry> table;  // a power of two in size, at most half full
    unsigned shift = 64;       // 64 - log2(table.size())
    size_t used = 0;
    uint64_t hits = 0, misses = 0, evictions = 0;  // under mu: no shared counter on the hot path
  };
  static constexpr size_t kShards = 16;
  Shard& ShardFor(uint64_t page) { return shards_[page % kShards]; }
  // The table.
  static size_t Home(const Shard& s, uint64_t page) {
    return static_cast<size_t>((page * 0x9e3779b97f4a7c15ull) >> s.shift);
  }
  static Entry* Find(Shard& s, uint64_t page);
  static Entry* Add(Shard& s, uint64_t page);  // page must be absent
  static void Remove(Shard& s, Entry* e);      // backward-shift deletion
  static void Grow(Shard& s);
  // The lists.
  static List& ListOf(Shard& s, Where w);
  static size_t& BytesOf(Shard& s, Where w);
  static void Unlink(Shard& s, Item* item);
  static void Link(Shard& s, Item* item, Where w);
  // Evicts from T1 or T2 (ARC's REPLACE) until the cached bytes fit.
  void Replace(Shard& s, bool hit_in_b2);
  void TrimGhosts(Shard& s);
  // Forgets an item: its entry and itself.
  void Destroy(Shard& s, Item* item);

  // Sums a per-shard figure (under each shard's mutex).
  template <typename F>
  uint64_t Sum(F f) const;

  size_t shard_budget_;
  // mutable: the const readers of the counters take the shards' mutexes.
  mutable std::vector<Shard> shards_;
};

}  // namespace bruce
