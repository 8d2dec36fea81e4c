// Reads: resolving an inode to its view (a borrowed read view or the
// transaction group, fs/read_views.h), and the stat side of lookup and
// getattr: attributes, link counts of directories, snapshot views.
#include <sys/stat.h>
#include <time.h>

#include <algorithm>

#include "brucefs.h"
#include "errno_map.h"
#include "name_codec.h"

namespace brucefs {

using bruce::Status;

namespace {

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

FsTree* BruceFs::LiveTree() { return live_.get(); }

int BruceFs::StatExisting(const Target& t, FsTree** tree, Node* n) {
  *tree = Tree(t.view);
  if (*tree == nullptr) return ESTALE;
  FS_TRY((*tree)->Stat(t.path, n));
  return n->kind == Kind::kNone ? ENOENT : 0;
}

FsTree* BruceFs::Tree(uint32_t view) {
  if (view == InodeTable::kLiveView) return live_.get();
  if (view == InodeTable::kOrphanView) return Orphans();
  return nullptr;
}

std::shared_ptr<ViewPool> BruceFs::SnapPool(uint32_t view) {
  std::lock_guard<std::mutex> l(views_mu_);
  auto it = views_.find(view);
  return it == views_.end() ? nullptr : it->second.pool;
}

int BruceFs::Resolve(fuse_ino_t ino, Target* t) {
  if (!inodes_.Resolve(ino, &t->view, &t->path)) return ENOENT;
  if (t->view != InodeTable::kLiveView && t->view != InodeTable::kSnapDirView &&
      t->view != InodeTable::kOrphanView) {
    std::lock_guard<std::mutex> l(views_mu_);
    if (views_.count(t->view) == 0) return ESTALE;
  }
  return 0;
}

BruceFs::Reading::Reading(BruceFs* fs, const Target& t) : fs_(fs), t_(t) {
  if (t.view == InodeTable::kLiveView) {
    // A read-only mount reads rtxn_, the commit it follows (FollowStore):
    // views opened at other times could show other commits.
    if (!fs->opt_.read_only && fs->live_views_ && fs->live_views_->BorrowFor(t.path, &lease_)) {
      tree_ = lease_.tree();
      return;
    }
  } else if (t.view != InodeTable::kOrphanView && t.view != InodeTable::kSnapDirView) {
    // A snapshot: its own views, or none when it is gone (ESTALE).
    std::shared_ptr<ViewPool> pool = fs->SnapPool(t.view);
    if (pool && pool->Borrow(&lease_).ok()) tree_ = lease_.tree();
    return;
  }
  UseGroup();
}

void BruceFs::Reading::UseGroup() {
  lease_ = ViewPool::Lease();
  lock_.emplace(fs_);
  tree_ = fs_->Tree(t_.view);
}

int BruceFs::Reading::Stat(Node* n) {
  if (tree_ == nullptr) return ESTALE;
  FS_TRY(tree_->Stat(t_.path, n));
  if (lease_ && t_.view == InodeTable::kLiveView && n->primary != t_.path &&
      !fs_->live_views_->Fresh(n->primary, lease_.gen())) {
    UseGroup();
    if (tree_ == nullptr) return ESTALE;
    FS_TRY(tree_->Stat(t_.path, n));
  }
  return n->kind == Kind::kNone ? ENOENT : 0;
}

int BruceFs::ViewOf(const std::string& snapshot, uint32_t* view) {
  for (;;) {
    uint64_t drops;
    {
      std::lock_guard<std::mutex> l(views_mu_);
      auto it = view_by_name_.find(snapshot);
      if (it != view_by_name_.end()) {
        *view = it->second;
        return 0;
      }
      drops = snapshot_drops_;
    }
    // Read without the lock (other snapshots' reads need it): is it there,
    // and when was it taken.
    auto r = db_->BeginRead(snapshot);
    if (!r.ok()) return r.status().IsNotFound() ? ENOENT : ToErrno(r.status());
    r->reset();  // the pool opens its own
    SnapView v;
    v.name = snapshot;
    auto list = db_->ListSnapshots();
    if (list.ok()) {
      for (const auto& info : *list) {
        if (info.name == snapshot) v.time_ns = static_cast<int64_t>(info.time_ns);
      }
    }
    v.pool = std::make_shared<ViewPool>(
        [db = db_.get(), name = snapshot] { return db->BeginRead(name); },
        Defaults{opt_.uid, opt_.gid, v.time_ns}, kSnapIdle);
    std::lock_guard<std::mutex> l(views_mu_);
    // A snapshot destroyed meanwhile may have been this one: look again.
    if (snapshot_drops_ != drops) continue;
    auto it = view_by_name_.find(snapshot);
    if (it != view_by_name_.end()) {
      *view = it->second;  // another thread made it meanwhile
      return 0;
    }
    *view = next_view_++;
    views_[*view] = std::move(v);
    view_by_name_[snapshot] = *view;
    return 0;
  }
}

uint64_t BruceFs::StIno(uint32_t view, uint64_t nodeid, const Node& n) {
  const bool own = view == InodeTable::kLiveView || view == InodeTable::kOrphanView;
  return own && n.attr.ino != 0 ? n.attr.ino : nodeid;
}

void BruceFs::FillStat(uint32_t view, FsTree* t, uint64_t gen, uint64_t ino, const Node& n,
                       struct stat* st) {
  *st = {};
  st->st_ino = StIno(view, ino, n);
  // Snapshots show modes as they were: they are read-only by EROFS.
  st->st_mode = TypeBits(n.kind) | (n.attr.mode & 07777);
  st->st_nlink = n.kind == Kind::kDir ? 2 + Subdirs(view, t, gen, n.primary) : n.attr.nlink;
  st->st_uid = n.attr.uid;
  st->st_gid = n.attr.gid;
  st->st_rdev = static_cast<dev_t>(n.attr.rdev);
  st->st_size = static_cast<off_t>(n.size);
  st->st_blksize = 1 << 20;
  st->st_blocks = static_cast<blkcnt_t>((n.allocated + 511) / 512);
  st->st_atim = ToTimespec(n.attr.atime_ns);
  st->st_mtim = ToTimespec(n.attr.mtime_ns);
  st->st_ctim = ToTimespec(n.attr.ctime_ns);
  if (n.kind == Kind::kDir && view == InodeTable::kLiveView) {
    // A control request changed the listing (keys below it) without a record.
    const int64_t ctl = CtlMtime(n.primary);
    if (ctl > n.attr.mtime_ns) st->st_mtim = ToTimespec(ctl);
    if (ctl > n.attr.ctime_ns) st->st_ctim = ToTimespec(ctl);
  }
}

uint64_t BruceFs::Subdirs(uint32_t view, FsTree* t, uint64_t gen, const std::string& path) {
  if (view == InodeTable::kOrphanView || t == nullptr) return 0;
  auto key = std::make_pair(view, path);
  {
    std::lock_guard<std::mutex> l(subdirs_mu_);
    auto it = subdirs_.find(key);
    if (it != subdirs_.end()) return it->second;
  }
  uint64_t n = 0;
  std::string lb;
  for (;;) {
    std::optional<Child> c;
    if (!t->NextChild(path, lb, &c).ok() || !c) break;
    lb = c->next_lb;
    std::string p = path.empty() ? c->name : path + "/" + c->name;
    // Keys under the child (its first key is one) make it a directory;
    // else its record or a prefix count says.
    if (c->first_key.size() > p.size() && c->first_key[p.size()] == '/') {
      n++;
    } else if (auto d = t->IsDir(p); d.ok() && *d) {
      n++;
    }
  }
  // Kept only while it is the count the open group sees: a count from a
  // borrowed view of the live tree goes stale when the group touches the
  // directory (mkdir and the like note it before they update the count).
  std::lock_guard<std::mutex> l(subdirs_mu_);
  if (view == InodeTable::kLiveView && gen != 0 && !live_views_->Fresh(path, gen)) return n;
  if (subdirs_.size() > 100000) subdirs_.clear();
  subdirs_[key] = n;
  return n;
}

void BruceFs::SubdirsMoved(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> l(subdirs_mu_);
  std::vector<std::pair<std::string, uint64_t>> moved;
  auto it = subdirs_.lower_bound({InodeTable::kLiveView, from});
  while (it != subdirs_.end() && it->first.first == InodeTable::kLiveView) {
    const std::string& p = it->first.second;
    if (p.compare(0, from.size(), from) != 0) break;
    if (p.size() == from.size() || p[from.size()] == '/') {
      moved.emplace_back(to + p.substr(from.size()), it->second);
      it = subdirs_.erase(it);
    } else {
      ++it;  // a sibling such as "from2" or "from.x" sorts among them
    }
  }
  for (auto& [p, n] : moved) subdirs_[{InodeTable::kLiveView, p}] = n;
}

void BruceFs::SubdirsChanged(const std::string& dir, int delta) {
  std::lock_guard<std::mutex> l(subdirs_mu_);
  auto it = subdirs_.find({InodeTable::kLiveView, dir});
  if (it == subdirs_.end()) return;
  if (delta < 0 && it->second == 0) {
    subdirs_.erase(it);
  } else {
    it->second += delta;
  }
}

void BruceFs::FillSpecial(uint64_t ino, struct stat* st) {
  *st = {};
  st->st_ino = ino;
  st->st_mode = S_IFDIR | 0755;
  st->st_nlink = 1;
  st->st_uid = opt_.uid;
  st->st_gid = opt_.gid;
  st->st_blksize = 1 << 20;
  st->st_atim = ToTimespec(opt_.default_time_ns);
  // Changed by each snapshot made or destroyed: the kernel's kept listing
  // of .snapshots is checked against it.
  st->st_mtim = st->st_ctim = ToTimespec(std::max(opt_.default_time_ns, snapdir_mtime_ns_.load()));
}

int64_t BruceFs::CtlMtime(const std::string& dir) {
  std::lock_guard<std::mutex> l(ctl_mtimes_mu_);
  auto it = ctl_mtimes_.find(dir);
  return it == ctl_mtimes_.end() ? 0 : it->second;
}

int BruceFs::StatEntry(const Target& at, const std::string& path, uint64_t lookups,
                       fuse_entry_param* e, bool group_held) {
  std::optional<Reading> r;
  FsTree* t = nullptr;
  Node n;
  if (group_held) {
    t = Tree(at.view);
    if (t == nullptr) return ESTALE;
    FS_TRY(t->Stat(path, &n));
    if (n.kind == Kind::kNone) return ENOENT;
  } else {
    r.emplace(this, Target{at.view, path});
    if (int err = r->Stat(&n)) return err;
    t = r->tree();
  }
  *e = {};
  e->ino = inodes_.Get(at.view, n.primary, lookups);
  if (r && r->gen() != 0 &&
      (!live_views_->Fresh(path, r->gen()) || !live_views_->Fresh(n.primary, r->gen()))) {
    // Renamed or removed while it was read (the inode may now name a path
    // that is gone): ask the group instead.
    inodes_.Forget(e->ino, lookups);
    r.reset();
    GroupLock l(this);
    return StatEntry(at, path, lookups, e, /*group_held=*/true);
  }
  FillStat(at.view, t, r ? r->gen() : 0, e->ino, n, &e->attr);
  e->attr_timeout = e->entry_timeout = opt_.timeout_s;
  return 0;
}

void BruceFs::NewEntry(const std::string& path, const Attr& a, uint64_t size,
                       fuse_entry_param* e) {
  Node n;
  n.kind = a.kind;
  n.attr = a;
  n.size = size;
  n.allocated = size;
  n.has_record = true;
  n.primary = path;
  *e = {};
  e->ino = inodes_.Get(InodeTable::kLiveView, path, 1);
  FillStat(InodeTable::kLiveView, live_.get(), 0, e->ino, n, &e->attr);
  e->attr_timeout = e->entry_timeout = opt_.timeout_s;
}

int BruceFs::Lookup(fuse_ino_t parent, const char* name, fuse_entry_param* e) {
  Target p;
  if (int err = Resolve(parent, &p)) return err;
  std::string_view nm(name);
  if (p.view == InodeTable::kSnapDirView) {
    uint32_t view = 0;
    if (int err = ViewOf(std::string(nm), &view)) return err;
    return StatEntry(Target{view, ""}, "", 1, e);
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
  return StatEntry(p, path, 1, e);
}

void BruceFs::Forget(fuse_ino_t ino, uint64_t n) { inodes_.Forget(ino, n); }

int BruceFs::GetAttr(fuse_ino_t ino, struct stat* st) {
  Target t;
  if (int err = Resolve(ino, &t)) return err;
  if (t.view == InodeTable::kSnapDirView) {
    FillSpecial(ino, st);
    return 0;
  }
  Reading r(this, t);
  Node n;
  if (int err = r.Stat(&n)) return err;
  FillStat(t.view, r.tree(), r.gen(), ino, n, st);
  return 0;
}

}  // namespace brucefs
