#!/usr/bin/env python3
"""fsx-style random operations on one file against an in-memory model:
read, write, mmap read and write, truncate, fallocate (reserve, keep size,
punch hole, zero range), copy_file_range from a second file and back (half
of them chunk-aligned on both sides, which brucefs shares instead of
copying, with writes to the second file in between), fsync; the file's
size, its bytes and SEEK_DATA/SEEK_HOLE are checked against the model after
every operation that changes them, and both files whole every 1,000.
Usage: fsx.py DIR OPS [SEED]. Prints the seed; exits non-zero on the first
mismatch, naming the operation and the log of the last 20."""
import ctypes
import mmap
import os
import random
import sys

DIR, OPS = sys.argv[1], int(sys.argv[2])
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else random.randrange(1 << 30)
print(f"fsx: seed {SEED}, {OPS} operations (BRUCE_SEED={SEED} replays)", flush=True)
rng = random.Random(SEED)
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
KEEP, PUNCH, ZERO = 1, 2, 0x10
MAXLEN = 1 << 20  # the file stays under this, so every op touches it
path, src = os.path.join(DIR, "fsx.data"), os.path.join(DIR, "fsx.src")
fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
sfd = os.open(src, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
SRCMAX = 1 << 18  # the second file stays under this
source = bytearray(rng.randrange(256) for _ in range(65536))
os.write(sfd, source)
model = bytearray()
log = []


def fail(what):
    sys.exit(f"fsx: FAIL at op {len(log)}: {what}\nlast operations:\n  " + "\n  ".join(log[-20:]))


def fallocate(mode, off, n):
    if libc.fallocate(fd, mode, off, n) != 0:
        fail(f"fallocate({mode}, {off}, {n}): {os.strerror(ctypes.get_errno())}")


def check_range(off, n):
    got = os.pread(fd, n, off)
    want = bytes(model[off:off + n])
    if got != want:
        i = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]), min(len(got), len(want)))
        fail(f"read {off}+{n}: {len(got)} bytes, want {len(want)}; first difference at {off + i}")


def check_source():
    got = os.pread(sfd, len(source) + 10, 0)
    if got != bytes(source):
        fail(f"the second file differs from its model ({len(got)} bytes, want {len(source)})")


def check_size():
    if os.fstat(fd).st_size != len(model):
        fail(f"size {os.fstat(fd).st_size}, want {len(model)}")


def rand_range():
    off = rng.randrange(MAXLEN)
    n = rng.choice([1, rng.randrange(1, 512), rng.randrange(1, 4096), rng.randrange(1, 65536)])
    return off, min(n, MAXLEN - off)


for i in range(OPS):
    op = rng.randrange(100)
    if op < 20:
        off, n = rand_range()
        log.append(f"read {off} {n}")
        check_range(off, n)
    elif op < 45:
        off, n = rand_range()
        data = bytes([rng.randrange(1, 256)]) * n if rng.random() < 0.5 else os.urandom(n)
        log.append(f"write {off} {n}")
        os.pwrite(fd, data, off)
        if len(model) < off:
            model.extend(bytes(off - len(model)))
        model[off:off + n] = data
    elif op < 55:
        if not model:
            continue
        off = rng.randrange(len(model))
        n = min(rng.randrange(1, 65536), len(model) - off)
        write = rng.random() < 0.5
        log.append(f"mmap {'write' if write else 'read'} {off} {n}")
        base = off & ~(mmap.PAGESIZE - 1)
        m = mmap.mmap(fd, off + n - base, offset=base)
        try:
            if write:
                data = os.urandom(n)
                m[off - base:off - base + n] = data
                model[off:off + n] = data
                m.flush()
            elif m[off - base:off - base + n] != bytes(model[off:off + n]):
                fail(f"mmap read {off}+{n} differs")
        finally:
            m.close()
    elif op < 65:
        size = rng.choice([0, rng.randrange(MAXLEN), rng.randrange(MAXLEN // 16)])
        log.append(f"truncate {size}")
        os.ftruncate(fd, size)
        model[:] = model[:size] + bytes(max(0, size - len(model)))
    elif op < 85:
        off, n = rand_range()
        mode = rng.choice([0, KEEP, PUNCH | KEEP, ZERO, ZERO | KEEP])
        log.append(f"fallocate {mode} {off} {n}")
        fallocate(mode, off, n)
        end = off + n
        if mode & (PUNCH | ZERO):
            lo, hi = min(off, len(model)), min(end, len(model))
            model[lo:hi] = bytes(hi - lo)
        if not mode & KEEP and end > len(model):
            model.extend(bytes(end - len(model)))
    elif op < 93:
        back = bool(model) and rng.random() < 0.25  # from the file into the second one
        frm, to = (model, source) if back else (source, model)
        ffd, tfd = (fd, sfd) if back else (sfd, fd)
        limit = (SRCMAX if back else MAXLEN) - 65536
        if rng.random() < 0.5:  # chunk-aligned on both sides
            soff = rng.randrange((len(frm) - 1) // 4096 + 1) * 4096
            off = rng.randrange(limit // 4096) * 4096
        else:
            soff, off = rng.randrange(len(frm)), rng.randrange(limit)
        n = rng.randrange(1, min(len(frm) - soff, 65536) + 1)
        log.append(f"copy_file_range {'file -> second' if back else 'second -> file'} {soff} {n} -> {off}")
        done = 0
        while done < n:
            r = os.copy_file_range(ffd, tfd, n - done, soff + done, off + done)
            if r <= 0:
                fail(f"copy_file_range returned {r}")
            done += r
        piece = frm[soff:soff + n]
        if len(to) < off:
            to.extend(bytes(off - len(to)))
        to[off:off + n] = piece
        if rng.random() < 0.3:  # then a write into the second file
            woff, data = rng.randrange(len(source)), rng.randbytes(rng.randrange(1, 8192))
            log.append(f"write second {woff} {len(data)}")
            os.pwrite(sfd, data, woff)
            if len(source) < woff:
                source.extend(bytes(woff - len(source)))
            source[woff:woff + len(data)] = data
    elif op < 96:
        log.append("fsync")
        os.fsync(fd)
    else:
        if not model:
            continue
        off = rng.randrange(len(model))
        log.append(f"seek data/hole {off}")
        try:
            d = os.lseek(fd, off, os.SEEK_DATA)
        except OSError:  # ENXIO: only holes from off to the end
            d = len(model)
        h = os.lseek(fd, off, os.SEEK_HOLE)
        # Whatever lies between off and the next data is zeros, the data
        # offset is not past the hole's, and a hole offset is in the file.
        if not (off <= d <= len(model) and off <= h <= len(model)):
            fail(f"SEEK_DATA {d} SEEK_HOLE {h} from {off} in {len(model)}")
        if any(model[off:d]):
            fail(f"SEEK_DATA from {off} skipped data before {d}")
    check_size()
    if i % 1000 == 999:
        check_range(0, len(model) + 10)
        check_source()
check_range(0, len(model) + 10)
check_source()
os.close(fd)
os.close(sfd)
print(f"fsx: {OPS} operations match the model")
