"""Helpers for imagewatch end-to-end tests (stdlib only; run with /usr/bin/python3).

The environment comes from `test/e2e/env.sh up` (private dockerd + TLS/token registry on loopback).
A test file starts with

    import iwtest
    ENV = iwtest.load_env()      # exits 77 (skip) or 1 (IMAGEWATCH_E2E=1) when the environment is down

then builds images with build_image(), runs containers with run_container() (always --network none
unless --network host/none is given), and drives the binary with Imagewatch(...) or run_once(...).
Name everything with unique() and clean up with cleanup_containers().
"""
import base64
import copy
import http.client
import io
import itertools
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
import uuid

E2E_DIR = os.environ.get("IMAGEWATCH_E2E_DIR") or "/tmp/imagewatch-e2e"
ENV = {}
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MANIFEST_ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])
DEFAULT_ADMIN_TOKEN = "e2e-admin-token"
_DEFAULT = object()


# ---------------------------------------------------------------------------------------- environment

def skip_or_fail(why):
    """A missing precondition: ctest's SKIP (exit 77), or a failure when IMAGEWATCH_E2E=1 demands the run."""
    if os.environ.get("IMAGEWATCH_E2E") == "1":
        print(f"FAIL: {why}", flush=True)
        sys.exit(1)
    print(f"SKIP: {why}", flush=True)
    sys.exit(77)


def load_env():
    """Read $IMAGEWATCH_E2E_DIR/env (written last by env.sh up). Missing: skip (77) or fail (1)."""
    path = os.path.join(E2E_DIR, "env")
    env = {}
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("export "):
                    line = line[len("export "):]
                key, eq, value = line.partition("=")
                if eq:
                    env[key] = value.strip("'\"")
    except FileNotFoundError:
        pass
    if not env:
        skip_or_fail(f"test environment not up ({path} missing; run test/e2e/env.sh up)")
    ENV.clear()
    ENV.update(env)
    return ENV


def _env():
    return ENV or load_env()


def _docker_bin():
    b = _env().get("DOCKER_BIN")
    return b if b and os.path.exists(b) else (shutil.which("docker") or "/usr/bin/docker")


# --------------------------------------------------------------------------------------------- docker

class DockerError(RuntimeError):
    pass


def docker(*args, check=True, input=None, timeout=180):
    """Run the docker CLI against our private dockerd; returns stdout (stripped)."""
    e = _env()
    env = dict(os.environ, DOCKER_HOST=e["DOCKER_HOST"], DOCKER_CONFIG=e["DOCKER_CONFIG"])
    env.pop("DOCKER_CONTEXT", None)
    p = subprocess.run([_docker_bin(), *map(str, args)], input=input, capture_output=True, env=env,
                       timeout=timeout, text=not isinstance(input, bytes))
    out = p.stdout.decode() if isinstance(p.stdout, bytes) else p.stdout
    err = p.stderr.decode() if isinstance(p.stderr, bytes) else p.stderr
    if check and p.returncode != 0:
        raise DockerError(f"docker {' '.join(map(str, args))[:200]} failed ({p.returncode}): {err.strip()}")
    return out.strip()


def inspect(name):
    """`docker inspect NAME` (container or image) as a dict."""
    return json.loads(docker("inspect", name))[0]


def image_inspect(ref):
    return json.loads(docker("image", "inspect", ref))[0]


def exists(name):
    """Whether a container or image NAME exists."""
    try:
        docker("inspect", name)
        return True
    except DockerError:
        return False


def ref(repo_tag):
    """registry.test:5443/<repo_tag>, with :latest when no tag is given."""
    if repo_tag.startswith(_env()["REGISTRY"] + "/"):
        repo_tag = repo_tag[len(_env()["REGISTRY"]) + 1:]
    if ":" not in repo_tag.rsplit("/", 1)[-1] and "@" not in repo_tag:
        repo_tag += ":latest"
    return f"{_env()['REGISTRY']}/{repo_tag}"


def _base_rootfs():
    """A cached tar of a minimal busybox rootfs (static busybox + applet symlinks + passwd)."""
    path = os.path.join(E2E_DIR, "cache", "busybox-rootfs.tar")
    if os.path.exists(path):
        return path
    busybox = shutil.which("busybox") or "/bin/busybox"
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout.split()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}"
    with tarfile.open(tmp, "w") as tar:
        def add_dir(name, mode=0o755):
            ti = tarfile.TarInfo(name)
            ti.type, ti.mode = tarfile.DIRTYPE, mode
            tar.addfile(ti)

        def add_file(name, data, mode=0o644):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode = len(data), mode
            tar.addfile(ti, io.BytesIO(data))

        for d in ("bin", "etc", "root", "var", "proc", "sys", "dev"):
            add_dir(d)
        add_dir("tmp", 0o1777)
        with open(busybox, "rb") as f:
            add_file("bin/busybox", f.read(), 0o755)
        for a in applets:
            if a != "busybox":
                ti = tarfile.TarInfo(f"bin/{a}")
                ti.type, ti.linkname, ti.mode = tarfile.SYMTYPE, "busybox", 0o777
                tar.addfile(ti)
        add_file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
        add_file("etc/group", b"root:x:0:\nnogroup:x:65534:\n")
    os.replace(tmp, path)
    return path


# Stops at once on SIGTERM (a PID-1 shell ignores TERM unless it traps it).
DEFAULT_CMD = ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"]
EXIT_CMD = ["/bin/sh", "-c", "exit 1"]


def build_image(repo_tag, version, env=None, cmd=None, entrypoint=None, labels=None, workdir=None, user=None,
                exposed=None, exit_at_once=False, healthcheck=None, changes=(), keep_local=False):
    """Build a tiny busybox image, push it as registry.test:5443/<repo_tag>, return its digest.

    /etc/app-version holds `version`; /etc/app-build a random nonce, so every call gives a new digest.
    healthcheck: the text after HEALTHCHECK, e.g. "--interval=1s CMD test -f /tmp/ok".
    changes: extra Dockerfile instructions for `docker import --change`.
    The local tag is removed after the push unless keep_local, so the daemon has the image only
    after a pull (as if it was published elsewhere).
    """
    if exit_at_once and cmd:
        raise ValueError("cmd and exit_at_once exclude each other")
    target = ref(repo_tag)
    out = io.BytesIO()
    with tarfile.open(_base_rootfs()) as base, tarfile.open(fileobj=out, mode="w") as tar:
        for m in base.getmembers():
            tar.addfile(m, base.extractfile(m) if m.isfile() else None)
        for name, data in (("etc/app-version", f"{version}\n"), ("etc/app-build", f"{uuid.uuid4()}\n")):
            ti = tarfile.TarInfo(name)
            b = data.encode()
            ti.size, ti.mode, ti.mtime = len(b), 0o644, int(time.time())
            tar.addfile(ti, io.BytesIO(b))
    ch = [f"CMD {json.dumps(list(EXIT_CMD if exit_at_once else (cmd or DEFAULT_CMD)))}"]
    if entrypoint is not None:
        ch.append(f"ENTRYPOINT {json.dumps(list(entrypoint))}")
    for k, v in (env or {}).items():
        ch.append(f"ENV {k}={json.dumps(str(v))}")
    for k, v in (labels or {}).items():
        ch.append(f"LABEL {json.dumps(k)}={json.dumps(str(v))}")
    if workdir:
        ch.append(f"WORKDIR {workdir}")
    if user:
        ch.append(f"USER {user}")
    for p in exposed or ():
        ch.append(f"EXPOSE {p}")
    if healthcheck:
        ch.append(f"HEALTHCHECK {healthcheck}")
    ch.extend(changes)
    args = ["import"]
    for c in ch:
        args += ["--change", c]
    docker(*args, "-", target, input=out.getvalue())
    pushed = docker("push", target)
    m = re.search(r"digest: (sha256:[0-9a-f]{64})", pushed)
    if not m:
        raise DockerError(f"no digest in docker push output: {pushed}")
    if not keep_local:
        docker("rmi", target, check=False)
    return m.group(1)


def pull(image):
    return docker("pull", "-q", image)


def run_container(name, image, *extra_docker_run_args, command=()):
    """docker run -d --name NAME [--network none] EXTRA... IMAGE [COMMAND...]; returns the container id.

    Only --network none or host (or container:<id>) are allowed: nothing may reach a private range.
    """
    net = None
    extra = list(map(str, extra_docker_run_args))
    for i, a in enumerate(extra):
        if a in ("--network", "--net") and i + 1 < len(extra):
            net = extra[i + 1]
        elif a.startswith(("--network=", "--net=")):
            net = a.split("=", 1)[1]
    if net is None:
        extra = ["--network", "none", *extra]
    elif net not in ("none", "host") and not net.startswith("container:"):
        raise ValueError(f"network {net!r} not allowed in e2e tests (use none or host)")
    return docker("run", "-d", "--name", name, *extra, image, *command)


def container_ids(prefix):
    out = docker("ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Names}}")
    return [cid for cid, _, names in (l.partition(" ") for l in out.splitlines())
            if any(n.startswith(prefix) for n in names.split(","))]


def cleanup_containers(prefix):
    """Force-remove every container (running or not) whose name starts with prefix."""
    ids = container_ids(prefix)
    if ids:
        docker("rm", "-f", *ids, check=False)
    return len(ids)


_run_id = f"{os.getpid() % 100000:05d}{uuid.uuid4().hex[:4]}"
_counter = itertools.count(1)


def unique(prefix):
    """A name unique to this test run: <prefix>-<run id>-<n> (lower case, valid as repo and container name)."""
    return f"{prefix.rstrip('-')}-{_run_id}-{next(_counter)}".lower()


def wait_until(fn, timeout=30, interval=0.1, what="condition"):
    """Poll fn() until it returns a truthy value (returned), or raise AssertionError after timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - keep polling, report the last error
            last = e
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
        time.sleep(interval)


# ------------------------------------------------------------------------------------------- registry

def ssl_context():
    return ssl.create_default_context(cafile=_env()["REGISTRY_CA"])


def https(method, url, headers=None, timeout=10):
    """One HTTPS request verified with REGISTRY_CA: (status, headers dict (lower-case keys), body bytes)."""
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPSConnection(u.hostname, u.port or 443, context=ssl_context(), timeout=timeout)
    try:
        c.request(method, u.path + (f"?{u.query}" if u.query else ""), headers=headers or {})
        r = c.getresponse()
        body = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body
    finally:
        c.close()


def parse_challenge(value):
    """'Bearer realm="..",service="..",scope=".."' -> ("bearer", {realm, service, scope})."""
    scheme, _, rest = value.partition(" ")
    return scheme.lower(), dict(re.findall(r'(\w+)="([^"]*)"', rest))


def get_token(realm, service, scope=None, auth=None):
    """Fetch a bearer token; auth=(user, password) for Basic, None for anonymous."""
    q = [("service", service)] + ([("scope", scope)] if scope else [])
    h = {}
    if auth:
        h["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    status, _, body = https("GET", f"{realm}?{urllib.parse.urlencode(q)}", h)
    if status != 200:
        raise AssertionError(f"token server answered {status}: {body[:200]!r}")
    j = json.loads(body)
    return j.get("token") or j["access_token"]


def registry_digest(repo_tag, auth=None):
    """HEAD the manifest with the 4-type Accept header through the 401 -> token -> 200 flow.

    Returns the Docker-Content-Digest, or None when the tag does not exist (404).
    """
    e = _env()
    repo, _, tag = ref(repo_tag)[len(e["REGISTRY"]) + 1:].rpartition(":")
    url = f"https://{e['REGISTRY']}/v2/{repo}/manifests/{tag}"
    h = {"Accept": MANIFEST_ACCEPT}
    status, headers, _ = https("HEAD", url, h)
    if status == 401:
        _, ch = parse_challenge(headers["www-authenticate"])
        h["Authorization"] = "Bearer " + get_token(ch["realm"], ch["service"], ch.get("scope"), auth)
        status, headers, _ = https("HEAD", url, h)
    if status == 404:
        return None
    if status != 200:
        raise AssertionError(f"HEAD {url} -> {status}")
    return headers["docker-content-digest"]


def token_requests():
    """Lines of the token server's request log so far (time client method path user status)."""
    try:
        with open(_env()["TOKEN_LOG"]) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


# ----------------------------------------------------------------------------------------- imagewatch

def imagewatch_bin():
    b = os.environ.get("IMAGEWATCH_BIN") or os.path.join(REPO_ROOT, "build", "dev", "app", "imagewatch")
    if not os.access(b, os.X_OK):
        raise AssertionError(f"imagewatch binary not found: {b} (set IMAGEWATCH_BIN)")
    return b


def free_port(host="127.0.0.1"):
    """A loopback port nobody listens on now (host "::1" for IPv6)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def stop_process(proc, timeout=15):
    """SIGTERM, wait up to timeout, then SIGKILL. Returns the exit code (None when not started)."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def read_log(path):
    """A log file's text so far ("" before it exists)."""
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


def base_config(runtimes):
    """A config dict (docs/configuration.md) for the e2e environment. runtimes: list of {"name", "image", ...}
    or a dict name -> image."""
    e = _env()
    if isinstance(runtimes, dict):
        runtimes = [{"name": n, "image": i} for n, i in runtimes.items()]
    return {
        "watch": {"enabled": False, "interval": "5m", "jitter": "0s", "apply_on_start": True},
        "admin": {"listen": "127.0.0.1:8080", "token_env": "ADMIN_TOKEN", "metrics_public": True},
        "docker": {"host": e["DOCKER_HOST"], "platform": ""},
        "timeouts": {"connect": "2s", "request": "10s", "pull": "60s", "stop_default": "5s",
                     "health": "10s", "shutdown": "10s"},
        "registries": {e["REGISTRY"]: {"ca_file": e["REGISTRY_CA"]}},
        "docker_config": os.path.join(e["DOCKER_CONFIG"], "config.json"),
        "containers": {"name_prefix": "ws-"},
        "runtimes": copy.deepcopy(list(runtimes)),
    }


def _child_env(admin_token, extra_env):
    e = _env()
    env = dict(os.environ)
    for k in ("IMAGE_AUTO_REFRESH", "IMAGE_PLATFORM", "IMAGEWATCH_CONFIG", "GHCR_USER", "GHCR_TOKEN",
              "DOCKER_CONTEXT", "ADMIN_TOKEN"):
        env.pop(k, None)
    env.update(DOCKER_HOST=e["DOCKER_HOST"], DOCKER_CONFIG=e["DOCKER_CONFIG"])
    if admin_token is not None:
        env["ADMIN_TOKEN"] = admin_token
    for k, v in (extra_env or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a unix socket (admin.listen "unix:PATH")."""

    def __init__(self, path, timeout=60):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(self.unix_path)
        except OSError:
            s.close()
            raise
        self.sock = s


class Imagewatch:
    """The daemon under test. Use as a context manager, or call start() / stop().

        with Imagewatch(base_config([...])) as iw:
            status, body = iw.post("/admin/workspace-images/refresh")
    """

    def __init__(self, config, admin_token=DEFAULT_ADMIN_TOKEN, env=None, args=(), start=True,
                 start_timeout=20, unix_socket=None):
        """unix_socket: listen on "unix:<path>" instead of a free TCP port; requests go there."""
        self.dir = tempfile.mkdtemp(prefix="iw-e2e-")
        self.config = copy.deepcopy(config)
        self.port = free_port()
        self.unix_socket = unix_socket
        self.config.setdefault("admin", {})["listen"] = f"unix:{unix_socket}" if unix_socket else f"127.0.0.1:{self.port}"
        self.config_path = os.path.join(self.dir, "config.json")
        self.write_config(self.config)
        self.admin_token = admin_token
        self.env = _child_env(admin_token, env)
        self.args = list(args)
        self.proc = None
        self.log_path = os.path.join(self.dir, "imagewatch.log")
        self._log = None
        if start:
            self.start(start_timeout)

    def write_config(self, config):
        """Replace the config file atomically (rename), as an editor would."""
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(config, f, indent=2)
        os.replace(tmp, self.config_path)
        self.config = copy.deepcopy(config)

    def start(self, timeout=20):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([imagewatch_bin(), "--config", self.config_path, *self.args],
                                     stdout=self._log, stderr=subprocess.STDOUT, env=self.env,
                                     stdin=subprocess.DEVNULL)

        def healthy():
            if self.proc.poll() is not None:
                raise AssertionError(f"imagewatch exited with {self.proc.returncode} during start-up:\n"
                                     + self.logs()[-4000:])
            try:
                return self.get("/healthz", token=None, timeout=1)[0] == 200
            except OSError:
                return False

        deadline = time.monotonic() + timeout
        while not healthy():
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"imagewatch not healthy within {timeout}s:\n" + self.logs()[-4000:])
            time.sleep(0.05)
        return self

    def request(self, method, path, token=_DEFAULT, body=None, headers=None, timeout=60):
        """(status, parsed JSON or text). token: default the admin token, None for no Authorization."""
        h = dict(headers or {})
        if token is _DEFAULT:
            token = self.admin_token
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        if self.unix_socket:
            c = UnixHTTPConnection(self.unix_socket, timeout=timeout)
        else:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read().decode(errors="replace")
            if "json" in (r.getheader("Content-Type") or ""):
                try:
                    return r.status, json.loads(data)
                except ValueError:
                    pass
            return r.status, data
        finally:
            c.close()

    def get(self, path, token=_DEFAULT, **kw):
        return self.request("GET", path, token=token, **kw)

    def post(self, path, token=_DEFAULT, body=None, **kw):
        return self.request("POST", path, token=token, body=body, **kw)

    def reload(self):
        """SIGHUP: re-read the config file."""
        self.proc.send_signal(signal.SIGHUP)

    def stop(self, timeout=15):
        """SIGTERM, wait up to timeout, then SIGKILL. Returns the exit code."""
        code = stop_process(self.proc, timeout)
        if self._log:
            self._log.close()
            self._log = None
        return code

    def logs(self):
        return read_log(self.log_path)

    def wait_for_log(self, pattern, timeout=30):
        """Wait until a log line matches the regex; returns the match."""
        rx = re.compile(pattern)
        return wait_until(lambda: rx.search(self.logs()), timeout, what=f"log /{pattern}/")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def reloads(iw, result):
    """imagewatch_config_reloads_total{result=RESULT} as /metrics shows it (0 before the first)."""
    text = iw.get("/metrics", token=None)[1]
    for line in text.splitlines():
        if line.startswith(f'imagewatch_config_reloads_total{{result="{result}"}} '):
            return float(line.split()[-1])
    return 0.0


def rss_kib(pid):
    """Resident set size of a process, in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


class OnceResult:
    def __init__(self, code, stdout, stderr):
        self.code, self.stdout, self.stderr = code, stdout, stderr

    @property
    def json(self):
        return json.loads(self.stdout)

    def __repr__(self):
        return f"OnceResult(code={self.code}, stdout={self.stdout[:500]!r}, stderr={self.stderr[-2000:]!r})"


def run_once(config, args=(), admin_token=DEFAULT_ADMIN_TOKEN, env=None, timeout=180):
    """imagewatch --config <tmp> --once ARGS...: OnceResult(code, stdout, stderr, .json)."""
    d = tempfile.mkdtemp(prefix="iw-e2e-once-")
    try:
        cfg = copy.deepcopy(config)
        cfg.setdefault("admin", {})["listen"] = f"127.0.0.1:{free_port()}"
        path = os.path.join(d, "config.json")
        with open(path, "w") as f:
            json.dump(cfg, f, indent=2)
        p = subprocess.run([imagewatch_bin(), "--config", path, "--once", *args], capture_output=True,
                           text=True, env=_child_env(admin_token, env), timeout=timeout,
                           stdin=subprocess.DEVNULL)
        return OnceResult(p.returncode, p.stdout, p.stderr)
    finally:
        shutil.rmtree(d, ignore_errors=True)
