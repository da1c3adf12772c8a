"""The imagewatch demo's story, told in plain sentences (stdlib only; run by demo/run).

demo/run has brought up a private Docker Engine and registry (test/e2e/env.sh with the demo's own
state dir and ports) and exported IMAGEWATCH_E2E_DIR, IMAGEWATCH_BIN and DEMO_T0 (the start time).
This script publishes demo/app v1, starts three containers on it, starts imagewatch (checking
every 2 s, JSON logs), publishes v2 and narrates the update as imagewatch's log lines arrive, shows
/admin/status and the metrics that changed, then publishes a broken v3 and narrates the rollback.
Exit code 0 when every step happened; 1 (with the last raw log lines) otherwise.
"""
import collections
import datetime
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "test", "e2e"))
import iwtest  # noqa: E402  (the test helpers build the busybox images and run docker)

T0 = float(os.environ.get("DEMO_T0") or time.time())
REPO = "demo/app:latest"
PREFIX = "demo-ws-"
CONTAINERS = [f"{PREFIX}{i}" for i in (1, 2, 3)]
ADMIN_TOKEN = "demo-admin-token"
# Healthy once the app has written its ready file: imagewatch waits for "healthy" before it
# removes the old container.
HEALTHCHECK = "--interval=1s --timeout=1s --retries=3 CMD test -f /tmp/ready"
APP_CMD = ["/bin/sh", "-c",
           "trap 'exit 0' TERM; echo ready >/tmp/ready; while :; do sleep 3600 & wait $!; done"]
STEP_TIMEOUT = 90


def say(text, at=None):
    """One sentence with its time since the start (`at`: when it happened, default now)."""
    print(f"[{(at or time.time()) - T0:6.1f}s] {text}", flush=True)


def event_time(ev):
    """The log line's own time (RFC 3339, UTC), so a sentence tells when it happened, not when said."""
    try:
        return datetime.datetime.strptime(ev["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except (KeyError, ValueError):
        return None


def short(digest):
    return digest[:19] + "…" if digest and digest.startswith("sha256:") else str(digest)


class Narrator:
    """Reads imagewatch's JSON log lines and says what they mean; counts events for the story.

    One thread reads and counts (so the story can react the moment a line is written), another
    tells (telling may ask Docker what a container runs, which takes a moment).
    """

    def __init__(self, proc, versions):
        self.proc = proc
        self.versions = versions  # digest -> "v1" ... (filled in as versions are published)
        self.raw = collections.deque(maxlen=40)
        self.counts = collections.Counter()
        self.cond = threading.Condition()
        self.rolled_back = set()
        # Swaps after the canary run side by side and finish in any order, so the
        # "[k of n]" after a replacement counts finished swaps, not plan positions.
        self.finished = 0
        self.events = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        threading.Thread(target=self._tell_all, daemon=True).start()

    def drain(self):
        """Returns once every line read so far has been told."""
        self.events.join()

    def version_of(self, digest):
        # The check may see a push a moment before publish() has noted its digest: wait for it.
        deadline = time.monotonic() + 5
        while True:
            for d, v in list(self.versions.items()):
                if digest and d.startswith(digest):
                    return v
            if time.monotonic() > deadline:
                return "an unknown version"
            time.sleep(0.05)

    def running_version(self, name):
        try:
            return iwtest.docker("exec", name, "cat", "/etc/app-version", timeout=10).strip()
        except Exception:  # noqa: BLE001 - a container gone at this moment is not worth a crash
            return "?"

    def _read(self):
        for line in self.proc.stdout:
            line = line.decode(errors="replace").rstrip("\n")
            self.raw.append(line)
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if not isinstance(ev, dict):
                continue
            self.events.put(ev)
            with self.cond:
                self.counts[ev.get("msg", "")] += 1
                self.cond.notify_all()

    def _tell_all(self):
        while True:
            ev = self.events.get()
            try:
                self.tell(ev)
            except Exception as e:  # noqa: BLE001 - narration must not stop the story
                say(f"(could not narrate {ev.get('msg')!r}: {e})")
            finally:
                self.events.task_done()

    def tell(self, ev):
        msg, c = ev.get("msg", ""), ev.get("container", "")
        at = event_time(ev)

        def said(text):
            say(text, at)

        if msg == "watching":
            said(f"imagewatch is watching {REPO}: a registry check every {ev.get('interval')}")
        elif msg == "digest recorded":
            said(f"imagewatch's first check: {REPO} is at {ev.get('digest')}… "
                f"({self.version_of(ev.get('digest'))}), which the containers already run")
        elif msg == "digest moved, refreshing":
            said(f"imagewatch saw the new digest {ev.get('digest')}… ({self.version_of(ev.get('digest'))}): refreshing")
        elif msg == "pulling":
            said(f"pulling {ev.get('image')}")
        elif msg == "pull progress":
            said(f"pull progress: layers {ev.get('layers_done')}, {ev.get('bytes')}")
        elif msg == "pulled" and ev.get("layers_done") == "0/0":
            said(f"pulled: the image was already here, nothing to download ({ev.get('took')})")
        elif msg == "pulled":
            said(f"pulled: layers {ev.get('layers_done')}, {ev.get('bytes')}, in {ev.get('took')}")
        elif msg == "replacing container":
            if str(ev.get('step', '')).startswith('1 of '):
                self.finished = 0  # a new rollout starts counting again
            said(f"{c}: replacing ({ev.get('step')}): the old one is renamed aside, then stopped")
        elif msg == "new container verified":
            said(f"{c}: the new container is up and verified ({ev.get('check')})")
        elif msg == "container replaced":
            total = str(ev.get('step', '')).partition(' of ')[2] or '?'
            self.finished += 1
            said(f"{c}: replaced, verified (running {self.running_version(c)}); old container removed "
                f"[{self.finished} of {total}]")
        elif msg == "swap rolled back, original restored":
            self.rolled_back.add(c)
            said(f"{c}: the new container failed its check: {ev.get('error')}")
            said(f"{c}: rolled back: the original container is back under its name "
                f"(running {self.running_version(c)})")
        elif msg == "container replacement failed":
            if c not in self.rolled_back:
                said(f"{c}: replacement failed: {ev.get('error')}")
        elif msg == "refresh failed; the next check retries":
            said("imagewatch reports the refresh as failed and will try again at its next check; "
                "nothing was left half-done")
        elif ev.get("level") in ("warn", "error") and msg != "stopping old container":
            detail = ev.get("error") or ""
            said(f"imagewatch {ev.get('level')}: {msg}{': ' + detail if detail else ''}")

    def wait(self, what, pred, timeout=STEP_TIMEOUT, drain=True):
        """Waits until pred(counts of each log message) holds; then (drain) until all is told."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred(self.counts):
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self.thread.is_alive()):
                    raise RuntimeError(f"timed out waiting for: {what}")
                self.cond.wait(min(left, 0.5))
        if drain:
            self.drain()


def publish(version, digests, broken=False):
    what = "a broken " + version + " (its program exits at start)" if broken else version
    say(f"registry: building and pushing {what} of demo/app (busybox, with a healthcheck)")
    d = iwtest.build_image(REPO, version, cmd=None if broken else APP_CMD, exit_at_once=broken,
                           healthcheck=HEALTHCHECK, keep_local=True)
    digests[d] = version
    say(f"registry: tag {REPO} now points to {short(d)} ({version})")
    # As if it was built elsewhere: imagewatch's pull has to download it.
    iwtest.docker("rmi", iwtest.ref(REPO), check=False)
    return d


def metrics(port):
    status, text = get(port, "/metrics")
    out = {}
    for line in (text if status == 200 else "").splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            try:
                out[key] = float(value)
            except ValueError:
                pass
    return out


def get(port, path):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        r = c.getresponse()
        return r.status, r.read().decode(errors="replace")
    finally:
        c.close()


def show_status(port):
    status, body = get(port, "/admin/status")
    if status != 200:
        raise RuntimeError(f"/admin/status answered {status}: {body[:200]}")
    st = json.loads(body)
    say("GET /admin/status:")
    for rt in st.get("runtimes", []):
        print(f"           runtime {rt['name']}: image {rt['image']}", flush=True)
        print(f"             digest {short(rt.get('digest'))}, last check {rt.get('last_check')} "
              f"-> {rt.get('last_result')}, next {rt.get('next_check')}", flush=True)
        print(f"             containers {rt.get('containers')}, last error {rt.get('last_error')}", flush=True)
    print(f"           watch tasks {st.get('watch_tasks')}, config {st['config']['path']}", flush=True)


def show_metrics(before, after):
    say("GET /metrics: the counters that changed since v2 was published:")
    changed = [(k, before.get(k, 0.0), v) for k, v in sorted(after.items())
               if k.split("{")[0].endswith("_total") and before.get(k, 0.0) != v]
    for k, a, b in changed:
        print(f"           {k}  {a:g} -> {b:g}", flush=True)
    if not changed:
        raise RuntimeError("no counter changed")


def stop(proc, narrator=None):
    """SIGTERM (then, after 20 s, SIGKILL); the sentences come after what was still being told."""
    if proc.poll() is not None:
        return
    at = time.time()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if narrator:
        narrator.thread.join(5)  # the rest of its output
        narrator.drain()
    say("stopping imagewatch (SIGTERM)", at)
    say(f"imagewatch stopped (exit code {proc.returncode})")


def main():
    iwtest.load_env()
    digests = {}
    work = tempfile.mkdtemp(prefix="imagewatch-demo-")
    proc = None
    try:
        publish("v1", digests)
        image = iwtest.ref(REPO)
        for name in CONTAINERS:
            iwtest.run_container(name, image)
        say(f"started {', '.join(CONTAINERS)} on v1 (network none)")

        port = iwtest.free_port()
        cfg = iwtest.base_config([{"name": "app", "image": image}])
        cfg["watch"].update(enabled=True, interval="2s", jitter="0s")
        cfg["admin"]["listen"] = f"127.0.0.1:{port}"
        cfg["containers"]["name_prefix"] = PREFIX
        cfg_path = os.path.join(work, "config.json")
        with open(cfg_path, "w") as f:
            json.dump(cfg, f, indent=2)
        env = dict(os.environ, ADMIN_TOKEN=ADMIN_TOKEN, DOCKER_HOST=iwtest.ENV["DOCKER_HOST"],
                   DOCKER_CONFIG=iwtest.ENV["DOCKER_CONFIG"])
        proc = subprocess.Popen([iwtest.imagewatch_bin(), "--config", cfg_path, "--log-format", "json"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)  # Ctrl-C reaches it through us
        say(f"imagewatch started (pid {proc.pid}), admin API on 127.0.0.1:{port}")
        n = Narrator(proc, digests)
        n.wait("imagewatch's first check", lambda c: c["digest recorded"] >= 1)

        before = metrics(port)
        publish("v2", digests)
        n.wait("three containers replaced", lambda c: c["container replaced"] >= 3)
        show_status(port)
        show_metrics(before, metrics(port))

        publish("v3", digests, broken=True)
        n.wait("the failed refresh", lambda c: c["refresh failed; the next check retries"] >= 1, drain=False)
        # At once: its next check, 2 s later, would try v3 again.
        stop(proc, n)
        for name in CONTAINERS:
            # A rolled-back original was started again: its healthcheck says "starting" until the
            # app is ready again (a second or two), so report its settled health.
            health = lambda: iwtest.inspect(name)["State"].get("Health", {}).get("Status")
            try:
                iwtest.wait_until(lambda: health() not in (None, "starting"), timeout=15, interval=0.2)
            except AssertionError:
                pass
            state = iwtest.inspect(name)["State"]
            say(f"{name} still runs {n.running_version(name)} "
                f"({state.get('Health', {}).get('Status', state['Status'])})")
        return 0
    except (RuntimeError, iwtest.DockerError, OSError, AssertionError) as e:
        say(f"DEMO FAILED: {e}")
        if proc is not None and 'n' in locals():
            print("last imagewatch log lines:", *n.raw, sep="\n  ", flush=True)
        return 1
    finally:
        if proc is not None:
            stop(proc, n if 'n' in locals() else None)
        iwtest.cleanup_containers(PREFIX)
        subprocess.run(["rm", "-rf", work], check=False)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        say("interrupted")
        sys.exit(130)
