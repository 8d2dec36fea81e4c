// bruce/page_store.h — where a store's bytes live.
//
// All I/O of the engine goes through a PageStore, so tests can swap the file
// for memory or for a store that loses unsynced writes on a simulated power
// cut. Offsets are bytes; the engine only issues page-aligned writes except
// for reading the first bytes of a meta slot.
//
// Durability contract: after Sync() returns OK, every write issued before it
// survives a crash. A write not yet synced may survive whole, in part (torn),
// or not at all.
//
// Thread safety: every call may come from several threads at once: reads
// from any reader, writes from the writer (a large commit's node writes
// from the store's write thread, Options::write_thread, one at a time and
// in the commit's order), and a Sync (with a meta-page Write) from a
// commit waiting for durability while the next writer writes other pages.
// Calls never touch the same bytes at once. Implementations must allow
// that.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "bruce/status.h"

namespace bruce {

class PageStore {
 public:
  virtual ~PageStore() = default;

  // Reads exactly n bytes at offset into out. Reading past the end of the
  // store is a Corruption (a pointer to a page that does not exist).
  virtual Status Read(uint64_t offset, size_t n, char* out) = 0;
  virtual Status Write(uint64_t offset, std::string_view data) = 0;
  virtual Status Sync() = 0;
  virtual Result<uint64_t> Size() = 0;
  virtual Status Truncate(uint64_t size) = 0;
  // A name for messages ("/var/lib/x.bruce", "memory").
  virtual std::string Name() const = 0;
  // A hint that n bytes at offset will be read soon (range scans read
  // leaves ahead with it, and a branch read cold hints its child branches):
  // a file store has the kernel start reading them; a store that cannot use
  // it ignores it.
  virtual void WillNeed(uint64_t offset, uint64_t n) {
    (void)offset;
    (void)n;
  }
};

// Opens (or with `create`, creates) a file store. With `lock`, a writable
// open takes an exclusive lock and a read-only one a shared lock, so a store
// in use by a writer in another process is refused with kBusy and a clear
// message. (Db::Open opens readers without the lock when they can publish
// what they read in the store's reader table: store/lock_file.h.) With
// `direct`, reads and writes bypass the page cache (O_DIRECT; see
// Options::direct_io); NotSupported where the filesystem has no O_DIRECT.
Result<std::unique_ptr<PageStore>> OpenFileStore(const std::string& path, bool create,
                                                 bool read_only, bool lock = true,
                                                 bool direct = false);

// A store in memory; empty when created.
std::unique_ptr<PageStore> NewMemoryStore();

}  // namespace bruce
