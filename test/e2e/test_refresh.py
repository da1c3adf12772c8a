#!/usr/bin/python3
"""End to end: the manual refresh path against the real dockerd and the TLS + token registry.

POST /admin/workspace-images/refresh pulls and safely swaps containers, keeping their settings;
a replacement that dies is rolled back; pull failures, auth and unknown runtimes are reported;
--once prints the same JSON.
"""
import os
import tempfile
import unittest

import iwtest

ENV = iwtest.load_env()
REFRESH = "/admin/workspace-images/refresh"
LOOP_CMD = ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done # user cmd"]


def exec_in(name, *cmd):
    return iwtest.docker("exec", name, *cmd)


class RefreshE2E(unittest.TestCase):
    def setUp(self):
        self.prefix = iwtest.unique("ws-rf")
        self.repo_a = iwtest.unique("rf/app-a")
        self.repo_b = iwtest.unique("rf/app-b")
        self.image_a = iwtest.ref(self.repo_a)
        self.image_b = iwtest.ref(self.repo_b)
        self.bind_dir = tempfile.mkdtemp(prefix="iw-bind-")
        with open(os.path.join(self.bind_dir, "keep.txt"), "w") as f:
            f.write("data\n")

    def tearDown(self):
        iwtest.cleanup_containers(self.prefix)

    def config(self, **extra_runtimes):
        rts = [{"name": "alpha", "image": self.image_a}, {"name": "beta", "image": self.image_b}]
        rts += [{"name": n, "image": i} for n, i in extra_runtimes.items()]
        cfg = iwtest.base_config(rts)
        cfg["containers"]["name_prefix"] = self.prefix
        return cfg

    def start_v1(self):
        iwtest.build_image(self.repo_a, "a-v1", env={"APP_MODE": "v1", "KEEP_ME": "image"},
                           labels={"org.image.stage": "v1"})
        iwtest.build_image(self.repo_b, "b-v1")
        iwtest.pull(self.image_a)
        iwtest.pull(self.image_b)
        self.name_a = f"{self.prefix}-a"
        self.name_b = f"{self.prefix}-b"
        self.id_a = iwtest.run_container(
            self.name_a, self.image_a,
            "-e", "USER_SET=yes", "-e", "KEEP_ME=user",
            "-l", "team=blue",
            "-v", f"{self.bind_dir}:/data",
            "--restart", "unless-stopped",
            "--memory", "64m",
            command=LOOP_CMD)
        self.id_b = iwtest.run_container(self.name_b, self.image_b)

    def test_refresh_replaces_moved_container_and_keeps_settings(self):
        self.start_v1()
        before = iwtest.inspect(self.name_a)
        iwtest.build_image(self.repo_a, "a-v2", env={"APP_MODE": "v2", "KEEP_ME": "image"},
                           labels={"org.image.stage": "v2"})
        with iwtest.Imagewatch(self.config()) as iw:
            status, body = iw.post(REFRESH)
            self.assertEqual(status, 200, body)
            self.assertEqual(body["pulled"], ["alpha", "beta"])
            self.assertEqual(body["failed"], [])
            self.assertEqual(body["recreated"], [self.name_a])
            self.assertEqual(body["skipped"], [self.name_b])
            self.assertEqual(body["errors"], [])

        after = iwtest.inspect(self.name_a)
        self.assertNotEqual(after["Id"], self.id_a)
        self.assertTrue(after["State"]["Running"])
        self.assertEqual(exec_in(self.name_a, "cat", "/etc/app-version"), "a-v2")
        env = dict(e.split("=", 1) for e in after["Config"]["Env"])
        self.assertEqual(env["USER_SET"], "yes")
        self.assertEqual(env["KEEP_ME"], "user")           # user override survives
        self.assertEqual(env["APP_MODE"], "v2")            # inherited default takes v2's value
        labels = after["Config"]["Labels"]
        self.assertEqual(labels["team"], "blue")
        self.assertEqual(labels["org.image.stage"], "v2")  # image label follows the image
        self.assertEqual(labels["imagewatch.replaced-from"], self.id_a)
        self.assertEqual(after["Config"]["Cmd"], LOOP_CMD)
        self.assertEqual(after["Config"]["Image"], before["Config"]["Image"])
        self.assertEqual(after["HostConfig"]["Binds"], [f"{self.bind_dir}:/data"])
        self.assertEqual(after["HostConfig"]["RestartPolicy"], before["HostConfig"]["RestartPolicy"])
        self.assertEqual(after["HostConfig"]["RestartPolicy"]["Name"], "unless-stopped")
        self.assertEqual(after["HostConfig"]["Memory"], 64 * 1024 * 1024)
        self.assertEqual(after["HostConfig"]["NetworkMode"], "none")
        self.assertEqual(exec_in(self.name_a, "cat", "/data/keep.txt"), "data")
        self.assertEqual(iwtest.inspect(self.name_b)["Id"], self.id_b)   # unmoved: untouched
        self.assertFalse(iwtest.exists(self.name_a + "-imagewatch-old"))
        self.assertFalse(iwtest.exists(self.id_a))                       # old one removed

    def test_replacement_that_exits_is_rolled_back(self):
        self.start_v1()
        # The container overrides Cmd, so break v2 through its entrypoint (inherited, so it applies).
        iwtest.build_image(self.repo_a, "a-v2-broken", entrypoint=["/bin/sh", "-c", "exit 1"])
        with iwtest.Imagewatch(self.config()) as iw:
            status, body = iw.post(REFRESH + "?runtime=alpha")
            self.assertEqual(status, 200, body)
            self.assertEqual(body["pulled"], ["alpha"])
            self.assertEqual(body["recreated"], [])
            self.assertEqual(len(body["errors"]), 1, body)
            err = body["errors"][0]
            self.assertEqual(err["runtime"], "alpha")
            self.assertEqual(err["container"], self.name_a)
            self.assertIn("did not stay running", err["error"])
            self.assertIn("rolled back", err["error"])
        after = iwtest.inspect(self.name_a)
        self.assertEqual(after["Id"], self.id_a)
        self.assertTrue(after["State"]["Running"])
        self.assertEqual(exec_in(self.name_a, "cat", "/etc/app-version"), "a-v1")
        self.assertFalse(iwtest.exists(self.name_a + "-imagewatch-old"))
        self.assertEqual(len(iwtest.container_ids(self.prefix)), 2)

    def test_pull_failure_of_one_runtime_does_not_stop_the_others(self):
        self.start_v1()
        iwtest.build_image(self.repo_b, "b-v2")
        missing = iwtest.ref(iwtest.unique("rf/missing"))
        with iwtest.Imagewatch(self.config(gone=missing)) as iw:
            status, body = iw.post(REFRESH)
            self.assertEqual(status, 200, body)
            self.assertEqual(body["pulled"], ["alpha", "beta"])
            self.assertEqual(body["failed"], ["gone"])
            self.assertEqual(body["recreated"], [self.name_b])
            self.assertEqual(body["skipped"], [self.name_a])
            self.assertEqual([e["runtime"] for e in body["errors"]], ["gone"])
            self.assertTrue(body["errors"][0]["error"].startswith("pull: "), body)
            self.assertRegex(body["errors"][0]["error"], r"(?i)not found|unknown|manifest")
        self.assertEqual(exec_in(self.name_b, "cat", "/etc/app-version"), "b-v2")

    def test_admin_auth_and_unknown_runtime(self):
        iwtest.build_image(self.repo_a, "a-v1")
        with iwtest.Imagewatch(self.config()) as iw:
            self.assertEqual(iw.post(REFRESH, token=None), (401, {"error": "admin auth required"}))
            self.assertEqual(iw.post(REFRESH, token="wrong"), (401, {"error": "invalid admin auth token"}))
            status, body = iw.post(REFRESH + "?runtime=nope")
            self.assertEqual(status, 400)
            self.assertEqual(body, {"error": "unknown runtime: nope", "known_runtimes": ["alpha", "beta"]})
            self.assertEqual(iw.post(REFRESH + "?recreate=maybe")[0], 400)
            self.assertEqual(iw.get(REFRESH)[0], 405)
            self.assertEqual(iw.get("/admin/nothing-here")[0], 404)
            self.assertEqual(iw.get("/healthz", token=None), (200, "ok\n"))
        with iwtest.Imagewatch(self.config(), admin_token=None) as iw:
            self.assertEqual(iw.post(REFRESH, token="anything"), (503, {"error": "admin token not configured"}))

    def test_once_prints_the_result_and_exits_by_outcome(self):
        self.start_v1()
        iwtest.build_image(self.repo_a, "a-v2")
        ok = iwtest.run_once(self.config(), ["--runtime", "alpha"])
        self.assertEqual(ok.code, 0, ok)
        self.assertEqual(ok.json, {"pulled": ["alpha"], "failed": [], "recreated": [self.name_a],
                                   "skipped": [], "errors": []})
        self.assertEqual(exec_in(self.name_a, "cat", "/etc/app-version"), "a-v2")
        again = iwtest.run_once(self.config(), ["--runtime", "alpha"])
        self.assertEqual(again.code, 0, again)
        self.assertEqual(again.json["skipped"], [self.name_a])
        bad = iwtest.run_once(self.config(gone=iwtest.ref(iwtest.unique("rf/missing"))), ["--no-recreate"])
        self.assertEqual(bad.code, 1, bad)
        self.assertEqual(bad.json["failed"], ["gone"])
        self.assertEqual(bad.json["recreated"], [])
        usage = iwtest.run_once(self.config(), ["--runtime", "nope"])
        self.assertEqual(usage.code, 2, usage)


if __name__ == "__main__":
    unittest.main(verbosity=2)
