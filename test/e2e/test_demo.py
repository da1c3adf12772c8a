"""The README's demo (demo/run) end to end, beside the running test environment.

It runs demo/run with this build's binary and its own state dir and ports, then checks what a
person would read (the key sentences, in order, each with its time since start) and that nothing
is left behind: no process of the demo's environment, no mount under its state dir, /etc/hosts as
it was, no certs.d entry for its port, and the test environment still answering.
"""
import os
import re
import subprocess
import time
import unittest

import iwtest

ENV = iwtest.load_env()  # the shared environment is up: the demo must run beside it

DEMO_DIR = "/tmp/imagewatch-demo-e2e"
REG_PORT, TOKEN_PORT = "5643", "5201"  # neither the test environment's nor the demo's defaults


def demo_processes():
    """(pid, command line) of every process whose command line names the demo's state dir."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if DEMO_DIR + "/" in cmd and int(pid) != os.getpid():
            found.append((int(pid), cmd))
    return found


def demo_mounts():
    with open("/proc/mounts") as f:
        return [line.split()[1] for line in f if line.split()[1].startswith(DEMO_DIR + "/")]


class DemoE2E(unittest.TestCase):
    def test_demo_tells_the_story_and_leaves_nothing_behind(self):
        if os.geteuid() != 0:
            self.skipTest("demo/run needs root")
        self.assertEqual(demo_processes(), [], "a demo environment is already running")
        with open("/etc/hosts") as f:
            hosts_before = f.read()
        env = dict(os.environ, IMAGEWATCH_BIN=iwtest.imagewatch_bin(), IMAGEWATCH_DEMO_DIR=DEMO_DIR,
                   IMAGEWATCH_DEMO_REG_PORT=REG_PORT, IMAGEWATCH_DEMO_TOKEN_PORT=TOKEN_PORT)
        for k in ("DOCKER_HOST", "DOCKER_CONFIG", "IMAGEWATCH_E2E_DIR"):  # the demo has its own
            env.pop(k, None)
        # REGISTRY_* and the rest of the test environment's variables stay: env.sh must cope with a
        # shell that sourced another environment's env file.
        started = time.monotonic()
        p = subprocess.run([os.path.join(iwtest.REPO_ROOT, "demo", "run")], capture_output=True, text=True,
                           env=env, timeout=400, stdin=subprocess.DEVNULL)
        took = time.monotonic() - started
        out = p.stdout
        print(out, flush=True)
        print(f"demo wall time {took:.1f} s", flush=True)
        self.assertEqual(p.returncode, 0, f"demo/run exited {p.returncode}\n{out}\n{p.stderr[-3000:]}")

        # Every sentence carries its time since start; only the status and metrics bodies are indented.
        for line in out.splitlines():
            if not line.startswith("           "):
                self.assertRegex(line, r"^\[\s*\d+\.\ds\] \S", "a line without its time")

        # The story, in order.
        hexd = r"sha256:[0-9a-f]{12}"
        story = [
            r"registry: tag demo/app:latest now points to sha256:[0-9a-f]{12}… \(v1\)",
            r"started demo-ws-1, demo-ws-2, demo-ws-3 on v1",
            rf"imagewatch's first check: demo/app:latest is at {hexd}… \(v1\)",
            r"registry: tag demo/app:latest now points to sha256:[0-9a-f]{12}… \(v2\)",
            rf"imagewatch saw the new digest {hexd}… \(v2\): refreshing",
            r"pulling registry\.test:" + REG_PORT + r"/demo/app:latest",
            r"pulled: layers (\d+)/\1, ",
            r"(demo-ws-\d): replacing \(1 of 3\)",
            r"demo-ws-\d: the new container is up and verified \(healthy\)",
            r"demo-ws-\d: replaced, verified \(running v2\); old container removed \[1 of 3\]",
            r"demo-ws-\d: replaced, verified \(running v2\); old container removed \[2 of 3\]",
            r"demo-ws-\d: replaced, verified \(running v2\); old container removed \[3 of 3\]",
            r"GET /admin/status:",
            r"digest " + hexd + r"…, last check \S+ -> (changed|unchanged)",
            r"GET /metrics: the counters that changed",
            r'imagewatch_containers_replaced_total\{[^}]*result="ok"[^}]*\}  0 -> 3',
            r"registry: tag demo/app:latest now points to sha256:[0-9a-f]{12}… \(v3\)",
            rf"imagewatch saw the new digest {hexd}… \(v3\): refreshing",
            r"demo-ws-\d: the new container failed its check: new container did not stay running \(exit code 1\)",
            r"demo-ws-\d: rolled back: the original container is back under its name \(running v2\)",
            r"imagewatch reports the refresh as failed",
            r"stopping imagewatch",
            r"imagewatch stopped \(exit code 0\)",
            r"demo-ws-1 still runs v2 \(healthy\)",
            r"demo-ws-2 still runs v2 \(healthy\)",
            r"demo-ws-3 still runs v2 \(healthy\)",
            r"teardown done",
        ]
        pos = 0
        for rx in story:
            m = re.compile(rx).search(out, pos)
            self.assertIsNotNone(m, f"not found after position {pos}: /{rx}/\n--- output ---\n{out}")
            pos = m.end()
        replaced = set(re.findall(r"(demo-ws-\d): replaced, verified \(running v2\)", out))
        self.assertEqual(replaced, {"demo-ws-1", "demo-ws-2", "demo-ws-3"})
        self.assertNotIn("DEMO FAILED", out)

        # Nothing left behind.
        self.assertEqual(demo_processes(), [])
        self.assertEqual(demo_mounts(), [])
        self.assertFalse(os.path.exists(DEMO_DIR), f"{DEMO_DIR} still exists")
        self.assertFalse(os.path.exists(f"/etc/docker/certs.d/registry.test:{REG_PORT}"))
        with open("/etc/hosts") as f:
            self.assertEqual(f.read(), hosts_before, "/etc/hosts changed")
        # The test environment beside it is untouched.
        self.assertTrue(iwtest.docker("version", "--format", "{{.Server.Version}}"))
        self.assertEqual(iwtest.https("GET", f"https://{ENV['REGISTRY']}/v2/")[0], 401)


if __name__ == "__main__":
    unittest.main(verbosity=2)
