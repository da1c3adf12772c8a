#!/usr/bin/python3
"""Swarm services end to end, on a single-node swarm of a private dockerd in a network namespace
of this test's own that has only `lo`.

Outside (host namespace, root): creates the namespace, brings `lo` up, starts env.sh's dockerd +
TLS/token registry + token server inside it with a state dir and ports of its own, runs this file
again inside it (--inside), then tears everything down and checks that the host's addresses and
routes are exactly as before: nothing Swarm creates (ingress, docker_gwbridge) may reach the host.

Inside: `docker swarm init` on 127.0.0.1, a 2-replica service of a registry image, and imagewatch
with that service selected. It proves: a service already on the digest is skipped; a new digest
is written to the service pinned as tag@digest, Swarm rolls it out and both tasks run it; a new
version that exits at start under --update-failure-action rollback is rolled back by Swarm and
reported rolled_back; the task containers, though the container selector matches their names,
are never renamed, stopped or created by imagewatch.

Runs when IMAGEWATCH_E2E=1 (fails if it cannot) or, without it, when root with dockerd and
`ip` at hand (else exits 77). It does not use the shared environment at /tmp/imagewatch-e2e.
"""
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
import unittest

from iwtest import skip_or_fail

HERE = os.path.dirname(os.path.abspath(__file__))
ENV_SH = os.path.join(HERE, "env.sh")
NETNS = "iw-swarm-e2e"
STATE_DIR = os.environ.get("IMAGEWATCH_SWARM_E2E_DIR", "/tmp/imagewatch-swarm")
REG_PORT, TOKEN_PORT = "5444", "5002"
SWARM_PORT = "23770"
LOCK = "/tmp/imagewatch-swarm.lock"
REFRESH = "/admin/workspace-images/refresh"


# ------------------------------------------------------------------------------------------- outside

def host_network():
    """What the host namespace's network looks like: addresses and routes (v4 and v6)."""
    out = []
    for args in (["addr"], ["route"], ["-6", "route"], ["link"]):
        p = subprocess.run(["ip", *args], capture_output=True, text=True, check=True)
        out.append(f"$ ip {' '.join(args)}\n{p.stdout}")
    return "\n".join(out)


def in_ns(*cmd, check=True, env=None, timeout=300):
    return subprocess.run(["nsenter", f"--net=/var/run/netns/{NETNS}", *cmd], check=check, env=env,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def env_sh_env():
    env = dict(os.environ, IMAGEWATCH_E2E_DIR=STATE_DIR, IMAGEWATCH_E2E_REG_PORT=REG_PORT,
               IMAGEWATCH_E2E_TOKEN_PORT=TOKEN_PORT)
    for k in list(env):  # another environment's variables must not leak into this one
        if k.startswith(("REGISTRY", "TOKEN_", "DOCKER_")):
            del env[k]
    return env


def down():
    """Everything this test started, by the pids env.sh saved (works from any namespace)."""
    if os.path.exists(os.path.join(STATE_DIR, "docker.sock")) and os.path.exists(f"/var/run/netns/{NETNS}"):
        # Leaving the swarm first: its services would otherwise restart tasks while env.sh removes them.
        docker = shutil.which("docker") or "/usr/bin/docker"
        in_ns(docker, "-H", f"unix://{STATE_DIR}/docker.sock", "swarm", "leave", "--force", check=False,
              env=dict(os.environ, DOCKER_CONFIG=os.path.join(STATE_DIR, "docker-client")), timeout=60)
    subprocess.run(["bash", ENV_SH, "down", "--purge"], env=env_sh_env(), check=False, timeout=120)


def remove_netns():
    if not os.path.exists(f"/var/run/netns/{NETNS}"):
        return []
    pids = subprocess.run(["ip", "netns", "pids", NETNS], capture_output=True, text=True).stdout.split()
    subprocess.run(["ip", "netns", "del", NETNS], check=False)
    return pids


def outside():
    if os.geteuid() != 0:
        skip_or_fail("needs root (network namespace, dockerd)")
    for tool in ("ip", "nsenter", "dockerd"):
        if not shutil.which(tool):
            skip_or_fail(f"{tool} not found")
    lock = open(LOCK, "w")
    fcntl.flock(lock, fcntl.LOCK_EX)  # one run of this test at a time: the state dir and namespace are fixed
    # A run that was killed may have left its processes and namespace: clear them first.
    down()
    left = remove_netns()
    if left:
        print(f"note: an earlier run's namespace still had pids {left}", flush=True)

    before = host_network()
    rc = 1
    try:
        subprocess.run(["ip", "netns", "add", NETNS], check=True)
        subprocess.run(["ip", "netns", "exec", NETNS, "ip", "link", "set", "lo", "up"], check=True)
        # nsenter --net only: dockerd needs the host's mounts (cgroups), which `ip netns exec` remounts.
        in_ns("bash", ENV_SH, "up", env=env_sh_env())
        child_env = dict(os.environ, IMAGEWATCH_E2E_DIR=STATE_DIR, IMAGEWATCH_E2E="1")
        rc = in_ns("/usr/bin/python3", os.path.abspath(__file__), "--inside", *sys.argv[1:], check=False,
                   env=child_env, timeout=900).returncode
    finally:
        down()
        left = remove_netns()
        after = host_network()
        lock.close()
    if left:
        print(f"FAIL: processes were still in the test's namespace before it was removed: {left}", flush=True)
        rc = rc or 1
    if before != after:
        print("FAIL: the host's network changed while the test ran\n--- before\n" + before + "\n--- after\n" + after,
              flush=True)
        rc = rc or 1
    else:
        print("host namespace network unchanged (ip addr / route / -6 route / link identical before and after)",
              flush=True)
    sys.exit(rc)


# -------------------------------------------------------------------------------------------- inside

def inside_tests():
    import iwtest

    iwtest.load_env()
    docker = iwtest.docker

    def ns_interfaces():
        return subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout

    class SwarmServicesE2E(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            # The namespace is this test's alone: anything but lo here means the setup is wrong.
            links = [l.split(":")[1].strip() for l in ns_interfaces().splitlines()]
            assert links == ["lo"], f"namespace must start with only lo, has {links}"
            cls.repo = iwtest.unique("swarm/web")
            cls.image = iwtest.ref(cls.repo + ":stable")
            cls.service = iwtest.unique("sw-web")
            cls.d1 = iwtest.build_image(cls.repo + ":stable", "v1")
            cfg = iwtest.base_config([{"name": "web", "image": cls.image,
                                       "services": {"name_prefix": cls.service, "label": "tier=front"}}])
            # The container selector matches the task containers' names (<service>.<slot>.<task id>):
            # they must still never be swapped as containers.
            cfg["containers"] = {"name_prefix": "sw-"}
            cfg["timeouts"]["service_update"] = "150s"
            # Before the swarm exists: services selected on a plain engine.
            assert docker("info", "--format", "{{.Swarm.LocalNodeState}}") == "inactive"
            cls.not_in_swarm = iwtest.run_once(cfg)
            docker("swarm", "init", "--advertise-addr", "127.0.0.1", "--listen-addr", f"127.0.0.1:{SWARM_PORT}")
            # Swarm's own rolling update: one task at a time, a short monitor, rollback on failure.
            docker("service", "create", "--detach", "--with-registry-auth", "--name", cls.service,
                   "--replicas", "2", "--network", "host", "--label", "tier=front",
                   "--update-parallelism", "1", "--update-delay", "0s", "--update-monitor", "3s",
                   "--update-failure-action", "rollback", "--update-max-failure-ratio", "0",
                   "--rollback-parallelism", "2", "--rollback-monitor", "1s",
                   "--restart-condition", "any", "--restart-delay", "1s",
                   "--stop-grace-period", "2s", cls.image, timeout=120)
            iwtest.wait_until(lambda: cls.tasks_on("v1"), timeout=90, what="2 tasks on v1")
            cls.iw = iwtest.Imagewatch(cfg)

        @classmethod
        def tearDownClass(cls):
            cls.iw.stop()
            docker("service", "rm", cls.service, check=False)

        @classmethod
        def task_containers(cls):
            out = docker("ps", "--no-trunc", "--filter", f"label=com.docker.swarm.service.name={cls.service}",
                         "--format", "{{.ID}}")
            return out.split()

        @classmethod
        def tasks_on(cls, version):
            """Both running task containers have /etc/app-version == version (and only two run)."""
            ids = cls.task_containers()
            if len(ids) != 2:
                return False
            for cid in ids:
                if iwtest.inspect(cid)["State"]["Status"] != "running":
                    return False
                if docker("exec", cid, "cat", "/etc/app-version", check=False) != version:
                    return False
            return ids

        def service_spec_image(self):
            return json.loads(docker("service", "inspect", self.service))[0]["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]

        def refresh(self):
            since = docker("info", "--format", "{{json .SystemTime}}").strip('"')
            status, body = self.iw.post(REFRESH + "?runtime=web", timeout=300)
            print(f"\n  refresh -> {status} {json.dumps(body)}", flush=True)
            until = docker("info", "--format", "{{json .SystemTime}}").strip('"')
            # Container events imagewatch's own swap would cause: rename (parking), create, stop
            # by name. A task container may be created and stopped only by Swarm, for its service.
            ev = docker("events", "--since", since, "--until", until, "--filter", "type=container",
                        "--format", "{{.Action}} {{index .Actor.Attributes \"name\"}}")
            return status, body, ev.splitlines()

        def assert_no_direct_touch(self, body, events):
            self.assertEqual(body["recreated"], [], body)
            self.assertEqual(body["skipped"], [], "task containers are not selected as containers: " + json.dumps(body))
            self.assertFalse([e for e in events if e.startswith("rename")], events)
            self.assertFalse([e for e in events if "imagewatch-old" in e], events)
            self.assertNotIn("replacing container", self.iw.logs())
            # Every container created meanwhile is a Swarm task of the service (Swarm's name form).
            for e in events:
                if e.startswith("create "):
                    self.assertRegex(e, rf"^create {re.escape(self.service)}\.\d+\.[a-z0-9]+$")

        def test_0_not_in_a_swarm_is_a_clear_error(self):
            r = self.not_in_swarm
            print(f"\n  --once on a non-swarm engine -> {r.code} {r.stdout.strip()}", flush=True)
            body = r.json
            self.assertNotEqual(r.code, 0, r)
            self.assertEqual(body["pulled"], ["web"], body)
            self.assertEqual(len(body["errors"]), 1, body)
            self.assertEqual(body["errors"][0]["runtime"], "web")
            self.assertIn("not an active swarm member (Swarm state \"inactive\")", body["errors"][0]["error"])

        def test_1_already_on_the_digest_is_skipped(self):
            self.assertEqual(self.service_spec_image(), f"{self.image}@{self.d1}")  # the CLI pinned it
            status, body, events = self.refresh()
            self.assertEqual(status, 200, body)
            self.assertEqual(body["services"], [{"runtime": "web", "service": self.service, "result": "skipped",
                                                 "image": f"{self.image}@{self.d1}", "message": ""}], body)
            self.assertEqual(body["errors"], [], body)
            self.assertEqual([e for e in events if not e.startswith(("exec_", "attach"))], [], events)

        def test_2_new_digest_rolled_out_by_swarm(self):
            before = set(self.task_containers())
            d2 = iwtest.build_image(self.repo + ":stable", "v2")
            status, body, events = self.refresh()
            self.assertEqual(status, 200, body)
            self.assertEqual(body["errors"], [], body)
            self.assertEqual(len(body["services"]), 1, body)
            s = body["services"][0]
            self.assertEqual((s["service"], s["result"], s["image"]), (self.service, "updated", f"{self.image}@{d2}"), body)
            # Pinned by digest in Swarm's spec; PreviousSpec keeps v1 for Swarm's own rollback.
            svc = json.loads(docker("service", "inspect", self.service))[0]
            self.assertEqual(svc["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"], f"{self.image}@{d2}")
            self.assertEqual(svc["PreviousSpec"]["TaskTemplate"]["ContainerSpec"]["Image"], f"{self.image}@{self.d1}")
            self.assertEqual(svc["UpdateStatus"]["State"], "completed")
            # Everything else of the spec is as it was: Swarm's update settings, labels, replicas.
            self.assertEqual(svc["Spec"]["UpdateConfig"], svc["PreviousSpec"]["UpdateConfig"])
            self.assertEqual(svc["Spec"]["Labels"], {"tier": "front"})
            self.assertEqual(svc["Spec"]["Mode"], {"Replicated": {"Replicas": 2}})
            # Both tasks run v2, in new containers Swarm made; the v1 ones are Swarm's to retire.
            now = iwtest.wait_until(lambda: self.tasks_on("v2"), timeout=30, what="2 tasks on v2")
            self.assertFalse(before & set(now))
            for cid in now:
                self.assertEqual(iwtest.inspect(cid)["Config"]["Image"], f"{self.image}@{d2}")
            self.assert_no_direct_touch(body, events)
            type(self).d2 = d2

        def test_3_failing_version_rolled_back_by_swarm(self):
            d2 = self.d2
            d3 = iwtest.build_image(self.repo + ":stable", "v3", exit_at_once=True)
            status, body, events = self.refresh()
            self.assertEqual(status, 200, body)
            self.assertEqual(len(body["services"]), 1, body)
            s = body["services"][0]
            self.assertEqual((s["service"], s["result"], s["image"]), (self.service, "rolled_back", f"{self.image}@{d3}"), body)
            self.assertTrue(s["message"], body)  # Swarm's own words
            self.assertEqual(len(body["errors"]), 1, body)
            self.assertIn(f"service {self.service}: rolled back by Swarm", body["errors"][0]["error"])
            svc = json.loads(docker("service", "inspect", self.service))[0]
            self.assertEqual(svc["UpdateStatus"]["State"], "rollback_completed")
            self.assertEqual(svc["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"], f"{self.image}@{d2}")
            iwtest.wait_until(lambda: self.tasks_on("v2"), timeout=60, what="2 tasks back on v2")
            self.assert_no_direct_touch(body, events)
            # /admin/status and /metrics say the same.
            st = self.iw.get("/admin/status")[1]
            rt = [r for r in st["runtimes"] if r["name"] == "web"][0]
            self.assertEqual([(x["service"], x["result"]) for x in rt["services"]], [(self.service, "rolled_back")], st)
            metrics = self.iw.get("/metrics", token=None)[1]
            for result in ("skipped", "updated", "rolled_back"):
                series = f'imagewatch_services_updated_total{{runtime="web",result="{result}"}} '
                values = [float(l[len(series):]) for l in metrics.splitlines() if l.startswith(series)]
                self.assertEqual(values, [1.0], f"{series}: {metrics}")

        def test_4_swarm_words_for_a_stale_version(self):
            # imagewatch retries a write Swarm refuses as "update out of sequence" (someone else wrote
            # the service between its read and its write): check that this engine says exactly that.
            svc = json.loads(docker("service", "inspect", self.service))[0]
            conn = iwtest.UnixHTTPConnection(iwtest.ENV["DOCKER_HOST"][len("unix://"):])
            stale = svc["Version"]["Index"] - 1
            conn.request("POST", f"/v1.41/services/{svc['ID']}/update?version={stale}", body=json.dumps(svc["Spec"]),
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            body = r.read().decode()
            print(f"\n  stale version -> {r.status} {body.strip()}", flush=True)
            self.assertGreaterEqual(r.status, 400)
            self.assertIn("update out of sequence", body)

    suite = unittest.defaultTestLoader.loadTestsFromTestCase(SwarmServicesE2E)
    ok = unittest.TextTestRunner(verbosity=2).run(suite).wasSuccessful()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    if "--inside" in sys.argv:
        sys.argv.remove("--inside")
        sys.path.insert(0, HERE)
        inside_tests()
    else:
        outside()
