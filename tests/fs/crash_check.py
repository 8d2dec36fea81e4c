#!/usr/bin/env python3
"""Checks a remounted store after crash_writer.py: crash_check.py MNT LOG SRC COPY
every fsync'ed file is intact; every other file is a prefix of what was
being written (nothing half-written into garbage); every file of the
interrupted `cp -a SRC COPY` is a prefix of its source."""
import os
import sys

from crash_writer import content

mnt, log, src, copy = sys.argv[1:5]
synced = [int(x) for x in open(log).read().split()]
for n in synced:
    p = os.path.join(mnt, "sync", f"f{n}")
    with open(p, "rb") as f:
        if f.read() != content("f", n):
            sys.exit(f"fsync'ed file sync/f{n} is not intact")
checked = 0
for kind, d in (("f", "sync"), ("g", "bulk")):
    for name in os.listdir(os.path.join(mnt, d)) if os.path.isdir(os.path.join(mnt, d)) else []:
        with open(os.path.join(mnt, d, name), "rb") as f:
            got = f.read()
        if not content(kind, int(name[1:])).startswith(got):
            sys.exit(f"{d}/{name}: content is not a prefix of what was written")
        checked += 1
copied = 0
for dp, dn, fn in os.walk(copy):
    for name in fn:
        p = os.path.join(dp, name)
        if os.path.islink(p):
            continue
        with open(p, "rb") as f, open(os.path.join(src, os.path.relpath(p, copy)), "rb") as g:
            a, b = f.read(), g.read()
        if not b.startswith(a):
            sys.exit(f"copied {p} is not a prefix of its source")
        copied += 1
print(f"crash: {len(synced)} fsync'ed files intact, {checked} files and {copied} copied files "
      f"consistent")
