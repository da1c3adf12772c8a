#!/usr/bin/python3
"""End to end: push, not poll.

(a) A second, real distribution registry (same storage, TLS and token auth as the shared one) is
configured with a notifications endpoint pointing at the daemon's /hooks/registry with the bearer
token. With watch.interval 1h, pushing v2 through it replaces the container within 10 s, and the
configured notify.webhook_url receives exactly one event for that refresh. A bad or missing token
is a 401 and schedules nothing.
(b) A GitHub registry_package delivery signed with the configured secret schedules a check of the
matching ghcr.io runtime (watch disabled, so nothing else checks); a bad signature is a 401.
Unconfigured hooks answer 404.
"""
import copy
import hashlib
import hmac
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

import iwtest

ENV = iwtest.load_env()
E2E = ENV["IMAGEWATCH_E2E_DIR"]
DATA = os.path.join(iwtest.REPO_ROOT, "test", "data", "hooks")


def auth_block():
    """The `auth:` section of the shared registry's config, verbatim (token realm, issuer, certs)."""
    with open(os.path.join(E2E, "registry.yml")) as f:
        lines = f.read().splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("auth:"))
    end = next((i for i in range(start + 1, len(lines)) if lines[i] and not lines[i][0].isspace()), len(lines))
    return "\n".join(lines[start:end])


class SecondRegistry:
    """docker-registry serve on [::1]:<free port> as registry.test:<port>, sharing the shared
    registry's storage, TLS and token auth, plus a notifications endpoint. Stopped by its PID."""

    def __init__(self, notify_url, token):
        self.port = iwtest.free_port("::1")
        self.host = f"registry.test:{self.port}"
        self.dir = tempfile.mkdtemp(prefix="iw-e2e-reg2-")
        self.certs_d = f"/etc/docker/certs.d/{self.host}"
        self.log_path = os.path.join(self.dir, "registry.log")
        self.client_config = os.path.join(self.dir, "docker-client")
        cfg = f"""version: 0.1
log: {{level: info, formatter: text}}
storage:
  filesystem: {{rootdirectory: "{E2E}/registry-data"}}
  delete: {{enabled: true}}
  maintenance: {{uploadpurging: {{enabled: false}}}}
http:
  addr: "[::1]:{self.port}"
  secret: e2e-not-secret
  tls: {{certificate: "{E2E}/pki/server.crt", key: "{E2E}/pki/server.key"}}
{auth_block()}
notifications:
  endpoints:
    - name: iw
      url: {notify_url}
      headers: {{Authorization: ["Bearer {token}"]}}
      timeout: 1s
      threshold: 5
      backoff: 1s
"""
        self.config_path = os.path.join(self.dir, "registry.yml")
        with open(self.config_path, "w") as f:
            f.write(cfg)
        self.proc = None
        self._log = None

    def start(self):
        os.makedirs(self.certs_d, exist_ok=True)
        shutil.copy(ENV["REGISTRY_CA"], os.path.join(self.certs_d, "ca.crt"))
        self._log = open(self.log_path, "ab")
        # The registry reads REGISTRY_* variables as config overrides (REGISTRY_LOG would replace `log`).
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        self.proc = subprocess.Popen(["/usr/bin/docker-registry", "serve", self.config_path], stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"second registry exited ({self.proc.returncode}):\n{self.logs()[-2000:]}")
            try:
                return iwtest.https("GET", f"https://{self.host}/v2/", timeout=2)[0] == 401
            except OSError:
                return False

        iwtest.wait_until(ready, timeout=15, what="second registry answers 401 on /v2/")
        os.makedirs(self.client_config, exist_ok=True)
        self.docker("login", "-u", ENV["REGISTRY_USER"], "--password-stdin", self.host,
                    input=ENV["REGISTRY_PASSWORD"] + "\n")
        return self

    def docker(self, *args, input=None):
        """The docker CLI with a private client config (logged in here only)."""
        env = dict(os.environ, DOCKER_HOST=ENV["DOCKER_HOST"], DOCKER_CONFIG=self.client_config)
        env.pop("DOCKER_CONTEXT", None)
        p = subprocess.run([ENV.get("DOCKER_BIN") or "docker", *args], input=input, capture_output=True, text=True,
                           env=env, timeout=180)
        if p.returncode != 0:
            raise iwtest.DockerError(f"docker {' '.join(args)} failed ({p.returncode}): {p.stderr.strip()}")
        return p.stdout.strip()

    def push(self, local_ref, repo_tag):
        """Tag a local image as registry.test:<port>/<repo_tag> and push it through this registry."""
        target = f"{self.host}/{repo_tag}"
        iwtest.docker("tag", local_ref, target)
        out = self.docker("push", target)
        m = re.search(r"digest: (sha256:[0-9a-f]{64})", out)
        if not m:
            raise AssertionError(f"no digest in push output: {out}")
        return m.group(1)

    def logs(self):
        return iwtest.read_log(self.log_path)

    def stop(self):
        iwtest.stop_process(self.proc, 10)
        if self._log:
            self._log.close()
            self._log = None
        shutil.rmtree(self.certs_d, ignore_errors=True)
        shutil.rmtree(self.dir, ignore_errors=True)


class Receiver:
    """A local notify.webhook_url endpoint recording each POSTed JSON event; the first `fail_first`
    deliveries are answered 500 (recorded all the same)."""

    def __init__(self, fail_first=0):
        events = self.events = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                events.append((self.headers.get("Content-Type"), json.loads(self.rfile.read(n))))
                self.send_response(500 if len(events) <= fail_first else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/iw-events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def checks(iw, runtime):
    """imagewatch_checks_total for a runtime, all results summed."""
    total = 0.0
    for line in iw.get("/metrics", token=None)[1].splitlines():
        if line.startswith("imagewatch_checks_total{") and f'runtime="{runtime}"' in line:
            total += float(line.split()[-1])
    return total


def runtime_status(iw, name):
    return next(r for r in iw.get("/admin/status")[1]["runtimes"] if r["name"] == name)


def envelope(host, repository, tag, digest="sha256:" + "0" * 64):
    return {"events": [{
        "id": "c6bd8b40-4c07-4c1b-9b47-3b2c2a0e9b11", "timestamp": "2024-05-02T14:05:38.291843201Z", "action": "push",
        "target": {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 528,
                   "digest": digest, "repository": repository, "tag": tag,
                   "url": f"https://{host}/v2/{repository}/manifests/{tag}"},
        "request": {"id": "1", "addr": "[::1]:5000", "host": host, "method": "PUT", "useragent": "e2e"},
        "actor": {"name": "admin"}, "source": {"addr": "e2e:5000", "instanceID": "e2e"}}]}


class RegistryHookE2E(unittest.TestCase):
    def setUp(self):
        self.prefix = iwtest.unique("ws-hk")
        self.src = iwtest.unique("hk/src")   # built and pushed to the shared registry first
        self.repo = iwtest.unique("hk/app")  # the runtime's repository, pushed through the second one
        self.name = f"{self.prefix}-a"
        self.token = "hook-" + os.urandom(8).hex()
        self.receiver = Receiver()
        self.iw = None
        self.reg = None
        self.local = []

    def tearDown(self):
        iwtest.cleanup_containers(self.prefix)
        if self.iw:
            self.iw.__exit__(None, None, None)
        if self.reg:
            self.reg.stop()
        self.receiver.close()
        for ref in self.local:
            iwtest.docker("rmi", ref, check=False)

    def wait(self, fn, timeout, what):
        """wait_until, with the daemon's and the second registry's logs in the failure message."""
        try:
            return iwtest.wait_until(fn, timeout=timeout, what=what)
        except AssertionError as e:
            regs = "\n".join(l for l in self.reg.logs().splitlines() if "notif" in l or "level=error" in l)
            raise AssertionError(f"{e}\n--- imagewatch log ---\n{self.iw.logs()[-6000:]}"
                                 f"\n--- registry (notifications, errors) ---\n{regs[-3000:]}") from None

    def publish(self, version):
        """Build VERSION, push it through the second registry as <repo>:latest; returns the digest."""
        iwtest.build_image(self.src, version, keep_local=True)
        src = iwtest.ref(self.src)
        self.local += [src, f"{self.reg.host}/{self.repo}:latest"]
        return self.reg.push(src, f"{self.repo}:latest")

    def test_push_through_notifying_registry_replaces_container_and_bad_token_is_refused(self):
        cfg = iwtest.base_config([])
        cfg["containers"]["name_prefix"] = self.prefix
        cfg["watch"].update(enabled=True, interval="1h", jitter="0s", apply_on_start=True)
        cfg["timeouts"]["health"] = "3s"
        cfg["hooks"] = {"github_secret_env": "", "registry_token_env": "IW_E2E_HOOK_TOKEN"}
        cfg["notify"] = {"webhook_url": self.receiver.url}
        self.iw = iwtest.Imagewatch(cfg, env={"IW_E2E_HOOK_TOKEN": self.token}, start=False)
        self.reg = SecondRegistry(f"http://127.0.0.1:{self.iw.port}/hooks/registry", self.token)
        self.reg.start()
        image = f"{self.reg.host}/{self.repo}:latest"
        cfg = copy.deepcopy(self.iw.config)  # keeps the admin port the registry was pointed at
        cfg["runtimes"] = [{"name": "app", "image": image}]
        cfg["registries"][self.reg.host] = {"ca_file": ENV["REGISTRY_CA"]}
        self.iw.write_config(cfg)

        digest1 = self.publish("v1")
        id1 = iwtest.run_container(self.name, image)
        self.iw.start()
        iw = self.iw
        # Seeded by the first check, or already "unchanged" if the v1 notification's check came next.
        self.wait(lambda: runtime_status(iw, "app")["last_result"] in ("seeded", "unchanged"), 15,
                  "first check seeds")
        # The registry queued the v1 push while the daemon was down and retries it: let it land.
        self.wait(lambda: re.search(r'msg="webhook received" hook=registry tags=1', iw.logs()), 20,
                  "the v1 push notification")

        digest2 = self.publish("v2")
        t0 = time.monotonic()
        self.wait(lambda: iwtest.inspect(self.name)["Id"] != id1, 10,
                  "container replaced after the registry's push notification")
        elapsed = time.monotonic() - t0
        self.assertLess(elapsed, 10)
        print(f"\n  replaced {elapsed:.1f} s after the push", flush=True)
        iwtest.wait_until(lambda: iwtest.inspect(self.name)["State"]["Running"], timeout=10)
        self.assertEqual(iwtest.docker("exec", self.name, "cat", "/etc/app-version"), "v2")
        rt = runtime_status(iw, "app")
        self.assertEqual(rt["digest"], digest2)
        self.assertEqual(rt["last_result"], "changed")

        # Exactly one notification for the one refresh (the v1 event's check found nothing new).
        iwtest.wait_until(lambda: len(self.receiver.events) >= 1, timeout=10, what="notification event")
        time.sleep(1.5)
        self.assertEqual(len(self.receiver.events), 1, self.receiver.events)
        ctype, ev = self.receiver.events[0]
        self.assertEqual(ctype, "application/json")
        self.assertEqual(ev["event"], "refresh")
        self.assertEqual(ev["runtime"], "app")
        self.assertEqual(ev["image"], image)
        self.assertTrue(ev["ok"])
        self.assertEqual(ev["old_digest"], digest1)
        self.assertEqual(ev["new_digest"], digest2)
        self.assertEqual(ev["pulled"], ["app"])
        self.assertEqual(ev["recreated"], [self.name])
        self.assertEqual(ev["errors"], [])
        self.assertIsNone(ev["error"])

        # Bad or missing token: 401 and no check is scheduled.
        time.sleep(1)  # let any in-flight delivery (pull events) settle
        before, last_check = checks(iw, "app"), runtime_status(iw, "app")["last_check"]
        body = envelope(self.reg.host, self.repo, "latest")
        h = {"Content-Type": "application/vnd.docker.distribution.events.v1+json"}
        code, resp = iw.post("/hooks/registry", token="wrong-" + self.token, body=body, headers=h)
        self.assertEqual((code, resp), (401, {"error": "invalid hook token"}))
        code, resp = iw.post("/hooks/registry", token=None, body=body, headers=h)
        self.assertEqual((code, resp), (401, {"error": "hook auth required"}))
        code, _ = iw.post("/hooks/registry", token=iwtest.DEFAULT_ADMIN_TOKEN, body=body, headers=h)
        self.assertEqual(code, 401)
        time.sleep(1.5)
        self.assertEqual(checks(iw, "app"), before)
        self.assertEqual(runtime_status(iw, "app")["last_check"], last_check)

        # The right token schedules it; another repository or tag schedules nothing.
        code, resp = iw.post("/hooks/registry", token=self.token, body=envelope(self.reg.host, self.repo, "other"), headers=h)
        self.assertEqual((code, resp), (202, {"scheduled": []}))
        code, resp = iw.post("/hooks/registry", token=self.token, body=envelope(self.reg.host, self.repo, "latest", digest2),
                             headers=h)
        self.assertEqual((code, resp), (202, {"scheduled": ["app"]}))
        iwtest.wait_until(lambda: checks(iw, "app") > before, timeout=10, what="the scheduled check")
        # Not configured: the GitHub hook does not exist.
        self.assertEqual(iw.post("/hooks/github", token=None, body={})[0], 404)


class GithubHookE2E(unittest.TestCase):
    SECRET = "It's a Secret to Everybody"

    def test_signed_delivery_schedules_matching_runtime_bad_signature_is_refused(self):
        cfg = iwtest.base_config([
            {"name": "hermes", "image": "ghcr.io/molecule-ai/workspace-template-hermes:latest"},
            {"name": "codex", "image": "ghcr.io/molecule-ai/workspace-template-codex:latest"},
        ])
        cfg["containers"]["name_prefix"] = iwtest.unique("ws-gh")
        cfg["watch"]["enabled"] = False  # only a trigger can cause a check
        cfg["hooks"] = {"github_secret_env": "IW_E2E_GH_SECRET", "registry_token_env": ""}
        with open(os.path.join(DATA, "github_registry_package_published.json"), "rb") as f:
            body = f.read()
        good = "sha256=" + hmac.new(self.SECRET.encode(), body, hashlib.sha256).hexdigest()
        h = {"Content-Type": "application/json", "X-GitHub-Event": "registry_package",
             "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958", "User-Agent": "GitHub-Hookshot/e2e"}
        with iwtest.Imagewatch(cfg, env={"IW_E2E_GH_SECRET": self.SECRET}) as iw:
            iwtest.wait_until(lambda: iw.get("/readyz", token=None)[0] == 200, timeout=15, what="ready")
            iwtest.wait_until(lambda: iw.get("/admin/status")[1]["watch_tasks"] == 2, timeout=10, what="watch tasks")

            bad = dict(h, **{"X-Hub-Signature-256": "sha256=" + "0" * 64})
            code, resp = iw.post("/hooks/github", token=None, body=body, headers=bad)
            self.assertEqual((code, resp), (401, {"error": "invalid X-Hub-Signature-256"}))
            code, resp = iw.post("/hooks/github", token=None, body=body, headers=h)
            self.assertEqual((code, resp), (401, {"error": "missing X-Hub-Signature-256"}))
            tampered = dict(h, **{"X-Hub-Signature-256": good})
            code, _ = iw.post("/hooks/github", token=None, body=body + b" ", headers=tampered)
            self.assertEqual(code, 401)
            time.sleep(1)
            self.assertIsNone(runtime_status(iw, "hermes")["last_check"])
            self.assertEqual(checks(iw, "hermes"), 0)

            code, resp = iw.post("/hooks/github", token=None, body=body, headers=dict(h, **{"X-Hub-Signature-256": good}))
            self.assertEqual((code, resp), (202, {"scheduled": ["hermes"]}))
            # ghcr.io may be unreachable from here: a check that ends in an error still proves it ran.
            iwtest.wait_until(lambda: runtime_status(iw, "hermes")["last_check"] is not None, timeout=60,
                              what="the scheduled check of hermes")
            self.assertIsNone(runtime_status(iw, "codex")["last_check"])

            ping = b'{"zen":"Practicality beats purity.","hook_id":1}'
            sig = "sha256=" + hmac.new(self.SECRET.encode(), ping, hashlib.sha256).hexdigest()
            code, resp = iw.post("/hooks/github", token=None, body=ping,
                                 headers=dict(h, **{"X-GitHub-Event": "ping", "X-Hub-Signature-256": sig}))
            self.assertEqual((code, resp), (202, {"scheduled": []}))
            # Not configured: the registry hook does not exist.
            self.assertEqual(iw.post("/hooks/registry", token="x", body={"events": []})[0], 404)


class NotifyShutdownE2E(unittest.TestCase):
    def test_sigterm_waits_for_a_queued_notification(self):
        """A refresh's notification whose first try failed is still delivered when SIGTERM comes
        during the backoff before its retry (bounded by timeouts.shutdown)."""
        repo = iwtest.unique("hk/ntf")
        iwtest.build_image(repo, "v1")
        receiver = Receiver(fail_first=1)
        cfg = iwtest.base_config({"n1": iwtest.ref(repo)})
        cfg["notify"] = {"webhook_url": receiver.url}
        iw = iwtest.Imagewatch(cfg)
        try:
            status, body = iw.post("/admin/workspace-images/refresh?runtime=n1")
            self.assertEqual(status, 200, body)
            iwtest.wait_until(lambda: len(receiver.events) >= 1, timeout=10, what="first notification try")
            code = iw.stop(timeout=15)  # the retry is due a second after the failed try
            self.assertEqual(code, 0, iw.logs()[-3000:])
            self.assertEqual(len(receiver.events), 2, iw.logs()[-3000:])
            self.assertEqual(receiver.events[1][1]["runtime"], "n1")
            self.assertTrue(receiver.events[1][1]["ok"])
            self.assertIn("waiting for notifications", iw.logs())
        finally:
            iw.__exit__(None, None, None)
            receiver.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
