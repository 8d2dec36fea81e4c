#!/usr/bin/env python3
"""Writes files into a brucefs mount until it dies (the daemon is killed):
crash_writer.py MNT LOG SEED

sync/fN: written, fsync'ed, then N is appended to LOG (outside the mount)
bulk/gN: written in pieces without fsync
The content of each file is content(kind, N), so a checker can tell intact,
missing and half-written files apart."""
import os
import random
import sys


def content(kind, n):
    r = random.Random(f"{kind}{n}")
    return r.randbytes(r.randrange(1, 300000))


if __name__ == "__main__":
    mnt, log, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = random.Random(seed)
    os.makedirs(os.path.join(mnt, "sync"), exist_ok=True)
    os.makedirs(os.path.join(mnt, "bulk"), exist_ok=True)
    lf = open(log, "a")
    n = 0
    try:
        while True:
            data = content("f", n)
            fd = os.open(os.path.join(mnt, "sync", f"f{n}"), os.O_CREAT | os.O_WRONLY | os.O_TRUNC)
            os.write(fd, data)
            os.fsync(fd)
            os.close(fd)
            lf.write(f"{n}\n")
            lf.flush()
            os.fsync(lf.fileno())
            for _ in range(rng.randrange(1, 4)):
                m = rng.randrange(1 << 20)
                data = content("g", m)
                with open(os.path.join(mnt, "bulk", f"g{m}"), "wb") as f:
                    for i in range(0, len(data), 65536):
                        f.write(data[i:i + 65536])
            n += 1
    except OSError:
        pass  # the daemon is gone
