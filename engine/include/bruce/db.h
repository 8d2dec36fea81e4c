// bruce/db.h — a bruce store: named, counted copy-on-write B+trees in one file.
//
// A store holds any number of named trees (the default one is "main"), each
// an ordered map of byte-string keys to byte-string values that also answers
// rank and select in O(log n). All changes happen in transactions:
//
//   auto db = bruce::Db::Open("data.bruce", opts);      // Result<unique_ptr<Db>>
//   auto w = (*db)->BeginWrite();
//   Status s = (*w)->Main()->Put("k", "v");
//   s = (*w)->Commit();
//
// A read transaction sees the store as of the last commit before it began,
// for as long as it lives, whatever commits happen meanwhile. Commits write
// new pages (nothing a reader can see is ever overwritten), then swap one of
// two meta pages; a crash leaves the store at its last commit.
//
// Thread safety: a Db may be used from any number of threads. Read
// transactions run on any threads concurrently with each other and with
// writers. Any number of optimistic write transactions (the default) may be
// open at once, on any threads; an exclusive one (WriteMode::kExclusive)
// waits in BeginWrite until no other exclusive one is open. A single
// transaction (and the Trees and Cursors it hands out) must be used by one
// thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bruce/options.h"
#include "bruce/page_store.h"
#include "bruce/status.h"

namespace bruce {

// Iterates a tree in key order, both ways. Starts unpositioned: call First,
// Last or Seek. A cursor of a write transaction stays valid across that
// transaction's own writes (it re-finds its key).
class Cursor {
 public:
  virtual ~Cursor() = default;
  virtual void First() = 0;
  virtual void Last() = 0;
  // The first key >= key.
  virtual void Seek(std::string_view key) = 0;
  virtual void Next() = 0;
  virtual void Prev() = 0;
  virtual bool Valid() const = 0;
  // Valid() only. The views last until the cursor moves.
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  // Not OK when a page read failed; the cursor is then not Valid().
  virtual Status status() const = 0;

  // Positions at key itself; false (and not Valid()) when it is absent.
  virtual bool SeekExact(std::string_view key) = 0;
  // Positions at the first key that starts with prefix; false (and not
  // Valid()) when there is none.
  virtual bool SeekPrefix(std::string_view prefix) = 0;
  // Write transactions only (kReadOnly otherwise); Valid() only. Put sets
  // the value at the cursor's key. Delete removes it and leaves the cursor
  // on the key that followed (not Valid() if none), so Next() is not needed
  // to go on.
  // In a dup tree Put adds a value to the cursor's key and moves to it, and
  // Delete removes the value the cursor is on.
  virtual Status Put(std::string_view value) = 0;
  virtual Status Delete() = 0;

  // ---- Duplicate keys (a tree without them has one value a key) ----
  // Positions at key's first value >= value; false (and not Valid()) when
  // key has none.
  virtual bool SeekBoth(std::string_view key, std::string_view value) = 0;
  // To the next (previous) value of the cursor's key; false, with the
  // cursor where it was, when there is none. Valid() only.
  virtual bool NextDup() = 0;
  virtual bool PrevDup() = 0;
  // To the first value of the next key (the last value of the previous
  // key); not Valid() when there is none. Valid() only.
  virtual void NextNoDup() = 0;
  virtual void PrevNoDup() = 0;
  // The number of values of the cursor's key, in O(log n). Valid() only.
  virtual Result<uint64_t> CountDups() = 0;
};

// Flags for Tree::Put.
enum PutFlags : uint32_t {
  kPutDefault = 0,
  // Leave an existing value alone and return kExists (and, if asked, the
  // value that is there).
  kNoOverwrite = 1,
  // The key must be greater than every key in the tree (kInvalidArgument
  // otherwise): ascending loads fill each node before starting the next.
  kAppend = 2,
  // Dup trees: kExists when the pair is there already (without the flag,
  // adding a pair that is there changes nothing and succeeds).
  kNoDupData = 4,
};

struct Entry {
  std::string key;
  std::string value;
};

// A value, or a range of one, held in place: bytes that stay valid as long
// as this object (or a copy) lives, after its transaction ends too. It
// shares ownership of the cached node the bytes are in, or of its own
// buffer when they had to be put together (a large value's chunks).
// Copying is cheap: it shares.
class PinnedValue {
 public:
  PinnedValue() = default;
  PinnedValue(std::shared_ptr<const void> owner, std::string_view bytes)
      : owner_(std::move(owner)), bytes_(bytes) {}
  // Owns a buffer of its own.
  explicit PinnedValue(std::string bytes);

  std::string_view view() const { return bytes_; }
  const char* data() const { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }

 private:
  std::shared_ptr<const void> owner_;
  std::string_view bytes_;
};

// One named tree as seen by one transaction. Owned by the transaction.
//
// Duplicate keys: in a tree created with TreeOptions::dupsort, a key holds a
// sorted set of values (each value once, at most kMaxDupValueSize bytes).
// Put adds a value to the key's set; Get returns the smallest; Delete(key)
// removes them all and Delete(key, value) one; Count, Rank, Select and
// Count(lo, hi) count every value, and cursors visit every (key, value)
// pair in order. kNoOverwrite fails when the key has any value, kAppend
// wants the pair greater than the last one. The byte-range calls that
// change a value (WriteAt, Truncate), Reserve and Rename get
// kInvalidArgument.
class Tree {
 public:
  virtual ~Tree() = default;
  virtual const std::string& name() const = 0;

  // The whole value; values over kMaxGetBytes get kInvalidArgument (read
  // them with ReadAt).
  virtual Status Get(std::string_view key, std::string* value) = 0;
  // The same without copying: a value kept in its leaf (the small ones) is
  // a view into the cached node; a large value is read into a buffer the
  // result owns. In a write transaction, a leaf it changed is copied.
  virtual Status GetPinned(std::string_view key, PinnedValue* value) = 0;
  // kReadOnly in a read transaction. Keys are 0..kMaxKeySize bytes, values
  // 0..kMaxValueSize bytes; longer ones get kInvalidArgument.
  virtual Status Put(std::string_view key, std::string_view value) = 0;
  // With flags (PutFlags): kNoOverwrite and kAppend; `existing` gets the
  // current value when kNoOverwrite finds one.
  virtual Status Put(std::string_view key, std::string_view value, uint32_t flags,
                     std::string* existing = nullptr) = 0;
  // Sets key to a value of `size` bytes and returns a buffer to fill them
  // in, valid until the next call on this tree or its transaction. Sizes up
  // to kMaxValueSize.
  virtual Result<char*> Reserve(std::string_view key, size_t size) = 0;
  // kNotFound when the key is absent.
  virtual Status Delete(std::string_view key) = 0;
  // Removes one value of key in a dup tree; elsewhere the key, if its value
  // is `value`. kNotFound when there is no such pair.
  virtual Status Delete(std::string_view key, std::string_view value) = 0;
  // Whether the tree keeps duplicate keys.
  virtual bool dupsort() const = 0;
  // The options the tree was created with, as it keeps them: its own zstd
  // level (0 for none; never -1), its Bloom filters' bits a key, dupsort.
  // Main() of a store whose catalog could not be read (every call fails)
  // says none of them: dupsort off, level 0, no filters.
  virtual TreeOptions options() const = 0;
  // Values of key (0 or 1 in a tree without duplicates), in O(log n).
  virtual Result<uint64_t> CountDups(std::string_view key) = 0;
  // False when key is surely absent; true when it may be present. In a tree
  // with Bloom filters (TreeOptions::bloom_bits_per_key) it reads the
  // branches down to the leaf's parent and asks the leaf's filter, never
  // the leaf itself, so it answers an absent key without that I/O and
  // says true for about 1% of absent keys at 10 bits a key. Without filters
  // it says true unless the tree is empty or one leaf (a leaf it has read
  // anyway) without the key. Get and the other calls that look a key up
  // use the filters the same way on their own.
  virtual Result<bool> MayContain(std::string_view key) = 0;

  // Number of keys.
  virtual Result<uint64_t> Count() = 0;
  // Number of keys k with lo <= k < hi.
  virtual Result<uint64_t> Count(std::string_view lo, std::string_view hi) = 0;
  // Number of keys that start with prefix.
  virtual Result<uint64_t> CountPrefix(std::string_view prefix) = 0;
  // Number of keys < key (key need not be present).
  virtual Result<uint64_t> Rank(std::string_view key) = 0;
  // The i-th entry in key order, from 0; kNotFound when i >= Count().
  virtual Result<Entry> Select(uint64_t i) = 0;
  // The i-th key alone (its value is not read).
  virtual Result<std::string> KeyAt(uint64_t i) = 0;

  virtual std::unique_ptr<Cursor> NewCursor() = 0;
  // Merkle hash of the tree's content, 32 hex digits (as of the last commit
  // for a write transaction with changes to this tree, after Commit).
  virtual Result<std::string> RootHashHex() = 0;
  // Height of the tree (0 when empty, 1 for a single leaf).
  virtual Result<uint32_t> Depth() = 0;

  // ---- Byte-range access to one value, as a file's content ----
  // Large values are kept as trees of chunks, so these touch O(log n)
  // pages whatever the value's size. Never-written ranges (holes) read as
  // zeros and take no space.

  // The value's size in bytes; kNotFound when the key is absent.
  virtual Result<uint64_t> ValueSize(std::string_view key) = 0;
  // Up to n bytes from offset into *out: fewer at the end of the value,
  // none from offset >= size.
  virtual Status ReadAt(std::string_view key, uint64_t offset, size_t n, std::string* out) = 0;
  // ReadAt without copying a value kept in its leaf (see GetPinned).
  virtual Status ReadPinned(std::string_view key, uint64_t offset, size_t n, PinnedValue* out) = 0;
  // Writes data at offset, creating the key (with an empty value) if absent;
  // writing past the end grows the value and leaves a hole in between.
  virtual Status WriteAt(std::string_view key, uint64_t offset, std::string_view data) = 0;
  // Sets the value's size: shrinking drops the tail, growing adds a hole.
  // kNotFound when the key is absent.
  virtual Status Truncate(std::string_view key, uint64_t size) = 0;
  // Moves from's value to key `to`, replacing any value there, without
  // copying the value's bytes. kNotFound when from is absent.
  virtual Status Rename(std::string_view from, std::string_view to) = 0;
  // The same into another tree of this write transaction (`dest`, not a
  // dup tree; this tree itself is a Rename): the value moves with its
  // chunks, nothing is copied. kInvalidArgument for a tree of another
  // transaction.
  virtual Status MoveTo(std::string_view from, Tree* dest, std::string_view to) = 0;
  // The bytes the value really holds: a small value's size, else its
  // chunks present times the chunk size (holes hold nothing). kNotFound
  // when the key is absent.
  virtual Result<uint64_t> AllocatedBytes(std::string_view key) = 0;
  // Makes [offset, offset + length) read as zeros without changing the
  // value's size: chunks wholly inside are freed (a hole), chunks in part
  // are rewritten. Costs O(chunks present in the range), whatever its
  // length. kNotFound when the key is absent.
  virtual Status ZeroRange(std::string_view key, uint64_t offset, uint64_t length) = 0;
  // Copies up to `length` bytes of the value at src_key in `src` (a tree of
  // this write transaction, this one included), from src_offset on, into
  // dst_key at dst_offset, as WriteAt would: dst_key is made or grown. A
  // chunk that lies wholly in the range on both sides is shared, not
  // copied: both values point to one data block (counted in the store's
  // clone table) until either is written, so a clone of a large value
  // costs O(chunks) of metadata and no data. Holes stay holes. Returns the
  // bytes copied: fewer than `length` when the value ends first, 0 at or
  // past its end. kNotFound when src_key is absent; kInvalidArgument for a
  // tree of another transaction, a dup tree, or two overlapping ranges of
  // one value.
  virtual Result<uint64_t> CloneRange(Tree* src, std::string_view src_key, uint64_t src_offset,
                                      std::string_view dst_key, uint64_t dst_offset,
                                      uint64_t length) = 0;
  // The first offset >= offset that holds data (hole = false) or lies in a
  // hole (hole = true; the end of the value counts as a hole). kNotFound
  // when there is no such offset below the value's size (data), or offset
  // is past the size.
  virtual Result<uint64_t> SeekData(std::string_view key, uint64_t offset, bool hole) = 0;
};

class Txn {
 public:
  virtual ~Txn() = default;
  // The transaction id of the commit this transaction reads (a read
  // transaction) or will create (a write transaction).
  virtual uint64_t id() const = 0;
  // The "main" tree.
  virtual Tree* Main() = 0;
  // kNotFound when no tree has that name.
  virtual Result<Tree*> OpenTree(std::string_view name) = 0;
  virtual Result<std::vector<std::string>> ListTrees() = 0;
};

class ReadTxn : public Txn {
 public:
  // The snapshot this transaction reads, or empty for the live store.
  virtual const std::string& snapshot() const = 0;
};

struct SnapshotInfo {
  std::string name;
  uint64_t txn = 0;             // the commit it preserves
  uint64_t time_ns = 0;         // when that commit was made
  uint64_t referenced_bytes = 0;  // bytes of pages its trees reach
  uint64_t unique_bytes = 0;      // bytes only it holds: what destroying it frees
};

// How a write transaction shares the store (Db::BeginWrite).
enum class WriteMode : uint8_t {
  // Serializable optimistic concurrency. Any number may be open at once;
  // each works on its own copy-on-write state of the commit it began from
  // and records what it observed: every result a call returned (a value, a
  // size, a count, a rank, a cursor's key or value, whether a tree exists,
  // even the status of a Delete or a kNoOverwrite Put). Commit of one that
  // changed nothing takes no writer role, so it waits for no write
  // transaction (an exclusive one included): its calls are run again on the
  // newest commit, which it is then ordered at (its id), or kConflict when
  // one returns something else. Commit of any other (or of one whose calls
  // change something on the newest commit, as a Truncate to the size a
  // value had may) takes the writer role (waiting while an exclusive
  // transaction is open). If no commit came since it began, its state is
  // committed as it is. Otherwise it is rebased: its calls are run again,
  // in order, on the newest state; when every one returns what it returned
  // the first time, the result is that of running the transaction alone at
  // its commit, and it commits;
  // the first that differs makes Commit return kConflict with nothing
  // written (retry the transaction). So a Put on its own conflicts with
  // nothing, while reading a key, or scanning or counting a range, another
  // commit changed conflicts (lost updates, write skew and phantoms are all
  // caught). A rebase costs as much as running the calls again; value
  // bytes are written to the file once, at commit, and the bytes a
  // transaction writes are held in memory until then (twice: its own state
  // and the record to replay), so load bulk data in an exclusive
  // transaction. Once that passes Options::optimistic_record_bytes, the
  // call that passed it takes the writer role (waiting for an exclusive
  // transaction, or a large one, to finish; so never from a thread that
  // holds one), rebases as Commit would (kConflict from that call and
  // every later one) and the transaction goes on as an exclusive one.
  // CreateSnapshot and DestroySnapshot observe the whole store: any commit
  // since the start is a conflict. id() is the id after the commit it began
  // from; reading it is an observation too (a commit since is a conflict).
  kOptimistic,
  // One at a time: BeginWrite waits for the open exclusive transaction to
  // finish. It works on the newest state and never conflicts; optimistic
  // transactions that commit meanwhile wait for it.
  kExclusive,
};

class WriteTxn : public Txn {
 public:
  // Opens the tree, creating it if absent.
  virtual Result<Tree*> CreateTree(std::string_view name) = 0;
  // The same with options for a new tree; an existing one whose dupsort
  // differs gets kInvalidArgument.
  virtual Result<Tree*> CreateTree(std::string_view name, const TreeOptions& options) = 0;
  // Removes a tree and frees its pages ("main" cannot be dropped).
  virtual Status DropTree(std::string_view name) = 0;
  // Takes a snapshot named `name` of the last commit: the state this
  // transaction started from, without its own changes (commit those first
  // to include them). It is recorded when this transaction commits.
  // Names: 1 to 255 bytes of [A-Za-z0-9._:+@-], not starting with '.';
  // others get kInvalidArgument; a taken name gets kExists.
  virtual Status CreateSnapshot(std::string_view name) = 0;
  // Destroys a snapshot at commit; kNotFound when there is none.
  virtual Status DestroySnapshot(std::string_view name) = 0;
  // Makes every change durable (as Options::durability says) and visible.
  // The transaction is finished afterwards, whatever the result.
  // Commit() is CommitNoWait() followed by Db::WaitDurable(id).
  virtual Status Commit() = 0;
  // Seals the transaction: its changes are what new transactions see and
  // the next write transaction may begin at once, without waiting for the
  // disk. Returns the commit's transaction id (the current one, unchanged,
  // when nothing changed); Db::WaitDurable(id) makes it durable. A crash
  // before that loses it, never consistency. Once a commit could not be
  // made durable (kIOError from its Commit), every commit, one that changed
  // nothing included, fails with kIOError until the store is reopened.
  virtual Result<uint64_t> CommitNoWait() = 0;
  // Discards every change. Also what the destructor does when neither
  // Commit nor Abort was called.
  virtual void Abort() = 0;
};

struct DbStats {
  uint64_t txn_id = 0;        // the last commit (sealed)
  uint64_t durable_txn = 0;   // the last commit on stable storage
  uint32_t page_size = 0;
  uint32_t format_version = 0;
  uint64_t file_bytes = 0;
  uint64_t total_pages = 0;   // pages the store spans, meta pages included
  uint64_t free_pages = 0;    // reusable now or once older readers end
  uint64_t used_pages = 0;    // total - free
  uint64_t trees = 0;
  uint64_t main_keys = 0;
  uint32_t main_depth = 0;
  std::string root_hash;      // Merkle root of the whole store, hex
  // Not empty when open had to skip the newest commit (its meta page was
  // intact but its tree or space log was not) and fell back to the one
  // before: what was skipped and why. Check reports it as a problem.
  std::string recovery_note;
  uint64_t cache_hits = 0;
  uint64_t cache_misses = 0;
  uint64_t cache_evictions = 0;
  uint64_t cache_bytes = 0;   // held now
  uint64_t cache_budget = 0;  // the most it holds (Options::cache_bytes)
  uint64_t snapshots = 0;
};

// Space of the live trees: every tree in the catalog, the catalog itself and
// the system trees (dead list, snapshot records), but not what only
// snapshots hold.
struct SpaceStats {
  uint64_t logical_bytes = 0;  // nodes as encoded (before compression) + large-value data
  uint64_t stored_bytes = 0;   // the same as stored on disk (compressed nodes' frames)
  uint64_t stored_pages = 0;   // pages of the runs holding them
  uint64_t nodes = 0;
  uint64_t compressed_nodes = 0;  // of those, stored with zstd
  uint64_t data_blocks = 0;       // large values' data blocks
};

struct CheckReport {
  uint64_t nodes_checked = 0;
  uint64_t pages_checked = 0;  // pages of those nodes
  uint64_t keys_checked = 0;
  uint64_t trees_checked = 0;
  // One line per problem, each naming the page and what is wrong.
  std::vector<std::string> problems;
  bool ok() const { return problems.empty(); }
  // Set by the caller (kept by Check): called as pages are checked, with
  // the pages done and about how many there are.
  std::function<void(uint64_t, uint64_t)> progress;
};

// A process reading the store through its reader table (a read-only open
// in another process): what `bruce stat` lists.
struct ReaderInfo {
  uint32_t pid = 0;
  uint64_t txn = 0;       // the oldest commit it may still read
  uint64_t since_ns = 0;  // when it opened the store
};

// One difference between two versions of a tree (Diff).
struct DiffEntry {
  enum Kind : uint8_t { kAdded, kRemoved, kChanged };
  Kind kind = kAdded;
  std::string_view key;
  // The old and new values when they are held inline (empty for a side
  // that has none); a large value's bytes are not read (old_large /
  // new_large say it is one: read it with ReadAt). In a tree with duplicate
  // keys an entry is one (key, value) pair, added or removed.
  std::string_view old_value, new_value;
  bool old_large = false, new_large = false;
};
struct DiffStats {
  uint64_t nodes_read = 0;        // nodes of either tree read by the walk
  uint64_t subtrees_skipped = 0;  // pairs of equal subtrees passed over unread
  uint64_t entries = 0;           // differences reported
};

// Compares two versions of a tree (from two transactions or snapshots of
// one store; neither changed in its transaction) and calls fn for each
// difference in key order (false stops). Subtrees whose hashes are equal
// are skipped unread, so the cost follows the changes, not the size.
// kInvalidArgument for trees of another store, with changes not yet
// committed, or one with duplicate keys and one without.
Status Diff(Tree* old_tree, Tree* new_tree, const std::function<bool(const DiffEntry&)>& fn,
            DiffStats* stats = nullptr);

// A service the writing process of a store offers beside it (brucefs's
// control socket), as recorded in the store's lock file.
struct Endpoint {
  uint32_t pid = 0;   // the serving process
  std::string name;   // what it serves under (up to 40 bytes)
};

class Db {
 public:
  virtual ~Db() = default;

  // Opens the store in the file at path. One process at a time may open it
  // for writing (another gets kBusy); any number may open it read-only
  // meanwhile, in any process: they publish the commit they read in the
  // reader table PATH-lock, the writer never reuses what they may read, and
  // each BeginRead sees the last durable commit.
  static Result<std::unique_ptr<Db>> Open(const std::string& path, const Options& options);
  // Opens a store kept in `store` (memory, or a fault-injecting store in tests).
  static Result<std::unique_ptr<Db>> Open(std::shared_ptr<PageStore> store,
                                          const Options& options);

  virtual Result<std::unique_ptr<ReadTxn>> BeginRead() = 0;
  // Waits until commit `txn` and every one before it are on stable storage
  // (with Durability::kNoSync: written, not synced). Callers that wait
  // together share one sync (group commit); readers and the next writer
  // never wait for it.
  virtual Status WaitDurable(uint64_t txn) = 0;
  // A read transaction on a snapshot; kNotFound when there is none.
  virtual Result<std::unique_ptr<ReadTxn>> BeginRead(std::string_view snapshot) = 0;
  // kReadOnly for a store opened read-only. See WriteMode; BeginWrite()
  // is an optimistic transaction.
  virtual Result<std::unique_ptr<WriteTxn>> BeginWrite(WriteMode mode) = 0;
  Result<std::unique_ptr<WriteTxn>> BeginWrite() { return BeginWrite(WriteMode::kOptimistic); }

  // Merkle root of the whole store as of the last commit, 32 hex digits. It
  // covers content and tree shape, never file layout: two stores holding the
  // same trees node for node (a replica) have the same root hash wherever
  // their pages lie. The same keys inserted in another order may give
  // another shape, and so another hash.
  virtual std::string RootHash() = 0;

  // Snapshots. Taking one is O(1) and costs one commit; its pages stay
  // until it is destroyed. Create and Destroy wait for the writer role
  // (they commit); use WriteTxn's for the transaction you have open.
  virtual Status CreateSnapshot(std::string_view name) = 0;
  virtual Status DestroySnapshot(std::string_view name) = 0;
  virtual Result<std::vector<SnapshotInfo>> ListSnapshots() = 0;
  // Makes the live store what the snapshot holds (one commit; the snapshot
  // stays).
  virtual Status Rollback(std::string_view snapshot) = 0;
  // Cheap: counters and what the meta page and the cache know.
  virtual Result<DbStats> Stat() = 0;
  // The other processes reading this store (read-only opens), from the
  // reader table beside it; empty for a store not in a file.
  virtual Result<std::vector<ReaderInfo>> Readers() = 0;
  // Records, in the lock file beside the store, that this process takes
  // requests for it under `name` (1 to 40 bytes), until the Db is closed.
  // Only a writable store in a file has one: else kNotSupported. kBusy when
  // another live process has published one.
  virtual Status PublishEndpoint(std::string_view name) = 0;
  // The endpoint published for the store at path by a live process:
  // kNotFound when none is (no process holds the store, or it is a plain
  // writer such as the CLI).
  static Result<Endpoint> FindEndpoint(const std::string& path);
  // Found by walking the live trees: the first call reads every node
  // (O(nodes); data blocks are counted from their pointers, not read),
  // later ones only the subtrees that changed since (a branch's subtree is
  // remembered by its page, birth and hash). A node that fails to read or
  // verify stops the walk with its error (`Check` says more).
  virtual Result<SpaceStats> Space() = 0;
  // Moves live pages toward the start of the file so that it can shrink, in
  // a few commits, and returns the file size afterwards. Pages that only
  // snapshots hold stay where they are.
  virtual Result<uint64_t> Compact() = 0;
  // The same, calling progress(passes done, passes at most) after each pass.
  virtual Result<uint64_t> Compact(const std::function<void(uint64_t, uint64_t)>& progress) = 0;
  // Walks everything: every node's checksum and hash, key order, counts,
  // separators, and that every page is used exactly once or free.
  // Returns OK when the walk ran (problems go into report); an error Status
  // only when it could not run at all.
  virtual Status Check(CheckReport* report) = 0;
};

// Send streams (docs/FORMAT.md "Send stream"): a snapshot's user trees,
// whole or as the changes since a base snapshot, that Receive rebuilds node
// for node in another store.
struct StreamStats {
  uint64_t records = 0;      // records in the stream
  uint64_t bytes = 0;        // its size
  uint64_t nodes = 0;        // nodes sent (received)
  uint64_t data_blocks = 0;  // large values' blocks sent (received)
  uint64_t reused = 0;       // subtrees and blocks taken from the base instead
  uint64_t leaf_deltas = 0;  // of the nodes, leaves sent as changes to a base leaf
};
// Writes the stream of `snapshot` to out, piece by piece: with `base`
// empty, every user tree whole; else only what changed since snapshot
// `base` (which the receiver must have): subtrees with equal hashes are
// referred to, and so are a large value's unchanged chunks.
Status Send(Db* db, std::string_view snapshot, std::string_view base,
            const std::function<Status(std::string_view)>& out, StreamStats* stats = nullptr);
struct SendOptions {
  std::string base;         // as above
  bool compressed = false;  // nodes stored compressed travel as stored (zstd frames)
};
Status Send(Db* db, std::string_view snapshot, const SendOptions& options,
            const std::function<Status(std::string_view)>& out, StreamStats* stats = nullptr);
struct ReceiveOptions {
  // An incremental stream needs the target's live trees to be its base
  // snapshot's; with force, a target that changed since is rolled back to
  // it first (its own commit).
  bool force = false;
};
// Reads a stream (in: fill buf with n bytes; *got less only at the end) and
// makes its snapshot in this store, in one commit followed by the
// snapshot's: the live trees become the stream's, and the snapshot is
// created on them. Everything is checked before that commit (each record's
// chained checksum, every node's hash and count against its parent, every
// tree's root hash, the trailer's content hash); a stream that fails any
// check, is truncated, is for another base, or a target that changed since
// the base (without force), leaves the store as it was. *snapshot gets the
// snapshot's name.
Status Receive(Db* db, const std::function<Status(char* buf, size_t n, size_t* got)>& in,
               const ReceiveOptions& options, std::string* snapshot,
               StreamStats* stats = nullptr);

// Scrub: reads and verifies every node and data block that the live trees
// and the snapshots reach, each page once, round by round in page order
// (each round the pages the last one pointed to), from the file (never
// the cache).
struct ScrubDamage {
  uint64_t page = 0;
  bool data = false;           // a large value's data block, else a node
  std::string error;           // what reading it found
  std::vector<std::string> users;  // "live tree main", "snapshot s1 tree t", ...
  std::string key_lo, key_hi;  // the keys below it (from its parent; hi empty: no bound)
  // Where it was first reached: the version ("" for live, else the
  // snapshot's name), the tree ("" for a catalog or a system tree) and the
  // index taken in each node from the tree's root; and what its parent's
  // pointer says it holds. A replica finds its copy by these.
  std::string version, tree;
  std::vector<uint32_t> path;
  std::string hash;            // 16 bytes, as stored
  uint64_t count = 0;
  uint32_t stored_len = 0;
  bool compressed = false;
  int zstd_level = 0;          // of its tree
  // Set by RepairScrubbed.
  bool repaired = false;
  std::string repair_note;     // why it was not
};
struct ScrubReport {
  uint64_t nodes = 0;
  uint64_t data_blocks = 0;
  uint64_t bytes = 0;  // read from the file
  std::vector<ScrubDamage> damaged;
  // With want_pages: every node and data block read, in the order read.
  struct Page {
    uint64_t page = 0;
    uint32_t stored_len = 0;  // its bytes from the start of the page
    bool data = false;
    uint64_t parent = 0;  // the page that first led to it (0: a catalog)
    std::vector<std::string> users;
  };
  bool want_pages = false;
  std::vector<Page> pages;
};
// progress(done, known): blocks read, blocks known so far (may be null).
Status Scrub(Db* db, ScrubReport* report,
             const std::function<void(uint64_t, uint64_t)>& progress = nullptr);

// Good copies for a repair: the bytes of the node (its logical bytes, as a
// send stream carries them) or data block a damaged page must hold, or
// kNotFound.
using RepairSource = std::function<Result<std::string>(const ScrubDamage&)>;
// A replica store (one made by send/receive, or an identical copy): the
// same version and tree, followed by the same path, with the same hash.
RepairSource ReplicaStoreSource(Db* replica);
// A send stream of a snapshot holding the same data (read through first):
// the NODE and DATA records whose hashes the report's damaged pages want.
Result<RepairSource> StreamSource(
    const std::function<Status(char* buf, size_t n, size_t* got)>& in, const ScrubReport& wanted);
// Rewrites each damaged page of `report` in place from `source`, when its
// copy verifies (hash and count) and encodes to exactly the bytes the page
// held: data blocks, and nodes that point nowhere (leaves without large
// values). A node that points to others lost their locations with it and
// is left (repair_note says so), as is one the source lacks: nothing is
// ever invented. Needs the store open for writing, and a report of the
// store as it is (nothing committed since the scrub: a page freed and
// reused meanwhile would be overwritten); syncs at the end.
Status RepairScrubbed(Db* db, ScrubReport* report, const RepairSource& source);

}  // namespace bruce
