/**
 * Sealed execution interop: Python's `cryptography` package (an independent HPKE-free stack: X25519,
 * HKDF-Expand, HMAC, ChaCha20-Poly1305, AES-GCM) opens the published vectors of
 * docs/sealed-execution-vectors.json by following RFC 9180 base mode and docs/sealed-execution.md:
 * request (server side, skR) and response (client side, skC), and the request digest. Skipped when
 * python3 or `cryptography` is missing.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const python = process.env.WASMVM_PYTHON ?? '/usr/bin/python3';
const available =
  spawnSync(python, ['-c', 'import cryptography.hazmat.primitives.asymmetric.x25519'], { encoding: 'utf8' })
    .status === 0;

const SCRIPT = String.raw`
import hashlib, hmac, json, struct, sys
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305, AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

def extract(salt, ikm): return hmac.new(salt or b"\0" * 32, ikm, hashlib.sha256).digest()
def expand(prk, info, n):
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest(); out += t; i += 1
    return out[:n]
def lext(sid, salt, label, ikm): return extract(salt, b"HPKE-v1" + sid + label + ikm)
def lexp(sid, prk, label, info, n): return expand(prk, struct.pack(">H", n) + b"HPKE-v1" + sid + label + info, n)
KEM = b"KEM" + struct.pack(">H", 0x20)
def decap(sk, enc):
    k = X25519PrivateKey.from_private_bytes(sk)
    pk = k.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    dh = k.exchange(X25519PublicKey.from_public_bytes(enc))
    return lexp(KEM, lext(KEM, b"", b"eae_prk", dh), b"shared_secret", enc + pk, 32)
def open_(v, sk, enc, info, ct):
    sid = b"HPKE" + struct.pack(">HHH", v["kemId"], v["kdfId"], v["aeadId"])
    ctx = b"\0" + lext(sid, b"", b"psk_id_hash", b"") + lext(sid, b"", b"info_hash", info)
    secret = lext(sid, decap(sk, enc), b"secret", b"")
    key, nonce = lexp(sid, secret, b"key", ctx, 32), lexp(sid, secret, b"base_nonce", ctx, 12)
    return (ChaCha20Poly1305(key) if v["aeadId"] == 3 else AESGCM(key)).decrypt(nonce, ct, b"")
h = bytes.fromhex
for v in json.load(open(sys.argv[1]))["vectors"]:
    if v["kemId"] != 0x20: continue
    r, s = v["request"], v["response"]
    info = b"wasmvm-tee/sealed-request/v1\0" + v["suite"].encode() + b"\0" + v["keyId"].encode()
    frame = open_(v, h(v["skR"]), h(r["enc"]), info, h(r["ciphertext"]))
    n = struct.unpack(">I", frame[:4])[0]
    ok_req = frame.hex() == r["frame"] and frame[4:4 + n].hex() == r["payload"] and not any(frame[4 + n:])
    L = lambda b: struct.pack(">I", len(b)) + b
    digest = hashlib.sha256(b"wasmvm-tee/sealed-request-digest/v1\0" + L(v["keyId"].encode()) + L(v["suite"].encode()) + L(h(r["enc"])) + L(h(r["ciphertext"]))).digest()
    rinfo = b"wasmvm-tee/sealed-response/v1\0" + digest
    rframe = open_(v, h(v["skC"]), h(s["enc"]), rinfo, h(s["ciphertext"]))
    print(v["suite"], ok_req, digest.hex() == r["digest"], rframe.hex() == s["frame"])
`;

describe('sealed execution: Python cryptography opens the published vectors', {
  skip: available ? false : `${python} with the cryptography package not found`,
}, () => {
  it('both X25519 suites, request and response, and the digest', () => {
    const file = fileURLToPath(new URL('../docs/sealed-execution-vectors.json', import.meta.url));
    const r = spawnSync(python, ['-c', SCRIPT, file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      r.stdout.trim(),
      'x25519-sha256-chacha20poly1305 True True True\nx25519-sha256-aes256gcm True True True',
    );
  });
});
