#!/usr/bin/python3
"""SIGTERM ends the daemon by draining, not by abandoning its tasks.

Every task the daemon started (admin sessions, a refresh in flight, watch checks, timers) ends and
main returns: exit code 0 and, under the sanitizers, no report (a coroutine frame destroyed after
the objects it points into would be a use-after-free; a leaked one, a leak). The refresh in flight is held at its
pull by a Docker proxy, so the stop lands at that exact point every time.
"""
import http.client
import re
import threading
import unittest

import iwtest
from docker_hold_proxy import HoldProxy

ENV = iwtest.load_env()
REFRESH = "/admin/workspace-images/refresh"
PULL = r"/images/create\?.*"
SANITIZER_REPORT = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:")


class ShutdownE2E(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.repo = iwtest.unique("sd/app")
        iwtest.build_image(cls.repo, "v1")

    def config(self, shutdown="10s"):
        cfg = iwtest.base_config([{"name": "app", "image": iwtest.ref(self.repo)}])
        cfg["containers"]["name_prefix"] = iwtest.unique("ws-sd")
        cfg["watch"].update(enabled=True, interval="1h", jitter="0s")
        cfg["timeouts"]["shutdown"] = shutdown
        return cfg

    def assert_clean_exit(self, iw, drained):
        code = iw.proc.wait(30)
        logs = iw.logs()
        self.assertEqual(code, 0, logs[-4000:])
        self.assertIsNone(SANITIZER_REPORT.search(logs), logs[-8000:])
        stopped = re.search(r"imagewatch stopped.*drained\W+(true|false)", logs)
        self.assertIsNotNone(stopped, logs[-4000:])
        self.assertEqual(stopped.group(1), drained, logs[-4000:])

    def refresh_in_background(self, iw):
        answer = {}

        def post():
            try:
                answer["status"] = iw.post(REFRESH, timeout=60)[0]
            except (OSError, http.client.HTTPException) as e:
                answer["error"] = repr(e)
        t = threading.Thread(target=post, daemon=True)
        t.start()
        return t, answer

    def test_idle_daemon_drains_with_an_idle_keep_alive_connection(self):
        with iwtest.Imagewatch(self.config()) as iw:
            iwtest.wait_until(lambda: iw.get("/readyz", token=None)[0] == 200, timeout=30, what="ready")
            iwtest.wait_until(lambda: iw.get("/admin/status")[1]["runtimes"][0]["last_result"] != "pending",
                              timeout=30, what="first check")
            idle = http.client.HTTPConnection("127.0.0.1", iw.port, timeout=30)
            idle.request("GET", "/healthz")  # keep-alive: the session then waits for a next request
            idle.getresponse().read()
            iw.proc.send_signal(15)
            self.assert_clean_exit(iw, "true")
            idle.close()

    def test_refresh_in_flight_finishes_then_everything_ends(self):
        with HoldProxy(ENV["DOCKER_HOST"]) as proxy:
            proxy.hold("POST", PULL)
            iw = iwtest.Imagewatch(self.config(), env={"DOCKER_HOST": proxy.url})
            try:
                iwtest.wait_until(lambda: iw.get("/readyz", token=None)[0] == 200, timeout=30, what="ready")
                t, answer = self.refresh_in_background(iw)
                proxy.wait_held(timeout=30)
                iw.proc.send_signal(15)
                iw.wait_for_log(r"stopping")
                self.assertIsNone(iw.proc.poll(), "the daemon waits for the refresh in flight")
                proxy.close()  # the pull fails: the refresh ends, and with it the last task
                self.assert_clean_exit(iw, "true")
                t.join(10)
                self.assertIn("status", answer, answer)  # the refresh's caller got its answer
            finally:
                iw.__exit__(None, None, None)

    def test_refresh_past_the_shutdown_timeout_is_abandoned_cleanly(self):
        with HoldProxy(ENV["DOCKER_HOST"]) as proxy:
            proxy.hold("POST", PULL)
            iw = iwtest.Imagewatch(self.config(shutdown="1s"), env={"DOCKER_HOST": proxy.url})
            try:
                iwtest.wait_until(lambda: iw.get("/readyz", token=None)[0] == 200, timeout=30, what="ready")
                self.refresh_in_background(iw)
                proxy.wait_held(timeout=30)
                iw.proc.send_signal(15)
                # The pull never ends: the daemon gives up on it and still exits cleanly.
                self.assert_clean_exit(iw, "false")
                self.assertIn("shutdown timeout reached with a refresh in flight", iw.logs())
            finally:
                iw.__exit__(None, None, None)


if __name__ == "__main__":
    unittest.main(verbosity=2)
