"""A stand-in for the push service browsers use (theirs are on the internet,
out of reach here). Each subscription it hands out is a browser key pair
made with `cryptography`; every push is decrypted with http_ece (Mozilla's
reference implementation of aes128gcm, RFC 8188/8291) and its VAPID token
verified (RFC 8292), then printed as a JSON line.

GET  /subscribe/NAME        a new browser NAME: what PushSubscription.toJSON() gives
GET  /answer/NAME/CODE      answer NAME's pushes with CODE from now on
POST /push/NAME             a push to NAME
"""
import base64, http.server, json, sys

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


browsers = {}
answers = {}


def vapid(header):
    """What the Authorization header says, and whether its signature holds."""
    if not header.startswith("vapid t="):
        return {"vapid_valid": False}
    token, key = header[len("vapid t="):].split(", k=")
    head, claims, signature = token.split(".")
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64d(key))
    sig = b64d(signature)
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        public.verify(der, (head + "." + claims).encode(), ec.ECDSA(hashes.SHA256()))
        valid = len(sig) == 64
    except InvalidSignature:
        valid = False
    return {"vapid_valid": valid, "vapid_key": key, "jwt_header": json.loads(b64d(head)),
            "claims": json.loads(b64d(claims))}


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, code, body=None):
        out = json.dumps(body).encode() if body is not None else b""
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if parts[0] == "subscribe" and len(parts) == 2:
            key = ec.generate_private_key(ec.SECP256R1())
            auth = bytes(__import__("os").urandom(16))
            browsers[parts[1]] = (key, auth)
            point = key.public_key().public_bytes(serialization.Encoding.X962,
                                                  serialization.PublicFormat.UncompressedPoint)
            port = self.server.server_address[1]
            return self.reply(200, {"endpoint": f"http://127.0.0.1:{port}/push/{parts[1]}",
                                    "expirationTime": None,
                                    "keys": {"p256dh": b64e(point), "auth": b64e(auth)}})
        if parts[0] == "answer" and len(parts) == 3:
            answers[parts[1]] = int(parts[2])
            return self.reply(200, {})
        self.reply(404, {})

    def do_POST(self):
        name = self.path.rsplit("/", 1)[1]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        code = answers.get(name, 201)
        record = {"browser": name, "answered": code,
                  "encoding": self.headers.get("Content-Encoding"),
                  "ttl": self.headers.get("TTL"), "urgency": self.headers.get("Urgency")}
        record.update(vapid(self.headers.get("Authorization") or ""))
        if name in browsers:
            key, auth = browsers[name]
            try:
                plain = http_ece.decrypt(body, private_key=key, auth_secret=auth, version="aes128gcm")
                record["message"] = json.loads(plain)
            except Exception as e:  # recorded: the test says what went wrong
                record["decrypt_error"] = repr(e)
        print(json.dumps(record), flush=True)
        self.reply(code)


s = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), H)
print("push service ready", s.server_address[1], flush=True)
s.serve_forever()
