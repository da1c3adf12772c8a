"""A Docker API proxy on a Unix socket that can hold one chosen request (stdlib only).

Crash tests point imagewatch's docker.host at the proxy, make it hold, say, the rename of a swap,
wait until it holds exactly that request, and kill -9 imagewatch: the kill then lands at a known
point of the swap, every time, instead of wherever a sleep happened to end.

    with HoldProxy(upstream="/tmp/imagewatch-e2e/docker.sock") as p:
        p.hold("POST", r"/containers/[^/]+/rename")           # first matching request
        ... imagewatch with docker.host = p.url ...
        p.wait_held()

A held request is never forwarded (mode "before": Docker never sees it), or forwarded with its
answer kept back (mode "after": Docker acts, the client never learns). Everything else passes
through unchanged, pull progress streams included.

One request per client connection: imagewatch's client sends `Connection: close` and opens a new
connection for every call. The proxy forwards each request on a fresh upstream connection with
`Connection: close`, relays the answer until the daemon closes, then closes the client side, so a
client that wanted keep-alive simply reconnects (as HTTP/1.1 allows). Upgraded connections
(attach, exec) are not supported; imagewatch uses none.
"""
import os
import re
import socket
import threading


class HoldProxy:
    def __init__(self, upstream, path=None):
        self.upstream = upstream[len("unix://"):] if upstream.startswith("unix://") else upstream
        self.path = path or f"/tmp/iw-hold-{os.getpid()}-{id(self) % 100000}.sock"
        self.requests = []  # "METHOD target" of every request seen, in order
        self.held = threading.Event()
        self.answered = threading.Event()  # mode "after": Docker has answered the held request
        self.held_request = None
        self._rule = None
        self._lock = threading.Lock()
        self._conns = []
        self._closed = False
        if os.path.exists(self.path):
            os.unlink(self.path)
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(self.path)
        self._server.listen(64)
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self):
        return "unix://" + self.path

    def hold(self, method, path_regex, nth=1, after=None, mode="before"):
        """Hold the nth request whose method is `method` and whose target (version prefix removed)
        matches `path_regex` (re.fullmatch, query string included). With `after` ("METHOD regex"),
        only requests after one matching it are counted."""
        if mode not in ("before", "after"):
            raise ValueError(mode)
        with self._lock:
            self.held.clear()
            self.answered.clear()
            self.held_request = None
            self._rule = {"method": method, "rx": re.compile(path_regex), "nth": nth, "seen": 0,
                          "after": after, "armed": after is None, "mode": mode}

    def release_rule(self):
        """Forward everything from now on (a request already held stays held)."""
        with self._lock:
            self._rule = None

    def wait_held(self, timeout=60):
        if not self.held.wait(timeout):
            raise AssertionError(f"the proxy did not get the request to hold within {timeout}s; "
                                 f"requests seen: {self.requests[-20:]}")
        return self.held_request

    def close(self):
        self._closed = True
        try:
            self._server.close()
        except OSError:
            pass
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked on it; close() alone would not
            except OSError:
                pass
            try:
                c.close()
            except OSError:
                pass
        try:
            os.unlink(self.path)
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------------------------ internals

    def _track(self, s):
        with self._lock:
            self._conns.append(s)

    def _accept(self):
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            self._track(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    @staticmethod
    def _strip_version(target):
        return re.sub(r"^/v\d+\.\d+(?=/)", "", target)

    def _decide(self, method, target):
        """'forward', or the hold mode when this request is the one to hold."""
        with self._lock:
            self.requests.append(f"{method} {target}")
            r = self._rule
            if r is None or self.held.is_set():
                return "forward"
            path = self._strip_version(target)
            if not r["armed"]:
                am, _, arx = r["after"].partition(" ")
                if method == am and re.fullmatch(arx, path):
                    r["armed"] = True
                return "forward"
            if method == r["method"] and r["rx"].fullmatch(path):
                r["seen"] += 1
                if r["seen"] == r["nth"]:
                    self.held_request = f"{method} {target}"
                    return r["mode"]
            return "forward"

    @staticmethod
    def _read_head(sock):
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                return None, b""
            buf += chunk
            if len(buf) > 1 << 20:
                raise ValueError("request head too large")
        head, _, rest = buf.partition(b"\r\n\r\n")
        return head, rest

    def _serve(self, client):
        upstream = None
        try:
            head, rest = self._read_head(client)
            if head is None:
                return
            lines = head.decode("latin-1").split("\r\n")
            method, target, _version = lines[0].split(" ", 2)
            headers = []
            length = 0
            for line in lines[1:]:
                k, _, v = line.partition(":")
                key = k.strip().lower()
                if key == "content-length":
                    length = int(v.strip())
                elif key == "transfer-encoding":
                    client.sendall(b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    return
                if key not in ("connection", "keep-alive"):
                    headers.append(line)
            body = rest
            while len(body) < length:
                chunk = client.recv(65536)
                if not chunk:
                    return
                body += chunk
            decision = self._decide(method, target)
            if decision == "before":
                self.held.set()
                client.recv(1)  # blocks until the client goes away (kill -9) or close()
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._track(upstream)
            upstream.connect(self.upstream)
            out = "\r\n".join([f"{method} {target} HTTP/1.1", *headers, "Connection: close"]) + "\r\n\r\n"
            upstream.sendall(out.encode("latin-1") + body[:length])
            if decision == "after":
                self.held.set()
                # Read the answer so the daemon finishes normally, but never pass it on.
                while upstream.recv(65536):
                    pass
                self.answered.set()
                client.recv(1)
                return
            while True:
                chunk = upstream.recv(65536)
                if not chunk:
                    break
                client.sendall(chunk)
        except (OSError, ValueError):
            pass
        finally:
            for s in (client, upstream):
                if s is not None:
                    try:
                        s.close()
                    except OSError:
                        pass
