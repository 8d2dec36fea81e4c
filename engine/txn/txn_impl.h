// txn/txn_impl.h — read and write transactions and the Tree handles they
// give out.
//
// A read transaction pins a Version: its reads walk that version's nodes,
// which no commit may overwrite while it is pinned. A write transaction
// owns the writer role; it keeps the catalog and every tree it touched as a
// TreeRoot with dirty nodes, and Commit writes them: trees first, then the
// catalog that points to them, then the space log, then (after a sync) the
// meta page.
//
// Thread safety: a transaction and its trees are used by one thread at a
// time.
#pragma once

#include <zstd.h>

#include <map>
#include <unordered_set>
#include <unordered_map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "bruce/db.h"
#include "store/write_behind.h"
#include "tree/btree.h"
#include "tree/cursor.h"
#include "txn/db_impl.h"

namespace bruce {

class TxnBase;

// A chunk tree's key: the chunk's index, 8 bytes big-endian.
inline std::string ChunkKey(uint64_t c) {
  std::string k(8, '\0');
  for (int i = 0; i < 8; i++) k[i] = static_cast<char>(c >> (56 - 8 * i));
  return k;
}
inline uint64_t ChunkIndex(std::string_view k) {
  uint64_t c = 0;
  for (char ch : k) c = (c << 8) | static_cast<unsigned char>(ch);
  return c;
}
// True for bytes that are all zero (which a chunk tree keeps as a hole).
bool AllZero(std::string_view s);

// Tree flags (the catalog entry's aux): bits 0-7 are the zstd level its
// nodes are written with (0: no compression); bit 8 marks a dup tree; bits
// 16-23 are the bits per key of its leaves' Bloom filters (0: none).
constexpr uint64_t kTreeZstdLevelMask = 0xff;
constexpr uint64_t kTreeDupSort = 0x100;
constexpr int kTreeBloomShift = 16;
constexpr uint64_t kTreeBloomMask = uint64_t{0xff} << kTreeBloomShift;
// Every flag bit a tree may have.
constexpr uint64_t kTreeFlagsKnown = kTreeZstdLevelMask | kTreeDupSort | kTreeBloomMask;
inline uint32_t TreeBloomBits(uint64_t flags) {
  return static_cast<uint32_t>((flags & kTreeBloomMask) >> kTreeBloomShift);
}

// Names a user may give: trees (1 to 255 bytes, no leading NUL) and
// snapshots (1 to 255 of [A-Za-z0-9._:+@-], no leading '.').
Status CheckTreeName(std::string_view name);
Status CheckSnapshotName(std::string_view name);

class TreeImpl final : public Tree {
 public:
  TreeImpl(TxnBase* txn, std::string name, uint64_t flags, format::BlockPtr root)
      : txn_(txn), name_(std::move(name)), flags_(flags) {
    root_.ptr = root;
    root_.zstd_level = static_cast<int>(flags & kTreeZstdLevelMask);
    root_.bloom_bits = TreeBloomBits(flags);
  }
  // A tree whose every call fails with `broken`.
  TreeImpl(TxnBase* txn, std::string name, Status broken)
      : txn_(txn), name_(std::move(name)), broken_(std::move(broken)) {}

  const std::string& name() const override { return name_; }
  Status Get(std::string_view key, std::string* value) override;
  Status GetPinned(std::string_view key, PinnedValue* value) override;
  Status ReadPinned(std::string_view key, uint64_t offset, size_t n, PinnedValue* out) override;
  Status Put(std::string_view key, std::string_view value) override;
  Status Put(std::string_view key, std::string_view value, uint32_t flags,
             std::string* existing) override;
  Result<char*> Reserve(std::string_view key, size_t size) override;
  Status Delete(std::string_view key) override;
  Status Delete(std::string_view key, std::string_view value) override;
  bool dupsort() const override { return (flags_ & kTreeDupSort) != 0; }
  TreeOptions options() const override {
    TreeOptions o;
    o.dupsort = dupsort();
    o.compression_level = root_.zstd_level;
    o.bloom_bits_per_key = root_.bloom_bits;
    return o;
  }
  Result<uint64_t> CountDups(std::string_view key) override;
  Result<bool> MayContain(std::string_view key) override;
  Result<uint64_t> Count() override;
  Result<uint64_t> Count(std::string_view lo, std::string_view hi) override;
  Result<uint64_t> CountPrefix(std::string_view prefix) override;
  Result<uint64_t> Rank(std::string_view key) override;
  Result<Entry> Select(uint64_t i) override;
  Result<std::string> KeyAt(uint64_t i) override;
  std::unique_ptr<Cursor> NewCursor() override;
  Result<std::string> RootHashHex() override;
  Result<uint32_t> Depth() override;
  Result<uint64_t> ValueSize(std::string_view key) override;
  Status ReadAt(std::string_view key, uint64_t offset, size_t n, std::string* out) override;
  Status WriteAt(std::string_view key, uint64_t offset, std::string_view data) override;
  Status Truncate(std::string_view key, uint64_t size) override;
  Status Rename(std::string_view from, std::string_view to) override;
  Status MoveTo(std::string_view from, Tree* dest, std::string_view to) override;
  Result<uint64_t> AllocatedBytes(std::string_view key) override;
  Status ZeroRange(std::string_view key, uint64_t offset, uint64_t length) override;
  Result<uint64_t> SeekData(std::string_view key, uint64_t offset, bool hole) override;
  Result<uint64_t> CloneRange(Tree* src, std::string_view src_key, uint64_t src_offset,
                              std::string_view dst_key, uint64_t dst_offset,
                              uint64_t length) override;

  TreeRoot& root() { return root_; }
  TxnBase* txn() const { return txn_; }
  const Status& broken() const { return broken_; }
  void MarkDropped() { broken_ = Status::NotFound("tree '" + name_ + "' was dropped"); }
  uint64_t flags() const { return flags_; }
  bool changed() const { return changed_; }
  // At commit: writes the large values this transaction changed and points
  // their keys at them.
  Status FlushValues();
  // Frees every page this tree owns (DropTree).
  Status FreeAll();
  // Compaction: copies every node and data block at page `limit` or above.
  Status Relocate(btree::RelocateLimits lim);

 private:
  friend class ValueCursor;
  // A large value being changed in this transaction: its size and its tree
  // of chunks (chunk index, 8 bytes big-endian -> data block). Its key holds
  // a placeholder in root_ until FlushValues.
  struct Extent {
    uint64_t size = 0;
    TreeRoot chunks;
  };
  // A key's value as this transaction sees it.
  struct ValueRef {
    bool exists = false;
    format::ValueType vtype = format::ValueType::kInline;
    std::string inline_bytes;
    format::PtrValue desc;   // a committed large value
    Extent* dirty = nullptr;  // a large value changed here
    uint64_t size = 0;
  };

  // Dup trees (tree_dups.cc).
  Status DupPut(std::string_view key, std::string_view value, uint32_t flags,
                std::string* existing);
  // value null: every value of key.
  Status DupDelete(std::string_view key, const std::string_view* value);
  std::unique_ptr<Cursor> NewDupCursor();
  Status NotForDups(const char* call) const;
  // InvalidArgument for a key longer than kMaxKeySize.
  static Status CheckKeySize(std::string_view key);

  // Every call checks this first; it also writes a pending Reserve buffer.
  Status Usable();
  Status Writable(WriteContext** w);
  uint64_t chunk_size() const;
  size_t inline_max() const;
  Status Lookup(std::string_view key, ValueRef* v);
  // Lookup's second half: what the leaf holds for key (raw, of type vt).
  Status Resolve(std::string_view key, std::string raw, format::ValueType vt, ValueRef* v);
  Result<Extent*> MutableExtent(std::string_view key, ValueRef* v);
  Status ReadRange(const ValueRef& v, uint64_t offset, size_t n, std::string* out);
  Status ReadChunk(Extent* e, uint64_t c, std::string* out);
  Status WriteChunks(Extent* e, uint64_t offset, std::string_view data);
  // Writes data blocks (each at most a page) to one new run of pages,
  // straight from the caller's bytes, and returns their pointers.
  Status WriteBlocks(const std::vector<std::string_view>& blocks,
                     std::vector<format::BlockPtr>* out);
  Status CutChunks(Extent* e, uint64_t size);
  // Chunk c of a large value: its data block, or a null pointer for a hole.
  Status ChunkAt(const ValueRef& v, uint64_t c, format::BlockPtr* out);
  // Points chunk c of e at the data block p (null: a hole), sharing it.
  Status ShareChunk(Extent* e, uint64_t c, const format::BlockPtr& p);
  // Frees what the value at key owns (dirty or committed).
  Status DropValue(std::string_view key, const btree::OldValue& old);

  std::map<std::string, Extent, std::less<>> extents_;
  // The last Reserve: its key and the buffer the caller fills.
  std::optional<std::pair<std::string, std::string>> reserved_;

  TxnBase* txn_;
  std::string name_;
  uint64_t flags_ = 0;
  TreeRoot root_;
  double fill_ = 0;  // while a kAppend put runs: Options::append_fill
  bool changed_ = false;
  Status broken_;
};

// What read and write transactions share: resolving trees by name.
class TxnBase {
 public:
  TxnBase(DbImpl* db, uint64_t id, format::BlockPtr catalog) : db_(db), id_(id) {
    catalog_.ptr = catalog;
  }
  virtual ~TxnBase() = default;

  virtual NodeSource* source() = 0;
  uint32_t page_size() const { return db_->page_size(); }
  const Options& options() const { return db_->options(); }
  // The store, and the transaction id this one reads or will commit as.
  DbImpl* db() const { return db_; }
  uint64_t txn_id() const { return id_; }
  // Null in a read transaction.
  virtual WriteContext* writer() = 0;
  // Bumped on every change; cursors of write transactions watch it.
  const uint64_t* generation() const { return writer_gen_; }
  void Changed() { gen_++; }
  Status finished_status() const;

  Tree* MainTree();
  Result<Tree*> Open(std::string_view name);
  Result<Tree*> OpenUser(std::string_view name) {
    if (!name.empty() && name[0] == '\0') return Status::InvalidArgument("not a tree name");
    return Open(name);
  }
  Result<std::vector<std::string>> Names();

 protected:
  DbImpl* db_;
  uint64_t id_;
  TreeRoot catalog_;
  std::map<std::string, std::unique_ptr<TreeImpl>, std::less<>> trees_;
  uint64_t gen_ = 0;
  const uint64_t* writer_gen_ = nullptr;
  bool finished_ = false;
};

class ReadTxnImpl final : public ReadTxn, public TxnBase {
 public:
  // `pin`: the commit it keeps from reuse (its own, or for a snapshot the
  // commit current when it began: a snapshot's pages are kept by the
  // snapshot, and its destruction frees them in a later commit).
  ReadTxnImpl(DbImpl* db, const Version& v, std::string snapshot = "", uint64_t pin = 0)
      : TxnBase(db, v.txn, v.catalog), snapshot_(std::move(snapshot)),
        pin_(snapshot_.empty() ? v.txn : pin) {}
  ~ReadTxnImpl() override { db_->Unpin(pin_); }

  uint64_t id() const override { return id_; }
  Tree* Main() override { return MainTree(); }
  Result<Tree*> OpenTree(std::string_view name) override { return OpenUser(name); }
  Result<std::vector<std::string>> ListTrees() override { return Names(); }
  const std::string& snapshot() const override { return snapshot_; }
  NodeSource* source() override { return &pins_; }
  uint64_t pin() const { return pin_; }
  WriteContext* writer() override { return nullptr; }

 private:
  // The read path of a read transaction: the store's, plus the branch nodes
  // it has read kept pinned (up to kSlots, first come, none ever replaced),
  // so that later descents reach them without the shared cache (no lock, no
  // reference count: what it returns for them is only valid while the
  // transaction lives, as is every node it reads).
  class Pins final : public NodeSource {
   public:
    explicit Pins(DbImpl* db) : db_(db) {}
    Result<NodeRef> Load(const format::BlockPtr& ptr) override;
    Status ReadData(const format::BlockPtr& ptr, std::string* out) override {
      return db_->ReadData(ptr, out);
    }
    void Prefetch(const format::BlockPtr& ptr) override { db_->Prefetch(ptr); }

   private:
    static constexpr unsigned kBits = 7;
    static constexpr size_t kSlots = size_t{1} << kBits;
    static size_t SlotOf(uint64_t page) {
      return static_cast<size_t>((page * 0x9e3779b97f4a7c15ull) >> (64 - kBits));
    }
    struct Slot {
      uint64_t page = 0;
      format::Hash128 hash;
      NodeRef node;
    };
    DbImpl* db_;
    std::unique_ptr<Slot[]> slots_;  // made on the first branch read
  };

  std::string snapshot_;
  uint64_t pin_;
  Pins pins_{db_};
};

class WriteTxnImpl final : public WriteTxn, public TxnBase, public WriteContext {
 public:
  // `detached`: the private state of an optimistic transaction (see
  // optimistic.h), made without the writer role: it allocates no pages and
  // writes nothing to the store. The data blocks of large values it writes
  // are kept in memory at private page numbers (kPrivatePage and up) and
  // its nodes stay dirty; it never commits itself. Attach makes it the
  // writer, when the caller holds the role and nothing was committed since
  // base and it wrote no private blocks.
  WriteTxnImpl(DbImpl* db, const Version& base, bool detached = false);
  ~WriteTxnImpl() override;

  static constexpr uint64_t kPrivatePage = uint64_t{1} << 62;
  bool detached() const { return detached_; }
  bool wrote_private() const { return wrote_private_; }
  // Whether committing would write anything: a tree or the catalog changed,
  // trees made or dropped, snapshots made or destroyed, pages freed.
  bool HasChanges() const;
  size_t private_bytes() const { return private_bytes_; }
  const Version& base() const { return base_; }
  void Attach();

  uint64_t id() const override { return id_; }
  Tree* Main() override { return MainTree(); }
  Result<Tree*> OpenTree(std::string_view name) override { return OpenUser(name); }
  Result<std::vector<std::string>> ListTrees() override { return Names(); }
  Result<Tree*> CreateTree(std::string_view name) override;
  Result<Tree*> CreateTree(std::string_view name, const TreeOptions& options) override;
  Status DropTree(std::string_view name) override;
  Status CreateSnapshot(std::string_view name) override;
  Status DestroySnapshot(std::string_view name) override;
  // Makes the live trees those of snapshot `name` (a fresh transaction).
  Status RollbackTo(std::string_view name);
  // Receive (stream/receive.cc): the user trees become `trees` (name ->
  // flags and root), whose nodes were written by this transaction or are
  // the current trees' own; every node and data block of the current trees
  // whose page is not in `kept` (nor under one that is) is freed. A fresh
  // transaction only.
  Status ReplaceUserTrees(const std::map<std::string, format::PtrValue>& trees,
                          const std::unordered_set<uint64_t>& kept);
  // The clone table (clones.cc): whether it may hold entries (the store has
  // cloned, or MarkClones said it will share blocks).
  Result<bool> MayHaveClones();
  Status MarkClones();
  // Compaction: copies every live node and data block at page `limit` or
  // above (and the log), so this commit writes them lower down.
  Status Relocate(uint64_t limit);
  Status Commit() override;
  Result<uint64_t> CommitNoWait() override;
  void Abort() override;

  NodeSource* source() override { return this; }
  WriteContext* writer() override { return this; }
  // false: a written node's memory goes as soon as its page is in the file
  // (reads take it from there), so a transaction may write more nodes than
  // memory holds (a receive); they are then not put in the cache at commit.
  // (Set before the transaction writes any node.)
  void KeepWrittenNodes(bool keep) { keep_written_ = keep; }
  // Every node this transaction encoded is in the store: the write thread
  // drained, the last batch written here. Before any write that must
  // follow them (a data block may take a page a queued node was freed from).
  Status WriteOut();

  // WriteContext.
  // Nodes this commit wrote may still sit in the write batch: those come
  // from written_, everything else through the store's cache.
  Result<NodeRef> Load(const format::BlockPtr& ptr) override {
    if (ptr.birth == id_) {
      auto it = written_.find(ptr.page);
      if (it != written_.end() && it->second.hash == ptr.hash) return it->second.node;
    }
    return db_->Load(ptr);
  }
  Status ReadData(const format::BlockPtr& ptr, std::string* out) override {
    if (ptr.page >= kPrivatePage) return ReadPrivate(ptr, out);
    return db_->ReadData(ptr, out);
  }
  void Prefetch(const format::BlockPtr& ptr) override {
    if (ptr.birth != id_) db_->Prefetch(ptr);
  }
  Status WriteData(const std::vector<std::string>& blocks,
                   std::vector<format::BlockPtr>* out) override;
  void FreeRun(const format::BlockPtr& ptr) override;
  Status FreeData(const format::BlockPtr& ptr) override;
  Status ShareData(const format::BlockPtr& ptr) override;
  size_t node_limit() const override { return db_->page_size(); }
  Result<format::BlockPtr> WriteNode(std::unique_ptr<format::Node> node, int zstd_level) override;
  float MeasureRatio(format::Node* node, int zstd_level) override;

 private:
  Status DoCommit();
  // Hands batch_ on: to the write thread, or written here.
  Status FlushBatch();
  // Waits for the write thread and forgets batch_ (a failed commit, an abort).
  void DropWrites();
  // Snapshot and dead-list work at commit: records created and destroyed
  // snapshots, sorts this transaction's frees into free space or dead
  // lists, and writes the system trees (snapshots.cc).
  Status CommitSystem();
  Result<TreeRoot*> SystemTree(const std::string& name);
  Status ReleaseSnapshot(const std::string& name, const SnapRecord& rec);
  Status FreeNewer(const format::BlockPtr& ptr, format::ValueType vt, uint64_t aux, uint64_t txn);
  Status Revive(TreeRoot* dead, const format::BlockPtr& ptr, format::ValueType vt, uint64_t aux,
                uint64_t txn);
  // The clone table counted again from the user trees after they were
  // replaced wholesale (a rollback, a receive); `pages` when the caller
  // already has their data pages (one per reference).
  Status RebuildClones(std::vector<uint64_t>* pages = nullptr);
  // The data pages the user trees in the catalog reach (or the tree at
  // root), one per reference.
  Status UserDataPages(std::vector<uint64_t>* pages);
  Status DataPagesUnder(const format::BlockPtr& root, std::vector<uint64_t>* pages);
  // Data blocks freed by FreeNewer and FreeUnkept, which visit every
  // reference of a shared block: each is freed once.
  std::unordered_set<uint64_t> data_freed_;

  // Pages of committed nodes this transaction stopped using, with their
  // birth transactions: free space or a dead list, decided at commit.
  struct Freed {
    uint64_t page;
    uint64_t pages;
    uint64_t birth;
  };
  std::vector<Freed> frees_;
  Version base_;
  SnapMap snaps_;                               // as this transaction sees them
  std::vector<std::pair<std::string, SnapRecord>> created_;
  std::vector<std::pair<std::string, SnapRecord>> destroyed_;
  std::map<std::string, TreeRoot> system_;      // system trees opened here
  std::map<std::string, format::BlockPtr> system_written_;  // their roots in the catalog
  uint64_t dead_pages_ = 0;
  bool force_ = false;  // commit even with no change (compaction)
  void Finish();

  struct Written {
    uint64_t page;
    format::Hash128 hash;
    NodeRef node;
  };
  std::unordered_map<uint64_t, Written> written_;  // by page
  bool keep_written_ = true;
  // Detached: data blocks by private page number.
  bool detached_ = false;
  bool wrote_private_ = false;
  size_t private_bytes_ = 0;
  uint64_t next_private_ = kPrivatePage;
  std::unordered_map<uint64_t, std::string> private_;
  Status ReadPrivate(const format::BlockPtr& ptr, std::string* out);
  std::vector<std::unique_ptr<TreeImpl>> dropped_;
  std::string scratch_;
  std::string packed_;  // the last Compress output
  ZSTD_CCtx* cctx_ = nullptr;
  // zstd-compresses `in` into packed_; a zstd error code on failure.
  size_t Compress(const std::string& in, int level);
  // Encoded nodes not yet written. Once it holds kBatchBytes it goes to the
  // store's write thread (or, without one, is written at once).
  static constexpr size_t kBatchBytes = size_t{256} << 10;
  WriteBatch batch_;
  bool submitted_ = false;  // batches went to the write thread since the last WriteOut
};

// What a data block's pointer must say before it is read (DbImpl::ReadData,
// and the large-value read path that reads runs of blocks itself).
Status CheckDataPtr(const format::BlockPtr& p, uint32_t page_size);

}  // namespace bruce
