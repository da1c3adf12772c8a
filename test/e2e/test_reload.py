#!/usr/bin/python3
"""End to end: live config edits on the running daemon (real file, real inotify).

Rename-over, in-place and symlink-swap edits apply within 2 s; an invalid edit keeps the running
config and shows its error until the next good edit; SIGHUP reloads; token and listen changes take
effect; 200 reloads leak no tasks and no memory.
"""
import copy
import json
import os
import signal
import time
import unittest

import iwtest

ENV = iwtest.load_env()


def status(iw, token=iwtest.DEFAULT_ADMIN_TOKEN):
    code, body = iw.get("/admin/status", token=token)
    assert code == 200, (code, body)
    return body


def names(iw):
    return [r["name"] for r in status(iw)["runtimes"]]


class ReloadE2E(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.repo_a = iwtest.unique("rl/a")
        cls.repo_b = iwtest.unique("rl/b")
        iwtest.build_image(cls.repo_a, "a1")
        iwtest.build_image(cls.repo_b, "b1")

    def config(self, *runtimes):
        rts = [{"name": n, "image": iwtest.ref(r)} for n, r in runtimes]
        cfg = iwtest.base_config(rts)
        cfg["containers"]["name_prefix"] = iwtest.unique("ws-rl")
        cfg["watch"].update(enabled=True, interval="1h", jitter="0s")
        return cfg

    def wait_names(self, iw, expected, timeout=2.0):
        iwtest.wait_until(lambda: names(iw) == expected, timeout=timeout, interval=0.05,
                          what=f"runtimes {expected}")

    def test_rename_over_edit_adds_a_runtime_and_it_is_checked(self):
        cfg = self.config(("a", self.repo_a))
        with iwtest.Imagewatch(cfg) as iw:
            self.wait_names(iw, ["a"])
            cfg2 = copy.deepcopy(iw.config)
            cfg2["runtimes"].append({"name": "b", "image": iwtest.ref(self.repo_b)})
            iw.write_config(cfg2)  # temp file + rename, like an editor
            self.wait_names(iw, ["a", "b"])
            iwtest.wait_until(lambda: status(iw)["runtimes"][1]["last_result"] == "seeded", timeout=5,
                              what="the new runtime checked")
            self.assertIsNone(status(iw)["config"]["last_error"])

    def test_in_place_truncate_and_write(self):
        with iwtest.Imagewatch(self.config(("a", self.repo_a))) as iw:
            self.wait_names(iw, ["a"])
            cfg2 = copy.deepcopy(iw.config)
            cfg2["runtimes"] = [{"name": "b", "image": iwtest.ref(self.repo_b)}]
            with open(iw.config_path, "w") as f:  # O_TRUNC then write, same inode
                json.dump(cfg2, f)
            self.wait_names(iw, ["b"])
            iwtest.wait_until(lambda: iw.get("/admin/status")[1]["watch_tasks"] == 1, timeout=3,
                              what="the removed runtime's task gone")

    def test_symlink_swap_like_a_configmap(self):
        cfg = self.config(("a", self.repo_a))
        iw = iwtest.Imagewatch(cfg, start=False)
        try:
            d = iw.dir
            os.makedirs(os.path.join(d, "..v1"))
            os.makedirs(os.path.join(d, "..v2"))
            cfg_v1 = copy.deepcopy(iw.config)
            with open(os.path.join(d, "..v1", "config.json"), "w") as f:
                json.dump(cfg_v1, f)
            os.symlink("..v1", os.path.join(d, "..data"))
            os.remove(iw.config_path)
            os.symlink("..data/config.json", iw.config_path)
            iw.start()
            self.wait_names(iw, ["a"])
            cfg_v2 = copy.deepcopy(cfg_v1)
            cfg_v2["runtimes"].append({"name": "b", "image": iwtest.ref(self.repo_b)})
            with open(os.path.join(d, "..v2", "config.json"), "w") as f:
                json.dump(cfg_v2, f)
            os.symlink("..v2", os.path.join(d, "..data_tmp"))
            os.replace(os.path.join(d, "..data_tmp"), os.path.join(d, "..data"))  # atomic swap
            self.wait_names(iw, ["a", "b"])
        finally:
            iw.__exit__(None, None, None)

    def test_invalid_edit_keeps_the_running_config_until_fixed(self):
        with iwtest.Imagewatch(self.config(("a", self.repo_a))) as iw:
            self.wait_names(iw, ["a"])
            good = copy.deepcopy(iw.config)
            before = iwtest.reloads(iw, "error")
            with open(iw.config_path, "w") as f:
                f.write('{\n  "runtimes": [\n    {"name": "x", "image": }\n  ]\n}\n')
            iwtest.wait_until(lambda: status(iw)["config"]["last_error"], timeout=2, interval=0.05,
                              what="the error shown in status")
            err = status(iw)["config"]["last_error"]
            self.assertIn(f"{iw.config_path}:3:", err)  # PATH:LINE:COL
            self.assertEqual(names(iw), ["a"])
            self.assertEqual(iwtest.reloads(iw, "error"), before + 1)
            self.assertEqual(iw.post("/admin/workspace-images/refresh?recreate=false")[0], 200)
            # Unknown key and a bad duration: semantic errors name the field.
            bad = copy.deepcopy(good)
            bad["watch"]["interval"] = "soon"
            iw.write_config(bad)
            iwtest.wait_until(lambda: "watch.interval" in (status(iw)["config"]["last_error"] or ""), timeout=2,
                              interval=0.05, what="semantic error")
            # A deleted file changes nothing either.
            os.remove(iw.config_path)
            iwtest.wait_until(lambda: iwtest.reloads(iw, "error") >= before + 3, timeout=2, interval=0.05,
                              what="deleted file counted as an error")
            self.assertEqual(names(iw), ["a"])
            good["runtimes"].append({"name": "b", "image": iwtest.ref(self.repo_b)})
            iw.write_config(good)
            self.wait_names(iw, ["a", "b"])
            self.assertIsNone(status(iw)["config"]["last_error"])

    def test_sighup_reloads(self):
        with iwtest.Imagewatch(self.config(("a", self.repo_a))) as iw:
            self.wait_names(iw, ["a"])
            before = iwtest.reloads(iw, "ok")
            iw.reload()
            iwtest.wait_until(lambda: iwtest.reloads(iw, "ok") == before + 1, timeout=2, interval=0.05,
                              what="SIGHUP reload counted")
            self.assertIn("SIGHUP", iw.logs())

    def test_token_change_applies_to_the_next_request(self):
        with iwtest.Imagewatch(self.config(("a", self.repo_a)), env={"OTHER_TOKEN": "second-token"}) as iw:
            self.assertEqual(iw.get("/admin/status")[0], 200)
            cfg2 = copy.deepcopy(iw.config)
            cfg2["admin"]["token_env"] = "OTHER_TOKEN"
            iw.write_config(cfg2)
            iwtest.wait_until(lambda: iw.get("/admin/status", token="second-token")[0] == 200, timeout=2,
                              interval=0.05, what="new token accepted")
            self.assertEqual(iw.get("/admin/status")[0], 401)

    def test_listen_change_moves_the_listener(self):
        with iwtest.Imagewatch(self.config(("a", self.repo_a))) as iw:
            old_port = iw.port
            new_port = iwtest.free_port()
            cfg2 = copy.deepcopy(iw.config)
            cfg2["admin"]["listen"] = f"127.0.0.1:{new_port}"
            iw.write_config(cfg2)
            iw.port = new_port
            iwtest.wait_until(lambda: iw.get("/healthz", token=None, timeout=1)[0] == 200, timeout=3,
                              interval=0.05, what="listener on the new port")
            iw.port = old_port
            with self.assertRaises(OSError):
                iw.get("/healthz", token=None, timeout=1)
            iw.port = new_port

    def test_200_reloads_leak_no_tasks_and_no_memory(self):
        base = self.config(("a", self.repo_a))
        # Under ASan, freed memory sits in its quarantine and looks like growth: turn it off so RSS
        # shows what is really kept (measured: 180 MiB steady, +0.2 MiB over 200 reloads).
        env = {"ASAN_OPTIONS": "quarantine_size_mb=0:thread_local_quarantine_size_kb=0"}
        with iwtest.Imagewatch(base, env=env) as iw:
            self.wait_names(iw, ["a"])
            with_b = copy.deepcopy(iw.config)
            with_b["runtimes"].append({"name": "b", "image": iwtest.ref(self.repo_b)})
            without_b = copy.deepcopy(iw.config)

            def cycle(n):
                for i in range(n):
                    iw.write_config(with_b if i % 2 == 0 else without_b)
                    target = iwtest.reloads(iw, "ok") + 1
                    iw.proc.send_signal(signal.SIGHUP)
                    iwtest.wait_until(lambda: iwtest.reloads(iw, "ok") >= target, timeout=5, interval=0.01,
                                      what=f"reload {i}")

            cycle(20)
            time.sleep(0.5)
            rss_before = iwtest.rss_kib(iw.proc.pid)
            cycle(200)
            time.sleep(1.0)
            iwtest.wait_until(lambda: status(iw)["watch_tasks"] == 1, timeout=5, what="one task left")
            rss_after = iwtest.rss_kib(iw.proc.pid)
            print(f"RSS before {rss_before} KiB, after 200 reloads {rss_after} KiB")
            self.assertLess(rss_after - rss_before, 1024)
            self.assertEqual(names(iw), ["a"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
