"""RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature verification for PyJWT, with the standard library only.

Cognito signs ID tokens with RS256. PyJWT verifies them with the `cryptography` package, which is 5 MB of the
function's zip and 50 ms of its cold import; verification alone needs one modular exponentiation and a
comparison, which Python's `pow` and `hmac.compare_digest` do. This is RFC 8017 section 8.2.2 as written:

1. the signature must be exactly k bytes long (k = the modulus' length in bytes) and, as an integer, below n;
2. m = s^e mod n, as k bytes (EM');
3. EM = 0x00 0x01 PS 0x00 T, where T is the DER DigestInfo of SHA-256(message) and PS is 0xFF bytes
   (at least 8) filling k bytes: the encoding is *built*, never parsed;
4. valid iff EM' == EM (constant time).

Building the expected encoding and comparing it whole is what RFC 8017 prescribes and what avoids the
signature-forgery bugs of verifiers that parse the decrypted block (Bleichenbacher 2006 and its variants):
there is no ASN.1 here to be lenient about. Only verification is offered; keys come from a JWK (`kty` RSA,
modulus of at least 2048 bits, a public exponent that is odd and > 1). `tests/unit/test_rs256.py` compares
it with `cryptography`'s verifier on valid, tampered and malformed signatures.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.algorithms import Algorithm
from jwt.exceptions import InvalidKeyError
from jwt.utils import base64url_decode

# DER of DigestInfo ::= SEQUENCE { AlgorithmIdentifier { id-sha256, NULL }, OCTET STRING (32 bytes) }: RFC 8017
# section 9.2, note 1.
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
MIN_MODULUS_BITS = 2048


@dataclass(frozen=True)
class RsaPublicKey:
    n: int
    e: int

    @property
    def size(self) -> int:
        """k: the modulus' length in bytes."""
        return (self.n.bit_length() + 7) // 8


def _b64_int(value: Any, name: str) -> int:
    if not isinstance(value, str) or not value:
        raise InvalidKeyError(f"the JWK has no {name}")
    try:
        return int.from_bytes(base64url_decode(value), "big")
    except (ValueError, TypeError) as exc:
        raise InvalidKeyError(f"the JWK's {name} is not base64url") from exc


def key_from_jwk(jwk: dict[str, Any]) -> RsaPublicKey:
    """An RSA public key for RS256 signatures from one JWKS entry; anything else is an InvalidKeyError."""
    if not isinstance(jwk, dict) or jwk.get("kty") != "RSA":
        raise InvalidKeyError("not an RSA key")
    if jwk.get("alg", "RS256") != "RS256":
        raise InvalidKeyError("the key is not for RS256")
    if jwk.get("use", "sig") != "sig":
        raise InvalidKeyError("the key is not for signatures")
    if "d" in jwk:
        raise InvalidKeyError("a private key was published")
    key = RsaPublicKey(_b64_int(jwk.get("n"), "modulus"), _b64_int(jwk.get("e"), "exponent"))
    if key.n.bit_length() < MIN_MODULUS_BITS or key.n % 2 == 0:
        raise InvalidKeyError(f"the modulus must be odd and at least {MIN_MODULUS_BITS} bits")
    if key.e < 3 or key.e % 2 == 0 or key.e >= key.n:
        raise InvalidKeyError("the public exponent is not valid")
    return key


def expected_encoding(message: bytes, k: int) -> bytes:
    """EMSA-PKCS1-v1_5-ENCODE(message, k) for SHA-256 (RFC 8017 section 9.2)."""
    t = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    padding = k - len(t) - 3
    if padding < 8:
        raise InvalidKeyError("the modulus is too short")
    return b"\x00\x01" + b"\xff" * padding + b"\x00" + t


def verify(message: bytes, signature: bytes, key: RsaPublicKey) -> bool:
    """RSASSA-PKCS1-V1_5-VERIFY with SHA-256 (RFC 8017 section 8.2.2)."""
    k = key.size
    if len(signature) != k:
        return False
    s = int.from_bytes(signature, "big")
    if s >= key.n:
        return False
    em = pow(s, key.e, key.n).to_bytes(k, "big")
    return hmac.compare_digest(em, expected_encoding(message, k))


class RS256(Algorithm):
    """PyJWT's Algorithm interface, verification only: `prepare_key` takes an RsaPublicKey (from `key_from_jwk`)."""

    def prepare_key(self, key: Any) -> RsaPublicKey:
        if not isinstance(key, RsaPublicKey):
            raise InvalidKeyError("RS256 verifies with an RsaPublicKey from the user pool's JWKS")
        return key

    def sign(self, msg: bytes, key: Any) -> bytes:
        raise NotImplementedError("this service verifies tokens, it never signs them")

    def verify(self, msg: bytes, key: Any, sig: bytes) -> bool:
        return verify(msg, sig, self.prepare_key(key))

    @staticmethod
    def to_jwk(key_obj: Any, as_dict: bool = False) -> Any:
        raise NotImplementedError

    @staticmethod
    def from_jwk(jwk: str | dict[str, Any]) -> RsaPublicKey:
        import json

        return key_from_jwk(json.loads(jwk) if isinstance(jwk, str) else jwk)


def decoder() -> jwt.PyJWT:
    """A PyJWT decoder whose only algorithm is this RS256: claims, headers and `algorithms` are PyJWT's own checks."""
    decoder = jwt.PyJWT()
    jws = jwt.PyJWS(algorithms=[])  # no default algorithm (not even HS256 or "none")
    jws.register_algorithm("RS256", RS256())
    decoder._jws = jws  # PyJWT keeps its JWS verifier here (pinned version; tests/unit/test_rs256.py drives it)
    return decoder
