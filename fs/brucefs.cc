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
    case bruce::Code::kConflict: return EAGAIN;  // brucefs writes exclusively: not seen
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

constexpr char kNextInoKey[] = "next_ino";
// Inode numbers kept in records start here, above any FUSE inode number a
// mount hands out, so the two never meet.
constexpr uint64_t kFirstIno = uint64_t{1} << 40;
// ext4's limit of names per file.
constexpr size_t kLinkMax = 65000;

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

BruceFs::BruceFs(std::unique_ptr<bruce::Db> db, FsOptions options)
    : db_(std::move(db)), opt_(std::move(options)) {
  if (opt_.read_only) {
    // Another process may write the store: the kernel keeps what it was
    // told only until the view is next refreshed.
    opt_.timeout_s = std::min<double>(opt_.timeout_s, std::max(1u, opt_.txg_timeout_s));
  }
}

Status BruceFs::FollowStore() {
  if (!opt_.read_only || !rtxn_) return Status::OK();
  auto r = db_->BeginRead();
  if (!r.ok()) return r.status();
  if ((*r)->id() == rtxn_->id()) return Status::OK();
  ResetViews();
  live_.reset();
  rtxn_ = std::move(*r);
  live_ = std::make_unique<FsTree>(rtxn_.get(), nullptr,
                                   Defaults{opt_.uid, opt_.gid, opt_.default_time_ns});
  {
    std::lock_guard<std::mutex> sl(subdirs_mu_);
    subdirs_.clear();
  }
  std::lock_guard<std::mutex> cl(caps_mu_);
  no_caps_.clear();
  return Status::OK();
}

BruceFs::~BruceFs() {
  Status s = Shutdown();
  (void)s;
}

Status BruceFs::Start() {
  std::lock_guard<std::mutex> l(mu_);
  if (started_) return Status::OK();
  live_views_ = std::make_shared<ViewPool>([this] { return db_->BeginRead(); },
                                           Defaults{opt_.uid, opt_.gid, opt_.default_time_ns});
  if (opt_.read_only) {
    auto r = db_->BeginRead();
    if (!r.ok()) return r.status();
    rtxn_ = std::move(*r);
    live_ = std::make_unique<FsTree>(rtxn_.get(), nullptr,
                                     Defaults{opt_.uid, opt_.gid, opt_.default_time_ns});
    // It follows the store's new commits (another process may write it).
    if (opt_.txg_timeout_s > 0) txg_ = std::thread([this] { TxgLoop(); });
  } else {
    auto w = db_->BeginWrite(bruce::WriteMode::kExclusive);
    if (!w.ok()) return w.status();
    wtxn_ = std::move(*w);
    live_ = std::make_unique<FsTree>(wtxn_.get(), wtxn_.get(),
                                     Defaults{opt_.uid, opt_.gid, opt_.default_time_ns});
    WatchLive();
    std::optional<std::string> v;
    BRUCE_RETURN_IF_ERROR(live_->GetMeta(kNextInoKey, &v));
    next_ino_ = kFirstIno;
    if (v && v->size() == 8) {
      next_ino_ = 0;
      for (int i = 7; i >= 0; --i) next_ino_ = (next_ino_ << 8) | static_cast<uint8_t>((*v)[i]);
    }
    // Files left open and unlinked by a crash: free them now.
    auto orphans = wtxn_->OpenTree("orphans");
    if (orphans.ok()) {
      BRUCE_ASSIGN_OR_RETURN(uint64_t n, (*orphans)->Count());
      if (n > 0) {
        fuse_log(FUSE_LOG_INFO, "brucefs: freeing %llu files unlinked while open\n",
                 static_cast<unsigned long long>(n));
        BRUCE_RETURN_IF_ERROR(Orphans()->Clear());
        dirty_ = true;
      }
    }
    txg_ = std::thread([this] { TxgLoop(); });
  }
  started_ = true;
  return Status::OK();
}

uint64_t BruceFs::NewIno() {
  ino_dirty_ = true;
  return next_ino_++;
}

FsTree* BruceFs::Orphans() {
  if (!orphans_ && wtxn_) {
    orphans_ = std::make_unique<FsTree>(wtxn_.get(), wtxn_.get(), live_->defaults(),
                                        TreeNames::Orphans());
  }
  return orphans_.get();
}

FsTree* BruceFs::WritableTree(const Target& t) {
  return wtxn_ ? Tree(t.view) : nullptr;
}

bool BruceFs::Writable(const Target& t) const {
  return !opt_.read_only &&
         (t.view == InodeTable::kLiveView || t.view == InodeTable::kOrphanView);
}

Status BruceFs::Shutdown() {
  Status s;
  uint64_t txn = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!started_ || stopped_) return Status::OK();
    stopped_ = true;
    if (OpenCount() > 0 && wtxn_) {
      // Handles the kernel never released (a lazy unmount's): their
      // orphans go now rather than at the next mount.
      FsTree* o = Orphans();
      Status c = o ? o->Clear() : Status::OK();
      if (c.ok()) dirty_ = true;
    }
    s = Seal("unmount");
    txn = sealed_txn_;
    live_.reset();
    wtxn_.reset();
    rtxn_.reset();
    if (live_views_) live_views_->Close();
    std::lock_guard<std::mutex> vl(views_mu_);
    for (auto& [id, v] : views_) v.pool->Close();
    views_.clear();
    view_by_name_.clear();
  }
  txg_cv_.notify_all();
  if (txg_.joinable()) txg_.join();
  std::map<uint64_t, std::unique_ptr<DirHandle>> dirs;
  {
    std::lock_guard<std::mutex> l(dir_mu_);
    dirs.swap(dirs_);
  }
  dirs.clear();  // their views go back, outside dir_mu_
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
  if (ino_dirty_) {
    std::string v(8, '\0');
    for (int i = 0; i < 8; ++i) v[i] = static_cast<char>(next_ino_ >> (8 * i));
    Status p = live_->PutMeta(kNextInoKey, v);
    if (!p.ok()) return p;
    ino_dirty_ = false;
  }
  orphans_.reset();
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
    last_commit_ns_ = NowNs();
    fuse_log(FUSE_LOG_DEBUG, "brucefs: commit %llu (%s)\n",
             static_cast<unsigned long long>(*r), why);
  } else {
    fuse_log(FUSE_LOG_ERR, "brucefs: commit (%s) failed, its changes are lost: %s\n", why,
             s.ToString().c_str());
  }
  if (!stopped_) {
    Status o = OpenGroup();
    if (!o.ok()) return s.ok() ? o : s;
  }
  return s;
}

Status BruceFs::OpenGroup() {
  // Reads of paths the new group has not touched may use the last commit.
  ResetViews();
  auto w = db_->BeginWrite(bruce::WriteMode::kExclusive);
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
    return w.status();
  }
  wtxn_ = std::move(*w);
  live_ = std::make_unique<FsTree>(wtxn_.get(), wtxn_.get(),
                                   Defaults{opt_.uid, opt_.gid, opt_.default_time_ns});
  WatchLive();
  return Status::OK();
}

void BruceFs::ResetViews() {
  if (live_views_) live_views_->Reset();
  // Idle views of snapshots go too: the engine keeps what the commit they
  // began at could read for as long as they live.
  std::lock_guard<std::mutex> l(views_mu_);
  for (auto& [id, v] : views_) v.pool->Reset();
}

void BruceFs::WatchLive() {
  ViewPool* pool = live_views_.get();
  if (pool == nullptr) return;
  live_->OnChange([pool](std::string_view path, bool subtree) {
    if (subtree) {
      pool->TouchTree(path);
    } else {
      pool->Touch(path);
    }
  });
}

void BruceFs::Touched(const std::string& path) {
  if (live_views_) live_views_->Touch(path);
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
      Status f = FollowStore();
      (void)f;  // a read-only mount keeps its view when the store cannot be read
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

int BruceFs::Fsync() {
  Status s = Commit("fsync");
  if (s.ok()) return 0;
  // Whatever the engine says, a failed fsync is an I/O error to the caller.
  int err = ToErrno(s);
  return err == ENOSPC || err == EDQUOT ? err : EIO;
}

int BruceFs::Link(fuse_ino_t ino, fuse_ino_t newparent, const char* newname,
                  fuse_entry_param* e) {
  Target t, p;
  if (int err = Resolve(ino, &t)) return err;
  if (int err = Resolve(newparent, &p)) return err;
  if (p.view != InodeTable::kLiveView || opt_.read_only) return EROFS;
  if (t.view == InodeTable::kOrphanView) return ENOENT;  // no name left to link to
  if (t.view != InodeTable::kLiveView) return EXDEV;     // a snapshot is another tree
  GroupLock l(this);
  FsTree* tree = LiveTree();
  Node n;
  FS_TRY(tree->Stat(t.path, &n));
  if (n.kind == Kind::kNone) return ENOENT;
  if (n.kind == Kind::kDir) return EPERM;
  std::string path;
  Node pnode;
  if (int err = PrepareNew(p, newname, &path, &pnode)) return err;
  std::vector<std::string> names;
  if (n.attr.nlink > 1) {
    FS_TRY(tree->GetLinks(n.attr.ino, &names));
    if (names.empty()) return EIO;
  } else {
    names.push_back(n.primary);
  }
  if (names.size() >= kLinkMax) return EMLINK;
  if (n.attr.ino == 0) n.attr.ino = NewIno();
  names.push_back(path);
  n.attr.nlink = static_cast<uint32_t>(names.size());
  n.attr.ctime_ns = NowNs();
  FS_TRY(tree->PutRecord(n.primary, n.attr));
  FS_TRY(tree->PutLinks(n.attr.ino, names));
  Attr link;
  link.kind = Kind::kLink;
  link.ino = n.attr.ino;
  FS_TRY(tree->PutRecord(path, link));
  if (int err = TouchDir(p.path, &pnode)) return err;
  Dirty(256);
  *e = {};
  e->ino = inodes_.Get(InodeTable::kLiveView, n.primary, 1);
  FillStat(InodeTable::kLiveView, tree, 0, e->ino, n, &e->attr);
  e->attr_timeout = e->entry_timeout = opt_.timeout_s;
  return 0;
}

}  // namespace brucefs
