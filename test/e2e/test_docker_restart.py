#!/usr/bin/python3
"""End to end: the Docker daemon goes away in the middle of a swap (SIGTERM to dockerd,
which stops every container on its way out). The refresh fails cleanly, nothing is lost (the
container comes back under its name, no parked leftover) and the update applies on a later try
once the daemon is back. Restarts the environment's dockerd through test/e2e/env.sh up; runs
serially like every e2e test."""
import os
import signal
import subprocess
import threading
import unittest

import iwtest

ENV = iwtest.load_env()
REFRESH = "/admin/workspace-images/refresh"
IGNORE_TERM = ["/bin/sh", "-c", "trap '' TERM; while :; do sleep 1; done"]
ENV_SH = os.path.join(iwtest.REPO_ROOT, "test", "e2e", "env.sh")


def dockerd_pid():
    with open(os.path.join(ENV["IMAGEWATCH_E2E_DIR"], "dockerd.pid")) as f:
        return int(f.read().strip())


class DockerRestartE2E(unittest.TestCase):
    def setUp(self):
        self.prefix = iwtest.unique("ws-dr")
        self.repo = iwtest.unique("dr/app")
        self.image = iwtest.ref(self.repo)
        self.name = f"{self.prefix}-a"

    def tearDown(self):
        subprocess.run(["bash", ENV_SH, "up"], check=False, capture_output=True)
        iwtest.cleanup_containers(self.prefix)

    def test_dockerd_stopped_mid_swap(self):
        iwtest.build_image(self.repo, "v1")
        iwtest.pull(self.image)
        iwtest.run_container(self.name, self.image, "--stop-timeout", "8", "--restart", "unless-stopped",
                             command=IGNORE_TERM)
        iwtest.build_image(self.repo, "v2")
        cfg = iwtest.base_config([{"name": "app", "image": self.image}])
        cfg["containers"]["name_prefix"] = self.prefix
        with iwtest.Imagewatch(cfg) as iw:
            result = {}
            t = threading.Thread(target=lambda: result.update(r=iw.post(REFRESH, timeout=120)), daemon=True)
            t.start()
            iwtest.wait_until(lambda: iwtest.exists(self.name + "-imagewatch-old"), timeout=30, interval=0.05,
                              what="swap in progress (old container parked)")
            pid = dockerd_pid()
            os.kill(pid, signal.SIGTERM)
            iwtest.wait_until(lambda: not os.path.exists(f"/proc/{pid}"), timeout=60, what="dockerd gone")
            t.join(60)
            status, body = result["r"]
            self.assertIn(status, (200, 500), body)
            recreated = body["recreated"] if status == 200 else body["partial_result"]["recreated"]
            self.assertEqual(recreated, [], body)
            up = subprocess.run(["bash", ENV_SH, "up"], capture_output=True, text=True)
            self.assertEqual(up.returncode, 0, up.stderr[-2000:])
            # Later try: the parked original is settled first, then the update applies.
            status, body = iw.post(REFRESH, timeout=120)
            self.assertEqual(status, 200, body)
            self.assertEqual(body["recreated"], [self.name], (body, iw.logs()[-3000:]))
        names = iwtest.docker("ps", "-a", "--format", "{{.Names}} {{.State}}").splitlines()
        mine = sorted(n for n in names if n.startswith(self.name))
        self.assertEqual(mine, [f"{self.name} running"])
        self.assertEqual(iwtest.docker("exec", self.name, "cat", "/etc/app-version"), "v2")


if __name__ == "__main__":
    unittest.main(verbosity=2)
