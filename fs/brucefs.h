// fs/brucefs.h — the filesystem: FUSE operations over a bruce store.
//
// Every operation is a method returning 0 or an errno (fuse_ops.cc wraps
// each in a handler that sends exactly one reply). Changes accumulate in one
// open write transaction, the transaction group, under mu_. Reads see every
// write at once: a read of a path the open group changed goes through the
// group, under mu_; any other read of the live tree goes through a read
// view of the last commit sealed, and every read of a snapshot through a
// view of that snapshot, taking no lock of the group (fs/read_views.h). So
// readers never wait for writers, nor for each other's disk reads.
//
// A commit has two halves (engine decision 11). Seal() runs under mu_: the
// group becomes the store's last commit (pages written, no fsync) and the
// next group opens at once. Durable() runs with mu_ released: it waits for
// a sealed commit to reach the disk (Db::WaitDurable), so an fsync waiting
// for its group never holds up other operations. Seals happen on
// fsync/fsyncdir, on opendir of a directory the group changed (to pin a
// view holding its entries), every txg_timeout seconds, past dirty_max
// bytes, for snapshots and at unmount; the txg thread makes sealed commits
// durable in the background.
//
// Views: the live tree (InodeTable::kLiveView), the `.snapshots` directory,
// and one read transaction per snapshot looked at, all read-only.
//
// Thread safety: every public method may be called from any thread.
// Lock order: mu_, then DirHandle::mu, then views_mu_, caps_mu_ or
// subdirs_mu_ (never two of them), then a ViewPool's lock, then
// InodeTable's; open_mu_ and dir_mu_ are taken alone. Writes hold mu_ while they
// write pages (the engine writes a group's pages as it goes, and seals it
// under mu_), but never while waiting for a sync.
#pragma once

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <sys/statvfs.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "bruce/db.h"
#include "control_proto.h"
#include "fs_tree.h"
#include "inode_table.h"
#include "read_views.h"

namespace brucefs {

struct FsOptions {
  bool read_only = false;
  bool snapdir_visible = false;
  unsigned txg_timeout_s = 5;           // 0: no timer
  uint64_t dirty_max = uint64_t{256} << 20;
  uint32_t uid = 0;                     // owner of keys without attributes
  uint32_t gid = 0;
  int64_t default_time_ns = 0;          // their times (the store's last commit)
  std::string store_path;               // for statfs of the disk under it
  double timeout_s = 86400;             // entry and attribute cache time
  bool acl = true;                      // POSIX ACLs (system.posix_acl_*)
};

// Who is calling: fuse_req_ctx's fields.
struct Caller {
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t umask = 0;  // applied by brucefs when ACLs are on (the kernel leaves it)
};

class BruceFs {
 public:
  BruceFs(std::unique_ptr<bruce::Db> db, FsOptions options);
  ~BruceFs();
  BruceFs(const BruceFs&) = delete;
  BruceFs& operator=(const BruceFs&) = delete;

  // Opens the first transaction group and starts the txg thread.
  bruce::Status Start();
  // Commits the open group, stops the txg thread and waits until every
  // commit is durable; idempotent.
  bruce::Status Shutdown();
  // Seals the open group and waits (without holding any lock) until it and
  // every commit before it are durable.
  bruce::Status Commit(const char* why);

  const FsOptions& options() const { return opt_; }
  uint64_t commits() const { return commits_.load(); }
  // The last commit known to be on stable storage.
  uint64_t durable_txn() const { return durable_.load(); }

  // ---- snapshots (mkdir/rmdir in .snapshots, and the control socket) ----
  // Seals the open group, takes the snapshot in a commit of its own and
  // waits until it is durable.
  bruce::Status TakeSnapshot(const std::string& name);
  bruce::Status DropSnapshot(const std::string& name);

  // ---- the control socket (fs/control_ops.cc) ----
  // What the kernel may hold in its caches about names a request changed:
  // entries (parent inode, name) and inodes (attributes and data).
  struct Invalidations {
    std::set<std::pair<uint64_t, std::string>> entries;
    std::set<uint64_t> inodes;
  };
  // Records in the store's lock file that this mount takes requests under
  // `name` (Db::PublishEndpoint).
  bruce::Status PublishEndpoint(const std::string& name) { return db_->PublishEndpoint(name); }
  // Runs one request of the bruce CLI (control_proto.h: put, del, load,
  // write, truncate, compact, sync, snapshot-create, snapshot-destroy,
  // snapshot-rollback, status) and fills the reply. Changes join the open
  // group (one request is never split between two commits); `inval` gets
  // what the kernel must forget, to be sent with no lock held.
  void Control(const ctl::Message& req, ctl::Message* reply, Invalidations* inval);

  // ---- operations: 0 or an errno ----
  int Lookup(fuse_ino_t parent, const char* name, fuse_entry_param* e);
  void Forget(fuse_ino_t ino, uint64_t n);
  int GetAttr(fuse_ino_t ino, struct stat* st);
  int SetAttr(fuse_ino_t ino, const struct stat& in, int to_set, struct stat* out);
  int Access(const Caller& c, fuse_ino_t ino, int mask);
  int Readlink(fuse_ino_t ino, std::string* target);
  int Mkdir(const Caller& c, fuse_ino_t parent, const char* name, mode_t mode,
            fuse_entry_param* e);
  int Create(const Caller& c, fuse_ino_t parent, const char* name, mode_t mode, int flags,
             fuse_entry_param* e);
  int Symlink(const Caller& c, const char* target, fuse_ino_t parent, const char* name,
              fuse_entry_param* e);
  int Unlink(fuse_ino_t parent, const char* name);
  int Rmdir(fuse_ino_t parent, const char* name);
  int Rename(fuse_ino_t parent, const char* name, fuse_ino_t newparent, const char* newname,
             unsigned flags);
  // mknod: regular files, FIFOs, sockets, character and block devices.
  int Mknod(const Caller& c, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev,
            fuse_entry_param* e);
  int Link(fuse_ino_t ino, fuse_ino_t newparent, const char* newname, fuse_entry_param* e);
  int Open(fuse_ino_t ino, int flags, bool* keep_cache);
  // The end of an open: a file unlinked while open is freed at its last.
  void Release(fuse_ino_t ino);
  int Fallocate(fuse_ino_t ino, int mode, off_t off, off_t len);
  // A small file's bytes are a view of the cached leaf (no copy).
  int Read(fuse_ino_t ino, size_t size, off_t off, bruce::PinnedValue* out);
  int Write(fuse_ino_t ino, int flags, const char* buf, size_t size, off_t off);
  int Fsync();
  int Lseek(fuse_ino_t ino, off_t off, int whence, off_t* out);
  // copy_file_range: chunks aligned on both sides are shared (a clone),
  // the rest copied; EOPNOTSUPP for a source in a snapshot (the kernel then
  // copies the bytes itself).
  int CopyFileRange(fuse_ino_t in, off_t off_in, fuse_ino_t out, off_t off_out, size_t len,
                    int flags, size_t* copied);
  int OpenDir(fuse_ino_t ino, uint64_t* fh);
  // Fills buf (at most size bytes) with entries after offset `off`.
  int ReadDir(fuse_req_t req, fuse_ino_t ino, uint64_t fh, size_t size, off_t off, bool plus,
              std::string* buf);
  void ReleaseDir(uint64_t fh);
  int SetXattr(fuse_ino_t ino, const char* name, const char* value, size_t size, int flags);
  int GetXattr(fuse_ino_t ino, const char* name, std::string* value);
  int ListXattr(fuse_ino_t ino, std::string* names);
  int RemoveXattr(fuse_ino_t ino, const char* name);
  int StatFs(struct statvfs* st);

 private:
  struct Target {
    uint32_t view = 0;
    std::string path;
  };
  // Idle views a snapshot's pool keeps (the live tree's keeps more).
  static constexpr size_t kSnapIdle = 2;
  struct SnapView {
    std::string name;
    int64_t time_ns = 0;
    std::shared_ptr<ViewPool> pool;  // views of the snapshot
  };
  struct DirEnt {
    std::string name;  // encoded
    uint32_t view = 0;
    std::string path;  // key path ("" for . and .. and snapshot roots)
    Kind kind = Kind::kDir;
    uint64_t ino = 0;
    uint64_t off = 0;  // the offset that resumes after this entry
  };
  struct DirHandle {
    std::mutex mu;
    uint32_t view = 0;
    std::string dir;
    uint64_t ino = 0;
    uint64_t parent_ino = 0;
    // A directory of the live tree or of a snapshot: the pinned view (a
    // view borrowed for the handle's lifetime), and where each offset
    // handed out resumes.
    ViewPool::Lease pin;
    std::map<uint64_t, std::string> resume;
    // `.snapshots`: every entry, and the index after each offset.
    bool listed = false;
    std::vector<DirEnt> list;
    std::unordered_map<uint64_t, size_t> next_index;
    uint64_t gen = 0;  // listing_gen_ when pinned
  };
  // Pins h's view of its directory (at `path`) as it is now, or leaves h
  // as it was when that fails (requires mu_ for a live directory, and h->mu
  // once h is shared).
  int PinDir(DirHandle* h, const std::string& path);
  // Moves the view pinned into f (and what goes with it) into h.
  static void Adopt(DirHandle* h, DirHandle* f);
  // Pins a handle that nothing else sees yet (requires mu_ for a live one).
  int PinInto(DirHandle* h);
  // The same for a live directory the open group has not touched, without
  // mu_; kTouched when it has (the caller pins it under mu_).
  static constexpr int kTouched = -1;
  int PinUntouched(DirHandle* h);
  // Pins a fresh live handle: PinUntouched, else PinInto under mu_.
  int PinLive(DirHandle* h);

  // Resolves an inode; ENOENT for an unlinked one, ESTALE for a destroyed
  // snapshot's.
  int Resolve(fuse_ino_t ino, Target* t);
  // The live tree or the orphans (requires mu_); null for other views.
  FsTree* Tree(uint32_t view);
  // The tree of t's view and the node at t's path: ESTALE when the view is
  // gone, ENOENT when nothing is there. Requires mu_; t is live or an orphan.
  int StatExisting(const Target& t, FsTree** tree, Node* n);
  FsTree* LiveTree();                             // requires mu_
  // The pool of views of snapshot view `view`, or null when it is gone.
  std::shared_ptr<ViewPool> SnapPool(uint32_t view);
  // Holds mu_ for one operation. An operation that sealed a group past
  // dirty_max waits, once mu_ is released, for the group sealed before it
  // to be durable: the dirty limit's back-pressure on the writer that hit
  // it, and on no one else.
  class GroupLock {
   public:
    explicit GroupLock(BruceFs* fs);
    ~GroupLock();
    GroupLock(const GroupLock&) = delete;
    GroupLock& operator=(const GroupLock&) = delete;

   private:
    BruceFs* fs_;
    std::unique_lock<std::mutex> l_;
  };  // Reads t for one operation, through a borrowed view when it can (a
  // snapshot, or a live path the open group did not touch), else through
  // the group under mu_.
  class Reading {
   public:
    Reading(BruceFs* fs, const Target& t);
    Reading(const Reading&) = delete;
    Reading& operator=(const Reading&) = delete;
    // Stats t's path as StatExisting does. A live node whose record lives
    // at another path (a further name of a hard-linked file) that the
    // group touched is read again through the group.
    int Stat(Node* n);
    // Null when the view is gone (ESTALE).
    FsTree* tree() const { return tree_; }
    uint32_t view() const { return t_.view; }
    // The borrowed live view's generation; 0 through the group.
    uint64_t gen() const { return t_.view == InodeTable::kLiveView ? lease_.gen() : 0; }
    bool locked() const { return lock_.has_value(); }

   private:
    void UseGroup();
    BruceFs* fs_;
    Target t_;
    ViewPool::Lease lease_;
    std::optional<GroupLock> lock_;
    FsTree* tree_ = nullptr;
  };


  // A read-only mount: moves its view to the store's last durable commit
  // (another process may be writing it). Requires mu_.
  bruce::Status FollowStore();
  // Seals the open group when it has changes (no fsync) and opens the next
  // one; the seal is sealed_txn_. Requires mu_.
  bruce::Status Seal(const char* why);
  // Waits until commit `txn` and all before it are durable. Must not hold
  // mu_. An error is logged once and stays: the engine refuses further
  // commits until the store is reopened.
  bruce::Status Durable(uint64_t txn, const char* why);
  void Dirty(uint64_t bytes);                     // requires mu_
  // The view of snapshot `snapshot`, made on first use; ENOENT when there
  // is no such snapshot. Takes views_mu_ (not across the disk).
  int ViewOf(const std::string& snapshot, uint32_t* view);
  // n as read through tree t of `view` (gen: as Reading::gen()). Requires
  // mu_ when gen is 0 and the view is live.
  void FillStat(uint32_t view, FsTree* t, uint64_t gen, uint64_t ino, const Node& n,
                struct stat* st);
  // st_ino: a live file's own number (kept across mounts) if it has one,
  // else the FUSE inode number.
  static uint64_t StIno(uint32_t view, uint64_t nodeid, const Node& n);
  // The subdirectories of directory `path` of a view, counted once (in t,
  // of generation gen as for FillStat) and then kept up to date by mkdir,
  // rmdir and rename.
  uint64_t Subdirs(uint32_t view, FsTree* t, uint64_t gen, const std::string& path);
  void SubdirsChanged(const std::string& dir, int delta);  // requires mu_
  // The counts of `from` and the directories under it are now under `to`.
  void SubdirsMoved(const std::string& from, const std::string& to);  // requires mu_
  // Whether an inode's view takes changes: the live tree and the orphans.
  bool Writable(const Target& t) const;
  // The tree to change t's view in, or null when the mount went read-only
  // (a failed sync). Requires mu_.
  FsTree* WritableTree(const Target& t);
  // Open handles of an inode: adds delta (+1, -1) and returns the count
  // (delta 0: just returns it).
  uint32_t OpenRef(fuse_ino_t ino, int delta);
  // Frees orphan `ino` when no handle holds it; true if it did. Requires mu_.
  bool FreeOrphan(fuse_ino_t ino);
  size_t OpenCount() {
    std::lock_guard<std::mutex> l(open_mu_);
    return open_.size();
  }
  // A new inode number, kept across mounts. Requires mu_.
  uint64_t NewIno();
  // The orphans of the open group (files unlinked while open). Requires mu_.
  FsTree* Orphans();
  // Removes the name `path` of non-directory n: another name of a
  // hard-linked file takes over its record and content, the last name of a
  // file still open makes it an orphan, else it is deleted. Requires mu_.
  int DropName(const std::string& path, Node* n);
  void FillSpecial(uint64_t ino, struct stat* st);
  // When a control request last changed keys under live directory `dir`
  // (0: never since mounted).
  int64_t CtlMtime(const std::string& dir);
  // The entry of `path` in t's view (t.path is ignored). group_held: the
  // caller holds mu_ (and t is live).
  int StatEntry(const Target& t, const std::string& path, uint64_t lookups,
                fuse_entry_param* e, bool group_held = false);
  // Checks for a new entry `name` in `parent`: writable live directory,
  // canonical name, not taken. Sets the new path and the parent's node.
  int PrepareNew(const Target& parent, const char* name, std::string* path,
                 Node* pnode);                     // requires mu_
  Attr NewAttr(const Caller& c, Kind kind, mode_t mode, const Node& parent);
  // Updates a directory's mtime after a change of its entries, and notes
  // that its listing changed in the open group. `known`: its node, when the
  // caller just read it. Requires mu_.
  int TouchDir(const std::string& dir, const Node* known = nullptr);
  // The entry of a node just made with attributes `a`. Requires mu_.
  void NewEntry(const std::string& path, const Attr& a, uint64_t size, fuse_entry_param* e);
  int SnapshotMkdir(const char* name, fuse_entry_param* e);
  int Exchange(const std::string& a, const std::string& b);  // requires mu_
  // Makes a node of kind `kind` (not a directory) at `name` in `parent`,
  // with content `content` when the kind has some.
  int MakeNode(const Caller& c, fuse_ino_t parent, const char* name, Kind kind, mode_t mode,
               dev_t rdev, std::string_view content, fuse_entry_param* e);
  int SnapshotRmdir(const char* name);
  // Control requests (fs/control_ops.cc). Each requires nothing held.
  bruce::Status CtlWrite(const ctl::Message& req, ctl::Message* reply, Invalidations* inval);
  // Applies a write request to the open group; the keys of main it changed
  // go into *keys. Requires mu_; on failure the group holds part of it.
  bruce::Status CtlApply(const ctl::Message& req, ctl::Message* reply,
                         std::vector<std::string>* keys, uint64_t* bytes);
  bruce::Status CtlCompact(ctl::Message* reply);
  bruce::Status CtlStatus(ctl::Message* reply);
  // The tree a control request names (--tree; main by default), in the
  // open group. brucefs's own trees are refused. Requires mu_.
  bruce::Result<bruce::Tree*> CtlTree(const ctl::Message& req, bool create);
  // Key `key` of main changed: what the kernel may hold of it and of the
  // directories above it goes into inval. Requires mu_.
  void KeyChanged(const std::string& key, Invalidations* inval);
  // Opens the next transaction group. Requires mu_ and no group open.
  bruce::Status OpenGroup();
  // Idle read views (live and snapshots) are closed and the touched paths
  // forgotten: the next borrowed views read the newest commit. Requires mu_.
  void ResetViews();
  // Has live_ note in live_views_ every path it changes.
  void WatchLive();
  // The open group changed the content of `path` (records note themselves).
  void Touched(const std::string& path);
  // The entries of h's directory in view t after offset `off`, at most max.
  // kinds false: their kinds are left kNone (readdirplus takes them from
  // the live state instead).
  int ListDir(DirHandle* h, FsTree* t, uint64_t off, size_t max, bool kinds,
              std::vector<DirEnt>* out);
  // The entry for readdirplus, without counting a lookup.
  int PlusEntry(const DirEnt& d, fuse_entry_param* e);
  // The txg thread: seals every txg_timeout seconds and makes sealed
  // commits durable (those past dirty_max at once).
  void TxgLoop();

  std::unique_ptr<bruce::Db> db_;
  FsOptions opt_;
  InodeTable inodes_;

  std::mutex mu_;
  std::unique_ptr<bruce::WriteTxn> wtxn_;   // the open group (read-write)
  std::unique_ptr<bruce::ReadTxn> rtxn_;    // the store (read-only mounts; refreshed)
  std::unique_ptr<FsTree> live_;
  bool dirty_ = false;
  uint64_t dirty_bytes_ = 0;
  // Directories whose entries the open group changed (opendir seals the
  // group only for those); dirty_all_dirs_: any may have changed.
  std::unordered_set<std::string> dirty_dirs_;
  bool dirty_all_dirs_ = false;
  // Counts changes of directory listings (with dirty_dirs_): a rewound
  // directory handle pinned before the last change pins again.
  std::atomic<uint64_t> listing_gen_{0};
  uint64_t sealed_txn_ = 0;                  // the last commit sealed here
  int64_t last_commit_ns_ = 0;               // when it was sealed; mu_
  uint64_t sync_wanted_ = 0;                 // the txg thread makes it durable
  bool started_ = false;
  bool stopped_ = false;
  // Views of the live tree for reads the open group need not answer:
  // reset to each new commit by OpenGroup.
  std::shared_ptr<ViewPool> live_views_;
  std::mutex views_mu_;
  std::map<uint32_t, SnapView> views_;            // guarded by views_mu_
  std::map<std::string, uint32_t> view_by_name_;  // guarded by views_mu_
  uint32_t next_view_ = 1;                        // guarded by views_mu_
  uint64_t snapshot_drops_ = 0;                   // guarded by views_mu_
  std::map<std::string, bool> logged_;      // keys already reported unshowable
  // Live inodes known to have no security.capability xattr. The kernel asks
  // for it before every write (file_remove_privs, libfuse 3.14 has no
  // HANDLE_KILLPRIV_V2), so the answer is kept: new files start here, a
  // setxattr on the inode forgets it, and any rename forgets them all (a
  // record, xattrs included, may move to another inode's path). Guarded by
  // caps_mu_.
  std::mutex caps_mu_;
  std::unordered_set<fuse_ino_t> no_caps_;
  uint64_t next_ino_ = 0;                    // guarded by mu_
  bool ino_dirty_ = false;                   // next_ino_ not yet in the open group
  std::mutex open_mu_;
  std::unordered_map<fuse_ino_t, uint32_t> open_;  // open handles per inode; open_mu_
  std::unique_ptr<FsTree> orphans_;          // over wtxn_, made on first use; mu_
  std::mutex ctl_mtimes_mu_;
  std::unordered_map<std::string, int64_t> ctl_mtimes_;  // guarded by ctl_mtimes_mu_
  std::atomic<int64_t> snapdir_mtime_ns_{0};   // the last snapshot made or destroyed
  std::mutex subdirs_mu_;
  std::map<std::pair<uint32_t, std::string>, uint64_t> subdirs_;  // guarded by subdirs_mu_

  std::mutex dir_mu_;
  std::map<uint64_t, std::unique_ptr<DirHandle>> dirs_;  // guarded by dir_mu_
  uint64_t next_dir_ = 1;                                 // guarded by dir_mu_

  std::condition_variable txg_cv_;           // wakes the txg thread; with mu_
  std::thread txg_;
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> durable_{0};         // highest commit known durable
  std::atomic<bool> sync_failed_{false};
};

}  // namespace brucefs
