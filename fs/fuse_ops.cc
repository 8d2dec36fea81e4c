#include "fuse_ops.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstring>

namespace brucefs {
namespace {

BruceFs* Fs(fuse_req_t req) { return static_cast<BruceFs*>(fuse_req_userdata(req)); }

Caller Who(fuse_req_t req) {
  const fuse_ctx* c = fuse_req_ctx(req);
  return Caller{static_cast<uint32_t>(c->uid), static_cast<uint32_t>(c->gid),
                static_cast<uint32_t>(c->umask)};
}

void ReplyEntry(fuse_req_t req, int err, const fuse_entry_param& e) {
  if (err) {
    fuse_reply_err(req, err);
  } else {
    fuse_reply_entry(req, &e);
  }
}

void Init(void* userdata, fuse_conn_info* conn) {
  auto* fs = static_cast<BruceFs*>(userdata);
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) conn->want |= FUSE_CAP_CACHE_SYMLINKS;
  // The kernel sends setattr to drop setuid on write and keeps no dirty
  // pages of its own (see docs/FS.md "Caching"). It applies the umask
  // unless ACLs are on: then a directory's default ACL replaces the umask,
  // and brucefs applies one or the other (fs/acl.h).
  conn->want &= ~(FUSE_CAP_DONT_MASK | FUSE_CAP_HANDLE_KILLPRIV | FUSE_CAP_WRITEBACK_CACHE);
  if (fs->options().acl && (conn->capable & FUSE_CAP_POSIX_ACL)) {
    conn->want |= FUSE_CAP_POSIX_ACL | FUSE_CAP_DONT_MASK;
  }
  // Lookups and listings of one directory may run at once (libfuse's
  // default, asked for explicitly): reads take no common lock.
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
  conn->max_write = 1u << 20;
  conn->max_readahead = 1u << 20;
}

void Destroy(void* userdata) {
  bruce::Status s = static_cast<BruceFs*>(userdata)->Shutdown();
  (void)s;  // logged by the commit
}

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  fuse_entry_param e{};
  int err = Fs(req)->Lookup(parent, name, &e);
  if (err == ENOENT) {
    // A negative entry: every change comes through this kernel, so it can
    // be cached as long as positive ones.
    e = {};
    e.entry_timeout = Fs(req)->options().timeout_s;
    fuse_reply_entry(req, &e);
    return;
  }
  ReplyEntry(req, err, e);
}

void Forget(fuse_req_t req, fuse_ino_t ino, uint64_t n) {
  Fs(req)->Forget(ino, n);
  fuse_reply_none(req);
}

void ForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  for (size_t i = 0; i < count; ++i) Fs(req)->Forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void GetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  (void)fi;
  struct stat st;
  int err = Fs(req)->GetAttr(ino, &st);
  if (err) {
    fuse_reply_err(req, err);
  } else {
    fuse_reply_attr(req, &st, Fs(req)->options().timeout_s);
  }
}

void SetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  (void)fi;  // the same on an open handle: attributes belong to the inode
  struct stat st;
  int err = Fs(req)->SetAttr(ino, *attr, to_set, &st);
  if (err) {
    fuse_reply_err(req, err);
  } else {
    fuse_reply_attr(req, &st, Fs(req)->options().timeout_s);
  }
}

void Readlink(fuse_req_t req, fuse_ino_t ino) {
  std::string target;
  int err = Fs(req)->Readlink(ino, &target);
  if (err) {
    fuse_reply_err(req, err);
  } else {
    fuse_reply_readlink(req, target.c_str());
  }
}

void Mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  fuse_entry_param e{};
  int err = Fs(req)->Mknod(Who(req), parent, name, mode, rdev, &e);
  ReplyEntry(req, err, e);
}

void Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  fuse_entry_param e{};
  int err = Fs(req)->Mkdir(Who(req), parent, name, mode, &e);
  ReplyEntry(req, err, e);
}

void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  fuse_reply_err(req, Fs(req)->Unlink(parent, name));
}

void Rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  fuse_reply_err(req, Fs(req)->Rmdir(parent, name));
}

void Symlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
  fuse_entry_param e{};
  int err = Fs(req)->Symlink(Who(req), link, parent, name, &e);
  ReplyEntry(req, err, e);
}

void Rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
            const char* newname, unsigned int flags) {
  fuse_reply_err(req, Fs(req)->Rename(parent, name, newparent, newname, flags));
}

void Link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  fuse_entry_param e{};
  int err = Fs(req)->Link(ino, newparent, newname, &e);
  ReplyEntry(req, err, e);
}

void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  bool keep = false;
  int err = Fs(req)->Open(ino, fi->flags, &keep);
  if (err) {
    fuse_reply_err(req, err);
    return;
  }
  fi->keep_cache = keep;
  fi->noflush = 1;  // Flush has nothing to do: no FLUSH at each close
  fi->fh = 0;
  // An interrupted open gets no RELEASE: end it here.
  if (fuse_reply_open(req, fi) != 0) Fs(req)->Release(ino);
}

void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
            fuse_file_info* fi) {
  fuse_entry_param e{};
  int err = Fs(req)->Create(Who(req), parent, name, mode, fi->flags, &e);
  if (err) {
    fuse_reply_err(req, err);
    return;
  }
  fi->keep_cache = 1;
  fi->noflush = 1;
  fi->fh = 0;
  if (fuse_reply_create(req, &e, fi) != 0) Fs(req)->Release(e.ino);
}

void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  (void)fi;
  bruce::PinnedValue data;
  int err = Fs(req)->Read(ino, size, off, &data);
  if (err) {
    fuse_reply_err(req, err);
  } else {
    fuse_reply_buf(req, data.data(), data.size());
  }
}

void Write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
           fuse_file_info* fi) {
  int err = Fs(req)->Write(ino, fi->flags, buf, size, off);
  if (err) {
    fuse_reply_err(req, err);
  } else {
    fuse_reply_write(req, size);
  }
}

// Not sent for handles opened here (noflush); kept for kernels that
// ignore FOPEN_NOFLUSH.
void Flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  (void)ino;
  (void)fi;
  fuse_reply_err(req, 0);
}

void Release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  (void)fi;
  Fs(req)->Release(ino);
  fuse_reply_err(req, 0);
}

void Fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
               fuse_file_info* fi) {
  (void)fi;
  fuse_reply_err(req, Fs(req)->Fallocate(ino, mode, off, len));
}

void Fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  (void)ino;
  (void)datasync;
  (void)fi;
  fuse_reply_err(req, Fs(req)->Fsync());
}

void OpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  uint64_t fh = 0;
  int err = Fs(req)->OpenDir(ino, &fh);
  if (err) {
    fuse_reply_err(req, err);
    return;
  }
  fi->fh = fh;
  // The kernel may keep a listing and serve it again (from its page cache)
  // until the directory changes: every change comes through it, which then
  // drops the listing, or through the control socket, which invalidates
  // the directories above what it changed. A read-only mount's store may
  // be written by another process: its listings are not kept.
  if (!Fs(req)->options().read_only) {
    fi->cache_readdir = 1;
    fi->keep_cache = 1;
  }
  // An interrupted opendir gets no RELEASEDIR: end it here.
  if (fuse_reply_open(req, fi) != 0) Fs(req)->ReleaseDir(fh);
}

void ReadDirAny(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi,
                bool plus) {
  std::string buf;
  int err = Fs(req)->ReadDir(req, ino, fi->fh, size, off, plus, &buf);
  if (err) {
    fuse_reply_err(req, err);
  } else {
    fuse_reply_buf(req, buf.data(), buf.size());
  }
}

void ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  ReadDirAny(req, ino, size, off, fi, false);
}

void ReadDirPlus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  ReadDirAny(req, ino, size, off, fi, true);
}

void ReleaseDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  (void)ino;
  Fs(req)->ReleaseDir(fi->fh);
  fuse_reply_err(req, 0);
}

void FsyncDir(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  Fsync(req, ino, datasync, fi);
}

void StatFs(fuse_req_t req, fuse_ino_t ino) {
  (void)ino;
  struct statvfs st;
  int err = Fs(req)->StatFs(&st);
  if (err) {
    fuse_reply_err(req, err);
  } else {
    fuse_reply_statfs(req, &st);
  }
}

void SetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
              int flags) {
  fuse_reply_err(req, Fs(req)->SetXattr(ino, name, value, size, flags));
}

// size 0 asks for the length; a buffer too small is ERANGE.
void ReplyXattr(fuse_req_t req, int err, const std::string& v, size_t size) {
  if (err) {
    fuse_reply_err(req, err);
  } else if (size == 0) {
    fuse_reply_xattr(req, v.size());
  } else if (v.size() > size) {
    fuse_reply_err(req, ERANGE);
  } else {
    fuse_reply_buf(req, v.data(), v.size());
  }
}

void GetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  std::string v;
  int err = Fs(req)->GetXattr(ino, name, &v);
  ReplyXattr(req, err, v, size);
}

void ListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  std::string v;
  int err = Fs(req)->ListXattr(ino, &v);
  ReplyXattr(req, err, v, size);
}

void RemoveXattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  fuse_reply_err(req, Fs(req)->RemoveXattr(ino, name));
}

void Access(fuse_req_t req, fuse_ino_t ino, int mask) {
  fuse_reply_err(req, Fs(req)->Access(Who(req), ino, mask));
}

void Lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info* fi) {
  (void)fi;
  off_t out = 0;
  int err = Fs(req)->Lseek(ino, off, whence, &out);
  if (err) {
    fuse_reply_err(req, err);
  } else {
    fuse_reply_lseek(req, out);
  }
}

void CopyFileRange(fuse_req_t req, fuse_ino_t ino_in, off_t off_in, fuse_file_info* fi_in,
                   fuse_ino_t ino_out, off_t off_out, fuse_file_info* fi_out, size_t len,
                   int flags) {
  (void)fi_in;
  (void)fi_out;
  size_t n = 0;
  int err = Fs(req)->CopyFileRange(ino_in, off_in, ino_out, off_out, len, flags, &n);
  if (err) {
    fuse_reply_err(req, err);
  } else {
    fuse_reply_write(req, n);
  }
}

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops ops;
  std::memset(&ops, 0, sizeof(ops));
  ops.init = Init;
  ops.destroy = Destroy;
  ops.lookup = Lookup;
  ops.forget = Forget;
  ops.forget_multi = ForgetMulti;
  ops.getattr = GetAttr;
  ops.setattr = SetAttr;
  ops.readlink = Readlink;
  ops.mknod = Mknod;
  ops.mkdir = Mkdir;
  ops.unlink = Unlink;
  ops.rmdir = Rmdir;
  ops.symlink = Symlink;
  ops.rename = Rename;
  ops.link = Link;
  ops.open = Open;
  ops.create = Create;
  ops.read = Read;
  ops.write = Write;
  ops.flush = Flush;
  ops.release = Release;
  ops.fsync = Fsync;
  ops.opendir = OpenDir;
  ops.readdir = ReadDir;
  ops.readdirplus = ReadDirPlus;
  ops.releasedir = ReleaseDir;
  ops.fsyncdir = FsyncDir;
  ops.statfs = StatFs;
  ops.setxattr = SetXattr;
  ops.getxattr = GetXattr;
  ops.listxattr = ListXattr;
  ops.removexattr = RemoveXattr;
  ops.access = Access;
  ops.lseek = Lseek;
  ops.copy_file_range = CopyFileRange;
  ops.fallocate = Fallocate;
  return ops;
}

}  // namespace

const fuse_lowlevel_ops* Operations() {
  static const fuse_lowlevel_ops ops = MakeOps();
  return &ops;
}

}  // namespace brucefs
