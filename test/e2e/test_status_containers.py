#!/usr/bin/python3
"""/admin/status "containers" is what each runtime selects now, with the watcher off (the default):
counted from the engine when status is asked, not left at the last watcher check. It follows
containers started, a pull that moves the tag away from them (the engine then lists them by image
ID), a refresh that replaces them, and a removal.
"""
import unittest

import iwtest

ENV = iwtest.load_env()
REFRESH = "/admin/workspace-images/refresh"


class StatusContainersE2E(unittest.TestCase):
    def setUp(self):
        self.prefix = iwtest.unique("ws-sc")
        self.other_prefix = iwtest.unique("xx-sc")
        self.repo = iwtest.unique("sc/app")
        self.repo_other = iwtest.unique("sc/other")
        self.image = iwtest.ref(self.repo)

    def tearDown(self):
        iwtest.cleanup_containers(self.prefix)
        iwtest.cleanup_containers(self.other_prefix)

    def containers(self, iw):
        code, st = iw.get("/admin/status", timeout=10)
        self.assertEqual(code, 200, st)
        return {r["name"]: r["containers"] for r in st["runtimes"]}

    def test_counts_follow_the_engine_with_watch_disabled(self):
        iwtest.build_image(self.repo, "v1")
        iwtest.build_image(self.repo_other, "o1")
        iwtest.pull(self.image)
        iwtest.pull(iwtest.ref(self.repo_other))
        cfg = iwtest.base_config([{"name": "app", "image": self.image}])
        cfg["containers"]["name_prefix"] = self.prefix
        self.assertFalse(cfg["watch"]["enabled"])
        with iwtest.Imagewatch(cfg) as iw:
            self.assertEqual(self.containers(iw), {"app": 0})
            iwtest.run_container(f"{self.prefix}-1", self.image)
            iwtest.run_container(f"{self.prefix}-2", self.image)
            iwtest.docker("stop", "-t", "1", f"{self.prefix}-2")  # stopped containers count too
            # Not selected: another name prefix, another image.
            iwtest.run_container(f"{self.other_prefix}-1", self.image)
            iwtest.run_container(f"{self.prefix}-other", iwtest.ref(self.repo_other))
            self.assertEqual(self.containers(iw), {"app": 2})

            # A new digest pulled without recreate: the engine now lists the two by image ID.
            iwtest.build_image(self.repo, "v2")
            code, out = iw.post(f"{REFRESH}?recreate=false", timeout=120)
            self.assertEqual(code, 200, out)
            self.assertEqual(out["pulled"], ["app"], out)
            self.assertEqual(self.containers(iw), {"app": 2})

            code, out = iw.post(REFRESH, timeout=180)
            self.assertEqual(code, 200, out)
            self.assertEqual(sorted(out["recreated"]), [f"{self.prefix}-1", f"{self.prefix}-2"], out)
            self.assertEqual(self.containers(iw), {"app": 2})

            iwtest.docker("rm", "-f", f"{self.prefix}-1")
            self.assertEqual(self.containers(iw), {"app": 1})


if __name__ == "__main__":
    unittest.main(verbosity=2)
