// Operations that add, remove and move names: mkdir, create, symlink,
// unlink, rmdir, rename, and mkdir/rmdir in .snapshots.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "acl.h"
#include "brucefs.h"
#include "errno_map.h"
#include "name_codec.h"

namespace brucefs {

using bruce::Status;

namespace {

bool IsSnapDirName(const std::string& dir, std::string_view name) {
  return dir.empty() && name == ".snapshots";
}

bool Inside(const std::string& path, const std::string& ancestor) {
  return path.size() > ancestor.size() && path.compare(0, ancestor.size(), ancestor) == 0 &&
         path[ancestor.size()] == '/';
}

}  // namespace

int BruceFs::PrepareNew(const Target& p, const char* name, std::string* path, Node* pnode) {
  if (IsSnapDirName(p.path, name)) return EEXIST;
  if (strlen(name) > kNameMax) return ENAMETOOLONG;
  auto comp = DecodeName(name);
  if (!comp) return EINVAL;
  *path = JoinPath(p.path, *comp);
  if (path->size() > bruce::kMaxKeySize) return ENAMETOOLONG;
  FsTree* t = LiveTree();
  FS_TRY(t->Stat(p.path, pnode));
  if (pnode->kind == Kind::kNone) return ENOENT;
  if (pnode->kind != Kind::kDir) return ENOTDIR;
  Node n;
  FS_TRY(t->Stat(*path, &n));
  if (n.kind != Kind::kNone) return EEXIST;
  Touched(p.path);  // before any change (one may fail half way)
  return 0;
}

Attr BruceFs::NewAttr(const Caller& c, Kind kind, mode_t mode, const Node& parent) {
  Attr a;
  a.kind = kind;
  a.mode = mode & 07777;
  a.uid = c.uid;
  a.gid = c.gid;
  if (kind != Kind::kDir) a.ino = NewIno();
  if (parent.attr.mode & S_ISGID) {  // BSD group semantics of a setgid directory
    a.gid = parent.attr.gid;
    if (kind == Kind::kDir) a.mode |= S_ISGID;
  }
  if (opt_.acl && kind != Kind::kSymlink) {
    // With ACLs on, the kernel leaves the umask to us: a directory's default
    // ACL replaces it (posix_acl_create).
    const std::string* def = parent.attr.FindXattr(kAclDefault);
    std::vector<AclEntry> acl;
    if (def != nullptr && ParseAcl(*def, &acl)) {
      uint32_t m = a.mode;
      if (AclCreate(&acl, &m)) a.SetXattr(kAclAccess, EncodeAcl(acl));
      a.mode = m;
      if (kind == Kind::kDir) a.SetXattr(kAclDefault, *def);
    } else {
      a.mode &= ~(c.umask & 0777);
    }
  }
  a.atime_ns = a.mtime_ns = a.ctime_ns = NowNs();
  return a;
}

int BruceFs::TouchDir(const std::string& dir, const Node* known) {
  // Its listing changes in the open group: opendir must seal it first,
  // and reads of it go through the group.
  auto listing_changed = [this](const std::string& d) {
    Touched(d);
    if (dirty_dirs_.size() < 4096) {
      dirty_dirs_.insert(d);
    } else {
      dirty_all_dirs_ = true;
    }
  };
  listing_changed(dir);
  listing_gen_++;
  Node n;
  if (known != nullptr) {
    n = *known;
  } else {
    FS_TRY(LiveTree()->Stat(dir, &n));
  }
  // An implicit directory whose last key went is gone, and so may be the
  // implicit ones above it: they changed too, up to the first that is left.
  // (Their listings changed, and the first left gets the new mtime.)
  std::string at = dir;
  while (n.kind == Kind::kNone && !at.empty()) {
    at = std::string(ParentPath(at));
    listing_changed(at);
    FS_TRY(LiveTree()->Stat(at, &n));
  }
  if (n.kind != Kind::kDir) return 0;
  n.attr.kind = Kind::kDir;
  n.attr.mtime_ns = n.attr.ctime_ns = NowNs();
  // Also makes an implicit directory explicit, so it outlives its last entry.
  FS_TRY(LiveTree()->PutRecord(at, n.attr));
  return 0;
}

int BruceFs::Mkdir(const Caller& c, fuse_ino_t parent, const char* name, mode_t mode,
                   fuse_entry_param* e) {
  Target p;
  if (int err = Resolve(parent, &p)) return err;
  if (p.view == InodeTable::kSnapDirView) return SnapshotMkdir(name, e);
  if (p.view != InodeTable::kLiveView || opt_.read_only) return EROFS;
  GroupLock l(this);
  std::string path;
  Node pnode;
  if (int err = PrepareNew(p, name, &path, &pnode)) return err;
  const Attr a = NewAttr(c, Kind::kDir, mode, pnode);
  FS_TRY(LiveTree()->PutRecord(path, a));
  if (int err = TouchDir(p.path, &pnode)) return err;
  SubdirsChanged(p.path, +1);
  {
    std::lock_guard<std::mutex> sl(subdirs_mu_);
    subdirs_[{InodeTable::kLiveView, path}] = 0;
  }
  Dirty(256);
  NewEntry(path, a, 0, e);
  return 0;
}

int BruceFs::Create(const Caller& c, fuse_ino_t parent, const char* name, mode_t mode, int flags,
                    fuse_entry_param* e) {
  Target p;
  if (int err = Resolve(parent, &p)) return err;
  if (p.view != InodeTable::kLiveView || opt_.read_only) return EROFS;
  GroupLock l(this);
  std::string path;
  Node pnode;
  int err = PrepareNew(p, name, &path, &pnode);
  if (err == EEXIST && !(flags & O_EXCL) && !IsSnapDirName(p.path, name)) {
    // Lost a race with another creator: open what is there.
    if ((err = StatEntry(p, path, 1, e, /*group_held=*/true)) != 0) return err;
    if (S_ISDIR(e->attr.st_mode)) {
      inodes_.Forget(e->ino, 1);
      return EISDIR;
    }
    if (!S_ISREG(e->attr.st_mode)) {
      inodes_.Forget(e->ino, 1);
      return EEXIST;  // the kernel opens FIFOs and devices itself
    }
    if (flags & O_TRUNC) {
      // (the inode's path: another name's, for a hard-linked file)
      Target t;
      if (!inodes_.Resolve(e->ino, &t.view, &t.path)) return ENOENT;
      Touched(t.path);
      FS_TRY(LiveTree()->main()->Truncate(t.path, 0));
      Dirty(256);
      e->attr.st_size = 0;
      e->attr.st_blocks = 0;
    }
    OpenRef(e->ino, 1);
    return 0;
  }
  if (err) return err;
  const Attr a = NewAttr(c, Kind::kFile, mode, pnode);
  Touched(path);
  FS_TRY(LiveTree()->main()->Put(path, ""));
  FS_TRY(LiveTree()->PutRecord(path, a));
  if ((err = TouchDir(p.path, &pnode)) != 0) return err;
  Dirty(256);
  NewEntry(path, a, 0, e);
  {
    std::lock_guard<std::mutex> cl(caps_mu_);
    no_caps_.insert(e->ino);  // a new file has no xattrs
  }
  OpenRef(e->ino, 1);
  return 0;
}

int BruceFs::MakeNode(const Caller& c, fuse_ino_t parent, const char* name, Kind kind,
                      mode_t mode, dev_t rdev, std::string_view content, fuse_entry_param* e) {
  Target p;
  if (int err = Resolve(parent, &p)) return err;
  if (p.view != InodeTable::kLiveView || opt_.read_only) return EROFS;
  GroupLock l(this);
  std::string path;
  Node pnode;
  if (int err = PrepareNew(p, name, &path, &pnode)) return err;
  Attr a = NewAttr(c, kind, mode, pnode);
  if (kind == Kind::kCharDev || kind == Kind::kBlockDev) a.rdev = rdev;
  Touched(path);
  if (!RecordOnly(kind)) FS_TRY(LiveTree()->main()->Put(path, content));
  FS_TRY(LiveTree()->PutRecord(path, a));
  if (int err = TouchDir(p.path, &pnode)) return err;
  Dirty(256 + content.size());
  NewEntry(path, a, content.size(), e);
  return 0;
}

int BruceFs::Symlink(const Caller& c, const char* target, fuse_ino_t parent, const char* name,
                     fuse_entry_param* e) {
  return MakeNode(c, parent, name, Kind::kSymlink, 0777, 0, target, e);
}

int BruceFs::Mknod(const Caller& c, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev,
                   fuse_entry_param* e) {
  const Kind kind = KindOf(mode);
  if (kind == Kind::kNone || kind == Kind::kDir || kind == Kind::kSymlink) return EINVAL;
  return MakeNode(c, parent, name, kind, mode, kind == Kind::kFile ? 0 : rdev, "", e);
}

int BruceFs::DropName(const std::string& path, Node* n) {
  // First: a read-only open from now on reads through the group, and so
  // either counts before the check below or finds the name gone.
  Touched(path);
  FsTree* t = LiveTree();
  if (n->dangling) {
    FS_TRY(t->DeleteRecord(path));  // a name of a file that is gone: only its record
    inodes_.Remove(InodeTable::kLiveView, path);
    return 0;
  }
  n->attr.ctime_ns = NowNs();
  if (n->attr.nlink > 1 && n->has_record) {
    // One name of a hard-linked file goes; the others stay.
    std::vector<std::string> names;
    FS_TRY(t->GetLinks(n->attr.ino, &names));
    auto it = std::find(names.begin(), names.end(), path);
    if (it == names.end()) {
      fuse_log(FUSE_LOG_ERR, "brucefs: \"%s\" is not in the name list of inode %llu\n",
               path.c_str(), static_cast<unsigned long long>(n->attr.ino));
      return EIO;
    }
    names.erase(it);
    n->attr.nlink = static_cast<uint32_t>(names.size());
    FS_TRY(t->DeleteRecord(path));
    if (path == n->primary) {
      // The next name takes the record and the content; the inode follows.
      const std::string& next = names.front();
      Touched(next);
      if (!RecordOnly(n->kind)) FS_TRY(t->main()->Rename(path, next));
      inodes_.Rename(InodeTable::kLiveView, path, next);
      n->primary = next;
    }
    FS_TRY(t->PutRecord(n->primary, n->attr));
    // Back to one name: a plain file again.
    FS_TRY(t->PutLinks(n->attr.ino, names.size() > 1 ? names : std::vector<std::string>{}));
    return 0;
  }
  const uint64_t nodeid = inodes_.Find(InodeTable::kLiveView, path);
  if (nodeid != 0 && OpenRef(nodeid, 0) > 0 && !RecordOnly(n->kind)) {
    // Its last name, but still open: an orphan until its last close.
    FsTree* o = Orphans();
    if (o == nullptr || o->main() == nullptr) return EROFS;
    std::string key(8, '\0');
    for (int i = 0; i < 8; i++) key[i] = static_cast<char>(nodeid >> (56 - 8 * i));
    FS_TRY(t->main()->MoveTo(path, o->main(), key));
    n->attr.nlink = 0;
    n->attr.kind = n->kind;
    FS_TRY(o->PutRecord(key, n->attr));
    FS_TRY(t->DeleteRecord(path));
    inodes_.Move(nodeid, InodeTable::kOrphanView, key);
    // Its last close may have come meanwhile, without the group's lock
    // (Release): then it goes now.
    FreeOrphan(nodeid);
    return 0;
  }
  if (!RecordOnly(n->kind)) FS_TRY(t->main()->Delete(path));
  FS_TRY(t->DeleteRecord(path));
  inodes_.Remove(InodeTable::kLiveView, path);
  return 0;
}

int BruceFs::Unlink(fuse_ino_t parent, const char* name) {
  Target p;
  if (int err = Resolve(parent, &p)) return err;
  if (p.view != InodeTable::kLiveView || opt_.read_only) return EROFS;
  if (IsSnapDirName(p.path, name)) return EISDIR;
  GroupLock l(this);
  auto comp = DecodeName(name);
  if (!comp) return ENOENT;
  std::string path = JoinPath(p.path, *comp);
  Node n;
  FS_TRY(LiveTree()->Stat(path, &n));
  if (n.kind == Kind::kNone) return ENOENT;
  if (n.kind == Kind::kDir) return EISDIR;
  // Before any change (one may fail half way); it also keeps an implicit
  // parent in place once its last entry is gone.
  if (int err = TouchDir(p.path)) return err;
  if (int err = DropName(path, &n)) return err;
  Dirty(256);
  return 0;
}

int BruceFs::Rmdir(fuse_ino_t parent, const char* name) {
  Target p;
  if (int err = Resolve(parent, &p)) return err;
  if (p.view == InodeTable::kSnapDirView) return SnapshotRmdir(name);
  if (p.view != InodeTable::kLiveView || opt_.read_only) return EROFS;
  if (IsSnapDirName(p.path, name)) return EBUSY;
  GroupLock l(this);
  auto comp = DecodeName(name);
  if (!comp) return ENOENT;
  std::string path = JoinPath(p.path, *comp);
  Node n;
  FS_TRY(LiveTree()->Stat(path, &n));
  if (n.kind == Kind::kNone) return ENOENT;
  if (n.kind != Kind::kDir) return ENOTDIR;
  FS_ASSIGN(bool empty, LiveTree()->IsEmptyDir(path));
  if (!empty) return ENOTEMPTY;
  if (int err = TouchDir(p.path)) return err;  // before any change (see Unlink)
  FS_TRY(LiveTree()->DeleteRecords(path));
  SubdirsChanged(p.path, -1);
  {
    std::lock_guard<std::mutex> sl(subdirs_mu_);
    subdirs_.erase({InodeTable::kLiveView, path});
  }
  Dirty(256);
  inodes_.Remove(InodeTable::kLiveView, path);
  return 0;
}

int BruceFs::Exchange(const std::string& a, const std::string& b) {
  FsTree* t = LiveTree();
  std::string tmp("\0\0brucefs-exchange", 19);
  Node n;
  for (int i = 0;; ++i) {
    FS_TRY(t->Stat(tmp, &n));
    if (n.kind == Kind::kNone) break;
    tmp += static_cast<char>('0' + i % 10);
  }
  Status s = t->MoveSubtree(a, tmp);
  if (!s.ok()) return s.code() == bruce::Code::kInvalidArgument ? ENAMETOOLONG : ToErrno(s);
  s = t->MoveSubtree(b, a);
  if (!s.ok()) {
    FS_TRY(t->MoveSubtree(tmp, a));
    return s.code() == bruce::Code::kInvalidArgument ? ENAMETOOLONG : ToErrno(s);
  }
  s = t->MoveSubtree(tmp, b);
  if (!s.ok()) {
    FS_TRY(t->MoveSubtree(a, b));
    FS_TRY(t->MoveSubtree(tmp, a));
    return s.code() == bruce::Code::kInvalidArgument ? ENAMETOOLONG : ToErrno(s);
  }
  inodes_.Rename(InodeTable::kLiveView, a, tmp);
  inodes_.Rename(InodeTable::kLiveView, b, a);
  inodes_.Rename(InodeTable::kLiveView, tmp, b);
  return 0;
}

int BruceFs::Rename(fuse_ino_t parent, const char* name, fuse_ino_t newparent,
                    const char* newname, unsigned flags) {
  Target p, np;
  if (int err = Resolve(parent, &p)) return err;
  if (int err = Resolve(newparent, &np)) return err;
  if (p.view != InodeTable::kLiveView || np.view != InodeTable::kLiveView || opt_.read_only) {
    return EROFS;
  }
  if (flags & ~unsigned{RENAME_NOREPLACE | RENAME_EXCHANGE}) return EINVAL;
  if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE)) return EINVAL;
  if (IsSnapDirName(p.path, name) || IsSnapDirName(np.path, newname)) return EBUSY;
  GroupLock l(this);
  // Records move between paths, and so between inodes: what is known of
  // their xattrs goes, once the paths are noted as touched (GetXattr).
  struct ForgetCaps {
    BruceFs* fs;
    ~ForgetCaps() {
      std::lock_guard<std::mutex> cl(fs->caps_mu_);
      fs->no_caps_.clear();
    }
  } forget_caps{this};
  auto c1 = DecodeName(name);
  if (!c1) return ENOENT;
  if (strlen(newname) > kNameMax) return ENAMETOOLONG;
  auto c2 = DecodeName(newname);
  if (!c2) return EINVAL;
  const std::string from = JoinPath(p.path, *c1), to = JoinPath(np.path, *c2);
  if (to.size() > bruce::kMaxKeySize) return ENAMETOOLONG;
  FsTree* t = LiveTree();
  Node src, dst;
  FS_TRY(t->Stat(from, &src));
  if (src.kind == Kind::kNone) return ENOENT;
  FS_TRY(t->Stat(to, &dst));
  if (from == to) return 0;
  // Before any change (one may fail half way).
  Touched(p.path);
  Touched(np.path);
  const int64_t now = NowNs();
  // Two names of one hard-linked file: nothing to do (POSIX).
  if (src.kind != Kind::kDir && dst.kind != Kind::kNone && src.primary == dst.primary) return 0;
  if (src.kind == Kind::kDir || dst.kind == Kind::kDir) {
    dirty_all_dirs_ = true;  // the listings of every directory under them move
    if (live_views_) live_views_->TouchAll();
    listing_gen_++;
  }
  if ((flags & RENAME_EXCHANGE) && (src.kind == Kind::kDir || dst.kind == Kind::kDir)) {
    std::lock_guard<std::mutex> sl(subdirs_mu_);
    subdirs_.clear();  // (rare: counted again when asked)
  }
  // The parents change first (see Unlink), once the rename is known to go on.
  auto touch_parents = [&]() -> int {
    if (int err = TouchDir(p.path)) return err;
    return np.path == p.path ? 0 : TouchDir(np.path);
  };
  if (flags & RENAME_EXCHANGE) {
    if (dst.kind == Kind::kNone) return ENOENT;
    if (Inside(to, from) || Inside(from, to)) return EINVAL;
    if (int err = touch_parents()) return err;
    if (int err = Exchange(from, to)) return err;
    // Both files changed (their ctime), wherever their records now are.
    for (const std::string* path : {&from, &to}) {
      Node n;
      FS_TRY(t->Stat(*path, &n));
      n.attr.ctime_ns = now;
      FS_TRY(t->PutRecord(n.primary, n.attr));
    }
  } else {
    if (dst.kind != Kind::kNone && (flags & RENAME_NOREPLACE)) return EEXIST;
    if (src.kind == Kind::kDir) {
      if (Inside(to, from)) return EINVAL;
      if (dst.kind != Kind::kNone) {
        if (dst.kind != Kind::kDir) return ENOTDIR;
        FS_ASSIGN(bool empty, t->IsEmptyDir(to));
        if (!empty) return ENOTEMPTY;
        // Nothing changes unless the whole move can be made.
        Status c = t->CheckMove(from, to);
        if (!c.ok()) return c.code() == bruce::Code::kInvalidArgument ? ENAMETOOLONG : ToErrno(c);
      }
    } else if (dst.kind == Kind::kDir) {
      return EISDIR;
    }
    if (int err = touch_parents()) return err;
    if (dst.kind != Kind::kNone && src.kind == Kind::kDir) {
      // An empty directory replaced.
      FS_TRY(t->DeleteRecords(to));
      inodes_.Remove(InodeTable::kLiveView, to);
      SubdirsChanged(np.path, -1);
      std::lock_guard<std::mutex> sl(subdirs_mu_);
      subdirs_.erase({InodeTable::kLiveView, to});
    } else if (dst.kind != Kind::kNone) {
      if (int err = DropName(to, &dst)) return err;
    }
    Status s;
    src.attr.ctime_ns = now;
    if (src.kind == Kind::kDir) {
      s = t->MoveSubtree(from, to);
      if (s.ok()) s = t->PutRecord(to, src.attr);
      if (s.ok()) {
        inodes_.Rename(InodeTable::kLiveView, from, to);
        SubdirsMoved(from, to);
        SubdirsChanged(p.path, -1);
        SubdirsChanged(np.path, +1);
      }
    } else if (src.primary != from) {
      // A further name of a hard-linked file: only its link record moves.
      Attr link;
      link.kind = Kind::kLink;
      link.ino = src.attr.ino;
      s = t->DeleteRecord(from);
      if (s.ok()) s = t->PutRecord(to, link);
      if (s.ok()) s = t->PutRecord(src.primary, src.attr);
    } else {
      // Nothing is under a file: move its value's pointer and its record.
      Touched(from);
      Touched(to);
      if (!RecordOnly(src.kind)) s = t->main()->Rename(from, to);
      if (s.ok()) s = t->DeleteRecord(from);
      if (s.ok()) s = t->PutRecord(to, src.attr);
      if (s.ok()) inodes_.Rename(InodeTable::kLiveView, from, to);
    }
    if (s.ok() && src.kind != Kind::kDir && src.attr.nlink > 1) {
      std::vector<std::string> names;
      s = t->GetLinks(src.attr.ino, &names);
      for (auto& n : names) {
        if (n == from) n = to;
      }
      if (s.ok()) s = t->PutLinks(src.attr.ino, names);
    }
    if (!s.ok()) return s.code() == bruce::Code::kInvalidArgument ? ENAMETOOLONG : ToErrno(s);
  }
  Dirty(512);
  return 0;
}

Status BruceFs::TakeSnapshot(const std::string& name) {
  if (opt_.read_only) return Status::ReadOnly("a read-only mount takes no snapshots");
  uint64_t txn = 0;
  {
    GroupLock l(this);
    {
      std::lock_guard<std::mutex> vl(views_mu_);
      if (view_by_name_.count(name)) return Status::Exists("snapshot already exists: " + name);
    }
    if (!wtxn_) return Status::ReadOnly("the store refuses changes (a failed sync)");
    // Seal the open group first, so the snapshot holds everything written
    // before it was asked for, then take it in a commit of its own.
    BRUCE_RETURN_IF_ERROR(Seal("snapshot"));
    BRUCE_RETURN_IF_ERROR(wtxn_->CreateSnapshot(name));
    dirty_ = true;
    BRUCE_RETURN_IF_ERROR(Seal("snapshot"));
    txn = sealed_txn_;
    snapdir_mtime_ns_ = NowNs();
  }
  // Durable before it is shown, without holding up other operations.
  return Durable(txn, "snapshot");
}

Status BruceFs::DropSnapshot(const std::string& name) {
  if (opt_.read_only) return Status::ReadOnly("a read-only mount destroys no snapshots");
  uint64_t txn = 0;
  {
    GroupLock l(this);
    if (!wtxn_) return Status::ReadOnly("the store refuses changes (a failed sync)");
    BRUCE_RETURN_IF_ERROR(wtxn_->DestroySnapshot(name));
    dirty_ = true;
    BRUCE_RETURN_IF_ERROR(Seal("destroy snapshot"));
    txn = sealed_txn_;
    snapdir_mtime_ns_ = NowNs();
    // Its view goes once it is gone (views_mu_ is not held across the seal).
    std::lock_guard<std::mutex> vl(views_mu_);
    snapshot_drops_++;
    auto it = view_by_name_.find(name);
    if (it != view_by_name_.end()) {
      inodes_.DropView(it->second);
      views_[it->second].pool->Close();  // borrowed views end with their reads
      views_.erase(it->second);
      view_by_name_.erase(it);
    }
  }
  return Durable(txn, "destroy snapshot");
}

int BruceFs::SnapshotMkdir(const char* name, fuse_entry_param* e) {
  if (opt_.read_only) return EROFS;
  FS_TRY(TakeSnapshot(name));
  uint32_t view = 0;
  if (int err = ViewOf(name, &view)) return err;
  return StatEntry(Target{view, ""}, "", 1, e);
}

int BruceFs::SnapshotRmdir(const char* name) {
  if (opt_.read_only) return EROFS;
  FS_TRY(DropSnapshot(name));
  return 0;
}

}  // namespace brucefs
