#!/usr/bin/env python3
"""bench/fs/create_p99.py — latency of creating small files, alone or beside a load.

    create_p99.py DIR [--files N] [--during COMMAND...]

Creates files of 100 bytes in DIR (open O_CREAT|O_EXCL, write, close), one
after another, timing each, and prints the 50th and 99th percentiles in
milliseconds and how many files were made: "p50 0.210 p99 0.380 n 2000".
With --during, COMMAND runs meanwhile (started first) and files are made
for as long as it runs (at least 200); a failing COMMAND fails the script.
"""
import os
import subprocess
import sys
import time


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    root, rest = args[0], args[1:]
    files, during = 2000, None
    while rest:
        if rest[0] == "--files":
            files, rest = int(rest[1]), rest[2:]
        elif rest[0] == "--during":
            during, rest = rest[1:], []
        else:
            sys.exit(f"create_p99: unknown argument {rest[0]}")
    os.makedirs(root, exist_ok=True)
    data = b"x" * 100
    lat = []
    proc = subprocess.Popen(during) if during else None
    i = 0
    while True:
        if proc is not None:
            if proc.poll() is not None and i >= 200:
                break
        elif i >= files:
            break
        path = os.path.join(root, f"c{i:06d}")
        t0 = time.perf_counter()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, data)
        os.close(fd)
        lat.append(time.perf_counter() - t0)
        i += 1
    if proc is not None and proc.wait() != 0:
        sys.exit(f"create_p99: {' '.join(during)} failed")
    lat.sort()
    pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000
    print(f"p50 {pct(0.50):.3f} p99 {pct(0.99):.3f} n {len(lat)}")


if __name__ == "__main__":
    main()
