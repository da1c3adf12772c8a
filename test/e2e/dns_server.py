#!/usr/bin/python3
"""A tiny DNS server for tests (stdlib only, UDP): fixed A/AAAA answers, names that never answer.

    dns_server.py --listen 127.0.0.1:53 --log queries.log --ttl 1 \
        --a ok.test=127.0.0.1 --aaaa ok6.test=::1 --stall stall.test

Every query is appended to --log as "<monotonic seconds> <name> <A|AAAA|type number>" before it is
answered (or not), so a test can tell that a lookup is under way. A name with --a/--aaaa records
gets them (an empty answer for the other type); a --stall name gets no answer at all; any other
name gets NXDOMAIN. Prints "ready <port>" on stdout once it listens (port 0 picks a free one).
"""
import argparse
import socket
import struct
import sys
import time

TYPES = {1: "A", 28: "AAAA"}


def parse_question(msg):
    """(id, flags, name, qtype, end of the question) of a query."""
    qid, flags, qdcount = struct.unpack("!HHH", msg[:6])
    if qdcount < 1:
        raise ValueError("no question")
    labels, i = [], 12
    while True:
        n = msg[i]
        i += 1
        if n == 0:
            break
        if n & 0xC0:
            raise ValueError("compressed name in a question")
        labels.append(msg[i:i + n].decode("ascii", "replace"))
        i += n
    qtype, _qclass = struct.unpack("!HH", msg[i:i + 4])
    return qid, flags, ".".join(labels).lower(), qtype, i + 4


def answer(msg, records, stall, ttl, log):
    qid, flags, name, qtype, end = parse_question(msg)
    with open(log, "a") as f:
        f.write(f"{time.monotonic():.6f} {name} {TYPES.get(qtype, qtype)}\n")
    if name in stall:
        return None
    rd = flags & 0x0100
    question = msg[12:end]
    if name not in records:
        return struct.pack("!HHHHHH", qid, 0x8080 | rd | 3, 1, 0, 0, 0) + question  # NXDOMAIN
    rrs = b""
    count = 0
    for family, addr in records[name]:
        if (family == socket.AF_INET and qtype == 1) or (family == socket.AF_INET6 and qtype == 28):
            data = socket.inet_pton(family, addr)
            rrs += struct.pack("!HHHIH", 0xC00C, qtype, 1, ttl, len(data)) + data
            count += 1
    return struct.pack("!HHHHHH", qid, 0x8080 | rd, 1, count, 0, 0) + question + rrs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.1:53")
    ap.add_argument("--log", required=True)
    ap.add_argument("--ttl", type=int, default=60)
    ap.add_argument("--a", action="append", default=[])
    ap.add_argument("--aaaa", action="append", default=[])
    ap.add_argument("--stall", action="append", default=[])
    args = ap.parse_args()
    records = {}
    for family, items in ((socket.AF_INET, args.a), (socket.AF_INET6, args.aaaa)):
        for item in items:
            name, _, addr = item.partition("=")
            records.setdefault(name.lower(), []).append((family, addr))
    host, _, port = args.listen.rpartition(":")
    host = host.strip("[]")
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, int(port)))
    print(f"ready {s.getsockname()[1]}", flush=True)
    stall = {n.lower() for n in args.stall}
    while True:
        msg, peer = s.recvfrom(4096)
        try:
            reply = answer(msg, records, stall, args.ttl, args.log)
        except (ValueError, IndexError, struct.error) as e:
            print(f"bad query from {peer}: {e}", file=sys.stderr, flush=True)
            continue
        if reply is not None:
            s.sendto(reply, peer)


if __name__ == "__main__":
    main()
