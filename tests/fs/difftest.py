#!/usr/bin/env python3
"""Differential test: one seeded random sequence of namespace operations
(create, link, unlink, rename of files and directories over each other,
mkdir, rmdir, mkfifo, symlink, write, chmod, files kept open across unlink
and rename) runs in a directory and prints every result (or errno) and,
every 50 steps and at the end, the whole tree: paths, types, modes, nlink,
sizes, content digests and which names share an inode. compare_test.sh runs
it on a plain directory and on a brucefs mount and diffs the outputs.
Usage: difftest.py DIR SEED STEPS"""
import errno
import hashlib
import os
import random
import stat
import sys

ROOT, SEED, STEPS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(SEED)
NAMES = ["a", "b", "c", "d/a", "d/b", "d/e/a", "e", "e/a", "e/d", "d/e"]
fds = []
out = []


def P(p):
    return os.path.join(ROOT, p)


def tree():
    lines = []
    ino_names = {}
    entries = []
    for dp, dn, fn in os.walk(ROOT):
        for n in sorted(dn + fn):
            p = os.path.join(dp, n)
            st = os.lstat(p)
            rel = os.path.relpath(p, ROOT)
            entries.append((rel, st))
            ino_names.setdefault(st.st_ino, []).append(rel)
    for rel, st in sorted(entries):
        f = [rel, oct(st.st_mode), f"nlink={st.st_nlink}"]
        if stat.S_ISREG(st.st_mode):
            with open(P(rel), "rb") as fh:
                f.append(f"size={st.st_size} {hashlib.sha1(fh.read()).hexdigest()[:10]}")
        if stat.S_ISLNK(st.st_mode):
            f.append("-> " + os.readlink(P(rel)))
        if not stat.S_ISDIR(st.st_mode):
            f.append("with=" + ",".join(sorted(x for x in ino_names[st.st_ino] if x != rel)))
        lines.append("  " + " ".join(f))
    return lines


def run(i):
    a, b = rng.choice(NAMES), rng.choice(NAMES)
    op = rng.randrange(15)
    if op == 0:
        fd = os.open(P(a), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, f"{i}".encode())
        os.close(fd)
        return f"create {a}"
    if op in (1, 2):
        os.link(P(a), P(b))
        return f"link {a} {b}"
    if op == 3:
        os.unlink(P(a))
        return f"unlink {a}"
    if op in (4, 5):
        os.rename(P(a), P(b))
        return f"rename {a} {b}"
    if op == 6:
        os.mkdir(P(a), 0o755)
        return f"mkdir {a}"
    if op == 7:
        os.rmdir(P(a))
        return f"rmdir {a}"
    if op == 8:
        os.mkfifo(P(a), 0o600)
        return f"mkfifo {a}"
    if op == 9:
        os.symlink(b, P(a))
        return f"symlink {a}"
    if op == 10:
        fd = os.open(P(a), os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK)
        try:
            os.write(fd, f"+{i}".encode())
        finally:
            os.close(fd)
        return f"append {a}"
    if op == 11:
        os.chmod(P(a), rng.choice([0o600, 0o640, 0o755, 0o4755]), follow_symlinks=True)
        return f"chmod {a}"
    if op == 12 and len(fds) < 4:
        fds.append(os.open(P(a), os.O_RDWR | os.O_NONBLOCK))
        return f"open {a}"
    if op == 13 and fds:
        fd = fds[rng.randrange(len(fds))]
        os.pwrite(fd, f"<{i}>".encode(), rng.randrange(8))
        st = os.fstat(fd)
        return f"write open fd: nlink={st.st_nlink} size={st.st_size} {os.pread(fd, 64, 0)!r}"
    if op == 14 and fds:
        os.close(fds.pop(rng.randrange(len(fds))))
        return "close"
    return "skip"


for i in range(STEPS):
    try:
        what = run(i)
        out.append(f"{i}: {what}: ok")
    except OSError as e:
        out.append(f"{i}: {errno.errorcode.get(e.errno, e.errno)}")
    if i % 50 == 49:
        out.extend(tree())
for fd in fds:
    os.close(fd)
out.extend(tree())
print("\n".join(out))
