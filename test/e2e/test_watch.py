#!/usr/bin/python3
"""End to end: the digest watcher against the real dockerd and TLS + token registry.

With watch.interval 2s: a pushed tag is applied with no POST; a restart with nothing new changes
nothing; an update published while imagewatch was down is applied at start (apply_on_start); a
tag whose pull fails is retried until it works; /metrics is valid exposition text that counts it.
"""
import json
import os
import re
import shutil
import time
import unittest

import iwtest

ENV = iwtest.load_env()
INTERVAL = 2.0


def registry_blob_path(digest):
    hexd = digest.split(":", 1)[1]
    return os.path.join(ENV["IMAGEWATCH_E2E_DIR"], "registry-data", "docker", "registry", "v2", "blobs",
                        "sha256", hexd[:2], hexd, "data")


def manifest(repo_tag):
    """GET the manifest JSON through the token flow (anonymous pull token)."""
    e = ENV
    repo, _, tag = iwtest.ref(repo_tag)[len(e["REGISTRY"]) + 1:].rpartition(":")
    url = f"https://{e['REGISTRY']}/v2/{repo}/manifests/{tag}"
    h = {"Accept": "application/vnd.docker.distribution.manifest.v2+json"}
    status, headers, _ = iwtest.https("GET", url, h)
    if status == 401:
        _, ch = iwtest.parse_challenge(headers["www-authenticate"])
        h["Authorization"] = "Bearer " + iwtest.get_token(ch["realm"], ch["service"], ch.get("scope"))
        status, headers, body = iwtest.https("GET", url, h)
    assert status == 200, status
    return json.loads(body)


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*"'
                    r'(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*)?\})? (-?[0-9.eE+-]+|\+Inf|-Inf|NaN)$')


def parse_metrics(text):
    """Prometheus text format 0.0.4, strictly: every line is HELP, TYPE or a sample. Returns
    {(name, frozenset(labels)): value} and fails the test on any other line."""
    out = {}
    types = {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if parts[1] == "TYPE":
                assert parts[3] in ("counter", "gauge", "histogram", "summary", "untyped"), line
                types[parts[2]] = parts[3]
            continue
        m = SAMPLE.match(line)
        assert m, f"not a valid sample line: {line!r}"
        labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(7))
    return out, types


def metric(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


class WatchE2E(unittest.TestCase):
    def setUp(self):
        self.prefix = iwtest.unique("ws-wt")
        self.repo = iwtest.unique("wt/app")
        self.image = iwtest.ref(self.repo)
        self.name = f"{self.prefix}-a"

    def tearDown(self):
        iwtest.cleanup_containers(self.prefix)

    def config(self):
        cfg = iwtest.base_config([{"name": "app", "image": self.image}])
        cfg["containers"]["name_prefix"] = self.prefix
        cfg["watch"].update(enabled=True, interval="2s", jitter="0s", apply_on_start=True)
        cfg["timeouts"]["health"] = "3s"
        return cfg

    def version(self):
        return iwtest.docker("exec", self.name, "cat", "/etc/app-version")

    def start_v1(self):
        iwtest.build_image(self.repo, "v1")
        iwtest.pull(self.image)
        return iwtest.run_container(self.name, self.image)

    def test_moved_tag_is_applied_without_a_post_and_restarts_are_quiet(self):
        id1 = self.start_v1()
        with iwtest.Imagewatch(self.config()) as iw:
            iwtest.wait_until(lambda: iw.get("/admin/status")[1]["runtimes"][0]["last_result"] == "seeded",
                              timeout=10, what="first check seeds")
            iwtest.build_image(self.repo, "v2")
            t0 = time.monotonic()
            iwtest.wait_until(lambda: iwtest.inspect(self.name)["Id"] != id1, timeout=3 * INTERVAL + 5,
                              what="container replaced by the watcher")
            self.assertLess(time.monotonic() - t0, 3 * INTERVAL + 5)
            iwtest.wait_until(lambda: iwtest.inspect(self.name)["State"]["Running"], timeout=10)
            self.assertEqual(self.version(), "v2")
            # The swap is done once the replacement is verified and counted.
            iwtest.wait_until(lambda: metric(parse_metrics(iw.get("/metrics", token=None)[1])[0],
                                             "imagewatch_refreshes_total", runtime="app", result="ok") >= 1,
                              timeout=15, what="refresh counted")
            status = iw.get("/admin/status")[1]
            rt = status["runtimes"][0]
            self.assertEqual(rt["name"], "app")
            self.assertRegex(rt["digest"], r"^sha256:[0-9a-f]{64}$")
            self.assertIn(rt["last_result"], ("changed", "unchanged"))
            self.assertIsNone(rt["last_error"])
            self.assertTrue(status["watch_enabled"])
            code, text = iw.get("/metrics", token=None)
            self.assertEqual(code, 200)
            samples, types = parse_metrics(text)
            self.assertGreaterEqual(metric(samples, "imagewatch_checks_total", runtime="app", result="changed"), 1)
            self.assertGreaterEqual(metric(samples, "imagewatch_refreshes_total", runtime="app", result="ok"), 1)
            self.assertGreaterEqual(
                metric(samples, "imagewatch_containers_replaced_total", runtime="app", result="ok"), 1)
            self.assertGreater(metric(samples, "imagewatch_last_check_timestamp_seconds", runtime="app"),
                               time.time() - 60)
            self.assertGreaterEqual(metric(samples, "imagewatch_check_duration_seconds_count"), 2)
            self.assertEqual(types["imagewatch_check_duration_seconds"], "histogram")
            heads = [v for (n, l), v in samples.items()
                     if n == "imagewatch_registry_requests_total" and ("method", "HEAD") in l]
            self.assertGreaterEqual(sum(heads), 2)
            self.assertEqual(metric(samples, "imagewatch_build_info", version="0.1.0"), 1)
        id2 = iwtest.inspect(self.name)["Id"]

        # Restart with nothing new: the container is left alone.
        with iwtest.Imagewatch(self.config()) as iw:
            iwtest.wait_until(lambda: iw.get("/admin/status")[1]["runtimes"][0]["last_result"] in ("seeded", "unchanged"),
                              timeout=10, what="first check after restart")
            time.sleep(2 * INTERVAL)
            self.assertEqual(iwtest.inspect(self.name)["Id"], id2)
            self.assertNotIn("replacing container", iw.logs())

        # Published while imagewatch was down: applied at start.
        iwtest.build_image(self.repo, "v3")
        with iwtest.Imagewatch(self.config()) as iw:
            iwtest.wait_until(lambda: iwtest.inspect(self.name)["Id"] != id2, timeout=3 * INTERVAL + 5,
                              what="apply_on_start replaces the stale container")
            iwtest.wait_until(lambda: iwtest.inspect(self.name)["State"]["Running"], timeout=10)
            self.assertEqual(self.version(), "v3")

    def test_failed_pull_is_retried_until_it_works(self):
        id1 = self.start_v1()
        with iwtest.Imagewatch(self.config()) as iw:
            iwtest.wait_until(lambda: iw.get("/admin/status")[1]["runtimes"][0]["last_result"] == "seeded",
                              timeout=10, what="first check seeds")
            iwtest.build_image(self.repo, "v2-layer-missing")
            layer = manifest(self.repo)["layers"][0]["digest"]
            blob = registry_blob_path(layer)
            hidden = blob + ".hidden"
            shutil.move(blob, hidden)  # HEAD of the tag works, the pull cannot fetch the layer
            try:
                iwtest.wait_until(lambda: "refresh failed; the next check retries" in iw.logs(), timeout=20,
                                  what="a failed refresh")
                iwtest.wait_until(lambda: iw.logs().count("refresh failed; the next check retries") >= 2,
                                  timeout=20, what="the refresh retried")
                self.assertEqual(iwtest.inspect(self.name)["Id"], id1)
                rt = iw.get("/admin/status")[1]["runtimes"][0]
                self.assertIsNotNone(rt["last_error"])
            finally:
                shutil.move(hidden, blob)
            iwtest.wait_until(lambda: iwtest.inspect(self.name)["Id"] != id1, timeout=3 * INTERVAL + 10,
                              what="applied once the registry is fixed")
            iwtest.wait_until(lambda: iwtest.inspect(self.name)["State"]["Running"], timeout=10)
            self.assertEqual(self.version(), "v2-layer-missing")
            samples, _ = parse_metrics(iw.get("/metrics", token=None)[1])
            self.assertGreaterEqual(metric(samples, "imagewatch_refreshes_total", runtime="app", result="error"), 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
