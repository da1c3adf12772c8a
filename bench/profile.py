#!/usr/bin/python3
"""Where a warm check's CPU goes: one daemon with N runtimes, seeded, then K sweeps
triggered by registry webhooks, measured in one of three ways.

    bench/profile.py [--n 200] [--sweeps 10] [--bin PATH] [--mode cpu|callgrind|strace|massif]

  cpu        the daemon's user+sys per check over the K sweeps (/proc; noisy on a shared machine)
  callgrind  runs the daemon under valgrind --tool=callgrind with its counters zeroed before and
             dumped after the K sweeps; prints instructions per check and keeps the profile for
             callgrind_annotate (deterministic: compare builds with this)
  strace     attaches strace -c -f for the K sweeps; prints system calls per check
  massif     runs the daemon under valgrind --tool=massif and takes a detailed heap snapshot after
             the sweeps (ms_print it: which allocation sites hold the heap, per runtime)

Needs the test environment (test/e2e/env.sh up) and the bench repositories (bench/run seeds them).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402


def checks_done(d):
    return bench.msum(d.metrics(), "imagewatch_checks_total")


def sweep(d, n, repos):
    """One webhook-triggered sweep; waits on the registry's log, so the daemon does no extra work."""
    uris = [f"/v2/{r}/manifests/latest" for r in repos]
    offset = bench.file_size(bench.REG_LOG)
    d.hook(repos)
    bench.wait_registry_heads(offset, uris, "imagewatch/", timeout=120 + n)
    time.sleep(0.1 if n < 1000 else 0.5)  # the last answers are being processed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--sweeps", type=int, default=10)
    ap.add_argument("--bin", default=os.path.join(bench.ROOT, "build", "release", "app", "imagewatch"))
    ap.add_argument("--mode", choices=["cpu", "callgrind", "strace", "massif"], default="cpu")
    ap.add_argument("--out", default="/tmp/imagewatch-callgrind.out")
    a = ap.parse_args()
    for stale in (a.out, a.out + ".1"):
        if os.path.exists(stale):
            os.remove(stale)

    bench.seed(a.n)
    tmp = tempfile.mkdtemp(prefix="iw-profile-")
    bin_path = a.bin
    if a.mode in ("callgrind", "massif"):
        wrapper = os.path.join(tmp, "imagewatch-valgrind")
        tool = (f"--tool=callgrind --callgrind-out-file={a.out}" if a.mode == "callgrind" else
                f"--tool=massif --massif-out-file={a.out}.end --threshold=0.1")
        with open(wrapper, "w") as f:
            f.write(f"#!/bin/sh\nexec valgrind {tool} {a.bin} \"$@\"\n")
        os.chmod(wrapper, 0o755)
        bin_path = wrapper
    repos = [bench.repo(i) for i in range(a.n)]
    d, _ = bench.seeded_daemon(a.n, bin_path, tmp, interval=3600, seed_timeout=600)
    try:
        sweep(d, a.n, repos)  # warm: tokens cached, connections open
        pid = d.proc.pid
        if a.mode == "callgrind":
            subprocess.run(["callgrind_control", "-z", str(pid)], check=True, stdout=subprocess.DEVNULL)
        tracer = None
        if a.mode == "strace":
            tracer = subprocess.Popen(["strace", "-c", "-f", "-p", str(pid), "-o", os.path.join(tmp, "strace")],
                                      stderr=subprocess.DEVNULL)
            time.sleep(1)
        c0 = d.cpu()
        m0 = checks_done(d)
        for _ in range(a.sweeps):
            sweep(d, a.n, repos)
        c1 = d.cpu()
        if a.mode == "callgrind":
            subprocess.run(["callgrind_control", "-d", str(pid)], check=True, stdout=subprocess.DEVNULL)
        if a.mode == "massif":
            subprocess.run(["vgdb", f"--pid={pid}", "detailed_snapshot", a.out], check=True, stdout=subprocess.DEVNULL)
        if tracer:
            tracer.terminate()
            tracer.wait()
        checks = checks_done(d) - m0
        if checks != a.n * a.sweeps:
            raise RuntimeError(f"{checks} checks counted, {a.n * a.sweeps} expected")
        with open(f"/proc/{pid}/status") as f:
            mem = dict(line.split(":", 1) for line in f if line.startswith(("VmRSS", "VmHWM", "RssAnon", "RssFile")))
    finally:
        bench.stop_daemon(d)
    print(f"{checks:.0f} checks ({a.sweeps} webhook sweeps of {a.n}, the webhook requests included)")
    print("memory after the sweeps: " + ", ".join(f"{k} {' '.join(v.split())}" for k, v in mem.items()))
    if a.mode == "cpu":
        print(f"CPU per check: {(c1 - c0) / checks * 1e6:.0f} us")
    elif a.mode == "callgrind":
        # callgrind_control -d wrote <out>.1 (the sweeps); <out> itself is what came after them.
        path = a.out + ".1"
        total = 0
        with open(path) as f:
            for line in f:
                if line.startswith("totals:"):
                    total = int(line.split()[1])
        print(f"instructions per check: {total / checks:,.0f}  (profile: {path}; callgrind_annotate {path})")
    elif a.mode == "massif":
        print(f"heap snapshot after the sweeps: {a.out} (ms_print {a.out})")
    else:
        with open(os.path.join(tmp, "strace")) as f:
            text = f.read()
        rows = []
        for line in text.splitlines():
            m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$", line)
            if m and m.group(2) != "total":
                rows.append((int(m.group(1)), m.group(2)))
        rows.sort(reverse=True)
        print("system calls per check: " + ", ".join(f"{name} {calls / checks:.2f}" for calls, name in rows))
        print(f"total {sum(c for c, _ in rows) / checks:.2f}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
