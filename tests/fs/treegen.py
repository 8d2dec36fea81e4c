#!/usr/bin/env python3
"""Generates a test tree: treegen.py DIR SEED [SMALL_FILES] [BIG_MB]

Nested and empty directories, symlinks (relative, absolute, dangling), odd
but legal names, xattrs, a sparse file, a big file and many small files,
with assorted modes and nanosecond mtimes. The same seed gives the same tree.
"""
import os
import random
import sys

root, seed = sys.argv[1], int(sys.argv[2])
small = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
big_mb = int(sys.argv[4]) if len(sys.argv) > 4 else 200
rng = random.Random(seed)
os.makedirs(root, exist_ok=True)


def stamp(path, follow=True):
    ns = rng.randrange(10**17, 17 * 10**17)
    os.utime(path, ns=(ns, ns), follow_symlinks=follow)


def blob(n):
    return rng.randbytes(n)


files = []
# nested directories
dirs = [""]
for i in range(40):
    parent = rng.choice(dirs)
    d = os.path.join(parent, f"dir{i}")
    os.makedirs(os.path.join(root, d))
    dirs.append(d)
for i in range(8):
    os.makedirs(os.path.join(root, rng.choice(dirs), f"empty{i}"))
os.makedirs(os.path.join(root, "deep/" + "/".join(f"l{j}" for j in range(20))))
# odd but legal names
odd = ["with space", "new\nline", "tab\tname", "ünïcödé-☃-名前", "50% off", "a%20b", "%",
       "-leading-dash", "trailing space ", "back\\slash", "quote'\"", "*?[glob]", "é" * 100,
       "x" * 255, ".hidden", "..dots", "%2E"]
for n in odd:
    p = os.path.join(root, "odd", n)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(blob(rng.randrange(0, 3000)))
    files.append(p)
os.makedirs(os.path.join(root, "odd", "dir with space", "%"))
# symlinks
os.symlink("../odd/with space", os.path.join(root, "dir0", "rel-link"))
os.symlink("/etc/hostname", os.path.join(root, "abs-link"))
os.symlink("does/not/exist", os.path.join(root, "dangling"))
os.symlink("dir1", os.path.join(root, "dir-link"))
# a sparse file: holes at the start and in the middle
sp = os.path.join(root, "sparse.img")
with open(sp, "wb") as f:
    f.seek(3 << 20)
    f.write(blob(4096))
    f.seek(9 << 20)
    f.write(blob(100))
files.append(sp)
# a big file
bp = os.path.join(root, "big.bin")
with open(bp, "wb") as f:
    chunk = blob(1 << 20)
    for i in range(big_mb):
        f.write(chunk[i % 4096:] + chunk[:i % 4096])
files.append(bp)
# many small files, 1,000 a directory
for i in range(small):
    d = os.path.join(root, "small", f"s{i // 1000:02d}")
    if i % 1000 == 0:
        os.makedirs(d)
    p = os.path.join(d, f"f{i:05d}.txt")
    with open(p, "wb") as f:
        f.write(blob(rng.randrange(0, 2048)))
    files.append(p)
# xattrs and modes on a sample
for p in rng.sample(files, min(200, len(files))):
    os.setxattr(p, "user.tag", blob(rng.randrange(0, 100)))
    if rng.random() < 0.3:
        os.setxattr(p, "user.other", b"value")
for p in files:
    os.chmod(p, rng.choice([0o644, 0o600, 0o755, 0o640, 0o444, 0o700, 0o4755, 0o2750]))
os.setxattr(os.path.join(root, "dir0"), "user.dirattr", b"d")
for p in files:
    stamp(p)
for link in ["dir0/rel-link", "abs-link", "dangling", "dir-link"]:
    stamp(os.path.join(root, link), follow=False)
for dp, dn, fn in sorted(os.walk(root), key=lambda t: -t[0].count("/")):
    os.chmod(dp, rng.choice([0o755, 0o750, 0o775, 0o2775]))
    stamp(dp)
print(f"treegen: seed {seed}, {len(files)} files")
