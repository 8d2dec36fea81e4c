#!/usr/bin/env python3
"""bench/fs/gen_tree.py — the benchmarks' tree of files.

    gen_tree.py ROOT N

Writes N files under ROOT: log-uniform sizes from 64 B to 64 KiB, about 50
to a directory, three levels deep (d*/e*/f*/fileNNNNN.c), the same bytes
for the same N on every run (seeded).
"""
import os
import random
import sys


def main():
    root, n = sys.argv[1], int(sys.argv[2])
    rng = random.Random(42)
    buf = rng.randbytes(1 << 17)
    for i in range(n):
        d = os.path.join(root, f"d{i // 2500}", f"e{i // 250 % 10}", f"f{i // 50 % 5}")
        if i % 50 == 0:
            os.makedirs(d, exist_ok=True)
        size = int(2 ** rng.uniform(6, 16))
        off = rng.randrange(0, len(buf) - size)
        with open(os.path.join(d, f"file{i:05d}.c"), "wb") as f:
            f.write(buf[off:off + size])


if __name__ == "__main__":
    main()
