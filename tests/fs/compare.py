#!/usr/bin/env python3
"""Runs one scripted sequence of filesystem operations in a directory and
prints, per step, what it returned (a value or the errno's name) and the
state of the paths it names: type, mode, nlink, size, uid, gid, rdev,
which names share an inode, sparseness, xattrs and ACLs, whether mtime
moved. compare_test.sh runs it on a plain directory of the same disk and on
a brucefs mount and diffs the two outputs: brucefs behaves as ext4 does,
errno for errno. Usage: compare.py DIR (as root)."""
import ctypes
import errno
import mmap
import os
import socket
import stat
import struct
import sys

ROOT = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
OLD = 1_000_000_000_000_000_000  # an mtime to set before a step, in ns
FALLOC_KEEP_SIZE, FALLOC_PUNCH_HOLE, FALLOC_ZERO_RANGE, FALLOC_UNSHARE = 1, 2, 0x10, 0x40
out = []


def P(p):
    return os.path.join(ROOT, p)


def fallocate(fd, mode, off, n):
    if libc.fallocate(fd, mode, off, n) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def acl(*entries):
    """The xattr bytes of an ACL: (tag, perm, id) triples."""
    b = struct.pack("<I", 2)
    for tag, perm, i in entries:
        b += struct.pack("<HHI", tag, perm, i)
    return b


UOBJ, USER, GOBJ, GROUP, MASK, OTHER = 1, 2, 4, 8, 0x10, 0x20
NOID = 0xFFFFFFFF


def describe(paths):
    groups = {}
    for p in paths:
        try:
            st = os.lstat(P(p))
            groups.setdefault(st.st_ino, []).append(p)
        except OSError:
            pass
    lines = []
    for p in paths:
        try:
            st = os.lstat(P(p))
        except OSError as e:
            lines.append(f"  {p}: {errno.errorcode[e.errno]}")
            continue
        kind = stat.S_IFMT(st.st_mode)
        f = [f"mode={st.st_mode:o}", f"nlink={st.st_nlink}", f"uid={st.st_uid}", f"gid={st.st_gid}"]
        if not stat.S_ISDIR(st.st_mode):
            f.append(f"size={st.st_size}")
        if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            f.append(f"rdev={os.major(st.st_rdev)},{os.minor(st.st_rdev)}")
        if stat.S_ISREG(st.st_mode) and st.st_size > 65536:
            f.append("sparse" if st.st_blocks * 512 < st.st_size else "dense")
        f.append("mtime=old" if st.st_mtime_ns == OLD else "mtime=new")
        f.append("same-inode-as=" + ",".join(sorted(q for q in groups.get(st.st_ino, []) if q != p)))
        if kind != stat.S_IFLNK:
            for x in sorted(os.listxattr(P(p), follow_symlinks=False)):
                f.append(f"{x}={os.getxattr(P(p), x, follow_symlinks=False).hex()}")
        lines.append(f"  {p}: " + " ".join(f))
    return lines


def step(name, fn, *paths):
    for p in paths:
        try:
            if not os.path.islink(P(p)):
                os.utime(P(p), ns=(OLD, OLD))
        except OSError:
            pass
    try:
        r = fn()
        res = "ok" if r is None else f"ok {r!r}"
    except OSError as e:
        res = errno.errorcode.get(e.errno, str(e.errno))
    out.append(f"{name}: {res}")
    out.extend(describe(paths))


def write(p, data, off=0):
    fd = os.open(P(p), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.pwrite(fd, data, off)
    finally:
        os.close(fd)


def read(p):
    with open(P(p), "rb") as f:
        return f.read()


os.umask(0o022)
# ---- hard links ----
step("create f", lambda: write("f", b"hello"), "f")
step("mkdir d", lambda: os.mkdir(P("d")), "d", ".")
step("link f g", lambda: os.link(P("f"), P("g")), "f", "g", ".")
step("link f d/h", lambda: os.link(P("f"), P("d/h")), "f", "g", "d/h", "d")
step("link onto a name", lambda: os.link(P("f"), P("g")), "f", "g")
step("link a directory", lambda: os.link(P("d"), P("d2")), "d")
step("link a missing file", lambda: os.link(P("nothing"), P("x")))
step("link into a missing dir", lambda: os.link(P("f"), P("none/x")))
step("write via g, read via f", lambda: (write("g", b"HELLO"), read("f"))[1], "f", "g")
step("rename onto another name of it", lambda: os.rename(P("g"), P("d/h")), "f", "g", "d/h")
step("rename the first name", lambda: os.rename(P("f"), P("k")), "f", "k", "g", "d/h")
step("unlink it", lambda: os.unlink(P("k")), "k", "g", "d/h")
step("read the rest", lambda: read("d/h"), "g", "d/h")
step("chmod through one name", lambda: os.chmod(P("d/h"), 0o600), "g", "d/h")
step("rename another file over one", lambda: (write("x", b"xx"), os.rename(P("x"), P("g")))[1],
     "x", "g", "d/h")
step("link again", lambda: os.link(P("d/h"), P("d/i")), "d/h", "d/i")
step("rename the directory", lambda: os.rename(P("d"), P("e")), "d", "e/h", "e/i")
step("write through the moved names", lambda: (write("e/i", b"!", 5), read("e/h"))[1], "e/h", "e/i")
step("scandir inode = stat inode", lambda: sorted(
    (e.name, e.inode() == os.stat(e.path).st_ino) for e in os.scandir(P("e"))))
step("unlink all names", lambda: (os.unlink(P("e/h")), os.unlink(P("e/i")))[0], "e/h", "e/i", "e")

# ---- special files ----
step("mkfifo", lambda: os.mkfifo(P("p"), 0o640), "p")
step("mknod char", lambda: os.mknod(P("c"), 0o600 | stat.S_IFCHR, os.makedev(1, 3)), "c")
step("mknod block", lambda: os.mknod(P("b"), 0o660 | stat.S_IFBLK, os.makedev(8, 1)), "b")
step("mknod on a name", lambda: os.mknod(P("b"), 0o660 | stat.S_IFBLK, os.makedev(8, 2)), "b")


def bind():
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(P("s"))
    finally:
        s.close()


step("bind a socket", bind, "s")
step("link a fifo", lambda: os.link(P("p"), P("p2")), "p", "p2")
step("unlink the first", lambda: os.unlink(P("p")), "p", "p2")
step("rename a device", lambda: os.rename(P("c"), P("c2")), "c", "c2")
step("open a fifo nonblocking", lambda: os.close(os.open(P("p2"), os.O_RDONLY | os.O_NONBLOCK)))
step("rename a socket over a fifo", lambda: os.rename(P("s"), P("p2")), "s", "p2")

# ---- directory link counts ----
step("mkdir a, a/b, a/c", lambda: [os.mkdir(P(x)) for x in ("a", "a/b", "a/c")] and None,
     "a", "a/b", ".")
step("a file in a", lambda: write("a/f", b""), "a")
step("rmdir a/c", lambda: os.rmdir(P("a/c")), "a")
step("rename a/b out", lambda: os.rename(P("a/b"), P("b2")), "a", "b2", ".")
step("rename a dir over an empty dir", lambda: os.rename(P("b2"), P("a/c2")) or
     (os.mkdir(P("z")), os.rename(P("a/c2"), P("z")))[1], "a", "z", ".")
step("rename over a non-empty dir", lambda: os.rename(P("z"), P("a")), "a", "z")
step("rmdir a non-empty dir", lambda: os.rmdir(P("a")), "a")

# ---- names ----
step("255-byte name", lambda: write("n" * 255, b"1"), "n" * 255)
step("256-byte name", lambda: write("n" * 256, b"1"))
step("link to a 256-byte name", lambda: os.link(P("n" * 255), P("m" * 256)), "n" * 255)

# ---- long paths ----
# Relative to a directory descriptor, so the paths' lengths are the same on
# both sides: PATH_MAX (4096 with the NUL) is the kernel's limit on a path
# string; below a directory descriptor a path may go deeper. The chain "lp"
# stays for compare_test.sh to read after a remount.
LONG = [f"{j:02d}" + "q" * 253 for j in range(31)]  # 255-byte names


def at(fn):
    try:
        r = fn()
        return "ok" if r is None else r
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def long_paths():
    root = os.open(ROOT, os.O_RDONLY | os.O_DIRECTORY)
    fds = [root]
    try:
        r = []
        rel = "lp"
        os.mkdir(rel, dir_fd=root)
        for c in LONG[:15]:
            rel += "/" + c
            r.append(at(lambda: os.mkdir(rel, dir_fd=root)))
        r.append(len(rel))
        f = rel + "/" + "f" * (4095 - len(rel) - 1)  # 4,095 bytes: the longest path string
        r.append(at(lambda: os.close(os.open(f, os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=root))))
        r.append(at(lambda: os.stat(f, dir_fd=root).st_size))
        g = rel + "/" + "g" * (4096 - len(rel) - 1)  # 4,096 bytes
        r.append(at(lambda: os.close(os.open(g, os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=root))))
        r.append(at(lambda: os.mkdir(g, dir_fd=root)))
        r.append(at(lambda: os.stat(g, dir_fd=root)))
        # deeper, one directory descriptor at a time: 7,700 bytes below ROOT
        fd = os.open(rel, os.O_RDONLY | os.O_DIRECTORY, dir_fd=root)
        fds.append(fd)
        for c in LONG[15:]:
            r.append(at(lambda: os.mkdir(c, 0o755, dir_fd=fd)))
            fd = os.open(c, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            fds.append(fd)
        leaf = os.open("deep", os.O_CREAT | os.O_RDWR, 0o600, dir_fd=fd)
        fds.append(leaf)
        os.pwrite(leaf, b"at the bottom" * 100, 0)
        r.append(os.pread(leaf, 13, 100 * 13 - 13))
        r.append(at(lambda: os.link("deep", "deep2", src_dir_fd=fd, dst_dir_fd=fd)))
        r.append(at(lambda: os.symlink("deep", "sym", dir_fd=fd)))
        r.append(at(lambda: os.rename("deep2", "deep3", src_dir_fd=fd, dst_dir_fd=fd)))
        r.append(sorted(os.listdir(fd)))
        r.append(at(lambda: os.stat("deep3", dir_fd=fd).st_nlink))
        # a rename near the top moves every long key below it
        r.append(at(lambda: os.rename("lp/" + LONG[0], "lp/moved", src_dir_fd=root, dst_dir_fd=root)))
        again = os.open("lp/moved", os.O_RDONLY | os.O_DIRECTORY, dir_fd=root)
        fds.append(again)
        for c in LONG[1:]:
            again = os.open(c, os.O_RDONLY | os.O_DIRECTORY, dir_fd=again)
            fds.append(again)
        r.append(at(lambda: os.stat("deep", dir_fd=again).st_size))
        r.append(at(lambda: os.readlink("sym", dir_fd=again)))
        r.append(at(lambda: os.unlink("deep3", dir_fd=again)))
        r.append(at(lambda: os.rmdir(LONG[-1], dir_fd=fds[-2])))  # not empty
        return r
    finally:
        for d in reversed(fds):
            os.close(d)


step("long paths", long_paths)


def rewind():
    os.mkdir(P("rw"))
    fd = os.open(P("rw"), os.O_RDONLY | os.O_DIRECTORY)
    try:
        r = [sorted(os.listdir(fd))]  # each listdir(fd) rewinds the stream
        write("rw/x", b"")
        r.append(sorted(os.listdir(fd)))
        os.rename(P("rw/x"), P("rw/y"))
        r.append(sorted(os.listdir(fd)))
        os.unlink(P("rw/y"))
        r.append(sorted(os.listdir(fd)))
        # renamed while open: the stream follows the directory, not its old
        # name (which a new directory takes)
        os.rename(P("rw"), P("rw2"))
        os.mkdir(P("rw"))
        write("rw/other", b"")
        write("rw2/z", b"")
        r.append(sorted(os.listdir(fd)))
        r.append(sorted(os.listdir(fd)))
        os.unlink(P("rw2/z"))
        r.append(sorted(os.listdir(fd)))
        return r
    finally:
        os.close(fd)


step("rewinddir shows the directory as it is now", rewind, "rw", "rw2")

# ---- files that outlive their names ----
def open_unlinked():
    fd = os.open(P("o"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.write(fd, b"abc" * 1000)
        os.unlink(P("o"))
        r = [os.fstat(fd).st_nlink, os.path.exists(P("o"))]
        os.pwrite(fd, b"XYZ", 9000)
        os.ftruncate(fd, 9001)
        os.fchmod(fd, 0o640)
        st = os.fstat(fd)
        r += [st.st_size, oct(st.st_mode), os.pread(fd, 10, 8995)]
        m = mmap.mmap(fd, 8192)
        m[4096:4100] = b"MMAP"
        m.flush()
        r += [m[0:6], os.pread(fd, 4, 4096)]
        m.close()
        fd2 = os.open(P("o2"), os.O_RDWR | os.O_CREAT, 0o600)
        os.write(fd2, b"second")
        os.rename(P("f2") if os.path.exists(P("f2")) else P("n" * 255), P("o2"))
        r += [os.pread(fd2, 10, 0), os.fstat(fd2).st_nlink, read("o2")]
        os.close(fd2)
        return r
    finally:
        os.close(fd)


step("unlink and rename over open files", open_unlinked, "o", "o2")

# ---- space: fallocate, holes ----
def falloc():
    fd = os.open(P("sp"), os.O_RDWR | os.O_CREAT, 0o644)
    r = []
    try:
        for mode, off, n in [(0, 0, 1 << 20), (FALLOC_KEEP_SIZE, 1 << 20, 1 << 20),
                             (FALLOC_PUNCH_HOLE, 0, 4096), (FALLOC_PUNCH_HOLE | FALLOC_KEEP_SIZE, 0, 4096),
                             (FALLOC_UNSHARE, 0, 4096), (0, -1, 10), (0, 0, 0)]:
            try:
                fallocate(fd, mode, off, n)
                r.append((mode, "ok", os.fstat(fd).st_size))
            except OSError as e:
                r.append((mode, errno.errorcode[e.errno]))
        os.pwrite(fd, b"\1" * 20000, 100000)
        fallocate(fd, FALLOC_PUNCH_HOLE | FALLOC_KEEP_SIZE, 101000, 8192)
        fallocate(fd, FALLOC_ZERO_RANGE, 2 << 20, 5000)
        data = os.pread(fd, 30000, 95000)
        r += [os.fstat(fd).st_size, data.count(b"\1"), data.find(b"\0", 5000)]
        return r
    finally:
        os.close(fd)


step("fallocate modes", falloc, "sp")


def sparse():
    fd = os.open(P("big"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.ftruncate(fd, 64 << 20)
        os.pwrite(fd, b"data" * 1024, 8 << 20)
        os.pwrite(fd, b"tail" * 1024, (64 << 20) - 4096)
        r = [os.lseek(fd, 0, os.SEEK_DATA), os.lseek(fd, 8 << 20, os.SEEK_HOLE),
             os.lseek(fd, (8 << 20) + 4096, os.SEEK_DATA)]
        try:
            os.lseek(fd, 64 << 20, os.SEEK_DATA)
        except OSError as e:
            r.append(errno.errorcode[e.errno])
        return r
    finally:
        os.close(fd)


step("a sparse file", sparse, "big")
step("truncate it up", lambda: os.truncate(P("big"), 1 << 30), "big")

# ---- ACLs ----
step("umask applies without a default ACL", lambda: (os.umask(0o027), write("u1", b""),
                                                     os.mkdir(P("ud"), 0o777), os.umask(0o022))[0],
     "u1", "ud")
step("set an access ACL", lambda: os.setxattr(P("u1"), "system.posix_acl_access",
                                               acl((UOBJ, 6, NOID), (USER, 4, 1234), (GOBJ, 4, NOID),
                                                   (MASK, 6, NOID), (OTHER, 0, NOID))), "u1")
step("chmod moves the mask", lambda: os.chmod(P("u1"), 0o604), "u1")
step("an ACL the mode says all of", lambda: os.setxattr(
    P("u1"), "system.posix_acl_access", acl((UOBJ, 7, NOID), (GOBJ, 5, NOID), (OTHER, 1, NOID))), "u1")
step("a default ACL on a file", lambda: os.setxattr(
    P("u1"), "system.posix_acl_default", acl((UOBJ, 7, NOID), (GOBJ, 5, NOID), (OTHER, 1, NOID))), "u1")
step("a malformed ACL", lambda: os.setxattr(P("u1"), "system.posix_acl_access", b"\2\0\0\0\1\0"), "u1")
step("a default ACL on a dir", lambda: os.setxattr(
    P("ud"), "system.posix_acl_default",
    acl((UOBJ, 7, NOID), (USER, 7, 1234), (GOBJ, 5, NOID), (MASK, 7, NOID), (OTHER, 0, NOID))), "ud")
step("files inherit it", lambda: (os.umask(0o077), write("ud/f", b""), os.mkdir(P("ud/sub"), 0o750),
                                  os.umask(0o022))[0], "ud/f", "ud/sub")
step("remove the default ACL", lambda: os.removexattr(P("ud"), "system.posix_acl_default"), "ud")
step("another system xattr", lambda: os.setxattr(P("u1"), "system.other", b"1"), "u1")
step("getxattr of a missing ACL", lambda: os.getxattr(P("ud"), "system.posix_acl_default"))

print("\n".join(out))
