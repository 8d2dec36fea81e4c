#!/usr/bin/env python3
"""Special-file tree for tree_test.sh, in two modes:

  treegen_special.py gen DIR SEED   makes a small tree (~300 entries) in DIR:
      directories several levels deep (setgid, sticky, setuid bits, odd
      modes, owners), regular files with random content, hard-link sets of
      2-4 names (across directories; also a FIFO, a device and a symlink with
      two names), FIFOs, UNIX sockets, char and block devices, symlinks
      (dangling too), user.* xattrs, access and default POSIX ACLs, distinct
      past ns mtimes, a 64 MiB sparse file, a 255-byte name and a 4,000-byte
      path. Must run as
      root (mknod, chown). The same seed gives the same tree.
  treegen_special.py stat DIR       prints one sorted line per entry: path,
      type, mode, uid, gid, nlink, size, mtime_ns, rdev, symlink target,
      content sha1, user.* xattrs, ACLs (as text) and the link group (the
      sorted paths sharing the st_ino, for nlink > 1), so that two trees
      compare with diff without comparing inode numbers.

The ACLs are written as system.posix_acl_* xattrs directly (the kernel's
posix_acl_xattr format), so setfacl is not needed.
"""
import hashlib
import os
import random
import socket
import stat
import struct
import sys

SPARSE = "sparse.img"  # the sparse file's path in the tree

# --- POSIX ACLs in the xattr format: u32 version 2, then (u16 tag, u16 perm,
# u32 id) entries sorted by tag then id.
USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER = 1, 2, 4, 8, 0x10, 0x20
TAGS = {USER_OBJ: "u:", USER: "u:", GROUP_OBJ: "g:", GROUP: "g:", MASK: "m:", OTHER: "o:"}


def acl_encode(entries):
    out = struct.pack("<I", 2)
    for tag, perm, ident in sorted(entries):
        out += struct.pack("<HHI", tag, perm, ident if tag in (USER, GROUP) else 0xFFFFFFFF)
    return out


def acl_text(value):
    if len(value) < 4 or (len(value) - 4) % 8:
        return "bad:" + value.hex()
    (version,) = struct.unpack_from("<I", value)
    parts = [f"v{version}"] if version != 2 else []
    for off in range(4, len(value), 8):
        tag, perm, ident = struct.unpack_from("<HHI", value, off)
        who = str(ident) if tag in (USER, GROUP) else ""
        rwx = "".join(c if perm & b else "-" for c, b in (("r", 4), ("w", 2), ("x", 1)))
        parts.append(TAGS.get(tag, f"?{tag}:") + who + ":" + rwx)
    return ",".join(parts)


def set_acl(path, named, xattr):
    """Like setfacl -m NAMED (xattr system.posix_acl_access), or setfacl -d
    -m NAMED on a directory without a default ACL (system.posix_acl_default):
    the owner/group/other entries from the mode, the named entries, and the
    mask as the union of the group class."""
    m = stat.S_IMODE(os.lstat(path).st_mode)
    ents = [(USER_OBJ, (m >> 6) & 7, 0), (GROUP_OBJ, (m >> 3) & 7, 0), (OTHER, m & 7, 0)]
    mask = (m >> 3) & 7
    for tag, perm, ident in named:
        ents.append((tag, perm, ident))
        mask |= perm
    ents.append((MASK, mask, 0))
    os.setxattr(path, xattr, acl_encode(ents))


def set_access_acl(path, named):
    set_acl(path, named, "system.posix_acl_access")


def set_default_acl(path, named):
    set_acl(path, named, "system.posix_acl_default")


def gen(root, seed):
    rng = random.Random(seed)
    root = os.path.abspath(root)
    os.umask(0o022)
    os.makedirs(root)
    J = lambda rel: os.path.join(root, rel)
    used_ns = set()

    def past_ns():
        while True:
            ns = rng.randrange(10**17, 16 * 10**17)  # 1973 .. 2020
            if ns not in used_ns:
                used_ns.add(ns)
                return ns

    dirs = [""]          # relative paths; "" is the root
    files = []           # regular files (one name per inode)
    others = []          # every non-directory name (for owners and mtimes)
    linked = []          # names of hard-link sets (owners and modes per inode)

    # directories, up to 6 levels deep
    for i in range(36):
        parent = rng.choice([d for d in dirs if d.count("/") < 5])
        d = os.path.join(parent, f"d{i}")
        os.mkdir(J(d))
        dirs.append(d)
    chain = "deep"
    os.mkdir(J(chain))
    dirs.append(chain)
    for j in range(7):
        chain = os.path.join(chain, f"l{j}")
        os.mkdir(J(chain))
        dirs.append(chain)
    for i in range(4):
        d = os.path.join(rng.choice(dirs), f"empty{i}")
        os.mkdir(J(d))
        dirs.append(d)
    # default ACLs on some directories before their content is made, so the
    # files made in them inherit ACLs too
    acl_dirs = rng.sample(dirs[1:], 5)
    for d in acl_dirs:
        set_default_acl(J(d), [(USER, 7, 1234)] + ([(GROUP, 5, 4321)] if rng.random() < 0.5 else []))

    # regular files
    sizes = [0, 1, 17, 4095, 4096, 4097, 65536, 100003]
    for i in range(150):
        rel = os.path.join(rng.choice(dirs), f"f{i}")
        n = rng.choice(sizes) if i < len(sizes) * 2 else rng.randrange(0, 20000)
        with open(J(rel), "wb") as f:
            f.write(rng.randbytes(n))
        files.append(rel)
    long_name = ("é" * 127) + "x"  # 255 bytes in UTF-8
    assert len(long_name.encode()) == 255
    rel = os.path.join(rng.choice(dirs[1:]), long_name)
    with open(J(rel), "wb") as f:
        f.write(rng.randbytes(333))
    files.append(rel)
    # a path of 4,000 bytes: 15 directories of 255-byte names and a file
    # (not in `dirs`: nothing else goes below them)
    long_dir = "/".join(f"{j:02d}" + "L" * 253 for j in range(15))
    os.makedirs(J(long_dir))
    long_dirs = [long_dir[:i] for i in range(len(long_dir) + 1)
                 if i == len(long_dir) or long_dir[i] == "/"]
    long_file = os.path.join(long_dir, "F" * (4000 - len(long_dir) - 1))
    assert len(long_file.encode()) == 4000
    with open(J(long_file), "wb") as f:
        f.write(rng.randbytes(5000))
    files.append(long_file)
    # the sparse file: 64 MiB, a few 4 KiB chunks at scattered offsets
    with open(J(SPARSE), "wb") as f:
        for off in sorted(rng.sample(range(1, 16383), 6)):
            f.seek(off * 4096)
            f.write(rng.randbytes(4096))
        f.truncate(64 << 20)
    files.append(SPARSE)

    # hard-link sets of 2-4 names, most across directories
    for i in range(16):
        first = os.path.join(rng.choice(dirs), f"hl{i}.0")
        with open(J(first), "wb") as f:
            f.write(rng.randbytes(rng.randrange(0, 9000)))
        names = [first]
        for k in range(1, rng.randrange(2, 5)):
            other = os.path.join(rng.choice(dirs), f"hl{i}.{k}")
            os.link(J(first), J(other))
            names.append(other)
        linked.append(names)

    # FIFOs, sockets, devices, symlinks
    specials = []
    for i in range(8):
        rel = os.path.join(rng.choice(dirs), f"fifo{i}")
        os.mkfifo(J(rel))
        specials.append(rel)
    cwd = os.getcwd()
    for i in range(6):
        rel = os.path.join(rng.choice(dirs), f"sock{i}")
        os.chdir(os.path.dirname(J(rel)))  # a short path for bind()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(os.path.basename(rel))
        s.close()
        specials.append(rel)
    os.chdir(cwd)
    devs = [(stat.S_IFCHR, 1, 3), (stat.S_IFCHR, 4, 64), (stat.S_IFCHR, 136, 5),
            (stat.S_IFCHR, 10, 200), (stat.S_IFCHR, 511, 1048575), (stat.S_IFCHR, 0, 0),
            (stat.S_IFBLK, 8, 1), (stat.S_IFBLK, 7, 0), (stat.S_IFBLK, 259, 70000),
            (stat.S_IFBLK, 4095, 255)]
    for i, (kind, major, minor) in enumerate(devs):
        rel = os.path.join(rng.choice(dirs), f"{'chr' if kind == stat.S_IFCHR else 'blk'}{i}")
        os.mknod(J(rel), kind | 0o644, os.makedev(major, minor))
        specials.append(rel)
    # a FIFO, a char device and a symlink with two names each
    for kind, rel in (("fifo", "hlfifo.0"), ("chr", "hlchr.0"), ("sym", "hlsym.0")):
        rel = os.path.join(rng.choice(dirs), rel)
        if kind == "fifo":
            os.mkfifo(J(rel))
        elif kind == "chr":
            os.mknod(J(rel), stat.S_IFCHR | 0o600, os.makedev(13, 37))
        else:
            os.symlink("target/of/a/linked/symlink", J(rel))
        other = os.path.join(rng.choice(dirs), rel.rsplit("/", 1)[-1][:-2] + ".1")
        os.link(J(rel), J(other), follow_symlinks=False)
        linked.append([rel, other])
    symlinks = []
    for i in range(25):
        d = rng.choice(dirs)
        rel = os.path.join(d, f"sym{i}")
        r = rng.random()
        if r < 0.4:
            target = os.path.relpath(J(rng.choice(files)), J(d))
        elif r < 0.55:
            target = os.path.relpath(J(rng.choice(dirs)), J(d)) + "/"
        elif r < 0.75:
            target = f"dangling/nowhere{i}"
        elif r < 0.85:
            target = "/etc/passwd"
        else:
            target = "x" * rng.randrange(1, 300)  # dangling, long
        os.symlink(target, J(rel))
        symlinks.append(rel)

    # owners, then modes (chown clears setuid/setgid), then ACLs
    owners = [(0, 0), (1000, 1000), (1234, 4321), (65534, 65534), (0, 100), (2**31, 7)]
    file_modes = [0o644, 0o600, 0o640, 0o751, 0o755, 0o444, 0o4755, 0o2755, 0o6711, 0o1644,
                  0o000, 0o777, 0o2640, 0o4711]
    dir_modes = [0o755, 0o700, 0o2775, 0o1777, 0o3770, 0o751, 0o555, 0o4755, 0o2750, 0o711]
    special_modes = [0o644, 0o600, 0o666, 0o620, 0o640, 0o000, 0o4600, 0o1666, 0o2660]
    for rel in files:
        os.chown(J(rel), *rng.choice(owners))
        os.chmod(J(rel), rng.choice(file_modes))
    for rel in specials:
        os.chown(J(rel), *rng.choice(owners))
        os.chmod(J(rel), rng.choice(special_modes))
    for names in linked:
        os.chown(J(names[0]), *rng.choice(owners), follow_symlinks=False)
        if not os.path.islink(J(names[0])):
            os.chmod(J(names[0]), rng.choice(file_modes))
    for rel in symlinks:
        os.chown(J(rel), *rng.choice(owners), follow_symlinks=False)
    for d in dirs[1:]:
        os.chown(J(d), *rng.choice(owners))
        os.chmod(J(d), rng.choice(dir_modes))
    os.chmod(root, 0o755)
    # a few fixed ones the test relies on
    os.chmod(J(files[0]), 0o751)
    os.chmod(J(files[1]), 0o640)
    # access ACLs on some files, linked files and directories
    acl_targets = rng.sample(files, 12) + [n[0] for n in linked[:3]] + rng.sample(dirs[1:], 5)
    for rel in acl_targets:
        st = os.lstat(J(rel))
        if stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX:
            # rsync (3.5.0 at least) gets it wrong even ext4 to ext4: a
            # sticky, group-writable directory's g:: entry arrives as ---
            continue
        named = [(USER, 6, 1234), (GROUP, 4, 4321)]
        if rng.random() < 0.3:
            named.append((USER, 1, 77))
        set_access_acl(J(rel), named)

    # user.* xattrs on files and directories
    for rel in rng.sample(files, 30) + [n[0] for n in linked[3:8]] + rng.sample(dirs, 8):
        for k in range(rng.randrange(1, 4)):
            # (ext4 wants all of a file's xattrs in one 4 KiB block)
            v = rng.choice([b"", b"v", rng.randbytes(rng.randrange(1, 64)),
                            rng.randbytes(1000 if k == 0 else 100)])
            os.setxattr(J(rel), f"user.k{k}", v)
    os.setxattr(J(files[2]), "user." + "n" * 200, b"long name")

    # distinct past mtimes (and atimes); directories last, deepest first
    for rel in files + specials + [n[0] for n in linked] + symlinks:
        ns = past_ns()
        os.utime(J(rel), ns=(past_ns(), ns), follow_symlinks=False)
    for d in sorted(dirs + long_dirs, key=lambda d: -d.count("/") if d else 1):
        ns = past_ns()
        os.utime(J(d) if d else root, ns=(past_ns(), ns))

    count = sum(len(dn) + len(fn) for _, dn, fn in os.walk(root))
    print(f"treegen_special: {count} entries in {root}")


KINDS = [(stat.S_ISREG, "f"), (stat.S_ISDIR, "d"), (stat.S_ISLNK, "l"), (stat.S_ISFIFO, "p"),
         (stat.S_ISSOCK, "s"), (stat.S_ISCHR, "c"), (stat.S_ISBLK, "b")]


def getx(path, name):
    try:
        return os.getxattr(path, name, follow_symlinks=False)
    except OSError:
        return None


def stat_tree(root):
    entries = {}
    for dp, dn, fn in os.walk(root):
        for name in dn + fn + ([] if dp != root else ["."]):
            p = os.path.join(dp, name) if name != "." else root
            entries[os.path.relpath(p, root)] = (p, os.lstat(p))
    groups = {}
    for rel, (p, st) in entries.items():
        if not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1:
            groups.setdefault((st.st_dev, st.st_ino), []).append(rel)
    out = []
    for rel, (p, st) in entries.items():
        kind = next(k for f, k in KINDS if f(st.st_mode))
        line = [repr(rel), kind, oct(stat.S_IMODE(st.st_mode)), f"uid={st.st_uid}",
                f"gid={st.st_gid}", f"nlink={st.st_nlink}"]
        if kind in "fl":
            line.append(f"size={st.st_size}")
        line.append(f"mtime={st.st_mtime_ns}")
        if kind in "cb":
            line.append(f"rdev={os.major(st.st_rdev)},{os.minor(st.st_rdev)}")
        if kind == "l":
            line.append("->" + repr(os.readlink(p)))
        if kind == "f":
            h = hashlib.sha1()
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            line.append(h.hexdigest())
        if kind in "fd":
            xs = sorted((x, os.getxattr(p, x, follow_symlinks=False).hex())
                        for x in os.listxattr(p, follow_symlinks=False) if x.startswith("user."))
            if xs:
                line.append("xattrs=" + repr(xs))
        if kind != "l":
            for short, name in (("acl", "system.posix_acl_access"),
                                ("dacl", "system.posix_acl_default")):
                v = getx(p, name)
                if v is not None:
                    line.append(f"{short}={acl_text(v)}")
        if not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1:
            line.append("group=" + repr(sorted(groups[(st.st_dev, st.st_ino)])))
        out.append(" ".join(line))
    print("\n".join(sorted(out)))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "gen":
        gen(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 3 and sys.argv[1] == "stat":
        stat_tree(sys.argv[2])
    else:
        sys.exit(__doc__)
