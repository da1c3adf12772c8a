#!/usr/bin/python3
"""One registry host whose DNS never answers delays only the runtimes on that host.

The test re-runs itself in a private mount + network namespace (`unshare -m -n`, needs root) with
only `lo` up, its own /etc/resolv.conf (nameserver 127.0.0.1, `options timeout:30 attempts:1`, so
a lookup the system resolver starts for the stalled name blocks for 30 s) and its own /etc/hosts.
There a DNS server of its own (dns_server.py) answers ok1.test, ok2.test and late.test with
127.0.0.1 (TTL 1 s), never answers stall.test, and logs every query. One plain-HTTP fake registry
serves every name and closes each connection after its answer, so every check opens a connection
and needs the address again. dockerd is the e2e environment's, reached over its Unix socket.

Held exactly: once the DNS server has the query for stall.test (the stalled lookup is under way),
  - the runtimes on ok1.test, ok2.test and hosts-only.test (in /etc/hosts only) keep checking every
    interval, and a runtime on late.test added by a config edit only now (its name is looked up for
    the first time after the stall began) gets its first check within a second or two;
  - the stalled runtime fails after timeouts.connect (2 s) with a DNS timeout message, and its
    later checks join the lookup in flight (fewer queries than failed checks);
  - hosts-only.test is never asked to the DNS server (/etc/hosts comes first), and ok1.test is asked
    fewer times than it is checked (answers are cached).
"""
import fcntl
import http.server
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import iwtest

NS_FLAG = "IMAGEWATCH_DNS_TEST_IN_NS"
HERE = os.path.dirname(os.path.abspath(__file__))
DIGEST = "sha256:" + "d1" * 32
CONNECT_TIMEOUT = 2.0
INTERVAL = 1.0


def enter_namespace():
    """Run this file again in a new mount + network namespace; exit with its status."""
    if os.geteuid() != 0:
        iwtest.skip_or_fail("needs root for a private network namespace (unshare -m -n)")
    if not shutil.which("unshare") or not shutil.which("mount"):
        iwtest.skip_or_fail("unshare and mount (util-linux) are needed")
    iwtest.load_env()  # skips (77) here already when the environment is down
    env = dict(os.environ, **{NS_FLAG: "1"})
    r = subprocess.run(["unshare", "-m", "-n", "--propagation", "private", sys.executable,
                        os.path.abspath(__file__), *sys.argv[1:]], env=env)
    sys.exit(r.returncode)


def loopback_up():
    """`ip link set lo up` without iproute2: SIOCGIFFLAGS / SIOCSIFFLAGS with IFF_UP."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s, 0x8913, req))[1]
        fcntl.ioctl(s, 0x8914, struct.pack("16sH22x", b"lo", flags | 0x1))


def bind_file(text, target, tmpdir):
    path = os.path.join(tmpdir, os.path.basename(target))
    with open(path, "w") as f:
        f.write(text)
    subprocess.run(["mount", "--bind", path, target], check=True)


class FakeRegistry(http.server.BaseHTTPRequestHandler):
    """HEAD/GET /v2/<repo>/manifests/<tag> -> 200 with DIGEST; closes every connection."""
    protocol_version = "HTTP/1.1"

    def do_HEAD(self):
        self.answer()

    def do_GET(self):
        self.answer()

    def answer(self):
        found = self.path.startswith("/v2/") and "/manifests/" in self.path
        self.send_response(200 if found else 404)
        if found:
            self.send_header("Docker-Content-Digest", DIGEST)
            self.send_header("Content-Type", "application/vnd.docker.distribution.manifest.v2+json")
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def log_message(self, *args):
        pass


def checks(iw):
    """{runtime: {result: count}} from imagewatch_checks_total."""
    _, text = iw.get("/metrics", token=None, timeout=5)
    out = {}
    for line in text.splitlines():
        if line.startswith("imagewatch_checks_total{"):
            rt = re.search(r'runtime="([^"]*)"', line).group(1)
            res = re.search(r'result="([^"]*)"', line).group(1)
            out.setdefault(rt, {})[res] = int(float(line.rsplit(" ", 1)[1]))
    return out


def ok_checks(counts, rt):
    c = counts.get(rt, {})
    return c.get("seeded", 0) + c.get("unchanged", 0)


def status_of(iw, rt):
    _, body = iw.get("/admin/status", timeout=5)
    return next((r for r in body["runtimes"] if r["name"] == rt), None)


class DnsIsolation(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        iwtest.load_env()
        cls.tmp = tempfile.mkdtemp(prefix="iw-dns-")
        loopback_up()
        bind_file("nameserver 127.0.0.1\noptions timeout:30 attempts:1\n", "/etc/resolv.conf", cls.tmp)
        bind_file("127.0.0.1 localhost\n::1 localhost ip6-localhost\n127.0.0.1 hosts-only.test\n",
                  "/etc/hosts", cls.tmp)
        cls.dns_log = os.path.join(cls.tmp, "queries.log")
        open(cls.dns_log, "w").close()
        cls.dns = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "dns_server.py"), "--listen", "127.0.0.1:53", "--log", cls.dns_log,
             "--ttl", "1", "--a", "ok1.test=127.0.0.1", "--a", "ok2.test=127.0.0.1", "--a", "late.test=127.0.0.1",
             "--stall", "stall.test"], stdout=subprocess.PIPE, text=True)
        line = cls.dns.stdout.readline()
        assert line.startswith("ready"), f"dns_server.py did not start: {line!r}"
        cls.registry = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeRegistry)
        cls.port = cls.registry.server_address[1]
        threading.Thread(target=cls.registry.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.registry.shutdown()
        cls.dns.terminate()
        cls.dns.wait()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def asked(self, name, qtype=None):
        """(monotonic time, type) of every query the DNS server got for name."""
        with open(self.dns_log) as f:
            rows = [line.split() for line in f if line.strip()]
        return [(float(t), ty) for t, n, ty in rows if n == name and (qtype is None or ty == qtype)]

    def runtime(self, name, host):
        return {"name": f"dnsiso-{name}", "image": f"{host}:{self.port}/dnsiso/{name}:latest"}

    def test_stalled_name_delays_only_its_runtime(self):
        hosts = {"ok1": "ok1.test", "ok2": "ok2.test", "hosts": "hosts-only.test", "stall": "stall.test"}
        cfg = iwtest.base_config([self.runtime(k, h) for k, h in hosts.items()])
        cfg["watch"] = {"enabled": True, "interval": f"{INTERVAL:g}s", "jitter": "0s", "apply_on_start": False}
        cfg["timeouts"]["connect"] = f"{CONNECT_TIMEOUT:g}s"
        cfg["registries"] = {f"{h}:{self.port}": {"insecure_http": True}
                             for h in [*hosts.values(), "late.test"]}
        steady = ["dnsiso-ok1", "dnsiso-ok2", "dnsiso-hosts"]
        with iwtest.Imagewatch(cfg) as iw:
            # The stalled lookup is under way from here on.
            iwtest.wait_until(lambda: self.asked("stall.test"), 30, 0.01, "the query for stall.test")
            t_stall = time.monotonic()
            before = checks(iw)

            cfg2 = json.loads(json.dumps(iw.config))
            cfg2["runtimes"].append(self.runtime("late", "late.test"))
            iw.write_config(cfg2)
            t_edit = time.monotonic()

            # Every other runtime keeps its schedule: two more checks each, within about two intervals.
            def progressed():
                now = checks(iw)
                return all(ok_checks(now, rt) >= ok_checks(before, rt) + 2 for rt in steady) and now
            iwtest.wait_until(progressed, 2 * INTERVAL + 1.5, 0.05,
                                      "the other runtimes' checks while stall.test hangs")
            self.assertLess(time.monotonic() - t_stall, 2 * INTERVAL + 1.5)
            late = iwtest.wait_until(lambda: ok_checks(checks(iw), "dnsiso-late") >= 1, 3.0, 0.05,
                                     "the first check of the runtime added after the stall began")
            self.assertTrue(late)
            late_asked = self.asked("late.test", "A")
            self.assertTrue(late_asked and late_asked[0][0] >= t_stall - 0.05,
                            f"late.test was looked up before the stall began: {late_asked}")
            print(f"after the stall began: +2 checks of each other runtime in {time.monotonic() - t_stall:.2f}s; "
                  f"late runtime's first check within {time.monotonic() - t_edit:.2f}s of the edit", flush=True)

            # The stalled runtime fails at its own deadline, with a message that says why.
            st = iwtest.wait_until(lambda: (s := status_of(iw, "dnsiso-stall")) and s["last_result"] == "error" and s,
                                   CONNECT_TIMEOUT + 3, 0.02, "the stalled runtime's error")
            waited = time.monotonic() - t_stall
            self.assertIn(f"DNS lookup of stall.test: no answer within {CONNECT_TIMEOUT:g}s", st["last_error"])
            self.assertGreater(waited, CONNECT_TIMEOUT - 0.3)
            self.assertLess(waited, CONNECT_TIMEOUT + 1.5)
            print(f"stalled runtime: {st['last_error']!r} after {waited:.2f}s", flush=True)

            # Later checks of the stalled runtime join the lookup in flight instead of asking again
            # (the resolver's own retransmissions of that lookup aside: 5 s, then 10 s later).
            failed = iwtest.wait_until(lambda: (n := checks(iw).get("dnsiso-stall", {}).get("error", 0)) >= 3 and n,
                                       3 * (CONNECT_TIMEOUT + INTERVAL) + 2, 0.1, "three failed checks of dnsiso-stall")
            stall_queries = len(self.asked("stall.test", "A"))
            self.assertLess(stall_queries, failed, self.asked("stall.test"))
            print(f"stalled runtime: {failed} failed checks, {stall_queries} A queries for stall.test", flush=True)

            # /etc/hosts first; cached answers.
            final = checks(iw)
            self.assertEqual(self.asked("hosts-only.test"), [])
            self.assertGreaterEqual(ok_checks(final, "dnsiso-hosts"), 3)
            ok1_queries = len(self.asked("ok1.test", "A"))
            self.assertLess(ok1_queries, ok_checks(final, "dnsiso-ok1"),
                            f"ok1.test asked {ok1_queries} times for {ok_checks(final, 'dnsiso-ok1')} checks")
            for rt in steady:
                self.assertEqual(final.get(rt, {}).get("error", 0), 0, f"{rt}: {final.get(rt)}\n" + iw.logs()[-3000:])


if __name__ == "__main__":
    if os.environ.get(NS_FLAG) != "1":
        enter_namespace()
    unittest.main(verbosity=2)
