#!/usr/bin/python3
"""admin.listen "unix:PATH" never deletes what it does not own.

A regular file or another process's live socket at PATH stops start-up (exit 2, one line) and a
reload onto it is kept out (shown in /admin/status, counted as a reload error), leaving the file
untouched; a stale socket (nobody accepts on it) is replaced; "unix:/x" -> "unix:///x" names the
same socket, so the reload keeps serving on it.
"""
import copy
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import unittest

import iwtest

ENV = iwtest.load_env()


def file_hash(iw):
    with open(iw.config_path, "rb") as f:
        return "sha256:" + hashlib.sha256(f.read()).hexdigest()


def config():
    return iwtest.base_config([{"name": "a", "image": iwtest.ref("nothing/here")}])


class AdminListenE2E(unittest.TestCase):
    def setUp(self):
        # Short: a unix socket path is limited to 107 bytes.
        self.dir = tempfile.mkdtemp(prefix="iw-ul-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def start_expecting_exit(self, listen):
        """Runs the daemon with admin.listen = listen; returns (code, stderr) or fails if it keeps running."""
        iw = iwtest.Imagewatch(config(), start=False)
        try:
            cfg = copy.deepcopy(iw.config)
            cfg["admin"]["listen"] = listen
            iw.write_config(cfg)
            try:
                p = subprocess.run([iwtest.imagewatch_bin(), "--config", iw.config_path], env=iw.env,
                                   capture_output=True, text=True, timeout=15, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                self.fail(f"imagewatch started with admin.listen {listen} instead of refusing it")
            return p.returncode, p.stderr
        finally:
            iw.__exit__(None, None, None)

    def live_socket(self, path):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(8)
        self.addCleanup(s.close)
        return s

    def assert_live(self, listener, path):
        """The other process's socket still works: a client connects and is accepted."""
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(2)
        c.connect(path)
        listener.settimeout(2)
        conn, _ = listener.accept()
        conn.close()
        c.close()

    def test_regular_file_at_path_stops_start_up_and_survives(self):
        path = os.path.join(self.dir, "precious.conf")
        with open(path, "w") as f:
            f.write("keep me\n")
        code, err = self.start_expecting_exit(f"unix:{path}")
        self.assertEqual(code, 2, err)
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, err)
        self.assertIn(path, lines[0])
        self.assertIn("regular file", lines[0])
        with open(path) as f:
            self.assertEqual(f.read(), "keep me\n")

    def test_live_socket_of_another_process_stops_start_up_and_survives(self):
        path = os.path.join(self.dir, "other.sock")
        listener = self.live_socket(path)
        code, err = self.start_expecting_exit(f"unix://{path}")
        self.assertEqual(code, 2, err)
        self.assertIn("another process is listening", err)
        self.assert_live(listener, path)

    def test_stale_socket_is_replaced_at_start_up(self):
        path = os.path.join(self.dir, "admin.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(1)
        s.close()  # the file stays, nobody accepts: what a killed daemon leaves behind
        with iwtest.Imagewatch(config(), unix_socket=path) as iw:
            self.assertEqual(iw.get("/healthz", token=None, timeout=2), (200, "ok\n"))
            code, st = iw.get("/admin/status", timeout=5)
            self.assertEqual(code, 200)
        self.assertFalse(os.path.exists(path), "the daemon removes its own socket on exit")

    def test_reload_onto_a_file_or_live_socket_is_kept_out(self):
        precious = os.path.join(self.dir, "precious.conf")
        with open(precious, "w") as f:
            f.write("keep me\n")
        other = os.path.join(self.dir, "other.sock")
        listener = self.live_socket(other)
        with iwtest.Imagewatch(config()) as iw:  # TCP at first
            good_hash = iw.get("/admin/status")[1]["config"]["hash"]
            errors = iwtest.reloads(iw, "error")
            for target, what in ((precious, "regular file"), (other, "another process is listening")):
                cfg = copy.deepcopy(iw.config)
                cfg["admin"]["listen"] = f"unix:{target}"
                iw.write_config(cfg)
                iw.reload()
                st = iwtest.wait_until(
                    lambda: (lambda s: s if s["config"]["last_error"] and target in s["config"]["last_error"] else None)(
                        iw.get("/admin/status", timeout=5)[1]),
                    timeout=10, what=f"reload onto {target} refused")
                self.assertIn(what, st["config"]["last_error"])
                self.assertEqual(st["config"]["hash"], good_hash, "the running config stays")
                errors += 1
                iwtest.wait_until(lambda: iwtest.reloads(iw, "error") >= errors, timeout=5, what="reload error counted")
                self.assertEqual(iw.get("/healthz", token=None), (200, "ok\n"))  # still on TCP
            with open(precious) as f:
                self.assertEqual(f.read(), "keep me\n")
            self.assert_live(listener, other)

    def test_unix_slash_forms_name_the_same_socket_and_keep_serving(self):
        path = os.path.join(self.dir, "admin.sock")
        with iwtest.Imagewatch(config()) as iw:
            oks = iwtest.reloads(iw, "ok")
            cfg = copy.deepcopy(iw.config)
            cfg["admin"]["listen"] = f"unix:{path}"
            iw.write_config(cfg)
            iw.reload()
            iw.unix_socket = path
            iwtest.wait_until(lambda: iw.get("/healthz", token=None, timeout=1) == (200, "ok\n"), timeout=10,
                              what="serving on the unix socket")
            oks = iwtest.wait_until(lambda: iwtest.reloads(iw, "ok") > oks and iwtest.reloads(iw, "ok"), timeout=5,
                                    what="first reload counted")
            ino = os.stat(path).st_ino
            cfg = copy.deepcopy(iw.config)
            cfg["admin"]["listen"] = f"unix://{path}"  # "unix:///dir/admin.sock"
            iw.write_config(cfg)
            iw.reload()
            iwtest.wait_until(lambda: iw.get("/admin/status", timeout=2)[1]["config"]["hash"] == file_hash(iw),
                              timeout=10, what="the unix:/// edit loaded, served on the same socket")
            self.assertTrue(os.path.exists(path), "the reload deleted the daemon's own socket")
            self.assertEqual(os.stat(path).st_ino, ino, "same listen address: nothing re-binds")
            self.assertEqual(iw.get("/healthz", token=None, timeout=2), (200, "ok\n"))
            st = iw.get("/admin/status", timeout=5)[1]
            self.assertIsNone(st["config"]["last_error"])
            self.assertGreater(iwtest.reloads(iw, "ok"), oks)


if __name__ == "__main__":
    unittest.main(verbosity=2)
