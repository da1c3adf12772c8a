#!/usr/bin/python3
"""End to end: the admin listener under hostile clients. 1000 idle connections do not stop
/healthz from answering; a client dribbling its header is cut off after 10 s; a 70 KiB body is a
413 (declared or chunked), checked before auth. 1100 clients trickling request bodies do not lock
out /healthz or an authenticated /admin/status, and a request still incomplete 10 s after it
began is cut off however steadily it trickles."""
import os
import resource
import socket
import threading
import time
import unittest

import iwtest

ENV = iwtest.load_env()


def raw(port, data, timeout=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
    finally:
        s.close()


class AdminLimitsE2E(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
        cls.iw = iwtest.Imagewatch(iwtest.base_config([{"name": "a", "image": iwtest.ref("nothing/here")}]))

    @classmethod
    def tearDownClass(cls):
        cls.iw.__exit__(None, None, None)

    def test_1000_idle_connections_do_not_block_healthz(self):
        idle = []
        try:
            for _ in range(1000):
                idle.append(socket.create_connection(("127.0.0.1", self.iw.port), timeout=5))
            t0 = time.monotonic()
            code, body = self.iw.get("/healthz", token=None, timeout=5)
            self.assertEqual((code, body), (200, "ok\n"))
            print(f"/healthz with 1000 idle connections: {time.monotonic() - t0:.3f}s")
        finally:
            for s in idle:
                s.close()

    def test_dribbling_header_is_cut_off_after_10s(self):
        s = socket.create_connection(("127.0.0.1", self.iw.port), timeout=20)
        try:
            t0 = time.monotonic()
            closed_at = None
            for b in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 40:
                try:
                    s.sendall(bytes([b]))
                except OSError:
                    closed_at = time.monotonic() - t0
                    break
                s.settimeout(0.5)
                try:
                    data = s.recv(4096)
                    if not data or data:
                        closed_at = time.monotonic() - t0
                        break
                except socket.timeout:
                    pass
            self.assertIsNotNone(closed_at, "the connection was never closed")
            self.assertGreaterEqual(closed_at, 9.0)
            self.assertLess(closed_at, 14.0)
        finally:
            s.close()

    def daemon_sockets(self):
        n = 0
        for fd in os.listdir(f"/proc/{self.iw.proc.pid}/fd"):
            try:
                n += os.readlink(f"/proc/{self.iw.proc.pid}/fd/{fd}").startswith("socket:")
            except OSError:
                pass
        return n

    def test_slow_body_flood_does_not_lock_out_healthz_or_admin(self):
        head = (b"POST /admin/workspace-images/refresh HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nx")
        flood = []
        stop = threading.Event()

        def trickle():  # one more body byte every 0.5 s on every connection still open
            while not stop.wait(0.5):
                for s in flood:
                    try:
                        s.send(b"x")
                    except OSError:
                        pass

        t = threading.Thread(target=trickle, daemon=True)
        try:
            for _ in range(1100):
                s = socket.create_connection(("127.0.0.1", self.iw.port), timeout=5)
                s.setblocking(False)
                s.sendall(head)
                flood.append(s)
            t.start()
            # The daemon holds the cap: 1024 connections, each in the middle of a declared body.
            iwtest.wait_until(lambda: self.daemon_sockets() >= 1024, timeout=5, what="1024 flood connections held")
            for _ in range(3):
                t0 = time.monotonic()
                code, body = self.iw.get("/healthz", token=None, timeout=1)
                healthz = time.monotonic() - t0
                self.assertEqual((code, body), (200, "ok\n"))
                t0 = time.monotonic()
                code, st = self.iw.get("/admin/status", timeout=1)
                status = time.monotonic() - t0
                self.assertEqual(code, 200, st)
                self.assertLess(healthz, 1.0)
                self.assertLess(status, 1.0)
                print(f"slow-body flood: /healthz {healthz:.3f}s, /admin/status {status:.3f}s")
                time.sleep(0.5)
        finally:
            stop.set()
            if t.is_alive():
                t.join()
            for s in flood:
                s.close()

    def test_trickled_request_is_cut_off_10s_after_it_began(self):
        # Headers over ~5.5 s, then one body byte every 0.5 s: steady progress buys no extra time.
        head = b"POST /hooks/registry HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
        s = socket.create_connection(("127.0.0.1", self.iw.port), timeout=30)
        try:
            t0 = time.monotonic()
            closed_at = None
            answer = b""
            for i, b in enumerate(head + b"y" * 100):
                try:
                    s.sendall(bytes([b]))
                except OSError:
                    closed_at = time.monotonic() - t0
                    break
                s.settimeout(0.1 if i < len(head) else 0.5)
                try:
                    answer = s.recv(4096)
                    closed_at = time.monotonic() - t0
                    break
                except socket.timeout:
                    pass
            self.assertIsNotNone(closed_at, "the connection was never closed")
            print(f"trickled request closed after {closed_at:.1f}s: {answer[:40]!r}")
            self.assertGreaterEqual(closed_at, 9.0)
            self.assertLess(closed_at, 12.0)
        finally:
            s.close()

    def test_70_kib_body_is_413_before_auth(self):
        body = b"x" * (70 * 1024)
        head = (f"POST /admin/workspace-images/refresh HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n").encode()
        out = raw(self.iw.port, head + body)
        self.assertTrue(out.startswith(b"HTTP/1.1 413"), out[:200])
        chunked = (b"POST /admin/workspace-images/refresh HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                   b"Connection: close\r\n\r\n")
        for _ in range(70):
            chunked += b"400\r\n" + b"y" * 1024 + b"\r\n"
        chunked += b"0\r\n\r\n"
        out = raw(self.iw.port, chunked)
        self.assertTrue(out.startswith(b"HTTP/1.1 413"), out[:200])
        # Within the limit and without a token: auth answers.
        small = (b"POST /admin/workspace-images/refresh HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                 b"Connection: close\r\n\r\n{}")
        self.assertTrue(raw(self.iw.port, small).startswith(b"HTTP/1.1 401"))


class GracefulStopE2E(unittest.TestCase):
    def test_sigterm_with_open_connections_exits_0(self):
        iw = iwtest.Imagewatch(iwtest.base_config([{"name": "a", "image": iwtest.ref("nothing/here")}]))
        try:
            keep = socket.create_connection(("127.0.0.1", iw.port), timeout=5)
            keep.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")  # kept alive after the answer
            self.assertTrue(keep.recv(100).startswith(b"HTTP/1.1 200"))
            idle = socket.create_connection(("127.0.0.1", iw.port), timeout=5)
            self.assertEqual(iw.stop(), 0, iw.logs()[-3000:])
            self.assertIn("imagewatch stopped", iw.logs())
            self.assertNotIn("AddressSanitizer", iw.logs())
            keep.close()
            idle.close()
        finally:
            iw.__exit__(None, None, None)


if __name__ == "__main__":
    unittest.main(verbosity=2)
