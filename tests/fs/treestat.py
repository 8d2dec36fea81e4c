#!/usr/bin/env python3
"""Prints one line per entry of a tree, sorted: path, type, mode, size,
mtime in ns, symlink target, xattrs (user.*) and a content digest, so two
trees compare with diff. Usage: treestat.py DIR"""
import hashlib
import os
import stat
import sys

root = sys.argv[1]
out = []
for dp, dn, fn in os.walk(root):
    for name in dn + fn + ([] if dp != root else ["."]):
        p = os.path.join(dp, name) if name != "." else root
        st = os.lstat(p)
        rel = os.path.relpath(p, root)
        kind = "l" if stat.S_ISLNK(st.st_mode) else "d" if stat.S_ISDIR(st.st_mode) else "f"
        line = [repr(rel), kind, oct(stat.S_IMODE(st.st_mode))]
        if kind == "f":
            h = hashlib.sha1()
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            line += [str(st.st_size), h.hexdigest()[:16]]
        if kind == "l":
            line.append(repr(os.readlink(p)))
        else:
            xs = sorted((x, os.getxattr(p, x, follow_symlinks=False).hex())
                        for x in os.listxattr(p, follow_symlinks=False) if x.startswith("user."))
            line.append(repr(xs))
        if kind != "l" and rel != ".":
            line.append(str(st.st_mtime_ns))
        out.append(" ".join(line))
print("\n".join(sorted(out)))
