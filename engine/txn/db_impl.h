// txn/db_impl.h — the store: meta pages, committed versions, readers, the
// writer lock, and the one read path every node goes through.
//
// Locking: the writer role (writer_active_, under writer_mu_) is held by
// the open exclusive write transaction for its whole life, and by an
// optimistic one while it commits; its holder alone uses space_. state_mu_
// guards current_ and readers_ and is only held for a few instructions; it
// nests inside writer_mu_. Readers never take writer_mu_ (commits only
// briefly, to learn whether the store is poisoned), so a commit's fsyncs
// never block them. space_walk_mu_ serializes Space's walks and
// is held with no other lock of this class (the walk reads through the
// cache, whose shard locks nest inside it).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "bruce/db.h"
#include "format/meta.h"
#include "store/lock_file.h"
#include "store/node_cache.h"
#include "store/space_map.h"
#include "store/write_behind.h"
#include "tree/btree.h"

namespace bruce {

// A committed state of the store, as a reader sees it.
struct Version {
  uint64_t txn = 0;
  format::BlockPtr catalog;
  uint64_t time_ns = 0;
  uint64_t total_pages = 0;
  uint64_t free_pages = 0;
  uint64_t dead_pages = 0;
};

// A snapshot: the catalog of the commit it keeps.
struct SnapRecord {
  uint64_t txn = 0;
  format::BlockPtr catalog;
  uint64_t time_ns = 0;
  uint64_t referenced_pages = 0;  // pages in use at that commit
};
using SnapMap = std::map<std::string, SnapRecord, std::less<>>;

// Names of the system trees in the catalog (a user's tree name never starts
// with a NUL byte).
inline const std::string kDeadTree("\0dead", 5);
inline const std::string kClonesTree("\0clones", 7);
inline const std::string kSnapsTree("\0snaps", 6);
inline const std::string kSnapInfoTree("\0snapinfo", 9);

class WriteTxnImpl;

class DbImpl final : public Db, public NodeSource {
 public:
  DbImpl(std::shared_ptr<PageStore> store, const Options& options);
  ~DbImpl() override;

  Status Init();
  // The reader table beside a file store (before Init): a read-only store
  // publishes what it reads there and follows new commits; a writable one
  // reads it before reusing pages.
  void AttachLockFile(std::unique_ptr<LockFile> lock) { lock_ = std::move(lock); }
  // After Init of a writable store: if readers in other processes read an
  // older commit, every free page waits for them (SpaceMap::HoldFree).
  void HoldForReaders();

  Result<std::unique_ptr<ReadTxn>> BeginRead() override;
  Result<std::unique_ptr<ReadTxn>> BeginRead(std::string_view snapshot) override;
  using Db::BeginWrite;
  Result<std::unique_ptr<WriteTxn>> BeginWrite(WriteMode mode) override;
  // Waits for the writer role and takes it; returns the newest commit,
  // which the writer builds on. EndWrite gives the role back.
  Result<Version> AcquireWriter();
  Status CreateSnapshot(std::string_view name) override;
  Status DestroySnapshot(std::string_view name) override;
  Result<std::vector<SnapshotInfo>> ListSnapshots() override;
  Status Rollback(std::string_view snapshot) override;
  std::string RootHash() override;
  Result<DbStats> Stat() override;
  Result<std::vector<ReaderInfo>> Readers() override;
  Status PublishEndpoint(std::string_view name) override;
  Result<SpaceStats> Space() override;
  Result<uint64_t> Compact() override { return Compact(nullptr); }
  Result<uint64_t> Compact(const std::function<void(uint64_t, uint64_t)>& progress) override;
  Status WaitDurable(uint64_t txn) override;
  Status Check(CheckReport* report) override;

  // NodeSource: the verified read path, through the cache.
  Result<NodeRef> Load(const format::BlockPtr& ptr) override;
  // The same, straight from the store (check uses it).
  Result<NodeRef> LoadUncached(const format::BlockPtr& ptr);
  // The same, decoded but not frozen (what a one-time walk needs: check,
  // scrub).
  Result<std::unique_ptr<format::Node>> ReadNode(const format::BlockPtr& ptr);
  Status ReadData(const format::BlockPtr& ptr, std::string* out) override;
  void Prefetch(const format::BlockPtr& ptr) override;

  uint32_t page_size() const { return page_size_; }
  const Options& options() const { return options_; }
  PageStore* store() { return store_.get(); }
  NodeCache& cache() { return cache_; }

  // Reader registry.
  Version PinCurrent();
  void Unpin(uint64_t txn);
  SnapMap snapshots();

  // Used by the write transaction (under writer_mu_).
  SpaceMap& space() { return space_; }
  // The thread large commits hand their node writes to (write_behind.h);
  // null when Options::write_thread is off.
  WriteBehind* write_behind() { return write_behind_.get(); }
  // A commit is sealed: new transactions see it; its meta page is written
  // by WaitDurable.
  Status Publish(const format::Meta& meta, SnapMap snaps);
  void Poison(const Status& why);
  // OK, or why no commit can be made until the store is reopened.
  Status poisoned();
  const std::string& recovery_note() const { return recovery_note_; }
  void EndWrite();

 private:
  Status Create();
  Status OpenExisting(uint64_t file_size);
  Status TryMeta(const format::Meta& m);
  // Newest commit first.
  static void SortMetas(std::vector<format::Meta>* metas);
  // On close, once everything is durable: the clean record (format/meta.h).
  Status MarkClosed();
  // Whether a clean record names m.
  bool ClosedCleanly(const format::Meta& m);
  // A meta page synced together with its pages (kMetaVerify): every node
  // and data block it reaches that was born after m.base is on disk whole.
  Status VerifyGroup(const format::Meta& m);
  // OpenExisting of a read-only store with a reader table.
  Status OpenBesideWriter();
  // A read-only store with a reader table: adopts the newest durable commit
  // once its slot protects it (publish, then check the commit is still the
  // newest: else the writer may have reused its pages before it saw us).
  Status Refresh();
  // The newest meta page on disk that verifies; false when neither does.
  bool NewestMeta(format::Meta* m);
  // Both meta slots as on disk (slot 0 first), each decoded or its error.
  std::vector<Result<format::Meta>> ReadMetaSlots(uint64_t size);
  // The oldest commit this process's slot must keep (state_mu_ held).
  uint64_t SlotTxn() const;
  // The oldest commit any reader may read: this process's and, from the
  // reader table, other processes'. Read durable first, then call this.
  uint64_t OldestReader();
  // With the writer role: makes reusable what no reader and no meta page a
  // crash could fall back to still sees. Returns the durable commit it
  // went by.
  uint64_t ReleaseFreed();
  Status LoadSnapshots(const format::BlockPtr& catalog, SnapMap* out);

  // Space's figures of a subtree, and what it remembers of them.
  struct SpaceMemo {
    format::BlockPtr ptr;  // page, birth and hash say it is the same subtree
    SpaceStats figures;
  };
  using SpaceMemoMap = std::unordered_map<uint64_t, SpaceMemo>;  // by page
  // Adds the subtree at p (and what its values point to; with
  // `follow` false, as for the snapshot records, not the trees they name).
  // Remembers the branches it saw in *next.
  Status WalkSpace(const format::BlockPtr& p, bool follow, bool catalog, SpaceMemoMap* next,
                   SpaceStats* out);
  // The encoded size of the node at p (a compressed node's frame header says it).
  Result<uint64_t> LogicalLength(const format::BlockPtr& p);

  std::shared_ptr<PageStore> store_;
  std::unique_ptr<LockFile> lock_;  // null for a store not in a file
  std::mutex slot_mu_;              // orders this process's slot writes
  uint64_t published_ = 0;          // what the slot holds; guarded by slot_mu_
  Options options_;
  uint32_t page_size_;
  NodeCache cache_;

  std::mutex writer_mu_;
  std::condition_variable writer_cv_;
  bool writer_active_ = false;
  SpaceMap space_;
  std::unique_ptr<WriteBehind> write_behind_;  // with the writer role
  // With the writer role: the file may be this long (at open, what it was).
  // Only when the store ends below it does a writer ask the store its size
  // (a file store opened for writing knows it without a stat; another
  // store's Size may cost a call to wherever it keeps its bytes).
  uint64_t file_bound_ = 0;
  Status poisoned_;

  std::mutex state_mu_;
  Version current_;
  std::map<uint64_t, int> readers_;  // txn -> open read transactions
  std::string recovery_note_;        // set at open when the newest meta was skipped
  bool recovery_damage_ = false;     // ... because its tree is damaged
  SnapMap snaps_;
  format::Meta sealed_;              // the meta of the last sealed commit

  // Durability. sync_mu_ serializes meta writes; it is never held by
  // readers or by the writer, so neither waits for an fsync.
  std::mutex sync_mu_;
  std::atomic<uint64_t> durable_txn_{0};
  // Pages allocated by commits sealed since the last meta write began.
  std::atomic<uint64_t> group_pages_{0};

  // Space's walks, one at a time; the memo holds the subtrees the last one saw.
  std::mutex space_walk_mu_;
  SpaceMemoMap space_memo_;  // guarded by space_walk_mu_
  uint64_t durable_slot_ = 0;  // guarded by sync_mu_
  format::Meta durable_meta_;  // guarded by sync_mu_ (after open)
  Status sync_error_;          // guarded by sync_mu_
};

}  // namespace bruce
