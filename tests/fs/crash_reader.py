#!/usr/bin/env python3
"""Readers in other processes during the crash test, killed at random points.

  crash_reader.py BRUCE STORE SEED OUT

Until SIGTERM: runs a read command of the bruce CLI on STORE (a read-only
open beside the daemon that writes it); about half of them are killed with
SIGKILL after a random few milliseconds, wherever they are (opening the
store, publishing in the reader table, reading). Every one that finishes
must exit 0. Writes "DONE KILLED" and one line per failure to OUT."""
import random
import signal
import subprocess
import sys
import time

bruce, store, seed, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
rng = random.Random(seed)
stop = False


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
done = killed = 0
errors = []
commands = [["dump"], ["count"], ["check"], ["ls", "--limit", "100"], ["stat"]]
while not stop:
    cmd = rng.choice(commands)
    p = subprocess.Popen([bruce, cmd[0], store] + cmd[1:], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    if rng.random() < 0.5:
        time.sleep(rng.uniform(0, 0.02))
        if p.poll() is None:
            p.kill()
            p.communicate()
            killed += 1
            continue
    _, err = p.communicate()
    if p.returncode != 0:
        errors.append(f"bruce {' '.join(cmd)} exited {p.returncode}: "
                      f"{err.decode(errors='replace').strip()}")
    else:
        done += 1
with open(out, "w") as f:
    f.write(f"{done} {killed}\n")
    for e in errors:
        f.write(e + "\n")
