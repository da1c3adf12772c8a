#!/usr/bin/python3
"""What the daemon takes from outside, end to end: file paths in the config, durations, container
settings and registry bytes.

A token_file or config path naming a FIFO, /dev/zero or a directory is refused at once (exit 2, a
message naming the field), never a hang or an endless read; the token file is read only when it
changes, not at each (unauthenticated) request; a container created with the largest
--stop-timeout Docker accepts is still swapped; registry bytes that are not UTF-8 reach
/admin/status as valid UTF-8.
"""
import ctypes
import http.client
import http.server
import json
import os
import shutil
import struct
import subprocess
import tempfile
import threading
import time
import unittest

import iwtest

ENV = iwtest.load_env()
REFRESH = "/admin/workspace-images/refresh"
IN_OPEN = 0x20
INT64_MAX = 9223372036854775807


class OpenCounter:
    """Counts opens of one file with inotify (IN_OPEN): reads show without touching the daemon."""

    def __init__(self, path):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0 or self.libc.inotify_add_watch(self.fd, path.encode(), IN_OPEN) < 0:
            raise OSError(ctypes.get_errno(), "inotify")

    def opens(self):
        n = 0
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return n
            i = 0
            while i < len(data):
                _, _, _, name_len = struct.unpack_from("iIII", data, i)
                i += 16 + name_len
                n += 1

    def close(self):
        os.close(self.fd)


def raw_get(port, path, token):
    """(status, body bytes): no decoding, so invalid UTF-8 is seen as it came."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


class FilePathsE2E(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="iw-e2e-paths-")
        self.fifo = os.path.join(self.dir, "fifo")
        os.mkfifo(self.fifo)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def config_with_token_file(self, token_file):
        cfg = iwtest.base_config([{"name": "a", "image": iwtest.ref("nothing/here")}])
        cfg["admin"] = {"listen": f"127.0.0.1:{iwtest.free_port()}", "token_file": token_file}
        path = os.path.join(self.dir, "config.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        return path

    def run_bin(self, *args, timeout=20):
        """Runs the binary; a hang is a failure (the process is killed), not a stuck test."""
        p = subprocess.Popen([iwtest.imagewatch_bin(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, text=True, env=iwtest._child_env(None, None))
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            self.fail(f"imagewatch {' '.join(args)} still running after {timeout}s")
        return p.returncode, out, err

    def check_token_file_refused(self, path, kind):
        config = self.config_with_token_file(path)
        t0 = time.monotonic()
        code, _, err = self.run_bin("--config", config)
        self.assertEqual(code, 2, err)
        self.assertIn(f"imagewatch: invalid config: admin.token_file: {path}: not a regular file ({kind})", err)
        self.assertLess(time.monotonic() - t0, 10)
        code, out, _ = self.run_bin("--config", config, "--check-config")
        self.assertEqual(code, 2, out)
        self.assertEqual(out.strip(), f"{config}: admin.token_file: {path}: not a regular file ({kind})")

    def test_token_file_fifo_stops_start_up(self):
        self.check_token_file_refused(self.fifo, "a FIFO")

    def test_token_file_dev_zero_stops_start_up(self):
        self.check_token_file_refused("/dev/zero", "a character device")

    def test_token_file_directory_stops_start_up(self):
        self.check_token_file_refused(self.dir, "a directory")

    def check_config_path_refused(self, path, kind):
        code, _, err = self.run_bin("--config", path)
        self.assertEqual(code, 2, err)
        self.assertIn(f"{path}: not a regular file ({kind})", err)
        code, out, _ = self.run_bin("--config", path, "--check-config")
        self.assertEqual(code, 2, out)
        self.assertIn(f"{path}: not a regular file ({kind})", out)

    def test_config_path_fifo_fails_at_once(self):
        self.check_config_path_refused(self.fifo, "a FIFO")

    def test_config_path_dev_zero_fails_at_once(self):
        self.check_config_path_refused("/dev/zero", "a character device")

    def test_token_file_is_read_when_it_changes_not_at_each_request(self):
        token_path = os.path.join(self.dir, "admin_token")
        with open(token_path, "w") as f:
            f.write("first-token\n")
        cfg = iwtest.base_config([{"name": "a", "image": iwtest.ref("nothing/here")}])
        cfg["admin"] = {"token_file": token_path}
        with iwtest.Imagewatch(cfg, admin_token=None) as iw:
            counter = OpenCounter(token_path)
            try:
                opens = 0
                for _ in range(25):  # drained after each request: inotify merges repeated events
                    self.assertEqual(iw.get("/admin/status", token=None)[0], 401)
                    opens += counter.opens()
                    self.assertEqual(iw.get("/admin/status", token="wrong")[0], 401)
                    opens += counter.opens()
                self.assertEqual(iw.get("/admin/status", token="first-token")[0], 200)
                opens += counter.opens()
                self.assertEqual(opens, 0, "the token file was read although it did not change")
            finally:
                counter.close()

            # Rotation (written beside, renamed over): the next request reads it, once.
            with open(token_path + ".new", "w") as f:
                f.write("second-token\n")
            os.replace(token_path + ".new", token_path)
            counter = OpenCounter(token_path)
            try:
                opens = 0
                for _ in range(10):
                    self.assertEqual(iw.get("/admin/status", token="first-token")[0], 401)
                    opens += counter.opens()
                    self.assertEqual(iw.get("/admin/status", token="second-token")[0], 200)
                    opens += counter.opens()
                self.assertEqual(opens, 1)
            finally:
                counter.close()


class StopTimeoutE2E(unittest.TestCase):
    def setUp(self):
        self.prefix = iwtest.unique("ws-stopt")
        self.repo = iwtest.unique("stopt/app")
        self.image = iwtest.ref(self.repo)

    def tearDown(self):
        iwtest.cleanup_containers(self.prefix)

    def test_largest_stop_timeout_docker_accepts_is_swapped(self):
        iwtest.build_image(self.repo, "v1")
        iwtest.pull(self.image)
        name = f"{self.prefix}-a"
        old_id = iwtest.run_container(name, self.image, "--stop-timeout", str(INT64_MAX))
        self.assertEqual(iwtest.inspect(name)["Config"]["StopTimeout"], INT64_MAX)
        iwtest.build_image(self.repo, "v2")
        cfg = iwtest.base_config([{"name": "a", "image": self.image}])
        cfg["containers"]["name_prefix"] = self.prefix
        with iwtest.Imagewatch(cfg) as iw:
            status, body = iw.post(REFRESH)
            self.assertEqual(status, 200, body)
            self.assertEqual(body["recreated"], [name], body)
            self.assertIn("stop timeout too long, using the maximum", iw.logs())
        after = iwtest.inspect(name)
        self.assertNotEqual(after["Id"], old_id)
        self.assertTrue(after["State"]["Running"])


class FakeRegistry(http.server.BaseHTTPRequestHandler):
    """A registry whose token server fails with bytes that are not UTF-8: in the reason phrase (obs-text
    is legal there) and in the body, where the excerpt limit also cuts a character."""
    protocol_version = "HTTP/1.1"

    def reply(self, code, reason, headers=(), body=b""):
        self.send_response(code, reason)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        port = self.server.server_address[1]
        if self.path.startswith("/token"):
            # latin-1 is how http.server encodes the status line: "\xff" goes out as the byte 0xff.
            self.reply(500, "Bad \xff\xfe Gateway \xe2\x82",
                       body=b"x" * 199 + "\u20ac\u20ac".encode() + b"\xff\xc0\xaf")
        else:
            self.reply(401, "Unauthorized",
                       [("WWW-Authenticate", f'Bearer realm="http://127.0.0.1:{port}/token",service="fake"')])

    def log_message(self, *args):
        pass


class RegistryBytesE2E(unittest.TestCase):
    def setUp(self):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeRegistry)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def tearDown(self):
        self.server.shutdown()
        self.server.server_close()

    def test_status_is_valid_utf8_when_the_registry_error_is_not(self):
        host = f"127.0.0.1:{self.server.server_address[1]}"
        cfg = iwtest.base_config([{"name": "bytes", "image": f"{host}/test/app:latest"}])
        cfg["registries"][host] = {"insecure_http": True}
        cfg["watch"].update(enabled=True, interval="1h", apply_on_start=False)
        with iwtest.Imagewatch(cfg) as iw:
            def checked():
                status, body = raw_get(iw.port, "/admin/status", iw.admin_token)
                self.assertEqual(status, 200)
                text = body.decode("utf-8")  # strict: invalid UTF-8 fails the test here
                rt = json.loads(text)["runtimes"][0]
                return rt if rt["last_error"] else None

            rt = iwtest.wait_until(checked, timeout=30, what="a failed check in /admin/status")
            self.assertIn("answered 500 Bad \ufffd", rt["last_error"])
            self.assertIn("x" * 199 + "...", rt["last_error"])


if __name__ == "__main__":
    unittest.main()
