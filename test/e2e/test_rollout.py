#!/usr/bin/python3
"""Concurrent refreshes and progressive rollout on the real dockerd and the TLS + token registry.

- isolation: a pull held by a Docker API proxy (it never completes) does not delay another
  runtime's refresh;
- 20 containers with rollout.parallelism 4: all verified, 4 swaps in flight together;
- a v2 that exits at start halts after the canary (one container touched, restored), is not
  retried, `force=true` retries it, a newer good v3 then rolls out; a notification tells the halt;
- a closed rollout.window defers an automatic rollout but not an admin POST;
- min_age defers an automatic rollout, then applies it;
- mode "notify" notifies and never pulls or replaces.
"""
import re
import threading
import time
import unittest

import iwtest
from docker_hold_proxy import HoldProxy
from test_hooks import Receiver

ENV = iwtest.load_env()
REFRESH = "/admin/workspace-images/refresh"
HEALTHY = "--interval=1s --timeout=2s --retries=3 CMD test -f /etc/app-version"


def status_of(iw, name):
    return next(r for r in iw.get("/admin/status")[1]["runtimes"] if r["name"] == name)


def utc_hhmm(t):
    return time.strftime("%H:%M", time.gmtime(t))


class RolloutE2E(unittest.TestCase):
    def run_logged(self, iw, fn):
        try:
            fn()
        except Exception:
            print(iw.logs()[-6000:], flush=True)
            raise

    def setUp(self):
        self.prefix = iwtest.unique("ws-ro")
        self.repo = iwtest.unique("ro/app")
        self.image = iwtest.ref(self.repo)
        self.receiver = None

    def tearDown(self):
        iwtest.cleanup_containers(self.prefix)
        if self.receiver:
            self.receiver.close()

    def config(self, rollout=None, **runtime_extra):
        rt = {"name": "ro", "image": self.image, **runtime_extra}
        if rollout is not None:
            rt["rollout"] = rollout
        cfg = iwtest.base_config([rt])
        cfg["containers"]["name_prefix"] = self.prefix
        cfg["timeouts"]["health"] = "8s"
        return cfg

    def start_v1(self, n, healthcheck=None):
        iwtest.build_image(self.repo, "v1", healthcheck=healthcheck)
        iwtest.pull(self.image)
        self.v1_id = iwtest.image_inspect(self.image)["Id"]
        names = [f"{self.prefix}-{i:02d}" for i in range(n)]
        ids = {}
        for name in names:
            ids[name] = iwtest.run_container(name, self.image)
        return names, ids

    def pulled(self, digest):
        """Whether the daemon has the image with this registry digest (imagewatch pulled it)."""
        try:
            iwtest.image_inspect(f"{self.image.rsplit(':', 1)[0]}@{digest}")
            return True
        except iwtest.DockerError:
            return False

    def on_image(self, names, image_id):
        return [n for n in names if iwtest.inspect(n)["Image"] == image_id]

    # ---------------------------------------------------------------------------------- isolation

    def test_a_stalled_pull_of_one_runtime_does_not_hold_back_another(self):
        slow_repo = iwtest.unique("ro/slow")
        slow_image = iwtest.ref(slow_repo)
        iwtest.build_image(slow_repo, "s1")
        names, ids = self.start_v1(1)
        iwtest.build_image(self.repo, "v2")
        with HoldProxy(upstream=ENV["DOCKER_HOST"]) as proxy:
            # The pull of the slow runtime's image reaches the proxy and never gets further.
            proxy.hold("POST", r"/images/create\?fromImage=[^&]*" + re.escape(slow_repo.rsplit("/", 1)[-1]) + r"&.*")
            cfg = self.config()
            cfg["runtimes"].append({"name": "slow", "image": slow_image})
            with iwtest.Imagewatch(cfg, env={"DOCKER_HOST": proxy.url}) as iw:  # DOCKER_HOST wins over docker.host
                slow_answer = {}
                t = threading.Thread(target=lambda: slow_answer.update(r=iw.post(REFRESH + "?runtime=slow", timeout=120)))
                t.start()
                proxy.wait_held(30)
                started = time.monotonic()
                status, body = iw.post(REFRESH + "?runtime=ro", timeout=60)
                took = time.monotonic() - started
                self.assertEqual(status, 200, body)
                self.assertEqual(body["recreated"], names, body)
                self.assertTrue(proxy.held.is_set())
                self.assertTrue(t.is_alive(), "the slow refresh must still be waiting for its pull")
                st = status_of(iw, "ro")["rollout"]
                self.assertEqual(st["state"], "done", st)
                print(f"refresh of 'ro' while 'slow' pull is held: {took:.2f}s")
                proxy.close()  # the held pull fails now
                t.join(60)
                self.assertFalse(t.is_alive())
                # Its pull failed with the proxy gone (and so did its container list: a 500).
                answer = slow_answer["r"][1]
                self.assertEqual(answer.get("partial_result", answer)["failed"], ["slow"], answer)

    # ------------------------------------------------------------------------------ parallel swaps

    def test_twenty_containers_parallelism_four_all_verified(self):
        names, ids = self.start_v1(20, healthcheck=HEALTHY)
        iwtest.build_image(self.repo, "v2", healthcheck=HEALTHY)
        with iwtest.Imagewatch(self.config({"parallelism": 4, "canary": 1})) as iw:
            status, body = iw.post(REFRESH, timeout=300)
            self.assertEqual(status, 200, body)
            self.assertEqual(sorted(body["recreated"]), names)
            self.assertEqual(body["errors"], [])
            v2_id = iwtest.image_inspect(self.image)["Id"]
            self.assertEqual(self.on_image(names, v2_id), names)
            for n in names:
                c = iwtest.inspect(n)
                self.assertTrue(c["State"]["Running"], n)
                self.assertEqual(c["State"]["Health"]["Status"], "healthy", n)
            st = status_of(iw, "ro")["rollout"]
            self.assertEqual((st["state"], st["replaced"], st["failed"], st["remaining"]), ("done", 20, 0, 0), st)
            # After the canary the window fills: steps 2..5 all started before any of them finished.
            lines = [l for l in iw.logs().splitlines() if "runtime=ro" in l]
            starts = [i for i, l in enumerate(lines) if 'msg="replacing container"' in l and re.search(r'step="[2-5] of 20"', l)]
            ends = [i for i, l in enumerate(lines) if 'msg="container replaced"' in l and re.search(r'step="[2-5] of 20"', l)]
            self.assertEqual(len(starts), 4)
            self.assertEqual(len(ends), 4)
            self.assertLess(max(starts), min(ends))
            self.assertIn('msg="rollout progress"', iw.logs())
            self.assertRegex(iw.logs(), r'done="20 of 20"')
            metrics = iw.get("/metrics", token=None)[1]
            self.assertIn('imagewatch_rollouts_total{runtime="ro",result="done"} 1', metrics)
            self.assertIn("imagewatch_swaps_in_flight 0", metrics)

    # --------------------------------------------------------------------------- canary and halt

    def test_bad_image_halts_after_canary_force_retries_newer_good_image_rolls_out(self):
        names, ids = self.start_v1(6)
        iwtest.build_image(self.repo, "v2-broken", exit_at_once=True)
        self.receiver = Receiver()
        cfg = self.config({"parallelism": 3, "canary": 1})
        cfg["notify"] = {"webhook_url": self.receiver.url}
        with iwtest.Imagewatch(cfg) as iw:
            status, body = iw.post(REFRESH)
            self.assertEqual(status, 200, body)
            self.assertEqual(body["halted"], ["ro"], body)
            self.assertEqual(body["recreated"], [])
            # Only the canary was touched, and it was restored: every container keeps its ID.
            self.assertEqual(len(re.findall(r'msg="replacing container"', iw.logs())), 1)
            for n in names:
                c = iwtest.inspect(n)
                self.assertEqual(c["Id"], ids[n], n)
                self.assertTrue(c["State"]["Running"], n)
            st = status_of(iw, "ro")["rollout"]
            self.assertEqual((st["state"], st["replaced"], st["failed"], st["remaining"]), ("halted", 0, 1, 5), st)
            iwtest.wait_until(lambda: any(e[1]["event"] == "rollout_halted" for e in self.receiver.events), 20,
                              what="a rollout_halted notification")

            # Not retried on the same image.
            status, body = iw.post(REFRESH)
            self.assertEqual(body["halted"], ["ro"], body)
            self.assertIn("force=true", body["errors"][-1]["error"])
            self.assertEqual(len(re.findall(r'msg="replacing container"', iw.logs())), 1)

            # force=true: the canary is tried again (and fails again: still one container touched).
            status, body = iw.post(REFRESH + "?runtime=ro&force=true")
            self.assertEqual(body["halted"], ["ro"], body)
            self.assertEqual(len(re.findall(r'msg="replacing container"', iw.logs())), 2)
            self.assertEqual([n for n in names if iwtest.inspect(n)["Id"] != ids[n]], [])

            # A newer, good image rolls out everywhere.
            iwtest.build_image(self.repo, "v3")
            status, body = iw.post(REFRESH)
            self.assertEqual(status, 200, body)
            self.assertNotIn("halted", body)
            self.assertEqual(sorted(body["recreated"]), names)
            v3_id = iwtest.image_inspect(self.image)["Id"]
            self.assertEqual(self.on_image(names, v3_id), names)
            st = status_of(iw, "ro")["rollout"]
            self.assertEqual((st["state"], st["replaced"]), ("done", 6), st)
            self.assertIn('imagewatch_rollouts_total{runtime="ro",result="halted"} 2', iw.get("/metrics", token=None)[1])

    # ------------------------------------------------------------------------ window and min_age

    def watched(self, **extra):
        cfg = self.config(**extra)
        cfg["watch"] = {"enabled": True, "interval": "1s", "jitter": "0s", "apply_on_start": True}
        return cfg

    def test_closed_window_defers_automatic_rollout_but_not_a_post(self):
        names, ids = self.start_v1(2)
        v2 = iwtest.build_image(self.repo, "v2")
        now = time.time()
        window = f"{utc_hhmm(now + 3 * 3600)}-{utc_hhmm(now + 4 * 3600)} UTC"
        with iwtest.Imagewatch(self.watched(rollout={"window": window})) as iw:
            iwtest.wait_until(lambda: (status_of(iw, "ro")["rollout"] or {}).get("state") == "pending_window", 30,
                              what="rollout pending_window")
            st = status_of(iw, "ro")
            self.assertEqual(st["last_result"], "deferred")
            self.assertIsNotNone(st["rollout"]["until"])
            iw.wait_for_log(r'msg="outside the rollout window: the update waits"')
            # A check later it still waits, nothing was pulled or replaced.
            n = iw.logs().count("outside the rollout window")
            iwtest.wait_until(lambda: iw.logs().count("outside the rollout window") > n, 30, what="another deferred check")
            self.assertEqual(self.on_image(names, self.v1_id), names)
            self.assertFalse(self.pulled(v2))
            # The operator's POST ignores the window.
            status, body = iw.post(REFRESH)
            self.assertEqual(status, 200, body)
            self.assertEqual(sorted(body["recreated"]), names)

    def test_min_age_defers_then_applies(self):
        names, ids = self.start_v1(1)
        iwtest.build_image(self.repo, "v2")
        pushed = time.time()
        with iwtest.Imagewatch(self.watched(min_age="25s")) as iw:
            iwtest.wait_until(lambda: (status_of(iw, "ro")["rollout"] or {}).get("state") == "deferred_until", 30,
                              what="rollout deferred_until")
            self.assertLess(time.time() - pushed, 25, "the first check came after min_age: nothing was tested")
            self.assertEqual(self.on_image(names, self.v1_id), names)
            iw.wait_for_log(r'msg="image younger than min_age: the update waits"')
            self.run_logged(iw, lambda: iwtest.wait_until(
                lambda: (status_of(iw, "ro")["rollout"] or {}).get("state") == "done", 90,
                what="rollout done once the image is old enough"))
            self.assertGreaterEqual(time.time() - pushed, 25)
            self.assertEqual(self.on_image(names, self.v1_id), [])

    # --------------------------------------------------------------------------------- notify mode

    def test_notify_mode_never_pulls_or_replaces(self):
        names, ids = self.start_v1(2)
        v2 = iwtest.build_image(self.repo, "v2")
        self.receiver = Receiver()
        cfg = self.watched(mode="notify")
        cfg["notify"] = {"webhook_url": self.receiver.url}
        with iwtest.Imagewatch(cfg) as iw:
            iwtest.wait_until(lambda: any(e[1]["event"] == "update_available" for e in self.receiver.events), 30,
                              what="an update_available notification")
            status, body = iw.post(REFRESH)
            self.assertEqual(status, 200, body)
            self.assertEqual(body["notified"], ["ro"])
            self.assertEqual(body["pulled"], [])
            self.assertEqual(body["recreated"], [])
            self.assertEqual([n for n in names if iwtest.inspect(n)["Id"] != ids[n]], [])
            self.assertFalse(self.pulled(v2))
            self.assertEqual(len([e for e in self.receiver.events if e[1]["event"] == "update_available"]), 2)


if __name__ == "__main__":
    unittest.main()
