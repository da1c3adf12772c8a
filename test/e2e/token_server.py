#!/usr/bin/python3
"""Bearer-token server for the e2e registry (GHCR-style). Run with Debian's /usr/bin/python3 (python3-jwt).

usage: token_server.py --cert C --key K --sign-key SK --sign-cert SC [--bind ::1] [--port 5001]
                       [--issuer e2e-issuer] [--log FILE]
GET /token?service=S&scope=repository:NAME:a,b[&scope=...]: admin:secret gets every requested action,
anonymous gets pull only, a wrong password gets 401. Token lifetime: env TOKEN_TTL (seconds, default
300), overridden per request by the integer in the file $TOKEN_TTL_FILE when that file exists.
Each request is appended to --log as one line: time client method path(percent-decoded) user status.
"""
import argparse, base64, datetime, hashlib, http.server, json, os, secrets, socket, ssl, threading, time
import urllib.parse

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

USERS = {"admin": "secret"}
p = argparse.ArgumentParser()
for a in ("--cert", "--key", "--sign-key", "--sign-cert"):
    p.add_argument(a, required=True)
p.add_argument("--bind", default="::1")
p.add_argument("--port", type=int, default=5001)
p.add_argument("--issuer", default="e2e-issuer")
p.add_argument("--log", default=os.devnull)
args = p.parse_args()

SIGN_KEY = open(args.sign_key, "rb").read()
cert = x509.load_pem_x509_certificate(open(args.sign_cert, "rb").read())
X5C = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
b32 = base64.b32encode(hashlib.sha256(spki).digest()[:30]).decode()
KID = ":".join(b32[i:i + 4] for i in range(0, 48, 4))
log_lock = threading.Lock()


def ttl():
    try:
        return int(open(os.environ["TOKEN_TTL_FILE"]).read().strip())
    except (KeyError, OSError, ValueError):
        return int(os.environ.get("TOKEN_TTL", "300"))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 60

    def reply(self, status, body, user=""):
        # Logged before the answer goes out: a client holding the answer finds its line in the log
        # (tests count token requests right after getting a token).
        path = urllib.parse.unquote(self.path).replace(" ", "+")
        line = f"{time.time():.3f} {self.client_address[0]} {self.command} {path} {user or '-'} {status}\n"
        with log_lock, open(args.log, "a") as f:
            f.write(line)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="e2e-token"')
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            return self.reply(404, {"errors": [{"code": "NOT_FOUND"}]})
        q = urllib.parse.parse_qs(url.query)
        user = ""
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            try:
                user, _, pw = base64.b64decode(auth[6:].strip()).decode().partition(":")
            except ValueError:
                user, pw = "?", None
            if USERS.get(user) != pw:
                return self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]}, user)
        access = []
        for scope in q.get("scope", []):
            for one in scope.split(" "):
                head, _, actions = one.rpartition(":")
                typ, _, name = head.partition(":")
                acts = [a for a in actions.split(",") if a and (user or a == "pull")]
                access.append({"type": typ, "name": name, "actions": acts})
        now, lifetime = int(time.time()), ttl()
        claims = {"iss": args.issuer, "sub": user, "aud": q.get("service", [""])[0], "exp": now + lifetime,
                  "nbf": now - 10, "iat": now, "jti": secrets.token_hex(16), "access": access}
        tok = jwt.encode(claims, SIGN_KEY, algorithm="RS256", headers={"kid": KID, "x5c": [X5C]})
        issued = datetime.datetime.fromtimestamp(now, datetime.timezone.utc).isoformat().replace("+00:00", "Z")
        self.reply(200, {"token": tok, "access_token": tok, "expires_in": lifetime, "issued_at": issued}, user)

    def log_message(self, *a):
        pass


class Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
    daemon_threads = True


srv = Server((args.bind, args.port), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(args.cert, args.key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)  # handshake in the handler thread
srv.serve_forever()
