#!/usr/bin/python3
"""Issue 5 end to end: a swap interrupted by kill -9 is resolved at the next start, from what Docker
records (names, labels): exactly one container keeps the original name and runs, no parked
`*-imagewatch-old` container remains, and the update applies on a later try. A replacement whose
healthcheck never turns healthy is rolled back."""
import signal
import threading
import time
import unittest

import iwtest

ENV = iwtest.load_env()
REFRESH = "/admin/workspace-images/refresh"
IGNORE_TERM = ["/bin/sh", "-c", "trap '' TERM; while :; do sleep 1; done"]
HEALTHY_LATER = ["/bin/sh", "-c", "sleep 3; touch /tmp/healthy; trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done"]


class CrashE2E(unittest.TestCase):
    def setUp(self):
        self.prefix = iwtest.unique("ws-cr")
        self.repo = iwtest.unique("cr/app")
        self.image = iwtest.ref(self.repo)
        self.name = f"{self.prefix}-a"
        self.parked = self.name + "-imagewatch-old"

    def tearDown(self):
        iwtest.cleanup_containers(self.prefix)

    def config(self):
        cfg = iwtest.base_config([{"name": "app", "image": self.image}])
        cfg["containers"]["name_prefix"] = self.prefix
        cfg["timeouts"].update(health="20s", request="30s")
        return cfg

    def same_role(self):
        """Containers named exactly like ours or parked: (name, running) pairs."""
        out = iwtest.docker("ps", "-a", "--format", "{{.Names}} {{.State}}")
        return sorted(tuple(l.split(" ", 1)) for l in out.splitlines()
                      if l.split(" ", 1)[0] in (self.name, self.parked))

    def post_in_background(self, iw):
        t = threading.Thread(target=lambda: self._post(iw), daemon=True)
        t.start()
        return t

    def _post(self, iw):
        try:
            iw.post(REFRESH, timeout=120)
        except OSError:
            pass  # the daemon was killed mid-request

    def kill9(self, iw):
        iw.proc.send_signal(signal.SIGKILL)
        iw.proc.wait()
        iw.stop()  # closes the log; start() reopens it

    def test_kill_while_stopping_the_old_container(self):
        iwtest.build_image(self.repo, "v1")
        iwtest.pull(self.image)
        old_id = iwtest.run_container(self.name, self.image, "--stop-timeout", "6", command=IGNORE_TERM)
        iwtest.build_image(self.repo, "v2")
        iw = iwtest.Imagewatch(self.config())
        try:
            self.post_in_background(iw)
            iwtest.wait_until(lambda: iwtest.exists(self.parked), timeout=30, interval=0.05,
                              what="old container parked and stopping")
            time.sleep(1.0)
            self.kill9(iw)
            iwtest.wait_until(lambda: not iwtest.inspect(self.parked)["State"]["Running"], timeout=15,
                              what="dockerd finished stopping the parked container")
            iw.start()
            iwtest.wait_until(lambda: self.same_role() == [(self.name, "running")], timeout=20,
                              what="original restored under its name")
            self.assertEqual(iwtest.inspect(self.name)["Id"], old_id)
            self.assertIn("interrupted swap rolled back", iw.logs())
            # The update applies on a later try.
            status, body = iw.post(REFRESH, timeout=120)
            self.assertEqual(status, 200, body)
            self.assertEqual(body["recreated"], [self.name], body)
            self.assertEqual(iwtest.docker("exec", self.name, "cat", "/etc/app-version"), "v2")
            self.assertEqual(self.same_role(), [(self.name, "running")])
        finally:
            iw.__exit__(None, None, None)

    def test_kill_right_after_the_replacement_was_created(self):
        iwtest.build_image(self.repo, "v1")
        iwtest.pull(self.image)
        iwtest.run_container(self.name, self.image, "--health-cmd", "test -f /tmp/healthy",
                             "--health-interval", "1s", command=HEALTHY_LATER)
        iwtest.build_image(self.repo, "v2")
        iw = iwtest.Imagewatch(self.config())
        try:
            self.post_in_background(iw)

            def replacement_created():
                out = iwtest.docker("ps", "-a", "--filter", "label=imagewatch.replaced-from", "--format", "{{.Names}}")
                return self.name in out.split()

            iwtest.wait_until(replacement_created, timeout=30, interval=0.02, what="replacement created")
            self.kill9(iw)
            iw.start()
            iwtest.wait_until(lambda: self.same_role() == [(self.name, "running")], timeout=30,
                              what="one container under the name, none parked")
            iwtest.wait_until(lambda: "interrupted swap" in iw.logs(), timeout=10, what="reconcile logged")
        finally:
            iw.__exit__(None, None, None)

    def test_never_healthy_replacement_is_rolled_back(self):
        iwtest.build_image(self.repo, "v1", healthcheck="--interval=1s CMD true")
        iwtest.pull(self.image)
        old_id = iwtest.run_container(self.name, self.image)
        iwtest.wait_until(lambda: iwtest.inspect(self.name)["State"]["Health"]["Status"] == "healthy", timeout=20)
        iwtest.build_image(self.repo, "v2-sick", healthcheck="--interval=1s CMD false")
        cfg = self.config()
        cfg["timeouts"]["health"] = "4s"
        with iwtest.Imagewatch(cfg) as iw:
            status, body = iw.post(REFRESH, timeout=120)
            self.assertEqual(status, 200, body)
            self.assertEqual(body["recreated"], [])
            self.assertEqual(len(body["errors"]), 1, body)
            self.assertRegex(body["errors"][0]["error"], r"unhealthy|not healthy")
        self.assertEqual(iwtest.inspect(self.name)["Id"], old_id)
        iwtest.wait_until(lambda: iwtest.inspect(self.name)["State"]["Health"]["Status"] == "healthy", timeout=20,
                          what="the original healthy again")
        self.assertEqual(self.same_role(), [(self.name, "running")])


if __name__ == "__main__":
    unittest.main(verbosity=2)
