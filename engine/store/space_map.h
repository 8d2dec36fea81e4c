// store/space_map.h — which pages are free, kept as a log on disk.
//
// In memory: the free extents that may be reused now, the extents freed by
// committed transactions that readers may still see (pending, keyed by the
// freeing transaction), and what the open write transaction allocated and
// freed. On disk: a chain of space-log pages, newest first, each naming its
// predecessor by page and checksum. A commit appends one or more pages with
// its records (SETEND, ALLOC, FREE); when the chain grows long it is
// condensed into a fresh base that lists every free extent. The meta page
// names the head. Replaying the chain from its base gives the free set as of
// that commit (pages freed by it included: no reader of this process
// survives a reopen; readers in other processes are HoldFree's business).
//
// Rules the engine relies on:
//  - Allocate never returns a page freed by the open transaction or by a
//    commit that a live reader, or the previous meta page, may still use;
//    such pages wait in `pending` until Release says they are safe.
//  - Rollback undoes an open transaction exactly.
//
// Thread safety: none; the engine calls it under the writer's lock.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "bruce/page_store.h"
#include "bruce/status.h"
#include "format/meta.h"

namespace bruce {

class SpaceMap {
 public:
  SpaceMap(PageStore* store, uint32_t page_size) : store_(store), page_size_(page_size) {}

  // A store with only its two meta pages.
  void InitEmpty();
  // Replays the log chain the meta page names.
  Status Load(const format::Meta& meta);

  // Starts accounting for a write transaction.
  void Begin();
  // A run of n contiguous pages for the open transaction.
  uint64_t Allocate(uint64_t n);
  // The open transaction no longer uses this run. A run the transaction
  // allocated itself is free again at once; any other is still in use by
  // the committed state until the transaction commits and readers move on.
  void Free(uint64_t page, uint64_t n);
  // Writes the open transaction's log pages; fills the meta's log fields,
  // total_pages and free_pages. A free tail of the store is cut off first
  // (the file is truncated once the commit is durable).
  Status WriteLog(uint64_t txn, format::Meta* meta);
  // The commit is durable: its frees wait until Release(txn or later).
  void Committed(uint64_t txn);
  // Makes the next WriteLog rewrite the log as a fresh base (compaction).
  void ForceCondense() { force_condense_ = true; }
  // Undoes the open transaction (its commit failed or it was aborted).
  void Rollback();
  // Pages freed by transactions <= oldest_reader become reusable.
  void Release(uint64_t oldest_reader);
  // The oldest transaction whose frees wait for Release, or UINT64_MAX.
  uint64_t oldest_pending() const { return pending_.empty() ? UINT64_MAX : pending_.begin()->first; }
  // Everything free now waits for Release(txn): a writer opening a store
  // that older readers in other processes still read (the log does not say
  // which commit freed what, so all of it waits).
  void HoldFree(uint64_t txn);

  uint64_t total_pages() const { return total_; }
  // The most pages the store has had since Load or the last ResetHighWater:
  // every page ever written lies below it, rolled-back growth included, so
  // the file is no longer than this (its meta pages aside).
  uint64_t high_water() const { return high_water_; }
  void ResetHighWater() { high_water_ = total_; }
  // Pages free as of the last commit: reusable now or after readers end.
  uint64_t free_pages() const;
  uint64_t log_pages() const { return chain_.size(); }
  // Pages the open transaction has allocated (and kept) so far.
  uint64_t allocated_pages() const;
  // Calls fn(start, len) for every free extent (reusable and pending).
  void ForEachFree(const std::function<void(uint64_t, uint64_t)>& fn) const;
  const std::vector<uint64_t>& log_chain() const { return chain_; }

  struct Record {
    uint8_t op;
    uint64_t a;
    uint64_t b;
  };

 private:
  using Extents = std::map<uint64_t, uint64_t>;  // start -> length
  static void AddExtent(Extents* set, uint64_t start, uint64_t len);
  // Removes [start, start+len) from set; false if not all of it was there.
  static bool RemoveExtent(Extents* set, uint64_t start, uint64_t len);
  Extents FreeUnion() const;
  size_t PagesForRecords(const std::vector<Record>& recs) const;
  Status WritePages(uint64_t txn, bool base, const std::vector<uint64_t>& pages,
                    const std::vector<Record>& recs);
  Status Condense(uint64_t txn);

  PageStore* store_;
  uint32_t page_size_;
  uint64_t total_ = format::kMetaPages;
  uint64_t high_water_ = format::kMetaPages;
  Extents free_;
  std::map<uint64_t, Extents> pending_;
  uint64_t free_count_ = 0;     // pages in free_
  uint64_t pending_count_ = 0;  // pages in pending_
  std::vector<uint64_t> chain_;  // log pages, oldest (the base) first
  uint64_t head_checksum_ = 0;

  // The open transaction.
  uint64_t begin_total_ = format::kMetaPages;
  uint64_t shrink_start_ = UINT64_MAX;  // where WriteLog cut a free tail off
  bool force_condense_ = false;
  Extents allocated_;
  std::vector<std::pair<uint64_t, uint64_t>> freed_;
  std::vector<uint64_t> begin_chain_;
  uint64_t begin_head_checksum_ = 0;
};

}  // namespace bruce
