// Operations on attributes: setattr, access, readlink, xattrs, statfs.
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>

#include "acl.h"
#include "brucefs.h"
#include "errno_map.h"

namespace brucefs {

using bruce::Status;

namespace {

int64_t Ns(const struct timespec& ts) { return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec; }

// Namespaces kept: user., trusted., security., and the two POSIX ACLs
// unless they are off (-o noacl).
bool XattrNameOk(std::string_view name, bool acl) {
  for (std::string_view p : {"user.", "trusted.", "security."}) {
    if (name.size() > p.size() && name.substr(0, p.size()) == p) return true;
  }
  return acl && (name == kAclAccess || name == kAclDefault);
}

constexpr size_t kXattrValueMax = 64 * 1024;

}  // namespace

int BruceFs::SetAttr(fuse_ino_t ino, const struct stat& in, int to_set, struct stat* out) {
  Target t;
  if (int err = Resolve(ino, &t)) return err;
  if (!Writable(t)) return EROFS;
  GroupLock l(this);
  FsTree* tree = WritableTree(t);
  if (tree == nullptr) return EROFS;  // the mount went read-only
  Node n;
  FS_TRY(tree->Stat(t.path, &n));
  if (n.kind == Kind::kNone) return ENOENT;
  const int64_t now = NowNs();
  Attr& a = n.attr;
  if (to_set & FUSE_SET_ATTR_MODE) {
    a.mode = in.st_mode & 07777;
    // The access ACL follows the mode (posix_acl_chmod).
    std::vector<AclEntry> acl;
    const std::string* v = a.FindXattr(kAclAccess);
    if (opt_.acl && v != nullptr && ParseAcl(*v, &acl)) {
      AclChmod(&acl, a.mode);
      a.SetXattr(kAclAccess, EncodeAcl(acl));
    }
  }
  if (to_set & FUSE_SET_ATTR_UID) a.uid = in.st_uid;
  if (to_set & FUSE_SET_ATTR_GID) a.gid = in.st_gid;
  if (to_set & FUSE_SET_ATTR_SIZE) {
    if (n.kind == Kind::kDir) return EISDIR;
    if (n.kind != Kind::kFile) return EINVAL;
    if (in.st_size < 0) return EINVAL;
    Touched(n.primary);
    Status s = tree->main()->Truncate(n.primary, static_cast<uint64_t>(in.st_size));
    if (s.code() == bruce::Code::kInvalidArgument) return EFBIG;
    FS_TRY(s);
    n.size = static_cast<uint64_t>(in.st_size);
    FS_ASSIGN(n.allocated, tree->main()->AllocatedBytes(n.primary));
    a.mtime_ns = now;
  }
  if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
    a.atime_ns = now;
  } else if (to_set & FUSE_SET_ATTR_ATIME) {
    a.atime_ns = Ns(in.st_atim);
  }
  if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
    a.mtime_ns = now;
  } else if (to_set & FUSE_SET_ATTR_MTIME) {
    a.mtime_ns = Ns(in.st_mtim);
  }
  a.ctime_ns = (to_set & FUSE_SET_ATTR_CTIME) ? Ns(in.st_ctim) : now;
  FS_TRY(tree->PutRecord(n.primary, a));
  Dirty(256);
  FillStat(t.view, tree, 0, ino, n, out);
  return 0;
}

int BruceFs::Access(const Caller& c, fuse_ino_t ino, int mask) {
  struct stat st;
  if (int err = GetAttr(ino, &st)) return err;
  if (mask == F_OK) return 0;
  Target t;
  if (int err = Resolve(ino, &t)) return err;
  if ((mask & W_OK) && (t.view != InodeTable::kLiveView || opt_.read_only)) return EROFS;
  if (c.uid == 0) {
    // root may do anything but execute a file no one may execute
    if ((mask & X_OK) && !S_ISDIR(st.st_mode) && !(st.st_mode & 0111)) return EACCES;
    return 0;
  }
  unsigned bits = st.st_mode & 07;
  if (c.uid == st.st_uid) {
    bits = (st.st_mode >> 6) & 07;
  } else if (c.gid == st.st_gid) {
    bits = (st.st_mode >> 3) & 07;
  }
  unsigned want = ((mask & R_OK) ? 4 : 0) | ((mask & W_OK) ? 2 : 0) | ((mask & X_OK) ? 1 : 0);
  return (bits & want) == want ? 0 : EACCES;
}

int BruceFs::Readlink(fuse_ino_t ino, std::string* target) {
  Target t;
  if (int err = Resolve(ino, &t)) return err;
  if (t.view == InodeTable::kSnapDirView) return EINVAL;
  Reading r(this, t);
  Node n;
  if (int err = r.Stat(&n)) return err;
  if (n.kind != Kind::kSymlink) return EINVAL;
  FS_TRY(r.tree()->main()->Get(t.path, target));
  return 0;
}

int BruceFs::SetXattr(fuse_ino_t ino, const char* name, const char* value, size_t size,
                      int flags) {
  Target t;
  if (int err = Resolve(ino, &t)) return err;
  if (!Writable(t)) return EROFS;
  if (!XattrNameOk(name, opt_.acl)) return EOPNOTSUPP;
  if (size > kXattrValueMax) return E2BIG;
  GroupLock l(this);
  FsTree* tree = WritableTree(t);
  if (tree == nullptr) return EROFS;  // the mount went read-only
  Node n;
  FS_TRY(tree->Stat(t.path, &n));
  if (n.kind == Kind::kNone) return ENOENT;
  bool exists = n.attr.FindXattr(name) != nullptr;
  if ((flags & XATTR_CREATE) && exists) return EEXIST;
  if ((flags & XATTR_REPLACE) && !exists) return ENODATA;
  std::string_view v(value, size);
  if (std::string_view(name) == kAclAccess || std::string_view(name) == kAclDefault) {
    std::vector<AclEntry> acl;
    if (!ParseAcl(v, &acl)) return EINVAL;
    if (std::string_view(name) == kAclDefault) {
      if (n.kind != Kind::kDir) return EACCES;
      n.attr.SetXattr(name, v);
    } else if (AclToMode(acl, &n.attr.mode)) {
      n.attr.SetXattr(name, v);
    } else {
      n.attr.RemoveXattr(name);  // the mode says it all, as on ext4
    }
  } else {
    n.attr.SetXattr(name, v);
  }
  n.attr.ctime_ns = NowNs();
  FS_TRY(tree->PutRecord(n.primary, n.attr));
  {
    // After PutRecord touched the path (see GetXattr).
    std::lock_guard<std::mutex> cl(caps_mu_);
    no_caps_.erase(ino);
  }
  Dirty(256 + size);
  return 0;
}

int BruceFs::GetXattr(fuse_ino_t ino, const char* name, std::string* value) {
  Target t;
  if (int err = Resolve(ino, &t)) return err;
  if (t.view == InodeTable::kSnapDirView) return ENODATA;
  if (!XattrNameOk(name, opt_.acl)) {
    return std::string_view(name).substr(0, 7) == "system." ? EOPNOTSUPP : ENODATA;
  }
  const bool caps =
      t.view == InodeTable::kLiveView && std::string_view(name) == "security.capability";
  if (caps) {
    std::lock_guard<std::mutex> cl(caps_mu_);
    if (no_caps_.count(ino) != 0) return ENODATA;
  }
  Reading r(this, t);
  Node n;
  if (int err = r.Stat(&n)) return err;
  const std::string* v = n.attr.FindXattr(name);
  if (v == nullptr) {
    // Kept only while true of the group: a setxattr meanwhile touched it.
    if (caps) {
      std::lock_guard<std::mutex> cl(caps_mu_);
      if (r.locked() || live_views_->Fresh(t.path, r.gen())) no_caps_.insert(ino);
    }
    return ENODATA;
  }
  *value = *v;
  return 0;
}

int BruceFs::ListXattr(fuse_ino_t ino, std::string* names) {
  Target t;
  if (int err = Resolve(ino, &t)) return err;
  names->clear();
  if (t.view == InodeTable::kSnapDirView) return 0;
  Reading r(this, t);
  Node n;
  if (int err = r.Stat(&n)) return err;
  for (const auto& [name, v] : n.attr.xattrs) {
    names->append(name);
    names->push_back('\0');
  }
  return 0;
}

int BruceFs::RemoveXattr(fuse_ino_t ino, const char* name) {
  Target t;
  if (int err = Resolve(ino, &t)) return err;
  if (!Writable(t)) return EROFS;
  if (!XattrNameOk(name, opt_.acl)) return EOPNOTSUPP;
  GroupLock l(this);
  FsTree* tree = WritableTree(t);
  if (tree == nullptr) return EROFS;  // the mount went read-only
  Node n;
  FS_TRY(tree->Stat(t.path, &n));
  if (n.kind == Kind::kNone) return ENOENT;
  if (!n.attr.RemoveXattr(name)) return ENODATA;
  n.attr.ctime_ns = NowNs();
  FS_TRY(tree->PutRecord(n.primary, n.attr));
  Dirty(256);
  return 0;
}

int BruceFs::StatFs(struct statvfs* st) {
  FS_ASSIGN(bruce::DbStats ds, db_->Stat());
  *st = {};
  const uint64_t page = ds.page_size ? ds.page_size : 4096;
  // The store grows into the free space of the disk under it.
  uint64_t host_free = 0;
  std::string dir = opt_.store_path;
  size_t slash = dir.rfind('/');
  dir = slash == std::string::npos ? "." : slash == 0 ? "/" : dir.substr(0, slash);
  struct statvfs host;
  if (statvfs(dir.c_str(), &host) == 0) host_free = uint64_t{host.f_bavail} * host.f_frsize / page;
  st->f_bsize = page;
  st->f_frsize = page;
  st->f_blocks = ds.total_pages + host_free;
  st->f_bfree = ds.free_pages + host_free;
  st->f_bavail = ds.free_pages + host_free;
  st->f_files = ds.main_keys + host_free;
  st->f_ffree = host_free;
  st->f_favail = host_free;
  st->f_namemax = 255;
  return 0;
}

}  // namespace brucefs
