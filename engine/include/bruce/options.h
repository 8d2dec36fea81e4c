// bruce/options.h — how a store is opened.
//
// Thread safety: a plain value.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bruce {

enum class Durability : uint8_t {
  // A commit returns once its pages and meta page are on stable storage,
  // made so by one fdatasync for both: the meta page says which commits'
  // pages it needs, and open verifies them and falls back to the previous
  // commit when any is missing or torn (docs/FORMAT.md, "Commit protocol").
  // A group of more than kVerifyGroupBytes is synced as with kFullTwoSync,
  // so that open never verifies more than that.
  kFull,
  // No fdatasync: a process that dies loses nothing the kernel was handed; an
  // operating-system crash or power cut may lose recent commits or leave
  // the newest state unreadable (Corruption, never wrong data).
  kNoSync,
  // Two fdatasyncs a commit: the pages, then the meta page. For storage that
  // reorders writes across a flush it does not honour whole, or where
  // reading back the last commit at open costs too much.
  kFullTwoSync,
};

// The most a commit group written with one fdatasync may hold: open reads
// at most this much to verify the newest commit.
constexpr uint64_t kVerifyGroupBytes = uint64_t{64} << 20;

struct Options {
  bool create_if_missing = false;
  bool error_if_exists = false;
  bool read_only = false;
  // Page size of a new store: a power of two from 4096 to 65536. An existing
  // store keeps the page size it was created with.
  uint32_t page_size = 4096;
  Durability durability = Durability::kFull;
  // Byte budget of the cache of verified, decoded nodes; 0 (the default)
  // sizes it from the machine: DefaultCacheBytes().
  size_t cache_bytes = 0;
  // zstd level (1 to 19) the nodes of trees created from now on are
  // compressed with; 0 turns compression off for them. A compressed tree's
  // nodes grow past a page while they still fit one compressed, and a node
  // is stored compressed only when that saves pages. Large values' data
  // blocks are stored raw.
  int compression_level = 1;
  // How full Put with kAppend leaves each node it fills, from 0.5 to 1: at
  // 1 nodes are packed (the smallest file for a load in key order); lower
  // leaves room for later inserts among the loaded keys before nodes split.
  double append_fill = 1.0;
  // An optimistic write transaction records its calls (and holds the large
  // values it wrote) in memory until it commits; once that passes this many
  // bytes it takes the writer role at once and goes on as an exclusive one
  // (WriteMode).
  size_t optimistic_record_bytes = size_t{64} << 20;
  // A store in a file: read and write it with O_DIRECT, bypassing the
  // operating system's page cache, so that the only cache is the engine's
  // (no second copy of hot nodes in memory, and a store much larger than
  // memory does not push everything else out of the page cache). Costs:
  // every miss in the engine's cache is a device read (no kernel read-ahead
  // or page cache behind it), and other processes reading the store still
  // go through the page cache. NotSupported on filesystems without O_DIRECT
  // (tmpfs). See README, "Direct I/O", for measurements.
  bool direct_io = false;
  // A commit of many nodes hands its page writes to a thread of the store's
  // (started at the first such commit), so that copying one batch of pages
  // into the file overlaps encoding the next: a large commit then uses two
  // cores. Commits of a few nodes are written by the committing thread
  // either way. Off: every write is made by the committing thread.
  bool write_thread = true;
};

// The cache budget a store opened with cache_bytes 0 gets: a quarter of
// the memory this process may use (physical memory, or its cgroup's memory
// limit when that is lower), at least 64 MiB. The budget is a ceiling, not
// an allocation: the cache only holds what was read.
size_t DefaultCacheBytes();

// Limits, documented in docs/FORMAT.md.
constexpr size_t kMaxKeySize = size_t{64} << 10;
// The largest value Put takes in one piece; WriteAt grows a value further,
// up to kMaxValueBytes.
constexpr size_t kMaxValueSize = size_t{16} << 20;
constexpr uint64_t kMaxValueBytes = uint64_t{1} << 44;
// The largest value Get, Select and Cursor::value hand out whole; larger
// ones are read in ranges with ReadAt.
constexpr uint64_t kMaxGetBytes = uint64_t{1} << 30;
constexpr size_t kMaxTreeNameSize = 255;
// The largest value in a tree with duplicate keys (TreeOptions::dupsort).
constexpr size_t kMaxDupValueSize = 1024;

// Options of one tree, fixed when WriteTxn::CreateTree makes it.
struct TreeOptions {
  // A key holds a sorted set of values (see Tree, "Duplicate keys").
  bool dupsort = false;
  // zstd level of the tree's nodes, 0 for none; -1 takes the store's
  // Options::compression_level.
  int compression_level = -1;
  // Bloom filters, 0 for none: the branch above each leaf keeps a filter of
  // the leaf's keys with this many bits per key (at most 32), so a lookup
  // of an absent key (Get, Delete, Tree::MayContain and every call that
  // finds a key first) usually reads no leaf: the point of them on a cold
  // cache or a remote block store. 10 bits rule out about 99% of absent
  // keys. The cost: those branches grow by the filters (about 1.25 bytes a
  // key at 10 bits), each commit hashes the keys of the leaves it writes,
  // and a lookup hashes its key. Kept with the tree: a tree made elsewhere
  // with other options keeps its own. Not with dupsort (kInvalidArgument).
  uint32_t bloom_bits_per_key = 0;
};

}  // namespace bruce
