#!/usr/bin/python3
"""Proves the e2e environment itself: push, the registry's 401 -> token -> 200 flow, run and stop."""
import time
import unittest

import iwtest

ENV = iwtest.load_env()  # exits 77 (skip) or 1 (IMAGEWATCH_E2E=1) when the environment is down


class EnvSmoke(unittest.TestCase):
    def setUp(self):
        self.prefix = iwtest.unique("ws-smoke")
        self.repo = iwtest.unique("smoke/app")

    def tearDown(self):
        iwtest.cleanup_containers(self.prefix)

    def test_push_then_token_flow_head(self):
        digest = iwtest.build_image(self.repo + ":latest", "v1")
        self.assertRegex(digest, r"^sha256:[0-9a-f]{64}$")

        url = f"https://{ENV['REGISTRY']}/v2/{self.repo}/manifests/latest"
        accept = {"Accept": iwtest.MANIFEST_ACCEPT}
        status, headers, _ = iwtest.https("HEAD", url, accept)
        self.assertEqual(status, 401)
        scheme, ch = iwtest.parse_challenge(headers["www-authenticate"])
        self.assertEqual(scheme, "bearer")
        self.assertEqual(ch["realm"], ENV["TOKEN_REALM"])
        self.assertEqual(ch["service"], "e2e-registry")
        self.assertEqual(ch["scope"], f"repository:{self.repo}:pull")

        before = len(iwtest.token_requests())
        token = iwtest.get_token(ch["realm"], ch["service"], ch["scope"])  # anonymous: pull only
        self.assertGreater(len(iwtest.token_requests()), before)
        status, headers, _ = iwtest.https("HEAD", url, dict(accept, Authorization=f"Bearer {token}"))
        self.assertEqual(status, 200)
        self.assertEqual(headers["docker-content-digest"], digest)

        # The anonymous token is pull-only and scoped to this repository.
        other = f"https://{ENV['REGISTRY']}/v2/{self.repo}-other/manifests/latest"
        self.assertEqual(iwtest.https("HEAD", other, dict(accept, Authorization=f"Bearer {token}"))[0], 401)
        self.assertEqual(iwtest.https("GET", f"{ENV['TOKEN_REALM']}?service=e2e-registry",
                                      {"Authorization": "Basic YWRtaW46d3Jvbmc="})[0], 401)  # admin:wrong

        # Same content again: a new digest, and the tag moves to it.
        digest2 = iwtest.build_image(self.repo + ":latest", "v1")
        self.assertNotEqual(digest2, digest)
        self.assertEqual(iwtest.registry_digest(self.repo), digest2)
        self.assertEqual(iwtest.registry_digest(self.repo, auth=("admin", "secret")), digest2)
        self.assertIsNone(iwtest.registry_digest(self.repo + ":missing"))

    def test_run_and_stop_container(self):
        digest = iwtest.build_image(self.repo + ":v1", "1.0.0", labels={"e2e": "smoke"}, env={"APP": "x y"})
        image = iwtest.ref(self.repo + ":v1")
        self.assertFalse(iwtest.exists(image))  # build_image leaves nothing local: a pull is real
        iwtest.pull(image)
        self.assertIn(f"{ENV['REGISTRY']}/{self.repo}@{digest}", iwtest.image_inspect(image)["RepoDigests"])

        name = f"{self.prefix}-c"
        cid = iwtest.run_container(name, image)
        info = iwtest.inspect(name)
        self.assertEqual(info["Id"], cid)
        self.assertTrue(info["State"]["Running"])
        self.assertEqual(info["HostConfig"]["NetworkMode"], "none")
        self.assertEqual(info["Config"]["Labels"].get("e2e"), "smoke")
        self.assertIn("APP=x y", info["Config"]["Env"])
        self.assertEqual(iwtest.docker("exec", name, "cat", "/etc/app-version"), "1.0.0")
        with self.assertRaises(ValueError):
            iwtest.run_container(f"{self.prefix}-bridge", image, "--network", "bridge")

        t = time.monotonic()
        iwtest.docker("stop", "-t", "10", name)
        self.assertLess(time.monotonic() - t, 5, "the default CMD must stop promptly on SIGTERM")
        self.assertFalse(iwtest.inspect(name)["State"]["Running"])
        self.assertEqual(iwtest.cleanup_containers(self.prefix), 1)
        self.assertFalse(iwtest.exists(name))

    def test_exit_at_once_image(self):
        iwtest.build_image(self.repo, "bad", exit_at_once=True)
        name = f"{self.prefix}-x"
        iwtest.run_container(name, iwtest.ref(self.repo))
        iwtest.wait_until(lambda: not iwtest.inspect(name)["State"]["Running"], 10, what="exit")
        self.assertEqual(iwtest.inspect(name)["State"]["ExitCode"], 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
