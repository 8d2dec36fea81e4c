#include "brucefs.h"

#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <chrono>

#include "errno_map.h"
#include "name_codec.h"

namespace brucefs {

using bruce::Status;

int ToErrno(const Status& s) {
  switch (s.code()) {
    case bruce::Code::kOk: return 0;
    case bruce::Code::kNotFound: return ENOENT;
    case bruce::Code::kExists: return EEXIST;
    case bruce::Code::kNoSpace: return ENOSPC;
    case bruce::Code::kInvalidArgument: return EINVAL;
    case bruce::Code::kReadOnly: return EROFS;
    case bruce::Code::kBusy: return EBUSY;
    case bruce::Code::kNotSupported: return EOPNOTSUPP;
    case bruce::Code::kCorruption:
    case bruce::Code::kIOError:
      break;
  }
  fuse_log(FUSE_LOG_ERR, "brucefs: %s\n", s.ToString().c_str());
  return s.code() == bruce::Code::kIOError && s.err() != 0 ? s.err() : EIO;
}

int64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

namespace {

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct timespec ToTimespec(int64_t ns) {
  struct timespec ts;
  ts.tv_sec = ns / 1000000000;
  ts.tv_nsec = ns % 1000000000;
  if (ts.tv_nsec < 0) {
    ts.tv_nsec += 1000000000;
    ts.tv_sec -= 1;
  }
  return ts;
}

}  // namespace

BruceFs::BruceFs(std::unique_ptr<bruce::Db> db, FsOptions options)
    : db_(std::move(db)), opt_(std::move(options)) {}

BruceFs::~BruceFs() {
  Status s = Shutdown();
  (void)s;
}

Status BruceFs::Start() {
  std::lock_guard<std::mutex> l(mu_);
  if (started_) return Status::OK();
  if (opt_.read_only) {
    auto r = db_->BeginRead();
    if (!r.ok()) return r.status();
    rtxn_ = std::move(*r);
    live_ = std::make_unique<FsTree>(rtxn_.get(), nullptr,
                                     Defaults{opt_.uid, opt_.gid, opt_.default_time_ns});
  } else {
    auto w = db_->BeginWrite();
    if (!w.ok()) return w.status();
    wtxn_ = std::move(*w);
    live_ = std::make_unique<FsTree>(wtxn_.get(), wtxn_.get(),
                                     Defaults{opt_.uid, opt_.gid, opt_.default_time_ns});
    txg_ = std::thread([this] { TxgLoop(); });
  }
  started_ = true;
  return Status::OK();
}

Status BruceFs::Shutdown() {
  Status s;
  uint64_t txn = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!started_ || stopped_) return Status::OK();
    stopped_ = true;
    s = Seal("unmount");
    txn = sealed_txn_;
    live_.reset();
    wtxn_.reset();
    rtxn_.reset();
    views_.clear();
  }
  txg_cv_.notify_all();
  if (txg_.joinable()) txg_.join();
  {
    std::lock_guard<std::mutex> l(dir_mu_);
    dirs_.clear();
  }
  Status d = Durable(txn, "unmount");
  return s.ok() ? d : s;
}

Status BruceFs::Commit(const char* why) {
  uint64_t txn = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    BRUCE_RETURN_IF_ERROR(Seal(why));
    txn = sealed_txn_;
  }
  return Durable(txn, why);
}

Status BruceFs::Seal(const char* why) {
  if (opt_.read_only || !wtxn_ || !dirty_) return Status::OK();
  live_.reset();
  auto r = wtxn_->CommitNoWait();
  wtxn_.reset();
  commits_++;
  dirty_ = false;
  dirty_bytes_ = 0;
  dirty_dirs_.clear();
  dirty_all_dirs_ = false;
  Status s = r.status();
  if (s.ok()) {
    sealed_txn_ = std::max(sealed_txn_, *r);
  } else {
    fuse_log(FUSE_LOG_ERR, "brucefs: commit (%s) failed, its changes are lost: %s\n", why,
             s.ToString().c_str());
  }
  if (!stopped_) {
    auto w = db_->BeginWrite();
    if (!w.ok()) {
      // The engine refuses writes (a failed sync poisons it until the store
      // is reopened): go on read-only, as a disk filesystem remounts itself
      // read-only on errors. Reads see the last commit; changes get EROFS.
      fuse_log(FUSE_LOG_ERR,
               "brucefs: cannot open a transaction group, changes get EROFS from now on: %s\n",
               w.status().ToString().c_str());
      auto r = db_->BeginRead();
      if (r.ok()) {
        rtxn_ = std::move(*r);
        live_ = std::make_unique<FsTree>(rtxn_.get(), nullptr,
                                         Defaults{opt_.uid, opt_.gid, opt_.default_time_ns});
      }
      return s.ok() ? w.status() : s;
    }
    wtxn_ = std::move(*w);
    live_ = std::make_unique<FsTree>(wtxn_.get(), wtxn_.get(),
                                     Defaults{opt_.uid, opt_.gid, opt_.default_time_ns});
  }
  return s;
}

Status BruceFs::Durable(uint64_t txn, const char* why) {
  if (durable_.load() >= txn) return Status::OK();
  Status s = db_->WaitDurable(txn);
  if (!s.ok()) {
    if (!sync_failed_.exchange(true)) {
      fuse_log(FUSE_LOG_ERR, "brucefs: commit %llu (%s) could not be made durable: %s\n",
               static_cast<unsigned long long>(txn), why, s.ToString().c_str());
    }
    return s;
  }
  uint64_t d = durable_.load();
  while (d < txn && !durable_.compare_exchange_weak(d, txn)) {
  }
  return s;
}

namespace {
// The commit a thread's operation must see durable once it releases the
// group's mutex (set by Dirty, taken by ~GroupLock).
thread_local uint64_t tl_throttle_txn = 0;
}  // namespace

BruceFs::GroupLock::GroupLock(BruceFs* fs) : fs_(fs), l_(fs->mu_) {}

BruceFs::GroupLock::~GroupLock() {
  l_.unlock();
  const uint64_t txn = tl_throttle_txn;
  tl_throttle_txn = 0;
  if (txn != 0) {
    Status s = fs_->Durable(txn, "dirty_max");
    (void)s;  // logged; every later fsync reports it
  }
}

void BruceFs::Dirty(uint64_t bytes) {
  dirty_ = true;
  dirty_bytes_ += bytes;
  if (dirty_bytes_ < opt_.dirty_max) return;
  // Seal now and let the txg thread sync it while writes go on into the
  // next group; the writer that hit the limit waits only for the group
  // sealed before (normally durable by now), so at most two groups of
  // writes are ever waiting for the disk.
  const uint64_t before = sealed_txn_;
  Status s = Seal("dirty_max");
  (void)s;  // logged by Seal
  sync_wanted_ = std::max(sync_wanted_, sealed_txn_);
  txg_cv_.notify_all();
  tl_throttle_txn = std::max(tl_throttle_txn, before);
}

void BruceFs::TxgLoop() {
  const int64_t period = int64_t{opt_.txg_timeout_s} * 1000000000;
  std::unique_lock<std::mutex> l(mu_);
  int64_t tick = SteadyNs() + period;
  while (!stopped_) {
    if (period > 0 && SteadyNs() >= tick) {
      tick = SteadyNs() + period;
      if (dirty_) {
        Status s = Seal("txg_timeout");
        (void)s;  // logged by Seal
      }
      sync_wanted_ = std::max(sync_wanted_, sealed_txn_);
    }
    if (sync_wanted_ > durable_.load() && !sync_failed_.load()) {
      const uint64_t txn = sync_wanted_;
      l.unlock();
      Status s = Durable(txn, "txg");
      (void)s;  // logged by Durable
      l.lock();
      continue;
    }
    if (period > 0) {
      txg_cv_.wait_for(l, std::chrono::nanoseconds(std::max<int64_t>(tick - SteadyNs(), 0)));
    } else {
      txg_cv_.wait(l);
    }
  }
}

FsTree* BruceFs::LiveTree() { return live_.get(); }

int BruceFs::StatExisting(const Target& t, FsTree** tree, Node* n) {
  *tree = Tree(t.view);
  if (*tree == nullptr) return ESTALE;
  FS_TRY((*tree)->Stat(t.path, n));
  return n->kind == Kind::kNone ? ENOENT : 0;
}

FsTree* BruceFs::Tree(uint32_t view) {
  if (view == InodeTable::kLiveView) return live_.get();
  auto it = views_.find(view);
  return it == views_.end() ? nullptr : it->second.tree.get();
}

int BruceFs::Resolve(fuse_ino_t ino, Target* t) {
  if (!inodes_.Resolve(ino, &t->view, &t->path)) return ENOENT;
  if (t->view != InodeTable::kLiveView && t->view != InodeTable::kSnapDirView) {
    std::lock_guard<std::mutex> l(mu_);
    if (views_.count(t->view) == 0) return ESTALE;
  }
  return 0;
}

int BruceFs::ViewOf(const std::string& snapshot, uint32_t* view) {
  auto it = view_by_name_.find(snapshot);
  if (it != view_by_name_.end()) {
    *view = it->second;
    return 0;
  }
  auto r = db_->BeginRead(snapshot);
  if (!r.ok()) return r.status().IsNotFound() ? ENOENT : ToErrno(r.status());
  SnapView v;
  v.name = snapshot;
  auto list = db_->ListSnapshots();
  if (list.ok()) {
    for (const auto& info : *list) {
      if (info.name == snapshot) v.time_ns = static_cast<int64_t>(info.time_ns);
    }
  }
  v.txn = std::move(*r);
  v.tree = std::make_unique<FsTree>(v.txn.get(), nullptr, Defaults{opt_.uid, opt_.gid, v.time_ns});
  *view = next_view_++;
  views_[*view] = std::move(v);
  view_by_name_[snapshot] = *view;
  return 0;
}

void BruceFs::FillStat(uint32_t view, uint64_t ino, const Node& n, struct stat* st) {
  *st = {};
  st->st_ino = ino;
  uint32_t perm = n.attr.mode & 07777;
  if (view != InodeTable::kLiveView) perm &= ~0222u;
  switch (n.kind) {
    case Kind::kDir: st->st_mode = S_IFDIR | perm; break;
    case Kind::kSymlink: st->st_mode = S_IFLNK | perm; break;
    default: st->st_mode = S_IFREG | perm; break;
  }
  st->st_nlink = 1;
  st->st_uid = n.attr.uid;
  st->st_gid = n.attr.gid;
  st->st_size = static_cast<off_t>(n.size);
  st->st_blksize = 1 << 20;
  st->st_blocks = static_cast<blkcnt_t>((n.size + 511) / 512);
  st->st_atim = ToTimespec(n.attr.atime_ns);
  st->st_mtim = ToTimespec(n.attr.mtime_ns);
  st->st_ctim = ToTimespec(n.attr.ctime_ns);
}

void BruceFs::FillSpecial(uint64_t ino, struct stat* st) {
  *st = {};
  st->st_ino = ino;
  st->st_mode = S_IFDIR | 0755;
  st->st_nlink = 1;
  st->st_uid = opt_.uid;
  st->st_gid = opt_.gid;
  st->st_blksize = 1 << 20;
  st->st_atim = st->st_mtim = st->st_ctim = ToTimespec(opt_.default_time_ns);
}

int BruceFs::StatEntry(uint32_t view, const std::string& path, uint64_t lookups,
                       fuse_entry_param* e) {
  FsTree* t = Tree(view);
  if (t == nullptr) return ESTALE;
  Node n;
  FS_TRY(t->Stat(path, &n));
  if (n.kind == Kind::kNone) return ENOENT;
  *e = {};
  e->ino = inodes_.Get(view, path, lookups);
  FillStat(view, e->ino, n, &e->attr);
  e->attr_timeout = e->entry_timeout = opt_.timeout_s;
  return 0;
}

void BruceFs::NewEntry(const std::string& path, const Attr& a, uint64_t size,
                       fuse_entry_param* e) {
  Node n;
  n.kind = a.kind;
  n.attr = a;
  n.size = size;
  n.has_record = true;
  *e = {};
  e->ino = inodes_.Get(InodeTable::kLiveView, path, 1);
  FillStat(InodeTable::kLiveView, e->ino, n, &e->attr);
  e->attr_timeout = e->entry_timeout = opt_.timeout_s;
}

int BruceFs::Lookup(fuse_ino_t parent, const char* name, fuse_entry_param* e) {
  Target p;
  if (int err = Resolve(parent, &p)) return err;
  std::string_view nm(name);
  GroupLock l(this);
  if (p.view == InodeTable::kSnapDirView) {
    uint32_t view = 0;
    if (int err = ViewOf(std::string(nm), &view)) return err;
    int err = StatEntry(view, "", 1, e);
    return err;
  }
  if (p.path.empty() && nm == ".snapshots") {
    if (p.view != InodeTable::kLiveView) return ENOENT;
    *e = {};
    e->ino = InodeTable::kSnapDirIno;
    FillSpecial(e->ino, &e->attr);
    e->attr_timeout = e->entry_timeout = opt_.timeout_s;
    return 0;
  }
  if (nm.size() > kNameMax) return ENAMETOOLONG;
  auto comp = DecodeName(nm);
  if (!comp) return ENOENT;
  std::string path = JoinPath(p.path, *comp);
  if (path.size() > bruce::kMaxKeySize) return ENAMETOOLONG;
  return StatEntry(p.view, path, 1, e);
}

void BruceFs::Forget(fuse_ino_t ino, uint64_t n) { inodes_.Forget(ino, n); }

int BruceFs::GetAttr(fuse_ino_t ino, struct stat* st) {
  Target t;
  if (int err = Resolve(ino, &t)) return err;
  if (t.view == InodeTable::kSnapDirView) {
    FillSpecial(ino, st);
    return 0;
  }
  GroupLock l(this);
  FsTree* tree;
  Node n;
  if (int err = StatExisting(t, &tree, &n)) return err;
  FillStat(t.view, ino, n, st);
  return 0;
}

int BruceFs::Fsync() {
  Status s = Commit("fsync");
  if (s.ok()) return 0;
  // Whatever the engine says, a failed fsync is an I/O error to the caller.
  int err = ToErrno(s);
  return err == ENOSPC || err == EDQUOT ? err : EIO;
}

int BruceFs::Link() { return EPERM; }

}  // namespace brucefs
