#!/usr/bin/env python3
"""POSIX behaviour of a brucefs mount: every operation and its error cases.

Usage: posix_test.py MOUNTPOINT  (run as root on an empty mount)
Each check raises on a mismatch; the last line is "posix: N checks passed".
"""
import ctypes
import errno
import os
import random
import stat
import sys

MNT = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
checks = 0
SEED = int(os.environ.get("BRUCE_SEED", random.randrange(1 << 30)))
print(f"posix: seed {SEED} (BRUCE_SEED={SEED} replays)")
rng = random.Random(SEED)


def P(*parts):
    return os.path.join(MNT, *parts)


def check(cond, what):
    global checks
    if not cond:
        raise AssertionError(what)
    checks += 1


def expect_errno(code, fn, *args, **kw):
    global checks
    try:
        fn(*args, **kw)
    except OSError as e:
        if e.errno != code:
            raise AssertionError(f"{fn.__name__}{args}: errno {errno.errorcode.get(e.errno)}, "
                                 f"want {errno.errorcode[code]}")
        checks += 1
        return
    raise AssertionError(f"{fn.__name__}{args}: succeeded, want {errno.errorcode[code]}")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data, mode="wb"):
    with open(path, mode) as f:
        f.write(data)


def renameat2(a, b, flags):
    AT_FDCWD = -100
    r = libc.syscall(316, AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), flags)  # x86-64
    if r != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), a)


RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2


def utimensat(path, at, mt):
    ts = (Timespec * 2)(Timespec(*at), Timespec(*mt))
    if libc.utimensat(-100, path.encode(), ts, 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), path)


# ---- create, open, read, write ----
write(P("f"), b"hello")
check(read(P("f")) == b"hello", "read back")
expect_errno(errno.EEXIST, os.open, P("f"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
expect_errno(errno.ENOENT, os.open, P("missing"), os.O_RDONLY)
expect_errno(errno.ENOENT, os.open, P("nodir", "x"), os.O_CREAT | os.O_WRONLY)
expect_errno(errno.ENOTDIR, os.open, P("f", "x"), os.O_CREAT | os.O_WRONLY)
expect_errno(errno.EISDIR, os.open, MNT, os.O_WRONLY)
fd = os.open(P("f"), os.O_WRONLY | os.O_TRUNC)
os.close(fd)
check(os.stat(P("f")).st_size == 0, "O_TRUNC empties")

# random offsets against a model
model = bytearray()
fd = os.open(P("rand"), os.O_CREAT | os.O_RDWR, 0o600)
for _ in range(300):
    off = rng.randrange(0, 3 << 20)
    data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 5000)))
    os.pwrite(fd, data, off)
    if len(model) < off + len(data):
        model.extend(b"\0" * (off + len(data) - len(model)))
    model[off:off + len(data)] = data
    if rng.random() < 0.1:
        n = rng.randrange(0, len(model) + 10000)
        os.ftruncate(fd, n)
        model = model[:n] + b"\0" * max(0, n - len(model))
check(os.fstat(fd).st_size == len(model), "size after random writes")
check(os.pread(fd, len(model) + 10, 0) == bytes(model), "content after random writes")
os.close(fd)
check(read(P("rand")) == bytes(model), "content after reopen")

# sparse: a write far out leaves zeros
fd = os.open(P("sparse"), os.O_CREAT | os.O_WRONLY, 0o644)
os.pwrite(fd, b"end", 5 << 20)
os.close(fd)
s = read(P("sparse"))
check(len(s) == (5 << 20) + 3 and s[:5 << 20] == b"\0" * (5 << 20) and s.endswith(b"end"), "hole")
fd = os.open(P("sparse"), os.O_RDONLY)
check(os.lseek(fd, 0, os.SEEK_DATA) <= 5 << 20, "SEEK_DATA finds data")
check(os.lseek(fd, 5 << 20, os.SEEK_HOLE) == (5 << 20) + 3, "SEEK_HOLE at the end")
expect_errno(errno.ENXIO, os.lseek, fd, (5 << 20) + 100, os.SEEK_DATA)
os.close(fd)

# append
write(P("log"), b"a")
for i in range(5):
    write(P("log"), b"b", "ab")
fd = os.open(P("log"), os.O_WRONLY | os.O_APPEND)
os.write(fd, b"c")
os.close(fd)
check(read(P("log")) == b"abbbbbc", "appends")

# big writes (max_write 1 MiB) and reads
big = os.urandom(8 << 20)
write(P("big"), big)
check(read(P("big")) == big, "8 MiB round trip")

# ---- setattr: chmod, chown, truncate, utimens, on open handles too ----
os.chmod(P("f"), 0o4751)
check(stat.S_IMODE(os.stat(P("f")).st_mode) == 0o4751, "chmod")
os.chown(P("f"), 1234, 5678)
st = os.stat(P("f"))
check((st.st_uid, st.st_gid) == (1234, 5678), "chown")
os.truncate(P("f"), 10)
check(read(P("f")) == b"\0" * 10, "truncate grows with zeros")
os.utime(P("f"), ns=(1_000_000_123, 2_000_000_456))
st = os.stat(P("f"))
check((st.st_atime_ns, st.st_mtime_ns) == (1_000_000_123, 2_000_000_456), "utimes ns")
utimensat(P("f"), (0, UTIME_OMIT), (5, 7))
st = os.stat(P("f"))
check((st.st_atime_ns, st.st_mtime_ns) == (1_000_000_123, 5_000_000_007), "UTIME_OMIT")
utimensat(P("f"), (0, UTIME_NOW), (0, UTIME_OMIT))
st = os.stat(P("f"))
check(st.st_atime_ns > 1_600_000_000 * 10**9 and st.st_mtime_ns == 5_000_000_007, "UTIME_NOW")
ct = st.st_ctime_ns
fd = os.open(P("f"), os.O_RDWR)
os.ftruncate(fd, 3)
os.fchmod(fd, 0o600)
os.utime(fd, ns=(7, 8))
st = os.fstat(fd)
os.close(fd)
check(st.st_size == 3 and stat.S_IMODE(st.st_mode) == 0o600 and st.st_mtime_ns == 8, "fd setattr")
check(os.stat(P("f")).st_ctime_ns >= ct, "ctime moves")
expect_errno(errno.EISDIR, os.truncate, MNT, 0)

# ---- mkdir, rmdir, unlink ----
os.mkdir(P("d"), 0o750)
check(stat.S_IMODE(os.stat(P("d")).st_mode) == 0o750, "mkdir mode")
expect_errno(errno.EEXIST, os.mkdir, P("d"))
expect_errno(errno.EEXIST, os.mkdir, P("f"))
expect_errno(errno.ENOENT, os.mkdir, P("no", "such"))
write(P("d", "x"), b"x")
expect_errno(errno.ENOTEMPTY, os.rmdir, P("d"))
expect_errno(errno.ENOTDIR, os.rmdir, P("f"))
expect_errno(errno.EISDIR, os.unlink, P("d"))
expect_errno(errno.ENOENT, os.unlink, P("nothere"))
os.unlink(P("d", "x"))
check(os.path.isdir(P("d")) and os.listdir(P("d")) == [], "dir outlives its last file")
os.makedirs(P("deep", "a", "b", "c"))
check(os.path.isdir(P("deep", "a", "b", "c")), "makedirs")
os.rmdir(P("deep", "a", "b", "c"))
check(os.listdir(P("deep", "a", "b")) == [], "rmdir leaves the parent")
os.rmdir(P("d"))
check(not os.path.exists(P("d")), "rmdir")

# ---- rename ----
write(P("r1"), b"one")
write(P("r2"), b"two")
os.rename(P("r1"), P("r2"))
check(read(P("r2")) == b"one" and not os.path.exists(P("r1")), "rename over a file")
os.makedirs(P("rd", "sub"))
write(P("rd", "sub", "k"), b"k")
os.setxattr(P("rd", "sub", "k"), "user.tag", b"t")
os.rename(P("rd"), P("rd2"))
check(read(P("rd2", "sub", "k")) == b"k" and not os.path.exists(P("rd")), "rename a dir")
check(os.getxattr(P("rd2", "sub", "k"), "user.tag") == b"t", "xattrs move with a dir")
os.mkdir(P("empty"))
os.rename(P("rd2"), P("empty"))
check(os.path.exists(P("empty", "sub", "k")), "dir over an empty dir")
os.makedirs(P("full", "z"))
expect_errno(errno.ENOTEMPTY, os.rename, P("empty"), P("full"))
expect_errno(errno.ENOTDIR, os.rename, P("empty"), P("r2"))
expect_errno(errno.EISDIR, os.rename, P("r2"), P("full"))
expect_errno(errno.EINVAL, os.rename, P("empty"), P("empty", "sub", "in"))
expect_errno(errno.ENOENT, os.rename, P("nope"), P("nope2"))
write(P("n1"), b"1")
write(P("n2"), b"2")
expect_errno(errno.EEXIST, renameat2, P("n1"), P("n2"), RENAME_NOREPLACE)
renameat2(P("n1"), P("n3"), RENAME_NOREPLACE)
renameat2(P("n3"), P("n2"), RENAME_EXCHANGE)
check(read(P("n2")) == b"1" and read(P("n3")) == b"2", "exchange files")
renameat2(P("empty"), P("full"), RENAME_EXCHANGE)
check(os.path.exists(P("full", "sub", "k")) and os.path.isdir(P("empty", "z")), "exchange dirs")
renameat2(P("n2"), P("full"), RENAME_EXCHANGE)
check(os.path.isfile(P("full")) and os.path.exists(P("n2", "sub", "k")), "exchange file, dir")
expect_errno(errno.ENOENT, renameat2, P("n3"), P("absent"), RENAME_EXCHANGE)
ino = os.stat(P("n3")).st_ino
os.rename(P("n3"), P("n4"))
check(os.stat(P("n4")).st_ino == ino, "rename keeps st_ino")

# ---- symlinks ----
os.symlink("target/../f", P("ln"))
check(os.readlink(P("ln")) == "target/../f", "readlink")
check(stat.S_ISLNK(os.lstat(P("ln")).st_mode), "lstat symlink")
expect_errno(errno.EEXIST, os.symlink, "x", P("ln"))
expect_errno(errno.EINVAL, os.readlink, P("f"))
os.symlink("f", P("ln2"))
check(read(P("ln2")) == read(P("f")), "follow symlink")

# ---- hard links and special files (tests/fs/compare_test.py compares them with ext4) ----
os.link(P("f"), P("hard"))
check(os.stat(P("hard")).st_ino == os.stat(P("f")).st_ino and os.stat(P("f")).st_nlink == 2,
      "link: one inode, two names")
os.unlink(P("hard"))
check(os.stat(P("f")).st_nlink == 1, "unlink one name")
os.mkfifo(P("fifo"))
check(stat.S_ISFIFO(os.stat(P("fifo")).st_mode), "mkfifo")
os.unlink(P("fifo"))

# ---- xattrs ----
os.setxattr(P("f"), "user.a", b"1")
os.setxattr(P("f"), "trusted.b", b"\0binary\xff")
os.setxattr(P("f"), "security.c", b"")
check(sorted(os.listxattr(P("f"))) == ["security.c", "trusted.b", "user.a"], "listxattr")
check(os.getxattr(P("f"), "trusted.b") == b"\0binary\xff", "getxattr")
expect_errno(errno.EEXIST, os.setxattr, P("f"), "user.a", b"2", os.XATTR_CREATE)
expect_errno(errno.ENODATA, os.setxattr, P("f"), "user.z", b"2", os.XATTR_REPLACE)
os.setxattr(P("f"), "user.a", b"22", os.XATTR_REPLACE)
check(os.getxattr(P("f"), "user.a") == b"22", "replace xattr")
expect_errno(errno.ENODATA, os.getxattr, P("f"), "user.none")
os.removexattr(P("f"), "user.a")
expect_errno(errno.ENODATA, os.removexattr, P("f"), "user.a")
expect_errno(errno.EOPNOTSUPP, os.setxattr, P("f"), "system.other", b"x")
os.setxattr(MNT, "user.root", b"r")
check(os.getxattr(MNT, "user.root") == b"r", "xattr on the root")
os.mkdir(P("xd"))
os.setxattr(P("xd"), "user.d", b"d")
check(os.getxattr(P("xd"), "user.d") == b"d", "xattr on a dir")

# security.capability: brucefs keeps "no such xattr" per inode (the kernel
# asks before every write); setxattr and rename must forget it. A write
# drops file capabilities (the kernel asks, then removes them), so a stale
# answer shows as capabilities that survive a write or a getxattr that
# misses them. The value is what setcap cap_net_bind_service+ep writes.
CAP = bytes([1, 0, 0, 2, 0, 4, 0, 0]) + bytes(12)
write(P("cap"), b"one")                        # asks for it: none
expect_errno(errno.ENODATA, os.getxattr, P("cap"), "security.capability")
os.setxattr(P("cap"), "security.capability", CAP)
check(os.getxattr(P("cap"), "security.capability") == CAP, "capability set after a write")
write(P("cap"), b"two", "ab")                  # the kernel removes it
expect_errno(errno.ENODATA, os.getxattr, P("cap"), "security.capability")
write(P("cap2"), b"x")
os.setxattr(P("cap2"), "security.capability", CAP)
write(P("cap3"), b"y")                         # none, remembered
os.rename(P("cap2"), P("cap3"))
check(os.getxattr(P("cap3"), "security.capability") == CAP, "capability renamed over a file")
write(P("cap3"), b"z", "ab")
expect_errno(errno.ENODATA, os.getxattr, P("cap3"), "security.capability")

# ---- readdir: stable offsets under concurrent change ----
os.mkdir(P("many"))
names = [f"entry-{i:05d}-" + "x" * rng.randrange(0, 60) for i in range(3000)]
for n in names:
    write(P("many", n), b"")
os.sync()  # syncfs is not passed by libfuse 3.14; fsyncdir commits
fd = os.open(P("many"), os.O_RDONLY)
os.fsync(fd)
os.close(fd)
check(sorted(os.listdir(P("many"))) == sorted(names), "listing")
it = os.scandir(P("many"))
seen = [next(it).name for _ in range(1000)]
removed = set(rng.sample(names, 300))
for n in removed:
    os.unlink(P("many", n))
for i in range(300):
    write(P("many", f"new-{i}"), b"")
seen += [e.name for e in it]
it.close()
check(len(seen) == len(set(seen)), "no entry twice while the dir changes")
check(set(names) - removed <= set(seen), "no untouched entry skipped")
check(len(os.listdir(P("many"))) == 3000, "listing after changes")
# again with uncommitted changes: opendir seals them into its view
names = os.listdir(P("many"))
for i in range(500):
    write(P("many", f"late-{i}"), b"")
    names.append(f"late-{i}")
it = os.scandir(P("many"))
seen = [next(it).name for _ in range(1200)]
removed = set(rng.sample(names, 300))
for n in removed:
    os.unlink(P("many", n))
for i in range(300):
    write(P("many", f"newer-{i}"), b"")
seen += [e.name for e in it]
it.close()
check(len(seen) == len(set(seen)), "no entry twice (uncommitted changes at opendir)")
check(set(names) - removed <= set(seen), "no untouched entry skipped (uncommitted changes)")
check(sorted(os.listdir(P("many"))) == sorted((set(names) - removed) |
                                              {f"newer-{i}" for i in range(300)}),
      "listing after changes (uncommitted)")

# ---- odd names ----
odd = ["sp ace", "new\nline", "tab\t", "ünïcödé ☃", "50% off", "a%20b", "-dash", "x" * 255]
for n in odd:
    write(P(n), n.encode())
listing = set(os.listdir(MNT))
for n in odd:
    check(n in listing and read(P(n)) == n.encode(), f"odd name {n!r}")
expect_errno(errno.ENAMETOOLONG, write, P("y" * 256), b"")
expect_errno(errno.EINVAL, write, P("bad%25name"), b"")  # not a canonical name

# ---- statfs, access ----
sv = os.statvfs(MNT)
check(sv.f_bsize >= 4096 and sv.f_blocks > 0 and sv.f_bavail > 0 and sv.f_namemax == 255,
      "statfs")
check(sv.f_files >= sv.f_ffree, "statfs files")
check(os.access(P("f"), os.R_OK | os.W_OK), "access")
check(not os.access(P("f"), os.X_OK), "access X on a 0600 file")

# ---- .snapshots: hidden but reachable ----
check(".snapshots" not in os.listdir(MNT), ".snapshots hidden")
check(os.path.isdir(P(".snapshots")), ".snapshots reachable")
expect_errno(errno.EEXIST, os.mkdir, P(".snapshots"))

# ---- ownership: the caller's uid/gid, setgid directories ----
os.mkdir(P("shared"), 0o777)
os.chmod(P("shared"), 0o777)
os.mkdir(P("sgid"))
os.chown(P("sgid"), 0, 4444)
os.chmod(P("sgid"), 0o2777)
pid = os.fork()
if pid == 0:
    try:
        os.setgroups([])
        os.setgid(4321)
        os.setuid(4321)
        write(P("shared", "mine"), b"m")
        write(P("sgid", "inherits"), b"i")
        os.mkdir(P("sgid", "subdir"))
        try:
            os.chmod(P("f"), 0o777)
            os._exit(3)
        except PermissionError:
            pass
        os._exit(0)
    except Exception as e:  # noqa
        print("child:", e)
        os._exit(2)
_, status = os.waitpid(pid, 0)
check(os.waitstatus_to_exitcode(status) == 0, "unprivileged child ran")
st = os.stat(P("shared", "mine"))
check((st.st_uid, st.st_gid) == (4321, 4321), "owner is the caller")
check(os.stat(P("sgid", "inherits")).st_gid == 4444, "setgid dir gives its group")
st = os.stat(P("sgid", "subdir"))
check(st.st_gid == 4444 and st.st_mode & stat.S_ISGID, "setgid dir passes the bit on")

# ---- fsync, fdatasync ----
fd = os.open(P("f"), os.O_RDWR)
os.write(fd, b"synced")
os.fsync(fd)
os.fdatasync(fd)
os.close(fd)
check(read(P("f"))[:6] == b"synced", "fsync")

print(f"posix: {checks} checks passed")
