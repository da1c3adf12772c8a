#!/usr/bin/python3
"""Rollout benchmarks, on the real dockerd and registry of test/e2e/env.sh.

    IMAGEWATCH_BIN=build/release/app/imagewatch bench/rollout.py [--containers N] [--health-interval S]
        [--only parallel,halt,isolation] [--parallelism 1,4,8] [--no-loop]

parallel   N containers with a healthcheck (verification waits dominate): wall time from imagewatch's
           "pulled" log line to "rollout done" with rollout.parallelism 1, 4 and 8, imagewatch's CPU
           per swap, and a `docker stop/rm/run` shell loop over the same containers (no verification)
halt       the same N containers and a v2 that exits at start: containers touched, all restored,
           time from "pulled" to "rollout halted" next to timeouts.health
isolation  a runtime whose pull is held by a Docker API proxy (it never completes) and another
           runtime's refresh: its time with the held pull in flight / its time alone
Figures are printed; ratios are within this run. Stdlib only.
"""
import argparse
import datetime
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "test", "e2e"))
import iwtest  # noqa: E402
from docker_hold_proxy import HoldProxy  # noqa: E402

ENV = iwtest.load_env()
REFRESH = "/admin/workspace-images/refresh"
# Every container runs its healthcheck through `docker exec` (runc): 100 containers at a 1 s interval
# are 100 execs a second, more than 2 cores keep up with, and the checks then time out. --health-interval
# sets it; the verification of each swap waits about one interval.
HEALTHY = "--interval={}s --timeout=5s --retries=3 CMD test -f /etc/app-version"
HEALTH_INTERVAL = 2


def healthy():
    return HEALTHY.format(HEALTH_INTERVAL)


def log(msg):
    print(f"[rollout-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ts_of(logs, msg, extra=""):
    """Time of the first log line with msg="<msg>" (and the regex extra), as a POSIX time."""
    for line in logs.splitlines():
        # logfmt quotes a value only when it needs it: msg=pulled, msg="rollout done"
        if (f'msg="{msg}"' in line or f" msg={msg} " in line) and re.search(extra, line):
            m = re.search(r"ts=(\S+)", line)
            return datetime.datetime.fromisoformat(m.group(1).replace("Z", "+00:00")).timestamp()
    raise AssertionError(f"no log line {msg!r}")


class Fleet:
    def __init__(self, n, tag):
        self.prefix = iwtest.unique(f"ws-rb{tag}")
        self.repo = iwtest.unique(f"rb/{tag}")
        self.image = iwtest.ref(self.repo)
        self.names = [f"{self.prefix}-{i:03d}" for i in range(n)]

    def start(self, healthcheck=True):
        iwtest.build_image(self.repo, "v1", healthcheck=healthy() if healthcheck else None)
        iwtest.pull(self.image)
        for n in self.names:
            iwtest.run_container(n, self.image)
        self.ids = {n: iwtest.inspect(n)["Id"] for n in self.names}

    def config(self, rollout):
        cfg = iwtest.base_config([{"name": "rb", "image": self.image, "rollout": rollout}])
        cfg["containers"]["name_prefix"] = self.prefix
        cfg["timeouts"].update(health="20s", request="30s", pull="120s")
        return cfg

    def cleanup(self):
        iwtest.cleanup_containers(self.prefix)


def rollout_once(fleet, parallelism, version):
    iwtest.build_image(fleet.repo, version, healthcheck=healthy())
    with iwtest.Imagewatch(fleet.config({"parallelism": parallelism, "canary": 1})) as iw:
        cpu0 = cpu_seconds(iw.proc.pid)
        status, body = iw.post(REFRESH, timeout=3600)
        cpu1 = cpu_seconds(iw.proc.pid)
        assert status == 200 and not body["errors"] and len(body["recreated"]) == len(fleet.names), body
        logs = iw.logs()
        wall = ts_of(logs, "rollout done") - ts_of(logs, "pulled")
    return wall, (cpu1 - cpu0) / len(fleet.names)


def shell_loop(fleet, version):
    iwtest.build_image(fleet.repo, version, healthcheck=healthy())
    iwtest.pull(fleet.image)
    docker = iwtest._docker_bin()
    script = "".join(f"{docker} stop -t 10 {n} >/dev/null && {docker} rm {n} >/dev/null && "
                     f"{docker} run -d --name {n} --network none {fleet.image} >/dev/null\n" for n in fleet.names)
    env = dict(os.environ, DOCKER_HOST=ENV["DOCKER_HOST"])
    t0 = time.monotonic()
    subprocess.run(["/bin/sh", "-e"], input=script, text=True, check=True, env=env)
    return time.monotonic() - t0


def bench_parallel(n, widths=(1, 4, 8), with_loop=True):
    fleet = Fleet(n, "par")
    loop = None
    try:
        fleet.start()
        rows = {}
        for i, p in enumerate(widths):
            log(f"parallel: {n} containers, parallelism {p}")
            rows[p] = rollout_once(fleet, p, f"v{i + 2}")
        if with_loop:
            log("parallel: docker stop/rm/run shell loop")
            loop = shell_loop(fleet, "v9")
    finally:
        fleet.cleanup()
    print(f"\n## parallel swaps: {n} containers with a healthcheck (interval {HEALTH_INTERVAL}s)\n")
    print(f"| run | pulled -> all verified | vs parallelism {widths[0]} | imagewatch CPU per swap |")
    print("| --- | ---: | ---: | ---: |")
    base = rows[widths[0]][0]
    for p, (wall, cpu) in rows.items():
        print(f"| parallelism {p} | {wall:.1f} s | {base / wall:.2f}x | {cpu * 1000:.1f} ms |")
    if loop is not None:
        print(f"| docker stop/rm/run loop (no verification) | {loop:.1f} s | {base / loop:.2f}x | - |")
    return rows, loop


def bench_halt(n):
    fleet = Fleet(n, "halt")
    try:
        fleet.start()
        iwtest.build_image(fleet.repo, "v2-crash", exit_at_once=True)
        cfg = fleet.config({"parallelism": 4, "canary": 1})
        with iwtest.Imagewatch(cfg) as iw:
            status, body = iw.post(REFRESH, timeout=600)
            logs = iw.logs()
        assert body.get("halted") == ["rb"], body
        touched = logs.count('msg="replacing container"')
        to_halt = ts_of(logs, "rollout halted: the image is not retried until a newer one appears or a forced refresh") - \
            ts_of(logs, "pulled")
        restored = sum(1 for x in fleet.names if iwtest.inspect(x)["Id"] == fleet.ids[x] and iwtest.inspect(x)["State"]["Running"])
    finally:
        fleet.cleanup()
    print(f"\n## crashing v2: {n} containers, canary 1, parallelism 4, timeouts.health 20s\n")
    print(f"- containers touched: {touched} (canary 1); restored and running: {restored} of {n}")
    print(f"- pulled -> halted: {to_halt:.2f} s (one verification timeout: 20 s)")
    return touched, restored, to_halt


def bench_isolation(k):
    fast = Fleet(k, "iso")
    slow_repo = iwtest.unique("rb/slow")
    slow_image = iwtest.ref(slow_repo)
    try:
        fast.start(healthcheck=False)
        iwtest.build_image(slow_repo, "s1")
        times = {}
        with HoldProxy(upstream=ENV["DOCKER_HOST"]) as proxy:
            cfg = fast.config({"parallelism": 4, "canary": 1})
            cfg["runtimes"].append({"name": "slow", "image": slow_image})
            with iwtest.Imagewatch(cfg, env={"DOCKER_HOST": proxy.url}) as iw:
                for label, version in (("alone", "v2"), ("with a held pull", "v3")):
                    iwtest.build_image(fast.repo, version)
                    t = None
                    if label != "alone":
                        proxy.hold("POST", r"/images/create\?fromImage=[^&]*" + re.escape(slow_repo.rsplit("/", 1)[-1]) + r"&.*")
                        t = threading.Thread(target=lambda: iw.post(REFRESH + "?runtime=slow", timeout=600), daemon=True)
                        t.start()
                        proxy.wait_held(60)
                    t0 = time.monotonic()
                    status, body = iw.post(REFRESH + "?runtime=rb", timeout=600)
                    times[label] = time.monotonic() - t0
                    assert status == 200 and len(body["recreated"]) == k, body
                    if t:
                        assert proxy.held.is_set() and t.is_alive()
                proxy.close()
    finally:
        fast.cleanup()
    ratio = times["with a held pull"] / times["alone"]
    print(f"\n## isolation: refresh of a runtime with {k} containers while another runtime's pull is held\n")
    print(f"- alone: {times['alone']:.2f} s; with the other pull held: {times['with a held pull']:.2f} s; ratio {ratio:.2f}")
    return times, ratio


def main():
    global HEALTH_INTERVAL
    ap = argparse.ArgumentParser()
    ap.add_argument("--containers", type=int, default=100)
    ap.add_argument("--isolation-containers", type=int, default=10)
    ap.add_argument("--only", default="parallel,halt,isolation")
    ap.add_argument("--parallelism", default="1,4,8", help="the rollout.parallelism values, the first is the base")
    ap.add_argument("--no-loop", action="store_true", help="skip the docker stop/rm/run shell loop")
    ap.add_argument("--health-interval", type=int, default=HEALTH_INTERVAL, help="seconds between healthchecks")
    a = ap.parse_args()
    HEALTH_INTERVAL = a.health_interval
    only = a.only.split(",")
    print(f"# rollout benchmarks ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load {os.getloadavg()[0]:.1f}, "
          f"{os.cpu_count()} CPUs, {iwtest.imagewatch_bin()})")
    if "isolation" in only:
        bench_isolation(a.isolation_containers)
    if "halt" in only:
        bench_halt(a.containers)
    if "parallel" in only:
        bench_parallel(a.containers, tuple(int(x) for x in a.parallelism.split(",")), not a.no_loop)


if __name__ == "__main__":
    main()
