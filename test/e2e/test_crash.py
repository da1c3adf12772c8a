#!/usr/bin/python3
"""A swap interrupted by kill -9 is resolved at the next start, from what Docker records (names,
labels): exactly one container keeps the original name, in the state the operator left it
(running stays running, stopped stays stopped), no parked `*-imagewatch-old*` container remains,
and a later refresh applies the update keeping that state.

The kill lands at a known point, every time: imagewatch talks to Docker through HoldProxy, which
holds one chosen request of the swap; the test waits until the proxy holds exactly that request,
then kills imagewatch. Holding request k is a kill anywhere between the effect of request k-1
and that of request k, so one cell per request covers every point of the swap. The requests of a
swap (checked below against what a full swap sends, so the matrix cannot fall behind the code):

    running container: rename, stop, create, start, verify polls (GET .../json), remove old
    stopped container: rename, create, remove old            (no stop, no start, no verify)

(A container on further networks also gets POST /networks/<n>/connect after create; the e2e
containers use --network none, the unit tests cover that step.) One more cell holds the answer to
a stop Docker is still carrying out, so recovery meets an original that is still being stopped.

A replacement whose healthcheck never turns healthy is rolled back.
"""
import http.client
import json
import re
import signal
import socket
import urllib.parse
import threading
import unittest

import iwtest
from docker_hold_proxy import HoldProxy

ENV = iwtest.load_env()
REFRESH = "/admin/workspace-images/refresh"
IGNORE_TERM = ["/bin/sh", "-c", "trap '' TERM; while :; do sleep 1; done"]
CREATED = "POST /containers/create\\?.*"

# step -> (method, path regex (version prefix removed, query included), nth, counted after)
STEPS = {
    "rename": ("POST", r"/containers/[^/]+/rename\?.*", 1, None),
    "stop": ("POST", r"/containers/[^/]+/stop\?.*", 1, None),
    "create": ("POST", r"/containers/create\?.*", 1, None),
    "start": ("POST", r"/containers/[^/]+/start", 1, None),
    "verify-poll-1": ("GET", r"/containers/[^/]+/json", 1, CREATED),
    "verify-poll-3": ("GET", r"/containers/[^/]+/json", 3, CREATED),
    "remove-old": ("DELETE", r"/containers/[^/]+\?.*", 1, None),
}
# The mutating requests of one full swap, in order.
SWAP_REQUESTS = {
    "running": ["rename", "stop", "create", "start", "remove-old"],
    "stopped": ["rename", "create", "remove-old"],
}
# Holding these, the swap had done everything recovery needs to keep the replacement.
COMMITTED = {
    "running": {"verify-poll-1", "verify-poll-3", "remove-old"},
    "stopped": {"remove-old"},
}


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("docker", timeout=30)
        self._path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self._path)


def docker_api(method, path):
    """One Engine API call on the real socket (the CLI costs a process start per check): parsed JSON."""
    c = _UnixHTTPConnection(ENV["DOCKER_HOST"][len("unix://"):])
    try:
        c.request(method, path)
        r = c.getresponse()
        body = r.read()
        if r.status >= 300:
            raise iwtest.DockerError(f"{method} {path}: {r.status} {body[:200]!r}")
        return json.loads(body) if body else None
    finally:
        c.close()


def inspect(name):
    return docker_api("GET", f"/containers/{name}/json")


def image_id(ref):
    return docker_api("GET", f"/images/{ref}/json")["Id"]


def request_kind(line):
    """'POST /v1.45/containers/x/stop?t=5' -> 'stop'; None for reads and pulls."""
    method, target = line.split(" ", 1)
    path = HoldProxy._strip_version(target)
    for step in ("rename", "stop", "create", "start", "remove-old"):
        m, rx, _, _ = STEPS[step]
        if method == m and re.fullmatch(rx, path):
            return step
    if method == "POST" and "/networks/" in path:
        return "connect"
    return None


class CrashE2E(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # One image pair for every cell: v1 stays here under a local tag, the registry's tag is v2.
        cls.cell_repo = iwtest.unique("cr/cell")
        cls.cell_image = iwtest.ref(cls.cell_repo)
        cls.cell_v1_tag = cls.cell_image.rsplit(":", 1)[0] + ":v1-local"
        iwtest.build_image(cls.cell_repo, "v1")
        iwtest.pull(cls.cell_image)
        iwtest.docker("tag", cls.cell_image, cls.cell_v1_tag)
        iwtest.build_image(cls.cell_repo, "v2")

    @classmethod
    def tearDownClass(cls):
        iwtest.docker("rmi", cls.cell_v1_tag, check=False)

    def setUp(self):
        self.prefix = iwtest.unique("ws-cr")
        self.repo = iwtest.unique("cr/app")
        self.image = iwtest.ref(self.repo)
        self.name = f"{self.prefix}-a"
        self.parked = [self.name + "-imagewatch-old", self.name + "-imagewatch-old-stopped"]

    def tearDown(self):
        iwtest.cleanup_containers(self.prefix)

    def config(self):
        cfg = iwtest.base_config([{"name": "app", "image": self.image}])
        cfg["containers"]["name_prefix"] = self.prefix
        # health also bounds the no-healthcheck grace: 1 s keeps every cell short.
        cfg["timeouts"].update(health="1s", request="30s")
        return cfg

    def same_role(self):
        """Containers named like ours or parked: sorted (name, "running" or "stopped") pairs; a
        stopped container's replacement is "created", never started, and counts as stopped."""
        pairs = ((n[1:], c["State"]) for c in docker_api("GET", "/containers/json?all=1") for n in c["Names"])
        return sorted((n, "running" if st == "running" else "stopped") for n, st in pairs
                      if n in (self.name, *self.parked))

    def post_in_background(self, iw):
        def post():
            try:
                iw.post(REFRESH, timeout=120)
            except OSError:
                pass  # the daemon was killed mid-request
        threading.Thread(target=post, daemon=True).start()

    def kill9(self, iw):
        iw.proc.send_signal(signal.SIGKILL)
        iw.proc.wait()
        iw.stop()  # closes the log; start() reopens it

    def recovered(self):
        """One container under the name, none parked: recovery is done (its last step frees the
        parked name, by removal or by renaming back)."""
        role = self.same_role()
        return role if len(role) == 1 and role[0][0] == self.name else None

    def interrupt(self, state, step, mode="before", command=None, run_args=()):
        """Runs the container on v1 (stopped when state == "stopped"), holds `step` of its swap to
        v2, kills imagewatch there, restarts it and checks recovery and a later refresh."""
        self.image = self.cell_image
        repo, tag = self.image.rsplit(":", 1)
        # A previous cell's refresh moved the tag to v2.
        docker_api("POST", f"/images/{self.cell_v1_tag}/tag?repo={urllib.parse.quote(repo, safe='')}&tag={tag}")
        v1 = image_id(self.image)
        old_id = iwtest.run_container(self.name, self.image, *run_args, command=command or ())
        if state == "stopped":
            iwtest.docker("stop", self.name)
        expected = state
        with HoldProxy(ENV["DOCKER_HOST"]) as proxy:
            method, rx, nth, after = STEPS[step]
            proxy.hold(method, rx, nth=nth, after=after, mode=mode)
            iw = iwtest.Imagewatch(self.config(), env={"DOCKER_HOST": proxy.url})  # DOCKER_HOST wins over docker.host
            try:
                self.post_in_background(iw)
                held = proxy.wait_held(timeout=30)
                # The held request acts on the original (rename, stop, remove) or on the replacement.
                self.assertEqual(old_id in held, step in ("rename", "stop", "remove-old"), held)
                self.kill9(iw)
                proxy.release_rule()
                iw.start()
                if mode == "after":
                    # Docker answers the held request once it has carried it out.
                    iwtest.wait_until(proxy.answered.is_set, timeout=30, what=f"Docker done with {held}")
                committed = step in COMMITTED[state]
                if step != "rename":  # else nothing was parked: nothing to recover
                    # Logged once recovery has done all it does.
                    iw.wait_for_log("interrupted swap")
                    self.assertIn("interrupted swap " + ("completed" if committed else "rolled back"), iw.logs())
                role = iwtest.wait_until(self.recovered, timeout=30, what="recovery done")
                self.assertEqual(role, [(self.name, expected)], f"after recovery, killed at {held}")
                if not committed:
                    self.assertEqual(inspect(self.name)["Id"], old_id)

                # The update applies on a later refresh (through the proxy, which records its requests).
                first = len(proxy.requests)
                status, body = iw.post(REFRESH, timeout=120)
                self.assertEqual(status, 200, body)
                self.assertEqual(body["errors"], [], body)
                self.assertEqual(body["recreated" if not committed else "skipped"], [self.name], body)
                if not committed:
                    kinds = [k for k in map(request_kind, proxy.requests[first:]) if k]
                    self.assertEqual(kinds, SWAP_REQUESTS[state], proxy.requests[first:])
                    if state == "running":  # enough verify polls for the verify-poll-3 cell to exist
                        swap = proxy.requests[first:]
                        created = next(i for i, r in enumerate(swap) if request_kind(r) == "create")
                        polls = [r for r in swap[created:] if re.fullmatch(r"GET \S+/containers/[^/]+/json", r)]
                        self.assertGreaterEqual(len(polls), 3, swap)
            finally:
                iw.__exit__(None, None, None)
        self.assertEqual(self.same_role(), [(self.name, expected)])
        now = inspect(self.name)
        self.assertNotEqual(now["Image"], v1)
        self.assertEqual(now["Image"], image_id(self.image), "runs the v2 image")
        self.assertNotEqual(now["Id"], old_id)

    def test_running_kill_at_every_swap_request(self):
        for step in ("rename", "stop", "create", "start", "verify-poll-1", "verify-poll-3", "remove-old"):
            with self.subTest(step=step):
                try:
                    self.interrupt("running", step)
                finally:
                    iwtest.cleanup_containers(self.prefix)

    def test_stopped_kill_at_every_swap_request(self):
        for step in ("rename", "create", "remove-old"):
            with self.subTest(step=step):
                try:
                    self.interrupt("stopped", step)
                finally:
                    iwtest.cleanup_containers(self.prefix)

    def test_running_kill_while_docker_is_still_stopping_the_original(self):
        # The original ignores TERM: Docker needs the whole stop timeout and carries the stop on
        # after imagewatch is gone; the restarted imagewatch must still end with it running.
        self.interrupt("running", "stop", mode="after", command=IGNORE_TERM, run_args=("--stop-timeout", "4"))

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
