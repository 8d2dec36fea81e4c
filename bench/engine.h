// bench/engine.h — the one interface both benchmarked engines implement, so
// every workload is written once and runs identically on bruce and on LMDB.
//
// Every method either succeeds or throws BenchError: an engine error in a
// benchmark is a bug to report, never something to skip over.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bench {

struct BenchError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Folds every byte of s into acc, 8 bytes at a time, so a read value is
// really touched and cannot be optimized away. Cheap enough (a few ns for a
// 116-byte entry) not to dominate a scan, and identical for both engines.
inline uint64_t Touch(uint64_t acc, std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
  uint64_t sum = 0;
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    sum += w;
    p += 8;
    n -= 8;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p, n);
  sum += tail;
  // Order-sensitive across calls: a scan in the wrong order checksums differently.
  return (acc ^ (sum + s.size())) * 0x9E3779B97F4A7C15ull;
}

class Engine {
 public:
  virtual ~Engine() = default;
  virtual const char* name() const = 0;

  // Opens the store kept in directory dir (created if missing, may be empty).
  // durable: every commit is on stable storage when it returns (bruce
  // Durability::kFull, LMDB default); otherwise no fsync at all (bruce
  // Durability::kNoSync, LMDB MDB_NOSYNC). random_cold: the store is about
  // to be read at random points with its file out of memory, as a store
  // larger than RAM is: LMDB turns its readahead off (MDB_NORDAHEAD, its
  // setting for that case: each page fault would read 128 KiB around the
  // page); bruce has nothing to change (a cache miss reads one node).
  virtual void Open(const std::string& dir, bool durable, bool random_cold = false) = 0;
  // Closes the store; a no-op when none is open.
  virtual void Close() = 0;
  // The file holding the data, for the size report.
  virtual std::string DataFile(const std::string& dir) const = 0;
  // One line of engine-specific facts about the open store (depth, pages...).
  virtual std::string Describe() = 0;

  // Write transactions: BeginWrite, any number of Put, Commit.
  virtual void BeginWrite() = 0;
  virtual void Put(std::string_view key, std::string_view value) = 0;
  virtual void Commit() = 0;
  // One durable write transaction holding kvs, committed; with `read`,
  // each put follows a get of its key in the transaction. Thread-safe:
  // writer threads call it at once, each call its own transaction (LMDB
  // takes them one at a time; bruce runs them as optimistic transactions).
  // Returns how many times the transaction was run again after a conflict.
  virtual uint64_t PutBatch(const std::vector<std::pair<std::string_view, std::string_view>>& kvs,
                            bool read) = 0;

  // Read transactions: BeginRead, then Get / Scan / Select / Count, EndRead.
  virtual void BeginRead() = 0;
  virtual void EndRead() = 0;
  // False when absent. *value stays valid until the next call on the engine.
  virtual bool Get(std::string_view key, std::string_view* value) = 0;
  // Walks every entry with a cursor (forward or backward), touching each key
  // and value; returns the number of entries and folds them into *checksum.
  virtual uint64_t Scan(bool forward, uint64_t* checksum) = 0;
  // The i-th entry in key order (from 0). bruce: Tree::Select; LMDB has no
  // rank, so it walks a cursor i steps from the first key.
  virtual void Select(uint64_t i, std::string_view* key, std::string_view* value) = 0;
  virtual uint64_t Count() = 0;

  // ---- Used by bruce_bench_space only ----

  // Shrinks the store each engine's own way and returns the resulting data
  // file's size. bruce: Db::Compact() in place (the store stays open). LMDB
  // cannot shrink its file in place: a compacting copy (mdb_env_copy2 with
  // MDB_CP_COMPACT) into dir/compact, whose data.mdb size is returned.
  // Outside any transaction.
  virtual uint64_t Compact(const std::string& dir) = 0;

  // One large byte array ("a file") made of kBlockSize blocks. bruce keeps
  // it as the single value of key "file", written and read by byte range
  // (Tree::WriteAt / ReadAt). LMDB cannot write part of a value, so it keeps
  // one kBlockSize value per block keyed by the block index (8 bytes,
  // big-endian: key order is file order), the natural LMDB layout.
  static constexpr size_t kBlockSize = 4096;
  // In a write transaction: data (a whole number of blocks) at block `first`.
  virtual void WriteBlocks(uint64_t first, std::string_view data) = 0;
  // In a read transaction: one block; false when it was never written.
  // *data stays valid until the next call on the engine.
  virtual bool ReadBlock(uint64_t block, std::string_view* data) = 0;
};

// two_sync: durable commits sync their pages, then the meta page
// (Durability::kFullTwoSync), instead of one sync for both.
// direct: the store is read and written with O_DIRECT (Options::direct_io).
// bloom_bits: the data goes to a tree "bench" with Bloom filters of that
// many bits a key (TreeOptions::bloom_bits_per_key); 0: the main tree.
// write_thread: Options::write_thread.
std::unique_ptr<Engine> NewBruceEngine(size_t cache_bytes, bool two_sync = false,
                                       bool direct = false, uint32_t bloom_bits = 0,
                                       bool write_thread = true);
std::unique_ptr<Engine> NewLmdbEngine(size_t map_bytes);
// "LMDB 0.9.24: (July 24, 2019)" — the library actually linked.
std::string LmdbVersion();

}  // namespace bench
