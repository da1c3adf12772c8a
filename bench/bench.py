#!/usr/bin/python3
"""imagewatch benchmarks. Run through bench/run, which brings the test environment up,
installs skopeo and builds the release binary first.

    bench/bench.py [--quick] [--bin PATH] [--out FILE]

Sections, all measured in one run against the real TLS + bearer-token registry of test/e2e/env.sh:
  sweep      N tags (N = 100, and 500 unless --quick) checked once each, steady state, next to three
             baselines: a `skopeo inspect --raw` loop, a naive curl-per-tag token flow, and the
             "floor" (one curl process, one keep-alive HTTP/1.1 connection, tokens fetched up front)
  isolation  the same sweep with one more runtime on a black-hole host
  footprint  RSS with 1000 runtimes over many sweeps, RSS idle with config/imagewatch.json, binary size
  replace    "pull done" -> new container running / verified, vs docker stop && rm && run
Stdlib only; run with /usr/bin/python3 (the e2e helpers in test/e2e/iwtest.py are reused).
"""
import argparse
import calendar
import datetime
import glob
import http.client
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "test", "e2e"))
import iwtest  # noqa: E402

ENV = iwtest.load_env()
REG = ENV["REGISTRY"]
CA = ENV["REGISTRY_CA"]
REG_LOG = ENV["REGISTRY_LOG"]
TOKEN_LOG = ENV["TOKEN_LOG"]
REALM = ENV["TOKEN_REALM"]
SERVICE = ENV["TOKEN_SERVICE"]
E2E = ENV["IMAGEWATCH_E2E_DIR"]
ACCEPT = iwtest.MANIFEST_ACCEPT
HOOK_TOKEN = "bench-hook-token"
WARM_SWEEPS = 3  # steady-state sweeps measured per N (after the seeding sweep)
MANY_HOLES = 40  # isolation stress: this many runtimes on the black-hole host
STRESS_ROUNDS = 5  # isolation stress: sweeps with and without them


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def repo(i):
    return f"bench/r{i}"


def image(i):
    return f"{REG}/{repo(i)}:latest"


# ------------------------------------------------------------------------------------ measurement

def cpu_seconds(pid):
    """user+sys CPU of a process in seconds. Sums the threads' schedstat (ns resolution) when the
    kernel has it, else utime+stime from /proc/<pid>/stat (10 ms ticks)."""
    total = 0
    ok = False
    for f in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(f) as fh:
                total += int(fh.read().split()[0])
                ok = True
        except (OSError, ValueError, IndexError):
            pass
    if ok:
        return total / 1e9
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def user_sys(pid):
    """(utime, stime) in seconds from /proc/<pid>/stat (10 ms ticks)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    tck = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tck, int(fields[12]) / tck


def rss_kib(pid, key="VmRSS"):
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def run_timed(cmd, **kw):
    """Run cmd to completion: (wall seconds, user+sys CPU seconds of it and its reaped children, stdout)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    out_chunks = []
    err_chunks = []

    def drain(stream, sink):
        sink.append(stream.read())

    threads = [threading.Thread(target=drain, args=(p.stdout, out_chunks)),
               threading.Thread(target=drain, args=(p.stderr, err_chunks))]
    for t in threads:
        t.start()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    for t in threads:
        t.join()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[0]} exited {p.returncode}: {b''.join(err_chunks).decode(errors='replace')[-800:]}")
    return wall, ru.ru_utime + ru.ru_stime, b"".join(out_chunks).decode(errors="replace")


def file_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def read_from(path, offset):
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace")


_KV = re.compile(r'([\w.]+)=("(?:[^"\\]|\\.)*"|\S+)')


def parse_go_time(s):
    base, _, frac = s.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) + (float("0." + frac) if frac else 0.0)


def registry_requests(text):
    """The registry's 'response completed' lines: dicts with t_end, t_start, method, uri, ua, status."""
    out = []
    for line in text.splitlines():
        if 'msg="response completed"' not in line:
            continue
        kv = {k: (v[1:-1] if v.startswith('"') else v) for k, v in _KV.findall(line)}
        try:
            t_end = parse_go_time(kv["time"])
            dur = kv.get("http.response.duration", "0s")
            m = re.match(r"([\d.]+)(ns|µs|us|ms|s)$", dur)
            d = float(m.group(1)) * {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}[m.group(2)] if m else 0.0
            out.append({"t_end": t_end, "t_start": t_end - d, "method": kv.get("http.request.method", ""),
                        "uri": kv.get("http.request.uri", ""), "ua": kv.get("http.request.useragent", ""),
                        "peer": kv.get("http.request.remoteaddr", ""),
                        "status": int(kv.get("http.response.status", "0"))})
        except (KeyError, ValueError):
            continue
    return out


_ACCESS = re.compile(r'^\S+ - \S+ \[[^\]]*\] "(\S+) (\S+) [^"]*" (\d+) \S+ "[^"]*" "((?:[^"\\]|\\.)*)"')


def access_lines(text):
    """The registry's access log lines (every request, 401s included): dicts method, uri, status, ua."""
    out = []
    for line in text.splitlines():
        m = _ACCESS.match(line)
        if m:
            out.append({"method": m.group(1), "uri": m.group(2), "status": int(m.group(3)), "ua": m.group(4)})
    return out


def token_requests(text, needle="bench/"):
    """Token server log lines (time client method path user status) whose path names needle."""
    return [line for line in text.splitlines() if needle in line]


def count_by(reqs, key=lambda r: f'{r["method"]} {r["status"]}'):
    out = {}
    for r in reqs:
        out[key(r)] = out.get(key(r), 0) + 1
    return out


# ------------------------------------------------------------------------------------ registry API

def ssl_ctx():
    return iwtest.ssl_context()


class Conn:
    """One keep-alive HTTPS connection (reconnects when the server closed it)."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.c = None

    def request(self, method, path, headers=None, body=None):
        for attempt in (0, 1):
            if self.c is None:
                self.c = http.client.HTTPSConnection(self.host, self.port, context=ssl_ctx(), timeout=30)
            try:
                self.c.request(method, path, body=body, headers=headers or {})
                r = self.c.getresponse()
                data = r.read()
                return r.status, {k.lower(): v for k, v in r.getheaders()}, data
            except (http.client.HTTPException, OSError):
                self.c.close()
                self.c = None
                if attempt:
                    raise

    def close(self):
        if self.c:
            self.c.close()


def token_conn():
    u = urllib.parse.urlsplit(REALM)
    return Conn(u.hostname, u.port or 443), u.path


def get_token(tc, realm_path, scopes, user=None):
    q = [("service", SERVICE)] + [("scope", s) for s in scopes]
    h = {}
    if user:
        import base64
        h["Authorization"] = "Basic " + base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode()
    status, _, body = tc.request("GET", f"{realm_path}?{urllib.parse.urlencode(q)}", h)
    if status != 200:
        raise RuntimeError(f"token server answered {status}: {body[:200]!r}")
    return json.loads(body)["token"]


def repo_exists(name):
    return os.path.exists(os.path.join(E2E, "registry-data", "docker", "registry", "v2", "repositories",
                                       name, "_manifests", "tags", "latest", "current", "link"))


def seed(n):
    """bench/r0..r<n-1>:latest = the same small image. The first repo is pushed by docker; the others
    get cross-repository blob mounts and the same manifest through the registry API (admin:secret)."""
    missing = [i for i in range(n) if not repo_exists(repo(i))]
    if not missing:
        return
    t0 = time.monotonic()
    user = (ENV["REGISTRY_USER"], ENV["REGISTRY_PASSWORD"])
    if not repo_exists("bench/base"):
        iwtest.build_image("bench/base", "bench")
    tc, realm_path = token_conn()
    rc = Conn(REG.split(":")[0], int(REG.split(":")[1]))
    tok = get_token(tc, realm_path, ["repository:bench/base:pull"], user)
    mt = "application/vnd.docker.distribution.manifest.v2+json"
    status, headers, manifest = rc.request("GET", "/v2/bench/base/manifests/latest",
                                           {"Accept": mt, "Authorization": f"Bearer {tok}"})
    if status != 200:
        raise RuntimeError(f"GET bench/base manifest: {status}")
    ctype = headers.get("content-type", mt)
    m = json.loads(manifest)
    blobs = [m["config"]["digest"]] + [layer["digest"] for layer in m["layers"]]
    for i in missing:
        if repo(i) == "bench/base":
            continue
        tok = get_token(tc, realm_path, [f"repository:{repo(i)}:push,pull", "repository:bench/base:pull"], user)
        auth = {"Authorization": f"Bearer {tok}"}
        for d in blobs:
            st, _, body = rc.request("POST", f"/v2/{repo(i)}/blobs/uploads/?mount={d}&from=bench/base",
                                     {**auth, "Content-Length": "0"}, b"")
            if st != 201:
                raise RuntimeError(f"mount {d} into {repo(i)}: {st} {body[:200]!r}")
        st, _, body = rc.request("PUT", f"/v2/{repo(i)}/manifests/latest", {**auth, "Content-Type": ctype}, manifest)
        if st != 201:
            raise RuntimeError(f"PUT {repo(i)} manifest: {st} {body[:200]!r}")
    tc.close()
    rc.close()
    log(f"seeded {len(missing)} repositories in {time.monotonic() - t0:.1f} s")


def repo_digest():
    return iwtest.registry_digest("bench/r0")


# ------------------------------------------------------------------------------------ imagewatch

def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
        if not m:
            continue
        labels = tuple(sorted(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or "")))
        try:
            out[(m.group(1), labels)] = float(m.group(3))
        except ValueError:
            pass
    return out


def msum(samples, name, **want):
    return sum(v for (n, labels), v in samples.items()
               if n == name and all(dict(labels).get(k) == w for k, w in want.items()))


def mdelta(a, b, name):
    """{labels: b - a} for every series of name that changed."""
    out = {}
    for (n, labels), v in b.items():
        if n == name:
            d = v - a.get((n, labels), 0.0)
            if d:
                out[labels] = d
    return out


class Daemon(iwtest.Imagewatch):
    def metrics(self):
        return parse_metrics(self.get("/metrics", token=None, timeout=30)[1])

    def status(self):
        return self.get("/admin/status", timeout=120)[1]

    def cpu(self):
        return cpu_seconds(self.proc.pid)

    def rss(self, key="VmRSS"):
        return rss_kib(self.proc.pid, key)

    def hook(self, repos):
        """POST /hooks/registry with one push event per repository (split to stay under 64 KiB)."""
        events = [{"action": "push", "target": {"repository": r, "tag": "latest"}} for r in repos]
        i = 0
        while i < len(events):
            chunk = []
            size = 20
            while i < len(events) and size + 80 < 60000:
                chunk.append(events[i])
                size += len(json.dumps(events[i])) + 2
                i += 1
            code, body = self.post("/hooks/registry", token=HOOK_TOKEN, body={"events": chunk})
            if code != 202:
                raise RuntimeError(f"hook answered {code}: {body}")


def empty_docker_config(d):
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "docker-config.json")
    with open(path, "w") as f:
        f.write("{}\n")
    return path


def sweep_config(n, tmp, extra=None, interval="10m"):
    rts = [{"name": f"r{i}", "image": image(i)} for i in range(n)] + list(extra or [])
    cfg = iwtest.base_config(rts)
    cfg["watch"].update(enabled=True, interval=interval, jitter="0s", apply_on_start=True)
    cfg["containers"]["name_prefix"] = "bench-none-"
    cfg["docker_config"] = empty_docker_config(tmp)  # anonymous, like the baselines
    cfg["hooks"] = {"registry_token_env": "BENCH_HOOK_TOKEN"}
    cfg["timeouts"].update(connect="5s", request="30s")  # the shipped defaults
    for rt in extra or []:
        host = rt["image"].split("/", 1)[0]
        if host.startswith("127.0.0.1:"):
            cfg["registries"][host] = {"insecure_http": True}
    return cfg


def start_daemon(cfg, bin_path):
    os.environ["IMAGEWATCH_BIN"] = bin_path
    return Daemon(cfg, env={"BENCH_HOOK_TOKEN": HOOK_TOKEN}, args=["--log-level", "info"], start_timeout=60)


def wait_seeded(d, names, timeout):
    want = set(names)

    def done():
        st = d.status()
        ok = {r["name"] for r in st["runtimes"] if r["last_result"] in ("seeded", "unchanged", "changed")}
        return want <= ok

    iwtest.wait_until(done, timeout=timeout, interval=0.5, what="first sweep (all runtimes seeded)")


def wait_registry_heads(offset, uris, ua_prefix, timeout):
    """Poll the registry log from offset until every uri got a 200 answer to a HEAD from ua_prefix;
    returns (time of the last completion, all requests seen from that client)."""
    want = set(uris)
    seen = {}
    buf = ""
    pos = offset
    deadline = time.monotonic() + timeout
    reqs = []
    while True:
        size = file_size(REG_LOG)
        if size > pos:
            chunk = read_from(REG_LOG, pos)
            pos = size
            buf += chunk
            lines, _, buf = buf.rpartition("\n")
            for r in registry_requests(lines):
                if r["ua"].startswith(ua_prefix):
                    reqs.append(r)
                    if r["method"] == "HEAD" and r["status"] == 200 and r["uri"] in want:
                        seen[r["uri"]] = max(seen.get(r["uri"], 0.0), r["t_end"])
        if len(seen) == len(want):
            return max(seen.values()), reqs
        if time.monotonic() > deadline:
            raise AssertionError(f"only {len(seen)}/{len(want)} HEADs answered within {timeout}s")
        time.sleep(0.02)


def measure_sweep(d, n, uris, trigger=None, timeout=120):
    """One sweep of the n bench runtimes: started by trigger() (a webhook), or by the daemon's own
    schedule when trigger is None. wall: trigger sent -> last HEAD answered, or (periodic) first
    HEAD received -> last HEAD answered, both from the registry's log. CPU: the daemon's, over the
    sweep. Requests: registry access log and token log (bench repositories only), and our metrics."""
    time.sleep(0.5)  # also lets the token server's log catch up
    m0 = d.metrics()
    reg0, tok0 = file_size(REG_LOG), file_size(TOKEN_LOG)
    c0 = d.cpu()
    t0 = time.time()
    if trigger:
        trigger()
    t_last, reqs = wait_registry_heads(reg0, uris, "imagewatch/", timeout=timeout)
    time.sleep(0.05)  # the last answers are being processed
    c1 = d.cpu()
    m1 = d.metrics()
    time.sleep(0.3)
    acc = [a for a in access_lines(read_from(REG_LOG, reg0))
           if a["ua"].startswith("imagewatch/") and a["uri"].startswith("/v2/bench/")]
    toks = token_requests(read_from(TOKEN_LOG, tok0))
    checks = mdelta(m0, m1, "imagewatch_checks_total")
    ours = {lb: v for lb, v in checks.items() if re.match(r"r\d+$", dict(lb).get("runtime", ""))}
    req = mdelta(m0, m1, "imagewatch_registry_requests_total")
    bench_reqs = [r for r in reqs if r["uri"].startswith("/v2/bench/")]
    first = min(r["t_start"] for r in bench_reqs)
    return {
        "wall": (t_last - t0) if trigger else (t_last - first), "cpu": c1 - c0, "checks": sum(ours.values()),
        "results": {res: sum(v for lb, v in ours.items() if dict(lb).get("result") == res)
                    for res in {dict(lb).get("result") for lb in ours}},
        "metric_requests": {f"{dict(lb)['method']} {dict(lb)['host']} {dict(lb)['code']}": v for lb, v in req.items()},
        "registry_log": count_by(acc),
        "token_log": len(toks),
        "connections": len({r["peer"] for r in bench_reqs}),
    }


def seeded_daemon(n, bin_path, tmp, extra=None, interval=600, seed_timeout=None):
    """imagewatch with n bench runtimes (+ extra), after its seeding sweep; (daemon, seed info)."""
    cfg = sweep_config(n, tmp, extra, interval=f"{interval}s")
    time.sleep(0.3)
    tok_start = file_size(TOKEN_LOG)
    t_start = time.monotonic()
    d = start_daemon(cfg, bin_path)
    try:
        wait_seeded(d, [f"r{i}" for i in range(n)], timeout=seed_timeout or 60 + n / 5)
    except BaseException:
        d.stop()
        raise
    info = {"seed_s": time.monotonic() - t_start}
    time.sleep(0.3)
    seed_toks = token_requests(read_from(TOKEN_LOG, tok_start))
    scopes = [m.group(1) for m in (re.search(r"scope=repository:(bench/r\d+):", t) for t in seed_toks) if m]
    info["seed_tokens"] = len(scopes)
    info["seed_scopes"] = len(set(scopes))
    return d, info


def stop_daemon(d):
    d.stop()
    shutil.rmtree(d.dir, ignore_errors=True)


def imagewatch_sweeps(n, bin_path):
    """Start imagewatch with n runtimes, wait for the seeding sweep, trigger WARM_SWEEPS sweeps by
    webhook, then wait for the next sweep of the daemon's own schedule."""
    tmp = tempfile.mkdtemp(prefix="iw-bench-")
    interval = 10 if n <= 100 else 40
    uris = [f"/v2/{repo(i)}/manifests/latest" for i in range(n)]
    d, res = seeded_daemon(n, bin_path, tmp, interval=interval)
    res.update(sweeps=[], interval=interval)
    try:
        repos = [repo(i) for i in range(n)]
        for _ in range(WARM_SWEEPS):
            res["sweeps"].append(measure_sweep(d, n, uris, trigger=lambda: d.hook(repos)))
        # Every task's next check is `interval` after its webhook-triggered one.
        res["periodic"] = measure_sweep(d, n, uris, timeout=interval + 60 + n / 5)
        res["rss_kib"] = d.rss()
        res["threads"] = len(os.listdir(f"/proc/{d.proc.pid}/task"))
        res["fds"] = len(os.listdir(f"/proc/{d.proc.pid}/fd"))
    finally:
        stop_daemon(d)
        shutil.rmtree(tmp, ignore_errors=True)
    return res


def isolation(n, bin_path, rounds, stress=True):
    """Two seeded daemons side by side, one with an extra runtime on a black-hole host; webhook
    sweeps alternate between them (so the shared machine's load drifts hit both alike)."""
    hole = BlackHole()
    tmp = tempfile.mkdtemp(prefix="iw-bench-iso-")
    uris = [f"/v2/{repo(i)}/manifests/latest" for i in range(n)]
    repos = [repo(i) for i in range(n)]
    plain = holed = None
    try:
        plain, _ = seeded_daemon(n, bin_path, os.path.join(tmp, "a"))
        extra = [{"name": "blackhole", "image": f"127.0.0.1:{hole.port}/bench/hole:latest"}]
        holed, _ = seeded_daemon(n, bin_path, os.path.join(tmp, "b"), extra=extra)
        out = {"without": [], "with": []}
        for _ in range(rounds):
            out["without"].append(measure_sweep(plain, n, uris, trigger=lambda: plain.hook(repos))["wall"])
            out["with"].append(measure_sweep(holed, n, uris, trigger=lambda: holed.hook(repos + ["bench/hole"]))["wall"])
        st = {r["name"]: r for r in holed.status()["runtimes"]}["blackhole"]
        out["hole_status"] = {k: st.get(k) for k in ("last_result", "last_error")}
        stop_daemon(holed)
        holed = None
        if not stress:
            return out
        # Stress: many runtimes on the dead host (more than any global bound on checks in flight).
        extra = [{"name": f"blackhole{j}", "image": f"127.0.0.1:{hole.port}/bench/hole{j}:latest"}
                 for j in range(MANY_HOLES)]
        t0 = time.monotonic()
        holed, _ = seeded_daemon(n, bin_path, os.path.join(tmp, "c"), extra=extra, seed_timeout=300)
        out["many_seed_s"] = time.monotonic() - t0
        # Alternating with the daemon without a dead host again, STRESS_ROUNDS sweeps each.
        out["many"], out["many_without"] = [], []
        for _ in range(STRESS_ROUNDS):
            out["many_without"].append(measure_sweep(plain, n, uris, trigger=lambda: plain.hook(repos))["wall"])
            out["many"].append(measure_sweep(
                holed, n, uris, timeout=300,
                trigger=lambda: holed.hook(repos + [f"bench/hole{j}" for j in range(MANY_HOLES)]))["wall"])
        return out
    finally:
        for d in (plain, holed):
            if d:
                stop_daemon(d)
        hole.stop()
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------------------------ baselines

def cert_dir(tmp):
    d = os.path.join(tmp, "certs")
    os.makedirs(d, exist_ok=True)
    shutil.copy(CA, os.path.join(d, "ca.crt"))
    return d


def baseline_skopeo(n, tmp):
    script = os.path.join(tmp, "skopeo.sh")
    with open(script, "w") as f:
        f.write(f"""set -e
for ((i = 0; i < {n}; i++)); do
  skopeo inspect --raw --no-creds --cert-dir {cert_dir(tmp)} docker://{REG}/bench/r$i:latest >/dev/null
done
""")
    return measure_client(["bash", script], n, "skopeo/")


def baseline_curl_per_tag(n, tmp):
    """A naive client: per tag HEAD -> 401 challenge -> token GET -> HEAD with the token (3 curls)."""
    script = os.path.join(tmp, "curl.sh")
    with open(script, "w") as f:
        f.write(f"""set -e
A='{ACCEPT}'
for ((i = 0; i < {n}; i++)); do
  u=https://{REG}/v2/bench/r$i/manifests/latest
  h=$(curl -sSI --cacert {CA} -H "Accept: $A" "$u")
  [[ $h =~ realm=\\"([^\\"]*)\\",service=\\"([^\\"]*)\\",scope=\\"([^\\"]*)\\" ]] || {{ echo "no challenge: $h" >&2; exit 1; }}
  t=$(curl -sS --cacert {CA} "${{BASH_REMATCH[1]}}?service=${{BASH_REMATCH[2]}}&scope=${{BASH_REMATCH[3]}}&client_id=bench-curl")
  [[ $t =~ \\"token\\":\\ *\\"([^\\"]*)\\" ]] || {{ echo "no token: $t" >&2; exit 1; }}
  h=$(curl -sSI --cacert {CA} -H "Accept: $A" -H "Authorization: Bearer ${{BASH_REMATCH[1]}}" "$u")
  [[ $h == *[Dd]ocker-[Cc]ontent-[Dd]igest:* ]] || {{ echo "no digest: $h" >&2; exit 1; }}
done
""")
    return measure_client(["bash", script], n, "curl/", token_needle="client_id=bench-curl")


def baseline_floor(n, tmp):
    """One curl process, one HTTP/1.1 keep-alive connection, N HEADs, per-scope tokens fetched first
    (untimed: a cache every real client has)."""
    tc, realm_path = token_conn()
    toks = [get_token(tc, realm_path, [f"repository:{repo(i)}:pull"]) for i in range(n)]
    tc.close()
    cfg = os.path.join(tmp, "floor.curlrc")
    with open(cfg, "w") as f:
        for i in range(n):
            if i:
                f.write("next\n")
            f.write(f'url = "https://{REG}/v2/{repo(i)}/manifests/latest"\nhead\nsilent\nhttp1.1\n'
                    f'cacert = "{CA}"\noutput = "/dev/null"\n'
                    f'header = "Accept: {ACCEPT}"\nheader = "Authorization: Bearer {toks[i]}"\n'
                    'write-out = "%{http_code} %{num_connects}\\n"\n')
    r = measure_client(["curl", "-K", cfg], n, "curl/")
    lines = r.pop("stdout").split()
    codes, connects = lines[0::2], lines[1::2]
    r["connections"] = sum(int(c) for c in connects)
    r["ok"] = codes.count("200")
    return r


def measure_client(cmd, n, ua, token_needle="bench/"):
    time.sleep(0.3)  # the token server logs a request after answering it
    reg0, tok0 = file_size(REG_LOG), file_size(TOKEN_LOG)
    wall, cpu, out = run_timed(cmd)
    time.sleep(0.1)
    reqs = [r for r in access_lines(read_from(REG_LOG, reg0))
            if r["ua"].startswith(ua) and (r["uri"].startswith("/v2/bench/") or r["uri"] == "/v2/")]
    return {"wall": wall, "cpu": cpu, "checks": n, "registry_log": count_by(reqs),
            "token_log": len(token_requests(read_from(TOKEN_LOG, tok0), token_needle)), "stdout": out}


# ------------------------------------------------------------------------------------ isolation

class BlackHole:
    """A TCP listener on 127.0.0.1 that accepts connections and never answers."""

    def __init__(self):
        code = ("import socket,time\n"
                "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                "s.bind(('127.0.0.1',0)); s.listen(128); print(s.getsockname()[1], flush=True)\n"
                "held=[]\n"
                "while True:\n    c,_=s.accept(); held.append(c)\n")
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ------------------------------------------------------------------------------------ footprint

def footprint_sweeps(n, sweeps, bin_path, budget):
    """n runtimes (distinct images), interval 2s, jitter 0: RSS at sweeps 1, 2, 5, 10, 20, ..., sweeps
    (a sweep = n more checks counted in imagewatch_checks_total), within a time budget (seconds)."""
    tmp = tempfile.mkdtemp(prefix="iw-bench-fp-")
    cfg = sweep_config(n, tmp, interval="2s")
    d = start_daemon(cfg, bin_path)
    out = {"n": n, "interval": "2s", "rss": {}, "hwm": {}, "wanted": sweeps, "budget": budget}
    marks = sorted({1, 2, 5, 10, sweeps} | set(range(10, sweeps + 1, 10)))
    try:
        t0 = time.monotonic()
        cpu_at, m_at, t_at, us_at = {}, {}, {}, {}
        done = 0.0
        while marks and time.monotonic() - t0 < budget:
            time.sleep(0.5)
            m = d.metrics()
            done = msum(m, "imagewatch_checks_total") / n
            while marks and done >= marks[0]:
                s = marks.pop(0)
                out["rss"][s] = d.rss()
                out["hwm"][s] = d.rss("VmHWM")
                cpu_at[s], m_at[s], t_at[s] = d.cpu(), m, time.monotonic()
                us_at[s] = user_sys(d.proc.pid)
        if not marks:
            # CPU per check over a window with no scrape inside it (one before, one after).
            m_a, c_a, us_a = d.metrics(), d.cpu(), user_sys(d.proc.pid)
            time.sleep(10)
            c_b, us_b = d.cpu(), user_sys(d.proc.pid)
            m_b = d.metrics()
            q = msum(m_b, "imagewatch_checks_total") - msum(m_a, "imagewatch_checks_total")
            out["quiet"] = {"checks": q, "cpu_per_check": (c_b - c_a) / q, "user_per_check": (us_b[0] - us_a[0]) / q,
                            "sys_per_check": (us_b[1] - us_a[1]) / q,
                            "errors": msum(m_b, "imagewatch_checks_total", result="error")
                            - msum(m_a, "imagewatch_checks_total", result="error")}
        out["anon_end"] = d.rss("RssAnon")
        out["file_end"] = d.rss("RssFile")
        out["reached"] = done
        out["elapsed"] = time.monotonic() - t0
        out["rss_end"] = d.rss()
        out["hwm_end"] = d.rss("VmHWM")
        out["fds_end"] = len(os.listdir(f"/proc/{d.proc.pid}/fd"))
        got = sorted(cpu_at)
        if len(got) >= 2:
            a, b = (10 if 10 in got and got[-1] > 10 else got[1] if len(got) > 2 else got[0]), got[-1]
            checks = msum(m_at[b], "imagewatch_checks_total") - msum(m_at[a], "imagewatch_checks_total")
            req = {f"{dict(lb)['method']} {dict(lb)['code']}": v
                   for lb, v in mdelta(m_at[a], m_at[b], "imagewatch_registry_requests_total").items()}
            out.update(window=(a, b), cpu_per_check=(cpu_at[b] - cpu_at[a]) / checks, checks=checks, requests=req,
                       user_per_check=(us_at[b][0] - us_at[a][0]) / checks, sys_per_check=(us_at[b][1] - us_at[a][1]) / checks,
                       sweep_period=(t_at[b] - t_at[a]) / (b - a),
                       errors=msum(m_at[b], "imagewatch_checks_total", result="error"))
    finally:
        d.stop()
        shutil.rmtree(d.dir, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def idle_rss(bin_path):
    tmp = tempfile.mkdtemp(prefix="iw-bench-idle-")
    try:
        with open(os.path.join(ROOT, "config", "imagewatch.json")) as f:
            text = f.read()
        port = iwtest.free_port()
        text = text.replace('"127.0.0.1:8080"', f'"127.0.0.1:{port}"')
        path = os.path.join(tmp, "imagewatch.json")
        with open(path, "w") as f:
            f.write(text)
        env = dict(os.environ, DOCKER_HOST=ENV["DOCKER_HOST"], ADMIN_TOKEN="bench")
        env.pop("IMAGE_AUTO_REFRESH", None)
        p = subprocess.Popen([bin_path, "--config", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             stdin=subprocess.DEVNULL, env=env)
        try:
            def ready():
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                try:
                    c.request("GET", "/readyz")
                    return c.getresponse().status == 200
                finally:
                    c.close()

            iwtest.wait_until(ready, timeout=20, what="idle daemon ready")
            time.sleep(2)
            return {"rss": rss_kib(p.pid), "hwm": rss_kib(p.pid, "VmHWM"), "anon": rss_kib(p.pid, "RssAnon"),
                    "file": rss_kib(p.pid, "RssFile"), "threads": len(os.listdir(f"/proc/{p.pid}/task"))}
        finally:
            p.terminate()
            p.wait(15)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def binary_size(bin_path):
    tmp = tempfile.mkdtemp(prefix="iw-bench-strip-")
    try:
        stripped = os.path.join(tmp, "imagewatch")
        subprocess.run(["strip", "-o", stripped, bin_path], check=True)
        return os.path.getsize(bin_path), os.path.getsize(stripped)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------------------------ replacement

def docker_time(s):
    """Docker's RFC 3339 nanosecond time -> epoch seconds."""
    return parse_go_time(s)


def log_time(line):
    m = re.search(r"ts=(\S+)", line)
    return parse_go_time(m.group(1)) if m else None


def replacement(bin_path, reps):
    prefix = f"bench-swap-{os.getpid()}"
    rname = iwtest.unique("bench/swap")
    img = iwtest.ref(rname)
    cname = f"{prefix}-a"
    out = {"iw_running": [], "iw_verified": [], "iw_replace_to_running": [], "cli_running": [], "cli_total": []}
    iwtest.cleanup_containers(prefix)
    try:
        iwtest.build_image(rname, "v0")
        iwtest.pull(img)
        iwtest.run_container(cname, img)
        cfg = iwtest.base_config([{"name": "swap", "image": img}])
        cfg["containers"]["name_prefix"] = prefix
        cfg["watch"]["enabled"] = False
        cfg["timeouts"]["stop_default"] = "10s"
        os.environ["IMAGEWATCH_BIN"] = bin_path
        with Daemon(cfg) as d:
            for k in range(reps):
                iwtest.build_image(rname, f"v{k + 1}")
                pos = len(d.logs())
                code, body = d.post("/admin/workspace-images/refresh?runtime=swap", timeout=120)
                if code != 200 or body.get("recreated") != [cname]:
                    raise RuntimeError(f"refresh: {code} {body}")
                lines = d.logs()[pos:].splitlines()

                def at(msg):
                    for line in lines:
                        if f'msg="{msg}"' in line or f"msg={msg} " in line or f'"msg":"{msg}"' in line:
                            return log_time(line)
                    raise RuntimeError(f"no '{msg}' log line in: {lines}")

                pulled, replacing, replaced = at("pulled"), at("replacing container"), at("container replaced")
                started = docker_time(iwtest.inspect(cname)["State"]["StartedAt"])
                out["iw_running"].append(started - pulled)
                out["iw_verified"].append(replaced - pulled)
                out["iw_replace_to_running"].append(started - replacing)
        # CLI baseline: the same container, same image (already pulled), same settings.
        for _ in range(reps):
            t0 = time.time()
            subprocess.run(["bash", "-c", f'd() {{ DOCKER_HOST={ENV["DOCKER_HOST"]} DOCKER_CONFIG={ENV["DOCKER_CONFIG"]} '
                                          f'{iwtest._docker_bin()} "$@" >/dev/null; }}; '
                                          f"d stop -t 10 {cname} && d rm {cname} && d run -d --name {cname} --network none {img}"],
                           check=True)
            t1 = time.time()
            started = docker_time(iwtest.inspect(cname)["State"]["StartedAt"])
            out["cli_running"].append(started - t0)
            out["cli_total"].append(t1 - t0)
    finally:
        iwtest.cleanup_containers(prefix)
    return out


# ------------------------------------------------------------------------------------ report

def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) / 1024 / 1024
    load = os.getloadavg()
    return (f"{os.cpu_count()} CPUs ({model}), {mem:.1f} GiB RAM, Linux {platform.release()}; "
            f"load average {load[0]:.2f} at start. Shared machine: other sessions build and run tests "
            "at the same time, so absolute times are noisy; compare the ratios, measured in the same run.")


def code_version(bin_path):
    """The commit (and whether the tree had changes) and the binary's build time."""
    def git(*a):
        p = subprocess.run(["git", "-C", ROOT, *a], capture_output=True, text=True)
        return p.stdout.strip() if p.returncode == 0 else "?"

    dirty = " + uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else ""
    built = datetime.datetime.fromtimestamp(os.path.getmtime(bin_path)).strftime("%Y-%m-%d %H:%M")
    return f"commit {git('rev-parse', '--short', 'HEAD')}{dirty}; {os.path.relpath(bin_path, ROOT)} built {built}"


def fmt_s(x):
    return f"{x * 1000:.0f} ms" if x < 10 else f"{x:.1f} s"


def fmt_us(x):
    return f"{x * 1e6:.0f} µs" if x < 0.01 else f"{x * 1000:.1f} ms"


def req_summary(reg, tok, n):
    """'1.00 HEAD + 0.00 token' per check, from registry-log counts {(method, status): count}."""
    heads = sum(v for k, v in reg.items() if k.startswith("HEAD "))
    gets = sum(v for k, v in reg.items() if k.startswith("GET "))
    s = f"{heads / n:.2f} HEAD"
    if gets:
        s += f" + {gets / n:.2f} GET"
    s += f" + {tok / n:.2f} token"
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "app", "imagewatch"))
    ap.add_argument("--out")
    ap.add_argument("--report-from", help="re-render the report of a results-*.json (no measurement)")
    args = ap.parse_args()
    if args.report_from:
        with open(args.report_from) as f:
            r = json.load(f)
        for key in ("sweep", "isolation"):
            r[key] = {int(k): v for k, v in r[key].items()}
        for key in ("rss", "hwm"):
            r["footprint"][key] = {int(k): v for k, v in r["footprint"][key].items()}
        print(report(r, stamp=r.get("stamp")))
        return
    ns = [100] if args.quick else [100, 500]
    fp_n, fp_sweeps = 1000, (20 if args.quick else 50)
    reps = 2 if args.quick else 3
    t_all = time.monotonic()
    mach = machine()
    log(mach)
    seed(max(ns + [fp_n]))
    results = {"machine": mach, "mode": "quick" if args.quick else "full", "sweep": {}, "isolation": {},
               "code": code_version(args.bin)}

    for n in ns:
        log(f"sweep N={n}: imagewatch")
        iw = imagewatch_sweeps(n, args.bin)
        log(f"sweep N={n}: floor (one curl, one keep-alive connection)")
        tmp = tempfile.mkdtemp(prefix="iw-bench-base-")
        try:
            floor = baseline_floor(n, tmp)
            log(f"sweep N={n}: curl per tag")
            curl = baseline_curl_per_tag(n, tmp)
            log(f"sweep N={n}: skopeo loop")
            sk = baseline_skopeo(n, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        curl.pop("stdout", None)
        sk.pop("stdout", None)
        results["sweep"][n] = {"imagewatch": iw, "floor": floor, "curl": curl, "skopeo": sk}
        log(f"isolation N={n}: one more runtime on a black-hole host")
        iso = isolation(n, args.bin, rounds=7, stress=(n == ns[0] and not args.quick))
        results["isolation"][n] = iso

    log(f"footprint: {fp_n} runtimes, interval 2s, {fp_sweeps} sweeps")
    results["footprint"] = footprint_sweeps(fp_n, fp_sweeps, args.bin, budget=80 if args.quick else 300)
    results["idle"] = idle_rss(args.bin)
    results["binary"] = binary_size(args.bin)
    log(f"replacement: {reps} swaps by imagewatch, {reps} by the docker CLI")
    results["replace"] = replacement(args.bin, reps)
    results["elapsed"] = time.monotonic() - t_all
    results["stamp"] = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")

    md = report(results)
    print(md)
    out = args.out or os.path.join(HERE, f"results-{datetime.date.today().isoformat()}{'-quick' if args.quick else ''}.md")
    with open(out, "w") as f:
        f.write(md)
    with open(os.path.splitext(out)[0] + ".json", "w") as f:
        json.dump(results, f, indent=1, default=str)
    log(f"wrote {out} ({results['elapsed']:.0f} s in all)")


def report(r, stamp=None):
    L = []
    L.append(f"# imagewatch benchmarks ({r['mode']} mode, {stamp or datetime.datetime.now().strftime('%Y-%m-%d %H:%M')})\n")
    L.append(f"Machine: {r['machine']}\n")
    if r.get("code"):
        L.append(f"Code: {r['code']}.\n")
    L.append("## Sweep: N tags checked once each, steady state\n")
    L.append("imagewatch runs N runtimes with distinct images (`bench/r<i>:latest`, anonymous pull tokens, "
             "jitter 0). After the seeding sweep: "
             f"{WARM_SWEEPS} sweeps triggered at once by one registry webhook (median shown; wall = webhook "
             "sent → last HEAD answered), then the next sweep of its own schedule (*periodic*; wall = first → "
             "last HEAD at the registry). CPU = the daemon's user+sys over the sweep (/proc schedstat). "
             "Requests per check come from the registry's access log and the token server's log, bench "
             "repositories only. The baselines check the same N tags in the same run; *floor* = one curl "
             "process sending the N HEADs over one keep-alive HTTP/1.1 connection with tokens fetched "
             "beforehand (untimed).\n")
    L.append("| N | client | wall | CPU (user+sys) | CPU / check | requests / check | "
             "wall ÷ imagewatch's periodic |")
    L.append("| --: | --- | --: | --: | --: | --- | --: |")
    targets = {}
    for n, s in r["sweep"].items():
        iw = s["imagewatch"]
        sw = iw["sweeps"]
        per = iw["periodic"]
        wall_hook = statistics.median(x["wall"] for x in sw)
        cpu_hook = statistics.median(x["cpu"] for x in sw)
        reg = {}
        for x in sw + [per]:
            for k, v in x["registry_log"].items():
                reg[k] = reg.get(k, 0) + v
        tok = sum(x["token_log"] for x in sw + [per])
        checks = sum(x["checks"] for x in sw + [per])
        wall = per["wall"]
        def errs(x):
            e = x["results"].get("error", 0)
            return f", {e:.0f} checks failed" if e else ""

        L.append(f"| {n} | **imagewatch, periodic sweep** | {fmt_s(wall)} | {fmt_s(per['cpu'])} | "
                 f"{fmt_us(per['cpu'] / n)} | {req_summary(per['registry_log'], per['token_log'], n)} "
                 f"({per['connections']} connections{errs(per)}) | — |")
        wh = sorted(sw, key=lambda x: x["wall"])[len(sw) // 2]
        L.append(f"| {n} | imagewatch, webhook for all N | {fmt_s(wall_hook)} | {fmt_s(cpu_hook)} | "
                 f"{fmt_us(cpu_hook / n)} | {req_summary(wh['registry_log'], wh['token_log'], n)} "
                 f"({wh['connections']} connections{errs(wh)}) | {wall_hook / wall:.2f}× |")
        for key, label in (("floor", "floor: 1 curl, 1 keep-alive conn."), ("curl", "curl per tag (naive token flow)"),
                           ("skopeo", "`skopeo inspect --raw` loop")):
            b = s[key]
            extra = f" ({b['connections']} connection, {b['ok']}/{n} 200)" if key == "floor" else ""
            L.append(f"| {n} | {label} | {fmt_s(b['wall'])} | {fmt_s(b['cpu'])} | {fmt_us(b['cpu'] / n)} | "
                     f"{req_summary(b['registry_log'], b['token_log'], n)}{extra} | {b['wall'] / wall:.2f}× |")
        targets[n] = {"wall": wall, "wall_hook": wall_hook, "cpu_per_check": per["cpu"] / n,
                      "cpu_hook": cpu_hook / n,
                      "skopeo_ratio": s["skopeo"]["wall"] / wall, "floor_ratio": wall / s["floor"]["wall"],
                      "floor_ratio_hook": wall_hook / s["floor"]["wall"],
                      # per distinct image per sweep: answered (registry log) and sent (our metrics,
                      # including requests that got no answer, e.g. a TLS handshake timeout)
                      "heads_answered": sum(v for k, v in reg.items() if k.startswith("HEAD ")) / (n * len(sw + [per])),
                      "heads_sent": sum(v for x in sw + [per] for k, v in x["metric_requests"].items()
                                        if k.startswith("HEAD ")) / (n * len(sw + [per])),
                      "other_per_check": sum(v for k, v in reg.items() if not k.startswith("HEAD ")) / (n * len(sw + [per])),
                      "errors": sum(x["results"].get("error", 0) for x in sw + [per]),
                      "tokens": tok, "checks": checks, "seed_tokens": iw["seed_tokens"], "seed_scopes": iw["seed_scopes"]}
    L.append("")
    for n, t in targets.items():
        iw = r["sweep"][n]["imagewatch"]
        sw = iw["sweeps"]
        L.append(f"- N={n}: webhook sweeps {', '.join(fmt_s(x['wall']) for x in sw)} wall, "
                 f"{', '.join(fmt_s(x['cpu']) for x in sw)} CPU; seeding sweep (cold: one token per scope, "
                 f"new connections, Docker inspection) done {iw['seed_s']:.1f} s after start "
                 f"({iw['seed_tokens']} token requests for {iw['seed_scopes']} scopes); RSS after the run "
                 f"{iw['rss_kib'] / 1024:.1f} MiB; our metrics, periodic sweep: {iw['periodic']['metric_requests']}.")
    L.append("\n## Isolation: one more runtime on a black-hole host (accepts, never answers)\n")
    L.append("Two daemons side by side, the second with one more runtime whose registry is a TCP listener "
             "that accepts and never answers (shipped timeouts: connect 5 s, request 30 s). Webhook sweeps of all "
             "runtimes alternate between them (7 each); completion time of the N healthy runtimes. Stress: a "
             f"third daemon with {MANY_HOLES} runtimes on that host.\n")
    L.append("| N | runtimes on the black-hole host | healthy sweep (median) | ratio to none |")
    L.append("| --: | --- | --: | --: |")
    for n, iso in r["isolation"].items():
        base = statistics.median(iso["without"])
        w = statistics.median(iso["with"])
        targets[n]["iso"] = w / base
        L.append(f"| {n} | none | {fmt_s(base)} | 1 |")
        L.append(f"| {n} | 1 | {fmt_s(w)} | {w / base:.2f} |")
        if isinstance(iso.get("many"), list):
            many, many_base = statistics.median(iso["many"]), statistics.median(iso["many_without"])
            targets[n]["iso_many"] = many / many_base
            L.append(f"| {n} | none (alternating with the stress daemon) | {fmt_s(many_base)} | 1 |")
            L.append(f"| {n} | {MANY_HOLES} (stress) | {fmt_s(many)} | {targets[n]['iso_many']:.2f} |")
        elif "many" in iso:  # results of runs before the stress had rounds: one sweep
            targets[n]["iso_many"] = iso["many"] / base
            L.append(f"| {n} | {MANY_HOLES} (stress, 1 sweep) | {fmt_s(iso['many'])} | {targets[n]['iso_many']:.2f} |")
    for n, iso in r["isolation"].items():
        L.append(f"\nN={n}: without {', '.join(fmt_s(x) for x in iso['without'])}; with "
                 f"{', '.join(fmt_s(x) for x in iso['with'])}; the black-hole runtime's status: {iso['hole_status']}.")
        if isinstance(iso.get("many"), list):
            L.append(f"Stress, N={n}: without {', '.join(fmt_s(x) for x in iso['many_without'])}; with {MANY_HOLES} "
                     f"dead runtimes {', '.join(fmt_s(x) for x in iso['many'])}.")
    fp = r["footprint"]
    L.append(f"\n## Footprint\n")
    L.append("| what | value |")
    L.append("| --- | --: |")
    for s in sorted(fp["rss"], key=int):
        L.append(f"| RSS, {fp['n']} runtimes (distinct images), interval 2s, after sweep {s} | "
                 f"{fp['rss'][s] / 1024:.1f} MiB (peak so far {fp['hwm'][s] / 1024:.1f}) |")
    L.append(f"| sweeps completed in the {fp['budget']} s budget (wanted {fp['wanted']}) | {fp['reached']:.1f} "
             f"(RSS then {fp['rss_end'] / 1024:.1f} MiB, peak {fp['hwm_end'] / 1024:.1f} MiB, {fp['fds_end']} fds) |")
    ks = sorted(fp["rss"], key=int)
    growth = None
    if "window" in fp:
        a, b = fp["window"]
        growth = fp["rss"][b] - fp["rss"][a]
        L.append(f"| RSS growth, sweep {a} → {b} | {growth:+d} KiB |")
        L.append(f"| periodic sweeps {a} → {b}: CPU per check (user + sys) | {fmt_us(fp['cpu_per_check'])} "
                 f"({fmt_us(fp['user_per_check'])} + {fmt_us(fp['sys_per_check'])}; includes a /metrics scrape "
                 "every 0.5 s) |")
        if "quiet" in fp:
            q = fp["quiet"]
            L.append(f"| then 10 s without scrapes ({q['checks']:.0f} checks, {q['errors']:.0f} failed): CPU per check "
                     f"(user + sys) | {fmt_us(q['cpu_per_check'])} ({fmt_us(q['user_per_check'])} + "
                     f"{fmt_us(q['sys_per_check'])}) |")
        L.append(f"| periodic sweeps {a} → {b}: time per sweep of {fp['n']} (interval 2 s) | {fp['sweep_period']:.2f} s |")
        L.append(f"| periodic sweeps {a} → {b}: our registry request metrics ({fp['checks']:.0f} checks) | "
                 f"{fp['requests']} |")
    if "anon_end" in fp:
        L.append(f"| RSS split at the end, {fp['n']} runtimes: anonymous / file-backed (binary, libraries) | "
                 f"{fp['anon_end'] / 1024:.1f} MiB / {fp['file_end'] / 1024:.1f} MiB |")
    idle = r["idle"]
    split = (f"; anonymous {idle['anon'] / 1024:.1f} MiB, file-backed {idle['file'] / 1024:.1f} MiB"
             if "anon" in idle else "")
    L.append(f"| RSS idle, shipped config/imagewatch.json (8 runtimes, watch off) | {idle['rss'] / 1024:.1f} MiB "
             f"({idle['threads']} thread{split}) |")
    full, stripped = r["binary"]
    L.append(f"| binary size (release), unstripped / stripped | {full / 1e6:.2f} MB / {stripped / 1e6:.2f} MB |")
    rp = r["replace"]
    med = {k: statistics.median(v) for k, v in rp.items()}
    L.append("\n## Replacement of one container (median of "
             f"{len(rp['iw_running'])})\n")
    L.append("| path | time |")
    L.append("| --- | --: |")
    L.append(f"| imagewatch: \"pulled\" log line → new container StartedAt | {fmt_s(med['iw_running'])} |")
    L.append(f"| imagewatch: \"replacing container\" → new container StartedAt | {fmt_s(med['iw_replace_to_running'])} |")
    L.append(f"| imagewatch: \"pulled\" → \"container replaced\" (verified: 2 s grace without healthcheck) | "
             f"{fmt_s(med['iw_verified'])} |")
    L.append(f"| CLI: `docker stop && docker rm && docker run` start → StartedAt | {fmt_s(med['cli_running'])} |")
    L.append(f"| CLI: the same, until the commands returned | {fmt_s(med['cli_total'])} |")
    L.append(f"| ratio to running (imagewatch / CLI) | {med['iw_running'] / med['cli_running']:.2f} |")
    L.append(f"| ratio to verified (imagewatch / CLI to running) | {med['iw_verified'] / med['cli_running']:.2f} |")

    L.append("\n## Targets\n")
    big = max(targets)
    t = targets[big]

    def mark(ok):
        return "holds" if ok else "**missed**"

    L.append("| target | measured | |")
    L.append("| --- | --- | --- |")
    cpu_ok = all(x["cpu_per_check"] <= 100e-6 for x in targets.values())
    L.append(f"| CPU per check ≤ 100 µs | periodic: " + ", ".join(
        f"N={n}: {fmt_us(x['cpu_per_check'])}" for n, x in targets.items())
             + (f", 1000 runtimes: {fmt_us(fp['quiet']['cpu_per_check'])}" if "quiet" in fp else
                (f", 1000 runtimes: {fmt_us(fp['cpu_per_check'])}" if "cpu_per_check" in fp else ""))
             + "; webhook: " + ", ".join(f"N={n}: {fmt_us(x['cpu_hook'])}" for n, x in targets.items())
             + f" | {mark(cpu_ok and fp.get('quiet', fp).get('cpu_per_check', 1) <= 100e-6)} |")
    heads_ok = all(abs(x["heads_sent"] - 1.0) < 1e-9 and abs(x["heads_answered"] - 1.0) < 1e-9
                   and x["other_per_check"] == 0 and x["errors"] == 0 for x in targets.values())
    L.append(f"| 1.0 HEAD per distinct image per sweep | " + "; ".join(
        f"N={n}: {x['heads_answered']:.3f} answered, {x['heads_sent']:.3f} sent, {x['errors']:.0f} failed checks"
        for n, x in targets.items()) + f" (all {WARM_SWEEPS + 1} warm sweeps) | {mark(heads_ok)} |")
    tok_ok = all(x["tokens"] == 0 and x["seed_tokens"] == x["seed_scopes"] == n for n, x in targets.items())
    L.append(f"| ≤ 1 token request per scope per token lifetime | " + ", ".join(
        f"N={n}: first sweep {x['seed_tokens']} token requests for {x['seed_scopes']} scopes, "
        f"{WARM_SWEEPS} warm sweeps {x['tokens']}" for n, x in targets.items()) + " | " + mark(tok_ok) + " |")
    L.append(f"| {big}-tag sweep ≥ 20× faster than the skopeo loop | {t['skopeo_ratio']:.1f}× | "
             f"{mark(t['skopeo_ratio'] >= 20)} |")
    L.append(f"| {big}-tag sweep within 2× of the floor | periodic {t['floor_ratio']:.2f}× the floor "
             f"(webhook {t['floor_ratio_hook']:.2f}×) | {mark(t['floor_ratio'] <= 2)} |")
    iso_ok = all(x.get("iso", 9) <= 1.1 for x in targets.values())
    L.append(f"| isolation ratio ≤ 1.1 | one black-hole runtime: " + ", ".join(
        f"N={n}: {x['iso']:.2f}" for n, x in targets.items())
             + (f"; {MANY_HOLES} black-hole runtimes: " + ", ".join(
                 f"N={n}: {x['iso_many']:.2f}" for n, x in targets.items() if "iso_many" in x)
                if any("iso_many" in x for x in targets.values()) else "")
             + f" | {mark(iso_ok)} for one"
             + (f"; {mark(all(x.get('iso_many', 0) <= 1.1 for x in targets.values()))} for {MANY_HOLES}"
                if any("iso_many" in x for x in targets.values()) else "") + " |")
    rss_last = fp["rss"][ks[-1]] if ks else fp["rss_end"]
    if growth is not None:
        a, b = fp["window"]
        L.append(f"| RSS ≤ 10 MiB with 1000 runtimes, no growth sweep 10 → 50 | {rss_last / 1024:.1f} MiB after "
                 f"sweep {b}, {growth:+d} KiB from sweep {a} | {mark(rss_last <= 10240 and growth <= 64 and b >= 50)} |")
    else:
        L.append(f"| RSS ≤ 10 MiB with 1000 runtimes, no growth sweep 10 → 50 | {fp['rss_end'] / 1024:.1f} MiB after "
                 f"{fp['reached']:.1f} sweeps | {mark(False)} |")
    ratio = med["iw_running"] / med["cli_running"]
    L.append(f"| replacement ≤ 1.2× the CLI baseline | {ratio:.2f}× to running "
             f"({med['iw_verified'] / med['cli_running']:.2f}× to verified, incl. the 2 s grace) | {mark(ratio <= 1.2)} |")
    L.append(f"\nTotal benchmark time {r['elapsed']:.0f} s.\n")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    main()
