// Directory listing: opendir pins a read view, an offset is a rank in it.
//
// Offsets: 1 and 2 resume after "." and "..", 3 after ".snapshots" (shown
// in the root with snapdir=visible), and 4 + Position(k) after the child
// whose first key is k: Position is the child's rank among the keys of
// both trees, an O(log n) count, unique per child. opendir pins a read
// transaction (of the live store, or of a snapshot) for the handle's
// lifetime; in the live tree it first seals the open group when that has
// changed the directory's entries (no fsync: a seal only makes the group
// the store's last commit), so the view lists every entry made before the
// opendir. (Every change of a directory's entries goes through TouchDir,
// which notes the directory; renaming a directory notes all of them.) A pinned view
// never changes, so an offset always resumes at the same place, whatever
// happens to the directory meanwhile. A read from offset 0 (rewinddir)
// pins again when a listing changed since (listing_gen_).
#include <sys/stat.h>

#include "brucefs.h"
#include "errno_map.h"
#include "name_codec.h"

namespace brucefs {

using bruce::Status;


namespace {

void ReportUnshowable(const std::string& key, const char* why) {
  static std::mutex mu;
  static std::map<std::string, bool> seen;
  std::lock_guard<std::mutex> l(mu);
  if (seen.size() > 100000 || !seen.emplace(key, true).second) return;
  fuse_log(FUSE_LOG_WARNING, "brucefs: key \"%s\" is not shown: %s\n", key.c_str(), why);
}

}  // namespace

int BruceFs::ListDir(DirHandle* h, FsTree* t, uint64_t off, size_t max, bool kinds,
                     std::vector<DirEnt>* out) {
  out->clear();
  auto push = [&](DirEnt e) {
    out->push_back(std::move(e));
    return out->size() >= max;
  };
  if (off == 0 && push(DirEnt{".", h->view, h->dir, Kind::kDir, h->ino, 1})) return 0;
  if (off <= 1 && push(DirEnt{"..", h->view, "", Kind::kDir, h->parent_ino, 2})) return 0;
  if (off <= 2 && h->view == InodeTable::kLiveView && h->dir.empty() && opt_.snapdir_visible &&
      push(DirEnt{".snapshots", InodeTable::kSnapDirView, "", Kind::kDir,
                  InodeTable::kSnapDirIno, 3})) {
    return 0;
  }
  std::string lb;
  if (off > 3) {
    auto it = h->resume.find(off);
    if (it != h->resume.end()) {
      lb = it->second;
    } else {
      std::string k;
      Status s = t->KeyAtPosition(off - 4, &k);
      if (s.IsNotFound()) return 0;  // not an offset of this view: the end
      FS_TRY(s);
      lb = FsTree::ResumeBound(h->dir, k);
    }
  }
  for (;;) {
    std::optional<Child> c;
    FS_TRY(t->NextChild(h->dir, lb, &c));
    if (!c) return 0;
    lb = c->next_lb;
    std::string path = JoinPath(h->dir, c->name);
    if (h->dir.empty() && c->name == ".snapshots") {
      ReportUnshowable(path, "the root name .snapshots is reserved for snapshots");
      continue;
    }
    std::string name = EncodeComponent(c->name);
    if (name.size() > kNameMax) {
      ReportUnshowable(path, "its file name would be longer than 255 bytes");
      continue;
    }
    Node n;
    uint64_t ino = 0;
    if (kinds) {
      FS_TRY(t->Stat(path, &n));
      if (n.kind == Kind::kNone) continue;
      ino = StIno(h->view, inodes_.Get(h->view, n.primary, 0), n);
    }
    FS_ASSIGN(uint64_t pos, t->Position(c->first_key));
    DirEnt e{std::move(name), h->view, path, n.kind, ino, 4 + pos};
    h->resume[e.off] = c->next_lb;
    if (push(std::move(e))) return 0;
  }
}

int BruceFs::PinDir(DirHandle* h, const std::string& path) {
  // Into a fresh handle first: a pin that fails leaves h's view as it was.
  auto f = std::make_unique<DirHandle>();
  f->view = h->view;
  f->dir = path;
  f->ino = h->ino;
  if (int err = PinInto(f.get())) return err;
  Adopt(h, f.get());
  return 0;
}

void BruceFs::Adopt(DirHandle* h, DirHandle* f) {
  h->dir = std::move(f->dir);
  h->parent_ino = f->parent_ino;
  h->pin = std::move(f->pin);
  h->resume.clear();
  h->listed = f->listed;
  h->list = std::move(f->list);
  h->next_index = std::move(f->next_index);
  h->gen = f->gen;
}

int BruceFs::PinInto(DirHandle* h) {
  if (h->view == InodeTable::kLiveView) h->gen = listing_gen_;
  if (h->view == InodeTable::kSnapDirView) {
    h->parent_ino = InodeTable::kRootIno;
    h->listed = true;
    h->list.push_back(DirEnt{".", h->view, "", Kind::kDir, h->ino, 1});
    h->list.push_back(DirEnt{"..", InodeTable::kLiveView, "", Kind::kDir, h->parent_ino, 2});
    FS_ASSIGN(auto snaps, db_->ListSnapshots());
    uint64_t off = 4;
    for (const auto& s : snaps) {
      uint32_t view = 0;
      if (ViewOf(s.name, &view) != 0) continue;
      h->list.push_back(DirEnt{s.name, view, "", Kind::kDir, inodes_.Get(view, "", 0), off++});
    }
    for (size_t i = 0; i < h->list.size(); ++i) h->next_index[h->list[i].off] = i + 1;
    return 0;
  }
  const std::string& path = h->dir;
  if (h->view == InodeTable::kLiveView) {
    h->parent_ino = path.empty() ? InodeTable::kRootIno
                                 : inodes_.Get(h->view, std::string(ParentPath(path)), 0);
  } else {
    h->parent_ino = path.empty() ? InodeTable::kSnapDirIno
                                 : inodes_.Get(h->view, std::string(ParentPath(path)), 0);
  }
  Node n;
  if (h->view == InodeTable::kLiveView) {
    // A read-only mount lists what it stats: the store's last commit.
    FS_TRY(FollowStore());
    FsTree* live = Tree(h->view);
    if (live == nullptr) return ESTALE;
    FS_TRY(live->Stat(path, &n));
    if (n.kind == Kind::kNone) return ENOENT;
    if (n.kind != Kind::kDir) return ENOTDIR;
    if (dirty_ && (dirty_all_dirs_ || dirty_dirs_.count(path) != 0)) {
      // The view must hold the group's changes to this directory: seal
      // the group (no fsync). A directory the group did not change lists
      // the same in the last commit, so that one is pinned as it is.
      FS_TRY(Seal("opendir"));
      if (LiveTree() == nullptr) return EIO;  // no group could be opened (logged)
    }
    FS_TRY(live_views_->Borrow(&h->pin));
    return 0;
  }
  std::shared_ptr<ViewPool> pool = SnapPool(h->view);
  if (!pool) return ESTALE;
  FS_TRY(pool->Borrow(&h->pin));
  FS_TRY(h->pin.tree()->Stat(path, &n));
  if (n.kind == Kind::kNone) return ENOENT;
  if (n.kind != Kind::kDir) return ENOTDIR;
  return 0;
}

int BruceFs::PinUntouched(DirHandle* h) {
  if (opt_.read_only) return kTouched;  // it follows the store (FollowStore)
  // Taken before the view: a change after it pins again at rewinddir.
  h->gen = listing_gen_.load();
  if (!live_views_->BorrowFor(h->dir, &h->pin)) return kTouched;
  Node n;
  FS_TRY(h->pin.tree()->Stat(h->dir, &n));
  if (n.kind == Kind::kNone) return ENOENT;
  if (n.kind != Kind::kDir) return ENOTDIR;
  h->parent_ino = h->dir.empty() ? InodeTable::kRootIno
                                 : inodes_.Get(h->view, std::string(ParentPath(h->dir)), 0);
  return 0;
}

int BruceFs::PinLive(DirHandle* h) {
  int err = PinUntouched(h);
  if (err != kTouched) return err;
  h->pin = ViewPool::Lease();
  GroupLock l(this);
  return PinInto(h);
}

int BruceFs::OpenDir(fuse_ino_t ino, uint64_t* fh) {
  Target t;
  if (int err = Resolve(ino, &t)) return err;
  auto h = std::make_unique<DirHandle>();
  h->view = t.view;
  h->dir = t.path;
  h->ino = ino;
  if (int err = t.view == InodeTable::kLiveView ? PinLive(h.get()) : PinInto(h.get())) return err;
  std::lock_guard<std::mutex> l(dir_mu_);
  *fh = next_dir_++;
  dirs_[*fh] = std::move(h);
  return 0;
}

int BruceFs::PlusEntry(const DirEnt& d, fuse_entry_param* e) {
  if (d.view == InodeTable::kSnapDirView) {
    *e = {};
    e->ino = InodeTable::kSnapDirIno;
    FillSpecial(e->ino, &e->attr);
    e->attr_timeout = e->entry_timeout = opt_.timeout_s;
    return 0;
  }
  return StatEntry(Target{d.view, ""}, d.path, 0, e);
}

int BruceFs::ReadDir(fuse_req_t req, fuse_ino_t ino, uint64_t fh, size_t size, off_t off,
                     bool plus, std::string* buf) {
  (void)ino;
  DirHandle* h = nullptr;
  {
    std::lock_guard<std::mutex> l(dir_mu_);
    auto it = dirs_.find(fh);
    if (it == dirs_.end()) return EBADF;
    h = it->second.get();
  }
  if (off < 0) return EINVAL;
  if (off == 0 && h->view != InodeTable::kLiveView && h->view != InodeTable::kSnapDirView) {
    // a snapshot's directory: its pinned view never changes
  } else if (off == 0) {
    // rewinddir, or the first read: the listing is the directory as it is
    // now (POSIX), so the view is pinned again, at the directory's path now,
    // if anything may have changed since (a read-only mount follows the
    // store's commits). A directory gone since keeps the view it had.
    Target now;
    if (Resolve(h->ino, &now) == 0 && now.view == h->view) {
      if (now.view == InodeTable::kSnapDirView) {
        std::lock_guard<std::mutex> hl(h->mu);
        if (int err = PinDir(h, now.path)) return err;
      } else {
        bool stale;
        {
          std::lock_guard<std::mutex> hl(h->mu);
          stale = h->gen != listing_gen_.load() || opt_.read_only;
        }
        if (stale) {
          // Into a fresh handle: a pin that fails leaves h's view as it was.
          auto f = std::make_unique<DirHandle>();
          f->view = h->view;
          f->dir = now.path;
          f->ino = h->ino;
          if (int err = PinLive(f.get())) return err;
          std::lock_guard<std::mutex> hl(h->mu);
          Adopt(h, f.get());
        }
      }
    }
  }
  std::vector<DirEnt> ents;
  {
    std::lock_guard<std::mutex> l(h->mu);
    const uint64_t uoff = static_cast<uint64_t>(off);
    // A rough count of what fits; the rest waits for the next call.
    const size_t max = size / (plus ? 160 : 32) + 1;
    if (h->listed) {
      size_t i = 0;
      if (uoff != 0) {
        auto it = h->next_index.find(uoff);
        i = it == h->next_index.end() ? h->list.size() : it->second;
      }
      for (; i < h->list.size() && ents.size() < max; ++i) ents.push_back(h->list[i]);
    } else if (int err = ListDir(h, h->pin.tree(), uoff, max, !plus, &ents)) {
      return err;
    }
  }
  buf->resize(size);
  size_t pos = 0;
  for (const DirEnt& d : ents) {
    size_t n = 0;
    const bool dots = d.name == "." || d.name == "..";
    if (plus) {
      fuse_entry_param e{};
      if (dots || PlusEntry(d, &e) != 0) {
        // Gone from the live tree since the view was pinned, or . and ..:
        // a name without attributes (ino 0 is not a negative entry), of its
        // kind in the view.
        Kind kind = d.kind;
        if (kind == Kind::kNone) {
          std::lock_guard<std::mutex> hl(h->mu);
          Node n;
          if (h->pin && h->pin.tree()->Stat(d.path, &n).ok()) kind = n.kind;
        }
        e = {};
        e.attr.st_ino = d.ino != 0 ? d.ino : inodes_.Get(d.view, d.path, 0);
        e.attr.st_mode = TypeBits(kind);
      }
      n = fuse_add_direntry_plus(req, buf->data() + pos, size - pos, d.name.c_str(), &e,
                                 static_cast<off_t>(d.off));
      if (n > size - pos) break;
      if (e.ino != 0) inodes_.Ref(e.ino, 1);
    } else {
      struct stat st {};
      st.st_ino = d.ino;
      st.st_mode = TypeBits(d.kind);
      n = fuse_add_direntry(req, buf->data() + pos, size - pos, d.name.c_str(), &st,
                            static_cast<off_t>(d.off));
      if (n > size - pos) break;
    }
    pos += n;
  }
  buf->resize(pos);
  return 0;
}

void BruceFs::ReleaseDir(uint64_t fh) {
  std::unique_ptr<DirHandle> h;
  {
    std::lock_guard<std::mutex> l(dir_mu_);
    auto it = dirs_.find(fh);
    if (it == dirs_.end()) return;
    h = std::move(it->second);
    dirs_.erase(it);
  }
  // The pinned read transaction ends here, outside dir_mu_.
}

}  // namespace brucefs
