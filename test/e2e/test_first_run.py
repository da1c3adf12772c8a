#!/usr/bin/python3
"""The first run explains itself.

imagewatch starts with docker.host (and DOCKER_HOST) pointing at a Unix socket that does not exist
yet, as on a machine where dockerd is not running or the path is wrong:
- the log says so in one line with what to do (the socket, dockerd, DOCKER_HOST), and says it once:
  retries back off and the line repeats only when the reason changes (or after minutes);
- /readyz answers 503 with a JSON reason;
- the start-up lines say where the admin API listens, that watching is on and its interval, and
  the curl command that triggers a refresh, with a placeholder for the token and never the token.
(Permission denied and connection refused get their own advice: test/docker/unreachable_test.cpp.)
Then a forwarding proxy to the test dockerd appears at that path: imagewatch, which kept trying,
becomes ready (/readyz 200) without a restart.
"""
import os
import re
import shutil
import tempfile
import time
import unittest

import iwtest
from docker_hold_proxy import HoldProxy

ENV = iwtest.load_env()
QUIET_SECONDS = 6  # the old loop logged every 2 s


class FirstRunE2E(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="iw-first-run-")
        self.sock = os.path.join(self.dir, "docker.sock")
        self.forwarder = None

    def tearDown(self):
        if self.forwarder:
            self.forwarder.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_unreachable_docker_is_explained_once_and_retried_until_ready(self):
        host = "unix://" + self.sock
        cfg = iwtest.base_config({"app": iwtest.ref(iwtest.unique("first-run/app") + ":latest")})
        cfg["docker"]["host"] = host
        cfg["watch"] = {"enabled": True, "interval": "1h", "jitter": "0s", "apply_on_start": False}
        token = "first-run-" + iwtest.unique("secret")
        with iwtest.Imagewatch(cfg, admin_token=token, env={"DOCKER_HOST": host}) as iw:
            iw.wait_for_log(r"cannot reach the Docker daemon", timeout=10)
            status, body = iw.get("/readyz", token=None)
            self.assertEqual(status, 503, body)
            self.assertIsInstance(body, dict, f"/readyz should answer JSON with a reason: {body!r}")
            self.assertIs(body["ready"], False, body)
            self.assertIn(self.sock, body["reason"])
            self.assertIn("DOCKER_HOST", body["reason"])

            time.sleep(QUIET_SECONDS)
            unreachable = [l for l in iw.logs().splitlines() if "cannot reach the Docker daemon" in l]
            self.assertEqual(len(unreachable), 1, "the log repeats itself:\n" + "\n".join(unreachable))
            line = unreachable[0]
            self.assertIn(self.sock, line)
            self.assertIn("dockerd", line)
            self.assertIn("DOCKER_HOST", line)

            logs = iw.logs()
            self.assertRegex(logs, rf"admin=127\.0\.0\.1:{iw.port}\b")
            self.assertRegex(logs, r"watching.*interval=1h")
            curl = re.search(r'command="([^"]*)"', logs)
            self.assertIsNotNone(curl, "no refresh command in the start-up log:\n" + logs)
            self.assertIn(f"http://127.0.0.1:{iw.port}/admin/workspace-images/refresh", curl.group(1))
            self.assertIn("$ADMIN_TOKEN", curl.group(1))
            self.assertIn("curl -X POST", curl.group(1))

            # dockerd "starts": the socket appears. imagewatch was still trying, so it becomes ready.
            self.forwarder = HoldProxy(upstream=ENV["DOCKER_HOST"], path=self.sock)  # holds nothing: forwards
            t0 = time.monotonic()
            iwtest.wait_until(lambda: iw.get("/readyz", token=None)[0] == 200, timeout=30, interval=0.2,
                              what="/readyz 200 once the socket exists")
            print(f"  ready {time.monotonic() - t0:.1f} s after the socket appeared", flush=True)
            self.assertEqual(iw.get("/readyz", token=None), (200, "ready\n"))
            iw.wait_for_log(r"docker reachable", timeout=5)
            self.assertNotIn(token, iw.logs())


if __name__ == "__main__":
    unittest.main(verbosity=2)
