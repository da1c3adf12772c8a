#!/usr/bin/python3
"""End to end: the container image, built and run the way an operator would.

There is no registry for base images here, so test/e2e/image/base-image.sh debootstraps a
`debian:bookworm-slim` stand-in from this machine's Debian mirror (cached between runs) into the
test dockerd. Then `docker build --network host` of the repository's Dockerfile, checks of the
image (size, user, labels, STOPSIGNAL, HEALTHCHECK, --version, default config), and runs of it
against the test environment: Docker socket and a config directory mounted, `--network host` (the
registry is on loopback), and a refresh through its admin endpoint that replaces a container but
never imagewatch's own.

Slow (a release build inside docker): ctest label `image`, which test/run-all leaves out unless
IMAGEWATCH_IMAGE_TEST=1 (.ci/run sets it). IMAGEWATCH_IMAGE_REUSE=1 skips the build when
imagewatch:test exists (for iterating on the run checks).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

import iwtest

ENV = iwtest.load_env()
IMAGE = "imagewatch:test"
REFRESH = "/admin/workspace-images/refresh"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = iwtest.REPO_ROOT
MAX_IMAGE_BYTES = 120_000_000  # the runtime image's budget, Debian base included


def project_version():
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        m = re.search(r"project\(\s*imagewatch\s+VERSION\s+([0-9.]+)", f.read())
    return m.group(1)


def git_revision():
    p = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else "unknown"


def docker_env():
    return dict(os.environ, DOCKER_HOST=ENV["DOCKER_HOST"], DOCKER_CONFIG=ENV["DOCKER_CONFIG"],
                DOCKER_BIN=iwtest._docker_bin())


def timed(what, fn):
    t0 = time.monotonic()
    out = fn()
    print(f"  {what}: {time.monotonic() - t0:.1f} s", flush=True)
    return out


def container_logs(name):
    """stdout and stderr of `docker logs` (imagewatch logs to stderr)."""
    p = subprocess.run([iwtest._docker_bin(), "logs", name], env=docker_env(), capture_output=True, text=True,
                       timeout=60)
    return p.stdout + p.stderr


def socket_path():
    return ENV["DOCKER_HOST"][len("unix://"):]


def http(port, method, path, token=None, timeout=120):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, headers={"Authorization": f"Bearer {token}"} if token else {})
        r = c.getresponse()
        data = r.read().decode(errors="replace")
        try:
            return r.status, json.loads(data)
        except ValueError:
            return r.status, data
    finally:
        c.close()


BUILT_REVISION = None  # the REVISION build arg of this run's build (None: reused image)


def setUpModule():
    global BUILT_REVISION
    print("", flush=True)
    if not (os.environ.get("IMAGEWATCH_IMAGE_REUSE") == "1" and iwtest.exists(IMAGE)):
        base = [os.path.join(HERE, "image", "base-image.sh")]
        if os.getuid() != 0:
            base = ["sudo", "-E", *base]
        timed("base image (debootstrap, cached)",
              lambda: subprocess.run(["bash", *base], env=docker_env(), check=True, timeout=1200))
        BUILT_REVISION = git_revision()
        timed("docker build", lambda: subprocess.run(
            [iwtest._docker_bin(), "build", "--network", "host", "-t", IMAGE,
             "--build-arg", f"VERSION={project_version()}", "--build-arg", f"REVISION={BUILT_REVISION}", ROOT],
            env=docker_env(), check=True, timeout=2400, stdout=subprocess.DEVNULL if os.environ.get("QUIET") else None))
    size = iwtest.image_inspect(IMAGE)["Size"]
    print(f"  image {IMAGE}: {size / 1e6:.1f} MB", flush=True)


class ImageE2E(unittest.TestCase):
    def setUp(self):
        self.prefix = iwtest.unique("ws-img")
        self.dir = tempfile.mkdtemp(prefix="iw-image-")
        os.chmod(self.dir, 0o755)  # the image's user (uid 10001) reads the mounted config
        self.token = uuid.uuid4().hex
        self.pushed = []

    def tearDown(self):
        for c in iwtest.container_ids(self.prefix):
            if self._outcome_failed():
                print(f"--- logs of {c[:12]}:\n" + container_logs(c)[-6000:], flush=True)
        iwtest.cleanup_containers(self.prefix)
        for r in self.pushed:
            iwtest.docker("rmi", r, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def _outcome_failed(self):
        res = getattr(getattr(self, "_outcome", None), "result", None)
        return res is None or any(t is self for t, _ in list(res.errors) + list(res.failures))

    # ------------------------------------------------------------------------------------ helpers

    def write_config(self, runtimes, port):
        """Config for imagewatch inside the container: the socket at its default path, the CA in
        the mounted config directory, the admin listener on the host's loopback (network host)."""
        cfg = iwtest.base_config(runtimes)
        cfg["containers"]["name_prefix"] = self.prefix
        cfg["admin"]["listen"] = f"127.0.0.1:{port}"
        cfg["docker"]["host"] = "unix:///var/run/docker.sock"
        cfg["registries"] = {ENV["REGISTRY"]: {"ca_file": "/etc/imagewatch/ca.crt"}}
        cfg["docker_config"] = ""
        # The first check (right after start) HEADs the registry from inside the container.
        cfg["watch"] = {"enabled": True, "interval": "1h", "jitter": "0s", "apply_on_start": True}
        shutil.copy(ENV["REGISTRY_CA"], os.path.join(self.dir, "ca.crt"))
        with open(os.path.join(self.dir, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        for n in ("ca.crt", "config.json"):
            os.chmod(os.path.join(self.dir, n), 0o644)

    def run_imagewatch(self, name, image, *extra):
        return iwtest.run_container(
            name, image, "--network", "host", "--add-host", "registry.test:::1",
            "-v", f"{socket_path()}:/var/run/docker.sock", "-v", f"{self.dir}:/etc/imagewatch:ro",
            "-e", f"ADMIN_TOKEN={self.token}",
            "--health-interval", "1s", *extra)

    def wait_ready(self, name, port, runtimes):
        def up():
            st = iwtest.inspect(name)["State"]
            if not st["Running"]:
                raise AssertionError(f"{name} exited ({st['ExitCode']}): " + container_logs(name)[-3000:])
            return http(port, "GET", "/healthz", timeout=2)[0] == 200
        iwtest.wait_until(up, 30, 0.2, "imagewatch /healthz in the container")
        # The first digest check ran from inside the container (TLS with the mounted CA, token auth).
        def checked():
            status, body = http(port, "GET", "/admin/status", self.token, timeout=5)
            rts = {r["name"]: r for r in body["runtimes"]}
            return all(rts[n]["last_result"] != "pending" for n in runtimes) and rts
        rts = iwtest.wait_until(checked, 30, 0.2, "the first digest checks")
        for n, digest in runtimes.items():
            self.assertEqual(rts[n]["last_error"], None, rts[n])
            self.assertEqual(rts[n]["digest"], digest, rts[n])
        iwtest.wait_until(lambda: iwtest.inspect(name)["State"].get("Health", {}).get("Status") == "healthy",
                          40, 0.5, "HEALTHCHECK healthy")

    # -------------------------------------------------------------------------------------- tests

    def test_image_metadata(self):
        img = iwtest.image_inspect(IMAGE)
        cfg = img["Config"]
        self.assertLessEqual(img["Size"], MAX_IMAGE_BYTES, f"image is {img['Size'] / 1e6:.1f} MB")
        self.assertEqual(cfg["User"], "imagewatch")
        self.assertEqual(cfg["StopSignal"], "SIGTERM")
        self.assertIn("docker-healthcheck", " ".join(cfg["Healthcheck"]["Test"]))
        labels = cfg["Labels"]
        self.assertEqual(labels["org.opencontainers.image.version"], project_version())
        self.assertTrue(labels["org.opencontainers.image.source"])
        self.assertEqual(labels["org.opencontainers.image.revision"], BUILT_REVISION or labels["org.opencontainers.image.revision"])
        self.assertTrue(labels["org.opencontainers.image.revision"])
        run = ["run", "--rm", "--network", "none"]
        self.assertEqual(iwtest.docker(*run, IMAGE, "--version"), f"imagewatch {project_version()}")
        self.assertEqual(iwtest.docker(*run, "--entrypoint", "id", IMAGE, "-u"), "10001")
        # The shipped config sits where the binary looks by default.
        self.assertEqual(iwtest.docker(*run, IMAGE, "--check-config"), "ok")
        self.assertEqual(iwtest.docker(*run, IMAGE, "sh", "-c", "echo $IMAGEWATCH_CONFIG"), "/etc/imagewatch/config.json")
        # Only runtime libraries: no compiler, no headers.
        self.assertEqual(iwtest.docker(*run, IMAGE, "sh", "-c", "command -v g++ c++ cmake || ls /usr/include/boost 2>&1 | head -1"),
                         "ls: cannot access '/usr/include/boost': No such file or directory")

    def test_refresh_through_admin_endpoint_replaces_a_container(self):
        repo = iwtest.unique("img/app")
        image = iwtest.ref(repo)
        d1 = iwtest.build_image(repo, "v1")
        iwtest.pull(image)
        workload = f"{self.prefix}-app"
        old_id = iwtest.run_container(workload, image)

        port = iwtest.free_port()
        self.write_config([{"name": "app", "image": image}], port)
        iw = f"{self.prefix}-iw"
        gid = os.stat(socket_path()).st_gid
        # As compose.yaml runs it: non-root with the socket's group, read-only, no capabilities.
        self.run_imagewatch(iw, IMAGE, "--group-add", str(gid), "--read-only", "--tmpfs", "/tmp",
                            "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "-l", "imagewatch.enable=false")
        self.wait_ready(iw, port, {"app": d1})

        iwtest.build_image(repo, "v2")
        self.assertEqual(http(port, "POST", REFRESH)[0], 401)
        status, body = timed("refresh v1 -> v2", lambda: http(port, "POST", REFRESH, self.token))
        self.assertEqual(status, 200, body)
        self.assertEqual(body, {"pulled": ["app"], "failed": [], "recreated": [workload], "skipped": [], "errors": []})
        after = iwtest.inspect(workload)
        self.assertNotEqual(after["Id"], old_id)
        self.assertTrue(after["State"]["Running"])
        self.assertEqual(iwtest.docker("exec", workload, "cat", "/etc/app-version"), "v2")
        self.assertEqual(after["Config"]["Image"], image)

        # Graceful stop as PID 1 on the image's STOPSIGNAL.
        iwtest.docker("stop", "-t", "30", iw)
        st = iwtest.inspect(iw)["State"]
        logs = container_logs(iw)
        self.assertEqual(st["ExitCode"], 0, logs[-3000:])
        self.assertIn("imagewatch started", logs)

    def test_never_replaces_its_own_container(self):
        # imagewatch runs from a registry image that one of its runtimes watches, under a name the
        # runtimes' selector matches, and that image moves: its own container must be left alone.
        self_ref = iwtest.ref(iwtest.unique("img/imagewatch"))
        iwtest.docker("tag", IMAGE, self_ref)
        self.pushed.append(self_ref)
        d_self = re.search(r"digest: (sha256:[0-9a-f]{64})", iwtest.docker("push", self_ref)).group(1)
        repo = iwtest.unique("img/app")
        image = iwtest.ref(repo)
        d1 = iwtest.build_image(repo, "v1")
        iwtest.pull(image)
        workload = f"{self.prefix}-app"
        iwtest.run_container(workload, image)

        port = iwtest.free_port()
        self.write_config([{"name": "app", "image": image}, {"name": "self", "image": self_ref}], port)
        iw = f"{self.prefix}-iw"
        # Started as root: the entrypoint adopts the socket's group and drops to uid 10001. A private
        # cgroup namespace (Docker's default on cgroup v2) hides the ID from /proc/self/cgroup, so
        # the self-detection has to find it in /proc/self/mountinfo.
        iw_id = self.run_imagewatch(iw, self_ref, "--user", "0", "--cgroupns", "private")
        self.wait_ready(iw, port, {"app": d1, "self": d_self})
        status = dict(l.split(":", 1) for l in iwtest.docker("exec", iw, "cat", "/proc/1/status").splitlines() if ":" in l)
        self.assertEqual(status["Uid"].split()[:2], ["10001", "10001"], status["Uid"])
        self.assertIn(str(os.stat(socket_path()).st_gid), status["Groups"].split())
        self.assertEqual(int(status["CapEff"], 16), 0)

        iwtest.build_image(repo, "v2")
        iwtest.docker("build", "-t", self_ref, "-", input=f"FROM {self_ref}\nLABEL org.imagewatch.test.nonce={uuid.uuid4()}\n")
        iwtest.docker("push", self_ref)

        status, body = http(port, "POST", REFRESH, self.token)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["pulled"], ["app", "self"], body)
        self.assertEqual(body["recreated"], [workload], body)
        self.assertNotIn(iw, body["skipped"] + [e.get("container") for e in body["errors"]], body)
        self.assertEqual(body["errors"], [], body)
        after = iwtest.inspect(iw)
        self.assertEqual(after["Id"], iw_id)
        self.assertTrue(after["State"]["Running"])
        self.assertFalse(iwtest.exists(iw + "-imagewatch-old"))
        self.assertEqual(iwtest.docker("exec", workload, "cat", "/etc/app-version"), "v2")
        logs = container_logs(iw)
        self.assertRegex(logs, rf"own container.*{re.escape(iw)}|{re.escape(iw)}.*own container")

    def test_compose_file_is_valid(self):
        # docker-compose v1 (Debian's package) validates against the compose file schema.
        compose = shutil.which("docker-compose")
        if not compose:
            if os.environ.get("IMAGEWATCH_IMAGE_TEST") == "1":
                self.fail("docker-compose not installed (.ci/run installs it)")
            self.skipTest("docker-compose not installed")
        shutil.copy(os.path.join(ROOT, "compose.yaml"), self.dir)
        with open(os.path.join(self.dir, "imagewatch.env"), "w") as f:
            f.write("ADMIN_TOKEN=x\n")
        env = dict(docker_env(), DOCKER_GID="999")
        p = subprocess.run([compose, "-f", "compose.yaml", "config"], cwd=self.dir, env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        svc = p.stdout.split("imagewatch:", 1)[1]
        for want in ("- /var/run/docker.sock:/var/run/docker.sock", ":/etc/imagewatch:ro", "- '999'",
                     "ADMIN_TOKEN: x", "restart: unless-stopped", "network_mode: host"):
            self.assertIn(want, svc)
        del env["DOCKER_GID"]
        p = subprocess.run([compose, "-f", "compose.yaml", "config"], cwd=self.dir, env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("DOCKER_GID", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
