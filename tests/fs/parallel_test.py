#!/usr/bin/env python3
"""Readers beside a streaming writer on a real brucefs mount.

    parallel_test.py MOUNTPOINT SEED

One thread writes a 48 MiB file in 1 MiB writes with an fsync every 8 MiB,
and meanwhile renames a scratch file into a directory and out again.
Other threads, until the write is done:
  - read the files of files/ and check their bytes;
  - list files/ and lst/ and check the names (lst/ gains a file each step
    of the writer, and a listing must show every one made before it began);
  - read every file of the snapshot .snapshots/base and check its bytes.
Each must complete operations while the write is in flight; the counts are
printed. Exits 1 with a message on any wrong byte, listing or error.
"""
import os
import random
import sys
import threading


def content(name, size):
    rng = random.Random(name)
    return rng.randbytes(size)


def main():
    mnt, seed = sys.argv[1], int(sys.argv[2])
    rng = random.Random(seed)
    files = {f"f{i}": rng.randrange(100, 300_000) for i in range(12)}
    os.makedirs(os.path.join(mnt, "files"))
    os.makedirs(os.path.join(mnt, "lst"))
    for name, size in files.items():
        with open(os.path.join(mnt, "files", name), "wb") as f:
            f.write(content(name, size))
    os.mkdir(os.path.join(mnt, ".snapshots", "base"))

    errors = []
    done = threading.Event()
    made = [0]  # lst/ entries made so far (lst/e0 .. lst/e{made-1})
    counts = {"reads": 0, "listings": 0, "snapshot reads": 0}
    lock = threading.Lock()

    def count(k):
        with lock:
            counts[k] += 1

    def writer():
        try:
            block = content("big", 1 << 20)
            with open(os.path.join(mnt, "big"), "wb") as f:
                for i in range(48):
                    f.write(block)
                    if i % 8 == 7:
                        os.fsync(f.fileno())
                    with open(os.path.join(mnt, "lst", f"e{i}"), "wb") as e:
                        e.write(b"x")
                    made[0] = i + 1
                    scratch = os.path.join(mnt, "scratch")
                    with open(scratch, "wb") as s:
                        s.write(b"s" * 100)
                    os.rename(scratch, os.path.join(mnt, "lst", "moved"))
                    os.rename(os.path.join(mnt, "lst", "moved"), scratch)
            with open(os.path.join(mnt, "big"), "rb") as f:
                for i in range(48):
                    if f.read(1 << 20) != block:
                        errors.append(f"big: MiB {i} read back wrong")
                        break
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f"writer: {e!r}")
        finally:
            done.set()

    def reader(salt):
        r = random.Random(seed + salt)
        try:
            while not done.is_set():
                name = r.choice(list(files))
                with open(os.path.join(mnt, "files", name), "rb") as f:
                    if f.read() != content(name, files[name]):
                        errors.append(f"files/{name}: wrong bytes")
                        return
                count("reads")
        except Exception as e:  # noqa: BLE001
            errors.append(f"reader: {e!r}")

    def lister():
        try:
            while not done.is_set():
                if sorted(os.listdir(os.path.join(mnt, "files"))) != sorted(files):
                    errors.append("files/: wrong listing")
                    return
                before = made[0]
                names = set(os.listdir(os.path.join(mnt, "lst")))
                missing = [i for i in range(before) if f"e{i}" not in names]
                if missing:
                    errors.append(f"lst/: e{missing[0]} made before the listing is missing")
                    return
                count("listings")
        except Exception as e:  # noqa: BLE001
            errors.append(f"lister: {e!r}")

    def snapshot_reader():
        try:
            snap = os.path.join(mnt, ".snapshots", "base", "files")
            while not done.is_set():
                for name, size in files.items():
                    with open(os.path.join(snap, name), "rb") as f:
                        if f.read() != content(name, size):
                            errors.append(f"snapshot files/{name}: wrong bytes")
                            return
                count("snapshot reads")
        except Exception as e:  # noqa: BLE001
            errors.append(f"snapshot reader: {e!r}")

    threads = [threading.Thread(target=writer), threading.Thread(target=reader, args=(1,)),
               threading.Thread(target=reader, args=(2,)), threading.Thread(target=lister),
               threading.Thread(target=snapshot_reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("while the write ran: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    if errors:
        sys.exit("parallel: " + "; ".join(errors))
    stalled = [k for k, v in counts.items() if v == 0]
    if stalled:
        sys.exit("parallel: no " + ", ".join(stalled) + " completed while the write ran")


if __name__ == "__main__":
    main()
