#!/usr/bin/python3
"""End to end: recreate fidelity. Containers with every setting this machine can run are
replaced on the real engine, and `docker inspect` before/after is compared field by field,
ignoring only what must differ (IDs, timestamps, runtime state, the image, our label).
Multi-network and static-IP cases are unit tests on recorded fixtures (no bridges here)."""
import os
import tempfile
import unittest

import iwtest

ENV = iwtest.load_env()
REFRESH = "/admin/workspace-images/refresh"
LOOP = ["/bin/sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"]

# HostConfig fields that name things which a swap necessarily renews.
HOST_CONFIG_IGNORED = set()
CONFIG_IGNORED = {"Image", "Hostname", "Labels"}  # Image: same string (checked); Hostname: engine-generated


class FidelityE2E(unittest.TestCase):
    def setUp(self):
        self.prefix = iwtest.unique("ws-fi")
        self.repo = iwtest.unique("fi/app")
        self.image = iwtest.ref(self.repo)
        self.tmp = tempfile.mkdtemp(prefix="iw-fid-")
        self.volume = iwtest.unique("iwvol")

    def tearDown(self):
        iwtest.cleanup_containers(self.prefix)
        iwtest.docker("volume", "rm", "-f", self.volume, check=False)

    def rows(self):
        p = self.prefix
        return {
            "none": ["--network", "none"],
            "host": ["--network", "host"],
            "bind": ["-v", f"{self.tmp}:/data:ro"],
            "named-volume": ["-v", f"{self.volume}:/vol"],
            "tmpfs": ["--tmpfs", "/scratch:rw,size=1m"],
            "env-labels": ["-e", "A=1", "-e", "B=two words", "-l", "team=blue", "-l", "com.docker.compose.project=demo"],
            "user-workdir": ["--user", "1000:1000", "-w", "/tmp"],
            "entrypoint": ["--entrypoint", "/bin/sh"],
            "restart": ["--restart", "on-failure:3"],
            "resources": ["--memory", "64m", "--memory-reservation", "32m", "--cpu-shares", "512",
                          "--pids-limit", "100", "--cpus", "0.5"],
            "caps": ["--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE", "--security-opt", "no-new-privileges"],
            "ulimits": ["--ulimit", "nofile=1024:2048"],
            "log": ["--log-driver", "json-file", "--log-opt", "max-size=1m", "--log-opt", "max-file=2"],
            "stop": ["--stop-signal", "SIGINT", "--stop-timeout", "7"],
            "hostname": ["--hostname", "custom-host", "--add-host", "db.local:127.0.0.2", "--dns", "127.0.0.53"],
            "device": ["--device", "/dev/null:/dev/mynull"],
            "readonly-init": ["--read-only", "--init"],
            "healthcheck": ["--health-cmd", "true", "--health-interval", "1s"],
            "netns-parent": [],
            "netns-child": ["--network", f"container:{p}-netns-parent"],
        }

    def command_for(self, row):
        if row == "entrypoint":
            return LOOP[1:]  # entrypoint /bin/sh + args
        return LOOP

    def test_every_setting_survives_a_swap(self):
        iwtest.build_image(self.repo, "v1", env={"IMG": "1"}, labels={"img.label": "1"})
        iwtest.pull(self.image)
        rows = self.rows()
        before = {}
        for row, args in rows.items():
            name = f"{self.prefix}-{row}"
            iwtest.run_container(name, self.image, *args, command=self.command_for(row))
        for row in rows:
            before[row] = iwtest.inspect(f"{self.prefix}-{row}")
        iwtest.build_image(self.repo, "v2", env={"IMG": "1"}, labels={"img.label": "1"})
        cfg = iwtest.base_config([{"name": "app", "image": self.image}])
        cfg["containers"]["name_prefix"] = self.prefix
        cfg["timeouts"]["health"] = "20s"
        with iwtest.Imagewatch(cfg) as iw:
            status, body = iw.post(REFRESH, timeout=300)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["errors"], [], body)
        self.assertEqual(sorted(body["recreated"]), sorted(f"{self.prefix}-{r}" for r in rows))
        # The parent is replaced before its dependent.
        self.assertLess(body["recreated"].index(f"{self.prefix}-netns-parent"),
                        body["recreated"].index(f"{self.prefix}-netns-child"))

        for row in rows:
            with self.subTest(row=row):
                old, new = before[row], iwtest.inspect(f"{self.prefix}-{row}")
                self.assertNotEqual(old["Id"], new["Id"])
                self.assertEqual(new["Name"], old["Name"])
                self.assertTrue(new["State"]["Running"], new["State"])
                self.assertEqual(iwtest.docker("exec", new["Name"][1:], "cat", "/etc/app-version"), "v2")
                # Config: every field as it was, but the engine-generated hostname and our label.
                for key in sorted(set(old["Config"]) | set(new["Config"])):
                    if key in CONFIG_IGNORED:
                        continue
                    self.assertEqual(new["Config"].get(key), old["Config"].get(key), f"Config.{key}")
                self.assertEqual(new["Config"]["Image"], old["Config"]["Image"])
                labels = dict(new["Config"]["Labels"])
                self.assertEqual(labels.pop("imagewatch.replaced-from"), old["Id"])
                self.assertEqual(labels, old["Config"]["Labels"])
                if str(old["HostConfig"]["NetworkMode"]).startswith("container:"):
                    # Shares the parent's UTS namespace: the (new) parent's hostname.
                    parent = iwtest.inspect(f"{self.prefix}-netns-parent")
                    self.assertEqual(new["Config"]["Hostname"], parent["Config"]["Hostname"])
                elif old["Config"]["Hostname"] != old["Id"][:12]:
                    self.assertEqual(new["Config"]["Hostname"], old["Config"]["Hostname"])
                # HostConfig: identical, except a container: network mode now names its parent.
                for key in sorted(set(old["HostConfig"]) | set(new["HostConfig"])):
                    o, n = old["HostConfig"].get(key), new["HostConfig"].get(key)
                    if key == "NetworkMode" and str(o).startswith("container:"):
                        parent = iwtest.inspect(f"{self.prefix}-netns-parent")
                        self.assertIn(n, (f"container:{self.prefix}-netns-parent", f"container:{parent['Id']}"))
                        continue
                    self.assertEqual(n, o, f"HostConfig.{key}")
                # Mounts: same sources, destinations and modes.
                norm = lambda m: sorted((x["Type"], x.get("Name") or x.get("Source"), x["Destination"], x["RW"])
                                        for x in m)
                self.assertEqual(norm(new["Mounts"]), norm(old["Mounts"]))
        self.assertEqual(iwtest.docker("exec", f"{self.prefix}-netns-child", "hostname"),
                         iwtest.docker("exec", f"{self.prefix}-netns-parent", "hostname"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
