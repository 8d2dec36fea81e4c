#!/usr/bin/env python3
"""Read transactions beside a mounted store's writer, each checked whole.

  pair_reader.py BRUCE STORE SEED N

Runs N random read commands of the bruce CLI on STORE (each one read
transaction of its own, in a process of its own): dump, ls, count and get of
the keys p/<i>/a and p/<i>/b, which the writer only ever changes together.
Every command must succeed, and every dump must show each pair equal and
whole. Prints how many distinct commits (by the 'gen' key) it saw."""
import random
import subprocess
import sys

bruce, store, seed, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
gens = set()


def run(*args):
    p = subprocess.run([bruce, *args], capture_output=True)
    if p.returncode != 0:
        sys.exit(f"bruce {' '.join(args)} exited {p.returncode}: {p.stderr.decode().strip()}")
    return p.stdout.decode()


for _ in range(n):
    op = rng.choice(["dump", "ls", "count", "get"])
    if op == "dump":
        out = run("dump", store, "--prefix", "p/")
        pairs = {}
        for line in out.splitlines():
            key, value = line.split("\t", 1)
            pairs.setdefault(key.rsplit("/", 1)[0], {})[key.rsplit("/", 1)[1]] = value
        for k, v in pairs.items():
            if set(v) != {"a", "b"} or v["a"] != v["b"]:
                sys.exit(f"a torn pair {k}: {v}")
        gens.add(run("get", store, "gen"))
    elif op == "ls":
        keys = run("ls", store, "--prefix", "p/").split()
        if len(keys) % 2 != 0:
            sys.exit(f"ls: an odd number of pair keys ({len(keys)})")
    elif op == "count":
        c = int(run("count", store, "--prefix", "p/"))
        if c % 2 != 0:
            sys.exit(f"count: {c} pair keys")
    else:
        run("get", store, "gen")
print(f"{n} read transactions, {len(gens)} distinct commits seen")
