#!/usr/bin/env python3
"""A raw client of brucefs's control socket (fs/control_proto.h), for tests.

  ctlclient.py STORE OP [--as-uid UID]

Reads the endpoint from STORE-lock's header (pid at 16, name length at 20,
name at 24), optionally drops to UID, sends {"op": OP} and prints the reply's
fields as name=value lines (values as Python reprs of bytes)."""
import os
import socket
import struct
import sys


def encode(fields):
    body = struct.pack("<I", len(fields))
    for k, v in sorted(fields.items()):
        body += struct.pack("<I", len(k)) + k + struct.pack("<I", len(v)) + v
    return struct.pack("<I", len(body)) + body


def read_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise EOFError("the daemon closed the connection")
        out += chunk
    return out


def decode(s):
    (n,) = struct.unpack("<I", read_exact(s, 4))
    body = read_exact(s, n)
    (count,) = struct.unpack_from("<I", body, 0)
    pos, fields = 4, {}
    for _ in range(count):
        (kl,) = struct.unpack_from("<I", body, pos)
        k = body[pos + 4:pos + 4 + kl]
        pos += 4 + kl
        (vl,) = struct.unpack_from("<I", body, pos)
        fields[k.decode()] = body[pos + 4:pos + 4 + vl]
        pos += 4 + vl
    return fields


def main():
    store, op = sys.argv[1], sys.argv[2]
    with open(store + "-lock", "rb") as f:
        head = f.read(64)
    _pid, length = struct.unpack_from("<II", head, 16)
    name = head[24:24 + length]
    if "--as-uid" in sys.argv:
        uid = int(sys.argv[sys.argv.index("--as-uid") + 1])
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(b"\0" + name)
    try:
        s.sendall(encode({b"op": op.encode()}))
    except BrokenPipeError:
        pass  # refused before the request was read: the reply says why
    for k, v in sorted(decode(s).items()):
        print(f"{k}={v.decode(errors='replace')}")


if __name__ == "__main__":
    main()
