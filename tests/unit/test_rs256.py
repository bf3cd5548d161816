"""chalicelib/rs256.py against `cryptography`'s RSA PKCS #1 v1.5 verifier, and inside PyJWT's decoder."""

from __future__ import annotations

import hashlib
import json
import time

import jwt
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwt.exceptions import InvalidAlgorithmError, InvalidKeyError, InvalidSignatureError
from jwt.utils import base64url_encode

from chalicelib import rs256

PRIVATE = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
E3 = rsa.generate_private_key(public_exponent=3, key_size=2048)  # the exponent Bleichenbacher's forgery needs


def jwk_of(private: rsa.RSAPrivateKey, **extra: str) -> dict[str, str]:
    numbers = private.public_key().public_numbers()

    def b64(i: int) -> str:
        return base64url_encode(i.to_bytes((i.bit_length() + 7) // 8, "big")).decode()

    return {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": "k1", "n": b64(numbers.n), "e": b64(numbers.e),
            **extra}


KEY = rs256.key_from_jwk(jwk_of(PRIVATE))


def sign(message: bytes, private: rsa.RSAPrivateKey = PRIVATE) -> bytes:
    return private.sign(message, padding.PKCS1v15(), hashes.SHA256())


def reference(message: bytes, signature: bytes, private: rsa.RSAPrivateKey = PRIVATE) -> bool:
    try:
        private.public_key().verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        return True
    except InvalidSignature:
        return False


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message=st.binary(max_size=600), flip=st.integers(min_value=-1, max_value=2047),
       target=st.sampled_from(["signature", "message"]))
def test_agrees_with_cryptography_on_valid_and_tampered_signatures(message, flip, target):
    signature = sign(message)
    assert rs256.verify(message, signature, KEY) is True
    if flip < 0:
        return
    if target == "signature":
        tampered = bytearray(signature)
        tampered[flip // 8] ^= 1 << (flip % 8)
        signature = bytes(tampered)
    else:
        message = message + bytes([flip % 256])
    assert rs256.verify(message, signature, KEY) is reference(message, signature) is False


@settings(max_examples=40, deadline=None)
@given(message=st.binary(max_size=64), signature=st.binary(min_size=0, max_size=300))
def test_agrees_with_cryptography_on_arbitrary_bytes(message, signature):
    assert rs256.verify(message, signature, KEY) is reference(message, signature) is False


def test_another_keys_signature_and_wrong_lengths_are_refused():
    message = b"header.payload"
    assert rs256.verify(message, sign(message, OTHER), KEY) is False
    good = sign(message)
    assert rs256.verify(message, good[1:], KEY) is False  # k-1 bytes
    assert rs256.verify(message, b"\x00" + good, KEY) is False  # k+1 bytes, same integer
    n_bytes = KEY.n.to_bytes(KEY.size, "big")
    assert rs256.verify(message, n_bytes, KEY) is False  # s >= n


def _icbrt(x: int) -> int:
    lo, hi = 0, 1 << ((x.bit_length() + 2) // 3 + 1)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if mid ** 3 <= x:
            lo = mid
        else:
            hi = mid - 1
    return lo


def test_bleichenbacher_forgery_with_trailing_garbage_is_refused():
    """With e = 3, a signature whose cube starts with a valid PKCS #1 block and ends in garbage is easy to make
    without the private key; a verifier that parses the block instead of comparing it whole accepts it."""
    key = rs256.key_from_jwk(jwk_of(E3))
    message = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJmb3JnZWQifQ"
    t = rs256.SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    prefix = b"\x00\x01" + b"\xff" * 8 + b"\x00" + t
    garbage = key.size - len(prefix)
    forged = _icbrt(int.from_bytes(prefix + b"\xff" * garbage, "big"))
    block = pow(forged, 3, key.n).to_bytes(key.size, "big")
    assert block.startswith(prefix)  # what a lenient parser reads: 0x00 0x01, padding, 0x00, DigestInfo, hash
    signature = forged.to_bytes(key.size, "big")
    assert rs256.verify(message, signature, key) is False
    assert reference(message, signature, E3) is False
    assert rs256.verify(message, sign(message, E3), key) is True  # the key itself is fine


@pytest.mark.parametrize("change, reason", [
    ({"kty": "EC"}, "not an RSA key"),
    ({"alg": "RS512"}, "not for RS256"),
    ({"use": "enc"}, "not for signatures"),
    ({"d": "AQAB"}, "private key"),
    ({"n": ""}, "no modulus"),
    ({"e": "!!"}, "exponent"),
    ({"e": "AQ"}, "exponent"),  # e = 1
    ({"e": "Ag"}, "exponent"),  # e = 2
])
def test_jwks_entries_that_are_not_rs256_public_keys_are_refused(change, reason):
    with pytest.raises(InvalidKeyError, match=reason):
        rs256.key_from_jwk({**jwk_of(PRIVATE), **change})


def test_short_or_even_moduli_are_refused():
    short = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(InvalidKeyError, match="2048"):
        rs256.key_from_jwk(jwk_of(short))
    even = jwk_of(PRIVATE)
    n = KEY.n + 1
    even["n"] = base64url_encode(n.to_bytes(KEY.size, "big")).decode()
    with pytest.raises(InvalidKeyError, match="odd"):
        rs256.key_from_jwk(even)


def _token(claims: dict[str, object], header: dict[str, str] | None = None, key: object = None,
           algorithm: str = "RS256") -> str:
    return jwt.encode(claims, key or PRIVATE, algorithm=algorithm, headers=header or {"kid": "k1"})


def test_pyjwt_decoder_with_this_algorithm_checks_signature_algorithm_and_claims():
    decoder = rs256.decoder()
    now = int(time.time())
    claims = {"sub": "u1", "aud": "app", "iss": "pool", "iat": now, "exp": now + 60}
    token = _token(claims)
    assert decoder.decode(token, key=KEY, algorithms=["RS256"], audience="app", issuer="pool")["sub"] == "u1"
    # tampered payload
    head, _, sig = token.split(".")
    forged = base64url_encode(json.dumps({**claims, "sub": "admin"}).encode()).decode()
    with pytest.raises(InvalidSignatureError):
        decoder.decode(f"{head}.{forged}.{sig}", key=KEY, algorithms=["RS256"], audience="app", issuer="pool")
    # another key's signature
    with pytest.raises(InvalidSignatureError):
        decoder.decode(_token(claims, key=OTHER), key=KEY, algorithms=["RS256"], audience="app", issuer="pool")
    # algorithm confusion: HS256 with the public key's bytes as the secret, and "none"
    hs = jwt.encode(claims, "a-secret-anyone-could-know-32-bytes-long", algorithm="HS256", headers={"kid": "k1"})
    unsigned = jwt.encode(claims, None, algorithm="none")
    for bad in (hs, unsigned):
        with pytest.raises(InvalidAlgorithmError):
            decoder.decode(bad, key=KEY, algorithms=["RS256"], audience="app", issuer="pool")
        with pytest.raises(InvalidAlgorithmError):  # even if a caller listed them, this decoder has no such algorithm
            decoder.decode(bad, key=KEY, algorithms=["HS256", "none"], audience="app", issuer="pool")
    # claims are PyJWT's checks: expiry, audience
    with pytest.raises(jwt.ExpiredSignatureError):
        decoder.decode(_token({**claims, "exp": now - 120}), key=KEY, algorithms=["RS256"], audience="app",
                       issuer="pool")
    with pytest.raises(jwt.InvalidAudienceError):
        decoder.decode(token, key=KEY, algorithms=["RS256"], audience="other", issuer="pool")
    # a key that is not from the JWKS
    with pytest.raises(InvalidKeyError):
        decoder.decode(token, key=PRIVATE.public_key(), algorithms=["RS256"], audience="app", issuer="pool")


def test_it_never_signs():
    with pytest.raises(NotImplementedError):
        rs256.RS256().sign(b"x", KEY)
