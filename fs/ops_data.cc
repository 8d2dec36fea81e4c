// Operations on file content: open, read, write, lseek.
#include <fcntl.h>
#include <unistd.h>

#include "brucefs.h"
#include "errno_map.h"

namespace brucefs {

using bruce::Status;

int BruceFs::Open(fuse_ino_t ino, int flags, bool* keep_cache) {
  Target t;
  if (int err = Resolve(ino, &t)) return err;
  if (t.view == InodeTable::kSnapDirView) return EISDIR;
  const bool writes = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
  if (writes && (t.view != InodeTable::kLiveView || opt_.read_only)) return EROFS;
  GroupLock l(this);
  FsTree* tree;
  Node n;
  if (int err = StatExisting(t, &tree, &n)) return err;
  if (n.kind == Kind::kDir) return EISDIR;
  if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY && n.size > 0) {
    FS_TRY(tree->main()->Truncate(t.path, 0));
    n.attr.mtime_ns = n.attr.ctime_ns = NowNs();
    FS_TRY(tree->PutRecord(t.path, n.attr));
    Dirty(256);
  }
  // Every change reaches the store through this kernel, so its page cache
  // stays right across opens.
  *keep_cache = true;
  return 0;
}

int BruceFs::Read(fuse_ino_t ino, size_t size, off_t off, std::string* out) {
  Target t;
  if (int err = Resolve(ino, &t)) return err;
  if (off < 0) return EINVAL;
  GroupLock l(this);
  FsTree* tree = Tree(t.view);
  if (tree == nullptr) return ESTALE;
  FS_TRY(tree->main()->ReadAt(t.path, static_cast<uint64_t>(off), size, out));
  return 0;
}

int BruceFs::Write(fuse_ino_t ino, int flags, const char* buf, size_t size, off_t off) {
  Target t;
  if (int err = Resolve(ino, &t)) return err;
  if (t.view != InodeTable::kLiveView || opt_.read_only) return EROFS;
  if (off < 0) return EINVAL;
  GroupLock l(this);
  FsTree* tree = LiveTree();
  uint64_t at = static_cast<uint64_t>(off);
  if (flags & O_APPEND) {
    FS_ASSIGN(at, tree->main()->ValueSize(t.path));
  }
  if (at + size > bruce::kMaxValueBytes) return EFBIG;
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

int BruceFs::Lseek(fuse_ino_t ino, off_t off, int whence, off_t* out) {
  if (whence != SEEK_DATA && whence != SEEK_HOLE) return EINVAL;
  Target t;
  if (int err = Resolve(ino, &t)) return err;
  if (off < 0) return ENXIO;
  GroupLock l(this);
  FsTree* tree = Tree(t.view);
  if (tree == nullptr) return ESTALE;
  auto r = tree->main()->SeekData(t.path, static_cast<uint64_t>(off), whence == SEEK_HOLE);
  if (!r.ok()) return r.status().IsNotFound() ? ENXIO : ToErrno(r.status());
  *out = static_cast<off_t>(*r);
  return 0;
}

}  // namespace brucefs
