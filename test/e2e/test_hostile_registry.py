#!/usr/bin/python3
"""A registry that names a new token realm at every challenge cannot make the daemon grow.

A fake plain-HTTP registry on loopback answers each check with a new realm: three in four on its own
token endpoint under a new path and service (a new token cache key each, with a 2 KiB token that
claims to live a day), one in four on a new loopback host where nothing listens (a new host in
imagewatch_registry_requests_total, a new endpoint, a new realm host looked up in the config).
Thousands of checks later the registry request series stay bounded and RSS is flat.
"""
import http.server
import re
import threading
import unittest

import iwtest

ENV = iwtest.load_env()
DIGEST = "sha256:" + "5" * 64
TOKEN_PAD = "x" * 2048
RUNTIMES = 16


class RotatingRegistry:
    """Every 401 names a realm never used before; a token is good for one HEAD of its repository."""

    def __init__(self):
        self.lock = threading.Lock()
        self.challenges = 0
        self.tokens = 0
        self.current = {}  # repository -> the token it takes now
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def reply(self, status, headers=(), body=b""):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body and self.command != "HEAD":
                    self.wfile.write(body)

            def do_GET(self):
                m = re.match(r"^/token/(\d+)/(.+)\?", self.path)
                if not m:
                    return self.reply(404)
                token = f"t-{m.group(1)}-{TOKEN_PAD}"
                with outer.lock:
                    outer.current[m.group(2)] = token
                    outer.tokens += 1
                body = ('{"token":"%s","expires_in":86400}' % token).encode()
                self.reply(200, [("Content-Type", "application/json")], body)

            def do_HEAD(self):
                m = re.match(r"^/v2/(.+)/manifests/", self.path)
                if not m:
                    return self.reply(404)
                repo = m.group(1)
                auth = self.headers.get("Authorization") or ""
                with outer.lock:
                    if repo in outer.current and auth == "Bearer " + outer.current[repo]:
                        del outer.current[repo]  # good once: the next check meets a new realm
                        return self.reply(200, [("Docker-Content-Digest", DIGEST),
                                                ("Content-Type", "application/vnd.oci.image.manifest.v1+json")])
                    outer.challenges += 1
                    n = outer.challenges
                if n % 4 == 0:  # a new loopback host (127.0.x.y, x >= 1) where nothing listens
                    realm = f"http://127.0.{1 + n // 250 % 250}.{1 + n % 250}:1/token"
                else:
                    realm = f"http://127.0.0.1:{outer.port}/token/{n}/{repo}"
                challenge = f'Bearer realm="{realm}",service="svc-{n}",scope="repository:{repo}:pull"'
                self.reply(401, [("WWW-Authenticate", challenge)])

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda *a: None  # the daemon closing kept-alive connections
        self.port = self.server.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self):
        with self.lock:
            return self.challenges

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def request_series(iw):
    return [line for line in iw.get("/metrics", token=None)[1].splitlines()
            if line.startswith("imagewatch_registry_requests_total{")]


class HostileRegistryTest(unittest.TestCase):
    def setUp(self):
        self.reg = RotatingRegistry()
        self.addCleanup(self.reg.close)

    def test_thousands_of_realms_keep_series_bounded_and_rss_flat(self):
        prefix = iwtest.unique("hostile")
        runtimes = [{"name": f"{prefix}-{i}", "image": f"{self.reg.host}/{prefix}/r{i}:latest"}
                    for i in range(RUNTIMES)]
        cfg = iwtest.base_config(runtimes)
        cfg["registries"][self.reg.host] = {"insecure_http": True}
        cfg["watch"] = {"enabled": True, "interval": "20ms", "jitter": "0s", "apply_on_start": False}
        # Under ASan, freed memory sits in its quarantine and looks like growth: turn it off so RSS
        # shows what is really kept.
        env = {"ASAN_OPTIONS": "quarantine_size_mb=0:thread_local_quarantine_size_kb=0"}
        with iwtest.Imagewatch(cfg, env=env) as iw:
            def after(n):
                iwtest.wait_until(lambda: self.reg.count() >= n, timeout=300, interval=0.2,
                                  what=f"{n} challenges")
                return iwtest.rss_kib(iw.proc.pid), self.reg.count()

            # The baseline comes once the token cache is full (1024 entries; three challenges in
            # four give a token), so what follows is what no bound would hold back.
            rss_base, n_base = after(2000)
            rss_end, n_end = after(6000)
            series = request_series(iw)
            print(f"RSS after {n_base} challenges {rss_base} KiB, after {n_end} {rss_end} KiB; "
                  f"{self.reg.tokens} tokens issued; {len(series)} registry request series")
            self.assertLess(rss_end - rss_base, 1024)
            # 256 (host, code) pairs are named, times the methods; the rest read host="other".
            self.assertLessEqual(len(series), 256 * 2 + 2)
            self.assertTrue(any('host="other"' in line for line in series), series[:5])
            self.assertTrue(any(f'host="{self.reg.host}"' in line for line in series), series[:5])
            self.assertIsNone(iw.proc.poll())


if __name__ == "__main__":
    unittest.main(verbosity=2)
