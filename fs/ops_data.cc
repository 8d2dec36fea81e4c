// Operations on file content: open, release, read, write, lseek, fallocate,
// copy_file_range.
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>

#include "brucefs.h"
#include "errno_map.h"

namespace brucefs {

using bruce::Status;

int BruceFs::Open(fuse_ino_t ino, int flags, bool* keep_cache) {
  Target t;
  if (int err = Resolve(ino, &t)) return err;
  if (t.view == InodeTable::kSnapDirView) return EISDIR;
  const bool writes = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
  if (writes && !Writable(t)) return EROFS;
  // Every change reaches the store through this kernel, so its page cache
  // stays right across opens; a read-only mount's store may be written by
  // another process, so it starts afresh.
  *keep_cache = !opt_.read_only;
  if (!writes) {
    // Counted first: an unlink from now on makes it an orphan.
    OpenRef(ino, 1);
    int err;
    {
      Reading r(this, t);
      Node n;
      err = r.Stat(&n);
      if (err == 0 && n.kind == Kind::kDir) err = EISDIR;
    }
    if (err != 0) Release(ino);
    return err;
  }
  GroupLock l(this);
  FsTree* tree;
  Node n;
  if (int err = StatExisting(t, &tree, &n)) return err;
  if (n.kind == Kind::kDir) return EISDIR;
  if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY && n.size > 0) {
    Touched(t.path);
    FS_TRY(tree->main()->Truncate(t.path, 0));
    n.attr.mtime_ns = n.attr.ctime_ns = NowNs();
    FS_TRY(tree->PutRecord(t.path, n.attr));
    Dirty(256);
  }
  OpenRef(ino, 1);
  return 0;
}

uint32_t BruceFs::OpenRef(fuse_ino_t ino, int delta) {
  std::lock_guard<std::mutex> l(open_mu_);
  if (delta == 0) {
    auto it = open_.find(ino);
    return it == open_.end() ? 0 : it->second;
  }
  if (delta > 0) return open_[ino] += static_cast<uint32_t>(delta);
  auto it = open_.find(ino);
  if (it == open_.end()) return 0;
  if (--it->second > 0) return it->second;
  open_.erase(it);
  return 0;
}

void BruceFs::Release(fuse_ino_t ino) {
  // Without the group's lock unless this was the last close of an orphan.
  // An unlink that makes the file an orphan checks the count again once
  // it has (DropName): whichever of the two comes second frees it.
  if (OpenRef(ino, -1) > 0) return;
  Target t;
  if (!inodes_.Resolve(ino, &t.view, &t.path) || t.view != InodeTable::kOrphanView) return;
  GroupLock l(this);
  if (FreeOrphan(ino)) Dirty(256);
}

bool BruceFs::FreeOrphan(fuse_ino_t ino) {
  if (OpenRef(ino, 0) > 0) return false;  // opened again meanwhile
  Target t;
  if (!inodes_.Resolve(ino, &t.view, &t.path) || t.view != InodeTable::kOrphanView) return false;
  FsTree* o = Orphans();
  if (o == nullptr) return false;
  Status s = o->main()->Delete(t.path);
  if (s.ok() || s.IsNotFound()) s = o->DeleteRecord(t.path);
  if (!s.ok()) {
    (void)ToErrno(s);  // logged; the orphan goes at the next mount
    return false;
  }
  inodes_.Remove(InodeTable::kOrphanView, t.path);
  return true;
}

int BruceFs::Fallocate(fuse_ino_t ino, int mode, off_t off, off_t len) {
  Target t;
  if (int err = Resolve(ino, &t)) return err;
  if (off < 0 || len <= 0) return EINVAL;
  const int known = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE;
  if (mode & ~known) return EOPNOTSUPP;
  const bool punch = mode & FALLOC_FL_PUNCH_HOLE, zero = mode & FALLOC_FL_ZERO_RANGE;
  if (punch && (zero || !(mode & FALLOC_FL_KEEP_SIZE))) return EOPNOTSUPP;
  if (!Writable(t)) return EROFS;
  const uint64_t at = static_cast<uint64_t>(off), n = static_cast<uint64_t>(len);
  if (at + n > bruce::kMaxValueBytes || at + n < at) return EFBIG;
  GroupLock l(this);
  FsTree* tree = WritableTree(t);
  if (tree == nullptr) return EROFS;  // the mount went read-only
  Node node;
  FS_TRY(tree->Stat(t.path, &node));
  if (node.kind == Kind::kNone) return ENOENT;
  if (node.kind == Kind::kDir) return EISDIR;
  if (node.kind != Kind::kFile) return ENODEV;
  if (!punch && !zero) {
    // Space is taken when written (copy-on-write cannot set blocks aside):
    // what can be promised is that the disk under the store has room.
    const uint64_t want = at + n > node.size ? at + n - node.size : 0;
    struct statvfs host;
    std::string dir = opt_.store_path.substr(0, opt_.store_path.rfind('/') + 1);
    if (want > 0 && statvfs(dir.empty() ? "." : dir.c_str(), &host) == 0 &&
        uint64_t{host.f_bavail} * host.f_frsize < want) {
      return ENOSPC;
    }
  } else {
    Touched(t.path);
    FS_TRY(tree->main()->ZeroRange(t.path, at, n));
  }
  if (!(mode & FALLOC_FL_KEEP_SIZE) && at + n > node.size) {
    Touched(t.path);
    FS_TRY(tree->main()->Truncate(t.path, at + n));
  }
  if (punch || zero || at + n > node.size) {
    node.attr.mtime_ns = node.attr.ctime_ns = NowNs();
    FS_TRY(tree->PutRecord(node.primary, node.attr));
    Dirty(256);
  }
  return 0;
}

int BruceFs::Read(fuse_ino_t ino, size_t size, off_t off, bruce::PinnedValue* out) {
  Target t;
  if (int err = Resolve(ino, &t)) return err;
  if (off < 0) return EINVAL;
  Reading r(this, t);
  if (r.tree() == nullptr) return ESTALE;
  FS_TRY(r.tree()->main()->ReadPinned(t.path, static_cast<uint64_t>(off), size, out));
  return 0;
}

int BruceFs::Write(fuse_ino_t ino, int flags, const char* buf, size_t size, off_t off) {
  Target t;
  if (int err = Resolve(ino, &t)) return err;
  if (!Writable(t)) return EROFS;
  if (off < 0) return EINVAL;
  GroupLock l(this);
  FsTree* tree = WritableTree(t);
  if (tree == nullptr) return EROFS;  // the mount went read-only
  uint64_t at = static_cast<uint64_t>(off);
  if (flags & O_APPEND) {
    FS_ASSIGN(at, tree->main()->ValueSize(t.path));
  }
  if (at + size > bruce::kMaxValueBytes) return EFBIG;
  Touched(t.path);
  Status s = tree->main()->WriteAt(t.path, at, std::string_view(buf, size));
  if (s.code() == bruce::Code::kInvalidArgument) return EFBIG;
  FS_TRY(s);
  std::optional<Attr> rec;
  FS_TRY(tree->GetRecord(t.path, &rec));
  Attr a = rec ? std::move(*rec) : tree->DefaultAttr(Kind::kFile);
  a.mtime_ns = a.ctime_ns = NowNs();
  FS_TRY(tree->PutRecord(t.path, a));
  Dirty(size + 128);
  return 0;
}

int BruceFs::CopyFileRange(fuse_ino_t in, off_t off_in, fuse_ino_t out, off_t off_out,
                           size_t len, int flags, size_t* copied) {
  *copied = 0;
  if (flags != 0 || off_in < 0 || off_out < 0) return EINVAL;
  Target s, d;
  if (int err = Resolve(in, &s)) return err;
  if (int err = Resolve(out, &d)) return err;
  if (!Writable(d)) return EROFS;
  // A snapshot's file is in another transaction: nothing to share with it.
  if (!Writable(s)) return EOPNOTSUPP;
  GroupLock l(this);
  FsTree* dst = WritableTree(d);
  FsTree* src = WritableTree(s);
  if (dst == nullptr || src == nullptr) return EROFS;  // the mount went read-only
  if (static_cast<uint64_t>(off_out) + len > bruce::kMaxValueBytes) return EFBIG;
  // At most 1 GiB a call (the kernel asks again for the rest, as for a short
  // write): the reply's count is 32 bits, and one call's changes stay in
  // one group.
  len = std::min<size_t>(len, size_t{1} << 30);
  Touched(d.path);
  auto r = dst->main()->CloneRange(src->main(), s.path, static_cast<uint64_t>(off_in), d.path,
                                   static_cast<uint64_t>(off_out), len);
  if (!r.ok()) {
    if (r.status().code() == bruce::Code::kInvalidArgument) return EINVAL;  // overlapping
    return ToErrno(r.status());
  }
  std::optional<Attr> rec;
  FS_TRY(dst->GetRecord(d.path, &rec));
  Attr a = rec ? std::move(*rec) : dst->DefaultAttr(Kind::kFile);
  a.mtime_ns = a.ctime_ns = NowNs();
  FS_TRY(dst->PutRecord(d.path, a));
  // Shared chunks cost their entries (about 1/64 of their bytes), copied
  // ones their bytes: the estimate errs high.
  Dirty(*r / 32 + 128);
  *copied = static_cast<size_t>(*r);
  return 0;
}

int BruceFs::Lseek(fuse_ino_t ino, off_t off, int whence, off_t* out) {
  if (whence != SEEK_DATA && whence != SEEK_HOLE) return EINVAL;
  Target t;
  if (int err = Resolve(ino, &t)) return err;
  if (off < 0) return ENXIO;
  Reading reading(this, t);
  if (reading.tree() == nullptr) return ESTALE;
  auto r = reading.tree()->main()->SeekData(t.path, static_cast<uint64_t>(off), whence == SEEK_HOLE);
  if (!r.ok()) return r.status().IsNotFound() ? ENXIO : ToErrno(r.status());
  *out = static_cast<off_t>(*r);
  return 0;
}

}  // namespace brucefs
